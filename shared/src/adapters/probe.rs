//! The probe: each member's `mirror_status.cxw` asked directly from the control
//! plane's own region (observer `probe`).
//!
//! The CSP Gateway's `mirror_status.cxw` answers 200 with the body `SUCCESS` on the
//! primary, 503 `FAILED` on any other member, and 500 when the server does not
//! support the request; a dead member may not answer at all. Route 53's checkers ask
//! the same page, but their metrics and alarms live in us-east-1 and reach the
//! control plane through the primary region's side of AWS; the probe asks from where
//! the control plane runs, so it still speaks when that side is gone.
//!
//! [`classify`] turns an answer into a [`ProbeResult`] and the words people read;
//! [`Probe`] is one member's result, as a signal ([`Probe::signal`]) and as the
//! `Mirror Status Probe` EventBridge event ([`Probe::event`]) that can be logged,
//! replayed or posted to `mirrorgate serve`. With the cargo feature `aws`,
//! [`Prober`] asks every member concurrently, each within a short timeout and all
//! within a budget.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::domain::Observer;
use crate::domain::{Signal, SignalKind};
use crate::events::{ProbeDetail, ProbeResult, DETAIL_TYPE_PROBE, PROBE_EVENT_SOURCE};

/// How long one probe may take, connection and answer (body included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// The probe's timeout in whole seconds (`health-poll`'s environment), 1 to 20.
pub const ENV_PROBE_TIMEOUT: &str = "MIRRORGATE_PROBE_TIMEOUT_SECS";
/// At most this much of an answer's body is read: `SUCCESS` and `FAILED` are short.
pub const BODY_LIMIT: usize = 4096;
/// How much of an unexpected body is quoted to people.
const EXCERPT_CHARS: usize = 60;

/// What a member's `mirror_status.cxw` did when asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer: its status and (the first [`BODY_LIMIT`] bytes of) its body.
    Http { status: u16, body: Vec<u8> },
    /// Nothing (no connection, or no whole answer) within the timeout.
    TimedOut(Duration),
    /// The connection was refused: nothing listens there.
    Refused,
    /// Any other failure on the way (name resolution, TLS, a reset), in words.
    Failed(String),
}

/// The result, the HTTP status when there was one, and what happened in words.
pub fn classify(answer: &Answer) -> (ProbeResult, Option<u16>, String) {
    match answer {
        Answer::Http { status: 200, body } if body_is(body, "SUCCESS") => {
            (ProbeResult::Primary, Some(200), "200 SUCCESS".to_string())
        }
        Answer::Http { status: 503, body } if body_is(body, "FAILED") => {
            (ProbeResult::NotPrimary, Some(503), "503 FAILED".to_string())
        }
        Answer::Http { status, body } => (
            ProbeResult::Unexpected,
            Some(*status),
            format!("{status} {}", excerpt(body)),
        ),
        Answer::TimedOut(after) => (
            ProbeResult::Unreachable,
            None,
            format!("timed out after {}", duration_words(*after)),
        ),
        Answer::Refused => (ProbeResult::Unreachable, None, "connection refused".to_string()),
        Answer::Failed(why) => (ProbeResult::Unreachable, None, why.clone()),
    }
}

/// The body is exactly `word`, surrounding white space aside.
fn body_is(body: &[u8], word: &str) -> bool {
    std::str::from_utf8(body).is_ok_and(|text| text.trim() == word)
}

/// The first line of a body, short and printable, for people.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.trim().lines().next().unwrap_or_default().trim();
    let mut words: String = line.chars().filter(|c| !c.is_control()).take(EXCERPT_CHARS).collect();
    if words.is_empty() {
        return "(empty body)".to_string();
    }
    if line.chars().count() > EXCERPT_CHARS || text.trim().lines().nth(1).is_some() {
        words.push_str("...");
    }
    words
}

fn duration_words(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// One member probed: when, and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// When the probe was sent.
    pub at: DateTime<Utc>,
    pub detail: ProbeDetail,
}

impl Probe {
    /// The probe of `url` (member `member` of mirror `mirror`), sent at `at`, that got `answer`.
    pub fn new(mirror: &str, member: &str, url: &str, at: DateTime<Utc>, answer: &Answer) -> Probe {
        let (result, http_status, detail) = classify(answer);
        Probe {
            at,
            detail: ProbeDetail {
                mirror: mirror.to_string(),
                member: member.to_string(),
                url: url.to_string(),
                result,
                http_status,
                detail,
            },
        }
    }

    /// The observation for the decision core: the same one the decoder makes of
    /// [`Probe::event`]. No delivery id: a probe is repeated every minute and only
    /// its time matters, like a tick.
    pub fn signal(&self) -> Signal {
        Signal {
            mirror: self.detail.mirror.clone(),
            id: None,
            at: self.at,
            kind: SignalKind::Observation {
                member: self.detail.member.clone(),
                observer: Observer::Probe,
                healthy: self.detail.healthy(),
                source: self.detail.source(),
                since: None,
                alarm_arn: None,
                unreachable: self.detail.unreachable(),
            },
        }
    }

    /// The `Mirror Status Probe` event, shaped as EventBridge delivers it (without
    /// an `id`, for the reason [`Probe::signal`] has none), for the logs, a replay
    /// file or `POST /events` of `mirrorgate serve`. `region` is where it was probed from.
    pub fn event(&self, region: Option<&str>) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(ProbeEvent {
            version: "0",
            detail_type: DETAIL_TYPE_PROBE,
            source: PROBE_EVENT_SOURCE,
            time: self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
            region,
            resources: [],
            detail: &self.detail,
        })
    }
}

/// The EventBridge envelope of a probe result.
#[derive(Serialize)]
struct ProbeEvent<'a> {
    version: &'static str,
    #[serde(rename = "detail-type")]
    detail_type: &'static str,
    source: &'static str,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    resources: [&'a str; 0],
    detail: &'a ProbeDetail,
}

#[cfg(feature = "aws")]
pub use client::Prober;

/// The HTTP side: the AWS SDK's own HTTPS client (hyper with rustls), so nothing
/// new is linked in.
#[cfg(feature = "aws")]
mod client {
    use std::error::Error;
    use std::sync::{Arc, OnceLock};
    use std::time::Duration;

    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext};
    use aws_smithy_http_client::Connector;
    use aws_smithy_runtime_api::client::http::HttpConnector;
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::byte_stream::ByteStream;
    use chrono::Utc;
    use tokio::task::JoinSet;
    use tokio::time::Instant;

    use super::{Answer, Probe, BODY_LIMIT, DEFAULT_TIMEOUT, ENV_PROBE_TIMEOUT};
    use crate::adapters::aws::ConfigError;
    use crate::topology::Topology;

    /// Asks members' `mirror_status.cxw`. Clones share one HTTP client, built by the
    /// first probe (so a deployment without `status_url` never builds it).
    #[derive(Clone)]
    pub struct Prober {
        timeout: Duration,
        connector: Arc<OnceLock<Connector>>,
    }

    impl std::fmt::Debug for Prober {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Prober").field("timeout", &self.timeout).finish()
        }
    }

    impl Prober {
        /// A prober whose every probe (connection, answer and body) ends within `timeout`.
        pub fn new(timeout: Duration) -> Prober {
            Prober {
                timeout,
                connector: Arc::new(OnceLock::new()),
            }
        }

        /// The timeout from [`ENV_PROBE_TIMEOUT`] (whole seconds, 1 to 20), or [`DEFAULT_TIMEOUT`].
        pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Prober, ConfigError> {
            let timeout = match var(ENV_PROBE_TIMEOUT).filter(|v| !v.trim().is_empty()) {
                None => DEFAULT_TIMEOUT,
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=20).contains(n))
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        ConfigError::Invalid(
                            ENV_PROBE_TIMEOUT,
                            format!("{v:?} is not a whole number of seconds from 1 to 20"),
                        )
                    })?,
            };
            Ok(Prober::new(timeout))
        }

        pub fn timeout(&self) -> Duration {
            self.timeout
        }

        /// The HTTP client: straight to the member (never through a proxy from the
        /// environment: the probe is about this region's own path), http or https, for
        /// https the system's roots of trust (or the bundle `SSL_CERT_FILE` names).
        fn connector(&self) -> &Connector {
            self.connector.get_or_init(|| {
                Connector::builder()
                    .proxy_config(ProxyConfig::disabled())
                    .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
                    .tls_context(TlsContext::default())
                    .build()
            })
        }

        /// One GET of `url`: what it answered within the timeout.
        pub async fn answer(&self, url: &str) -> Answer {
            let mut request = match HttpRequest::get(url) {
                Ok(request) => request,
                Err(e) => return Answer::Failed(format!("not a URL the probe can ask: {e}")),
            };
            let headers = request.headers_mut();
            headers.insert("user-agent", "mirrorgate-probe");
            headers.insert("accept", "text/plain, */*");
            // One request per connection: every probe tests the path anew.
            headers.insert("connection", "close");
            let exchange = async {
                let response = self.connector().call(request).await?;
                let status = response.status().as_u16();
                let mut stream = ByteStream::new(response.into_body());
                let mut body = Vec::new();
                while body.len() < BODY_LIMIT {
                    match stream.next().await {
                        Some(Ok(chunk)) => {
                            let room = BODY_LIMIT - body.len();
                            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        }
                        // A body cut short is judged on what came.
                        Some(Err(_)) | None => break,
                    }
                }
                Ok::<_, aws_smithy_runtime_api::client::result::ConnectorError>(Answer::Http { status, body })
            };
            match tokio::time::timeout(self.timeout, exchange).await {
                Err(_) => Answer::TimedOut(self.timeout),
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) if e.is_timeout() => Answer::TimedOut(self.timeout),
                Ok(Err(e)) => failure(&e),
            }
        }

        /// One member probed now.
        pub async fn probe(&self, mirror: &str, member: &str, url: &str) -> Probe {
            let at = Utc::now();
            let answer = self.answer(url).await;
            Probe::new(mirror, member, url, at, &answer)
        }

        /// Every member with a `status_url`, of every mirror, probed at once; what
        /// finished by `deadline`, in the topology's order. A member whose probe did
        /// not finish in time has no result.
        pub async fn probe_all(&self, topology: &Topology, deadline: Instant) -> Vec<Probe> {
            let mut set = JoinSet::new();
            let mut order = 0usize;
            for mirror in &topology.mirrors {
                for member in &mirror.members {
                    let Some(url) = member.status_url.clone() else { continue };
                    let (prober, mirror, member) = (self.clone(), mirror.name.clone(), member.name.clone());
                    set.spawn(async move { (order, prober.probe(&mirror, &member, &url).await) });
                    order += 1;
                }
            }
            let mut probes = Vec::with_capacity(order);
            loop {
                match tokio::time::timeout_at(deadline, set.join_next()).await {
                    Ok(Some(Ok(done))) => probes.push(done),
                    Ok(Some(Err(e))) => tracing::warn!(error = %e, "a probe task failed"),
                    Ok(None) => break,
                    Err(_) => {
                        tracing::warn!(
                            unfinished = set.len(),
                            "probes still running at the end of their budget; those members have no probe result this time"
                        );
                        set.abort_all();
                        break;
                    }
                }
            }
            probes.sort_by_key(|(order, _)| *order);
            probes.into_iter().map(|(_, probe)| probe).collect()
        }
    }

    /// A failure on the way, in words: a refused connection by name, anything else
    /// by its causes without the HTTP client's generic wrappers.
    fn failure(error: &(dyn Error + 'static)) -> Answer {
        let mut source = Some(error);
        let mut words: Vec<String> = Vec::new();
        while let Some(e) = source {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Answer::Failed(format!("TLS: {tls}"));
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if let Some(tls) = wrapped_tls(io) {
                    return Answer::Failed(format!("TLS: {tls}"));
                }
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Answer::Refused,
                    std::io::ErrorKind::TimedOut => return Answer::Failed("connection timed out".to_string()),
                    _ => {}
                }
            }
            let text = e.to_string();
            let generic = matches!(text.as_str(), "io error" | "other" | "user error" | "timeout")
                || text.starts_with("client error (");
            if !generic && !words.last().is_some_and(|w| w.ends_with(&text)) {
                words.push(text);
            }
            source = e.source();
        }
        if words.is_empty() {
            words.push(error.to_string());
        }
        Answer::Failed(words.join(": "))
    }

    /// The TLS error an io::Error wraps, perhaps inside another io::Error (the TLS
    /// stream's and the connector's); `source()` skips the error an io::Error wraps.
    fn wrapped_tls(io: &std::io::Error) -> Option<&rustls::Error> {
        let mut inner: &(dyn Error + Send + Sync + 'static) = io.get_ref()?;
        loop {
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            inner = inner.downcast_ref::<std::io::Error>()?.get_ref()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, body: &str) -> Answer {
        Answer::Http {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T03:01:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn success_on_200_is_the_primary() {
        assert_eq!(
            classify(&http(200, "SUCCESS")),
            (ProbeResult::Primary, Some(200), "200 SUCCESS".into())
        );
        assert_eq!(classify(&http(200, "SUCCESS\r\n")).0, ProbeResult::Primary);
    }

    #[test]
    fn failed_on_503_is_a_member_that_is_not_primary() {
        assert_eq!(
            classify(&http(503, "FAILED")),
            (ProbeResult::NotPrimary, Some(503), "503 FAILED".into())
        );
        assert_eq!(classify(&http(503, " FAILED\n")).0, ProbeResult::NotPrimary);
    }

    #[test]
    fn any_other_answer_is_unexpected_and_not_primary() {
        assert_eq!(
            classify(&http(500, "")),
            (ProbeResult::Unexpected, Some(500), "500 (empty body)".into())
        );
        // A 200 without SUCCESS (a login page, a default site) is no primary.
        let (result, status, detail) = classify(&http(200, "<html><body>Welcome</body></html>"));
        assert_eq!((result, status), (ProbeResult::Unexpected, Some(200)));
        assert_eq!(detail, "200 <html><body>Welcome</body></html>");
        assert_eq!(classify(&http(200, "UNSUCCESSFUL")).0, ProbeResult::Unexpected);
        assert_eq!(classify(&http(200, "success")).0, ProbeResult::Unexpected);
        // A 503 that is not the gateway's FAILED (a load balancer's page) is worth a look.
        assert_eq!(classify(&http(503, "Service Unavailable")).0, ProbeResult::Unexpected);
        assert_eq!(classify(&http(404, "Not Found")).2, "404 Not Found");
        assert_eq!(classify(&http(503, "SUCCESS")).0, ProbeResult::Unexpected);
    }

    #[test]
    fn unexpected_bodies_are_quoted_short_on_one_line() {
        let long = "x".repeat(200);
        let detail = classify(&http(500, &long)).2;
        assert_eq!(detail, format!("500 {}...", "x".repeat(EXCERPT_CHARS)));
        let detail = classify(&http(500, "first line\r\nsecond\u{7} line")).2;
        assert_eq!(detail, "500 first line...");
        let binary = Answer::Http {
            status: 500,
            body: vec![0xff, 0xfe, b'o', b'k', 0x07],
        };
        assert_eq!(classify(&binary).2, "500 \u{fffd}\u{fffd}ok");
    }

    #[test]
    fn no_answer_is_unreachable() {
        assert_eq!(
            classify(&Answer::TimedOut(Duration::from_secs(3))),
            (ProbeResult::Unreachable, None, "timed out after 3 s".into())
        );
        assert_eq!(
            classify(&Answer::TimedOut(Duration::from_millis(1500))).2,
            "timed out after 1500 ms"
        );
        assert_eq!(
            classify(&Answer::Refused),
            (ProbeResult::Unreachable, None, "connection refused".into())
        );
        assert_eq!(
            classify(&Answer::Failed("dns error: no such host".into())),
            (ProbeResult::Unreachable, None, "dns error: no such host".into())
        );
    }

    #[test]
    fn a_probe_is_an_observation_by_the_probe_observer() {
        let url = "https://10.0.1.10/csp/user/mirror_status.cxw";
        for (answer, healthy, source) in [
            (http(200, "SUCCESS"), true, "probe primary: 200 SUCCESS"),
            (http(503, "FAILED"), false, "probe not_primary: 503 FAILED"),
            (Answer::Refused, false, "probe unreachable: connection refused"),
            (http(500, ""), false, "probe unexpected: 500 (empty body)"),
        ] {
            let signal = Probe::new("HSPROD", "HSPROD-A", url, at(), &answer).signal();
            assert_eq!(
                signal,
                Signal {
                    mirror: "HSPROD".into(),
                    id: None,
                    at: at(),
                    kind: SignalKind::Observation {
                        member: "HSPROD-A".into(),
                        observer: Observer::Probe,
                        healthy,
                        source: source.into(),
                        since: None,
                        alarm_arn: None,
                        unreachable: source.starts_with("probe unreachable"),
                    },
                }
            );
        }
    }

    #[test]
    fn a_probe_is_the_mirror_status_probe_event() {
        let url = "https://10.0.1.10/csp/user/mirror_status.cxw";
        let probe = Probe::new("HSPROD", "HSPROD-A", url, at(), &http(503, "FAILED"));
        let event = probe.event(Some("us-west-2")).expect("serialises");
        assert_eq!(
            event,
            serde_json::json!({
                "version": "0",
                "detail-type": "Mirror Status Probe",
                "source": "mirrorgate.probe",
                "time": "2026-11-25T03:01:00.000Z",
                "region": "us-west-2",
                "resources": [],
                "detail": {
                    "mirror": "HSPROD",
                    "member": "HSPROD-A",
                    "url": url,
                    "result": "not_primary",
                    "http_status": 503,
                    "detail": "503 FAILED"
                }
            })
        );
        // No answer, no status; the region is left out when unknown.
        let unreachable = Probe::new("HSPROD", "HSPROD-A", url, at(), &Answer::Refused);
        let event = unreachable.event(None).expect("serialises");
        assert!(event.get("region").is_none(), "{event}");
        assert!(event["detail"].get("http_status").is_none(), "{event}");
        assert_eq!(event["detail"]["result"], "unreachable");
    }
}

#[cfg(all(test, feature = "aws"))]
mod http_tests {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// A local server that answers every connection with `answer` (None: reads the
    /// request and never answers), keeping the request heads it read.
    fn server(answer: Option<&'static str>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
                    head.push(byte[0]);
                }
                heads
                    .lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(&head).into_owned());
                match answer {
                    Some(text) => {
                        let _ = stream.write_all(text.as_bytes());
                    }
                    None => held.push(stream),
                }
            }
        });
        (addr, seen)
    }

    fn closed_port() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    }

    fn url(addr: SocketAddr) -> String {
        format!("http://{addr}/csp/user/mirror_status.cxw")
    }

    const SUCCESS: &str =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nSUCCESS";
    const FAILED: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 6\r\nConnection: close\r\n\r\nFAILED";

    #[tokio::test]
    async fn each_kind_of_answer_is_told_apart() {
        let prober = Prober::new(Duration::from_millis(700));
        let (primary, heads) = server(Some(SUCCESS));
        let (backup, _) = server(Some(FAILED));
        let (dead, hung) = server(None);
        let (error, _) = server(Some("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"));
        assert_eq!(
            prober.answer(&url(primary)).await,
            Answer::Http {
                status: 200,
                body: b"SUCCESS".to_vec()
            }
        );
        let head = heads.lock().expect("lock")[0].to_ascii_lowercase();
        assert!(
            head.starts_with("get /csp/user/mirror_status.cxw http/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains("connection: close\r\n"), "{head}");
        assert!(head.contains(&format!("host: {primary}\r\n")), "{head}");
        assert_eq!(classify(&prober.answer(&url(backup)).await).0, ProbeResult::NotPrimary);
        let started = std::time::Instant::now();
        assert_eq!(
            prober.answer(&url(dead)).await,
            Answer::TimedOut(Duration::from_millis(700))
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert_eq!(
            hung.lock().expect("lock").len(),
            1,
            "the request reached the hung server"
        );
        assert_eq!(prober.answer(&url(closed_port())).await, Answer::Refused);
        assert_eq!(classify(&prober.answer(&url(error)).await).0, ProbeResult::Unexpected);
    }

    #[tokio::test]
    async fn a_long_body_is_read_only_up_to_the_limit() {
        let body = "A".repeat(BODY_LIMIT * 4);
        let text: &'static str = Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_boxed_str(),
        );
        let (addr, _) = server(Some(text));
        match Prober::new(Duration::from_secs(2)).answer(&url(addr)).await {
            Answer::Http { status: 200, body } => assert_eq!(body.len(), BODY_LIMIT),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn names_that_do_not_resolve_and_tls_that_fails_are_unreachable_in_words() {
        let prober = Prober::new(Duration::from_secs(2));
        // .invalid never resolves (RFC 6761).
        let (result, _, detail) = classify(&prober.answer("http://mirror.invalid/csp/user/mirror_status.cxw").await);
        assert_eq!(result, ProbeResult::Unreachable);
        assert!(detail.starts_with("dns error: "), "{detail}");
        // https to a server that answers in plain HTTP: the TLS handshake fails.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = stream.write_all(SUCCESS.as_bytes());
            }
        });
        let (result, _, detail) = classify(
            &prober
                .answer(&format!("https://{addr}/csp/user/mirror_status.cxw"))
                .await,
        );
        assert_eq!(result, ProbeResult::Unreachable);
        assert_eq!(detail, "TLS: received corrupt message of type InvalidContentType");
    }

    #[tokio::test]
    async fn every_member_with_a_status_url_is_probed_and_a_slow_one_is_cut_by_the_budget() {
        let (primary, _) = server(Some(SUCCESS));
        let (dead, _) = server(None);
        let mut topology = crate::topology::example();
        for member in &mut topology.mirrors[0].members {
            member.status_url = match member.name.as_str() {
                "HSPROD-A" => Some(url(primary)),
                "HSPROD-B" => Some(url(dead)),
                _ => None,
            };
        }
        // The probe's own timeout is longer than the budget: the budget cuts it.
        let prober = Prober::new(Duration::from_secs(10));
        let started = std::time::Instant::now();
        let probes = prober
            .probe_all(&topology, tokio::time::Instant::now() + Duration::from_millis(800))
            .await;
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let seen: Vec<(&str, ProbeResult)> = probes
            .iter()
            .map(|p| (p.detail.member.as_str(), p.detail.result))
            .collect();
        assert_eq!(seen, [("HSPROD-A", ProbeResult::Primary)]);
        // Within its timeout, every member has its result, in the topology's order.
        let prober = Prober::new(Duration::from_millis(300));
        let probes = prober
            .probe_all(&topology, tokio::time::Instant::now() + Duration::from_secs(5))
            .await;
        let seen: Vec<(&str, ProbeResult)> = probes
            .iter()
            .map(|p| (p.detail.member.as_str(), p.detail.result))
            .collect();
        assert_eq!(
            seen,
            [
                ("HSPROD-A", ProbeResult::Primary),
                ("HSPROD-B", ProbeResult::Unreachable)
            ]
        );
    }

    #[test]
    fn the_timeout_is_read_from_the_environment() {
        let with = |v: Option<&str>| {
            let v = v.map(str::to_string);
            Prober::from_vars(move |name| (name == ENV_PROBE_TIMEOUT).then(|| v.clone()).flatten())
        };
        assert_eq!(with(None).map(|p| p.timeout()).ok(), Some(DEFAULT_TIMEOUT));
        assert_eq!(with(Some("")).map(|p| p.timeout()).ok(), Some(DEFAULT_TIMEOUT));
        assert_eq!(
            with(Some(" 5 ")).map(|p| p.timeout()).ok(),
            Some(Duration::from_secs(5))
        );
        for bad in ["0", "21", "2.5", "three"] {
            let e = with(Some(bad)).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                e.starts_with("MIRRORGATE_PROBE_TIMEOUT_SECS is not valid"),
                "{bad}: {e}"
            );
        }
    }
}
