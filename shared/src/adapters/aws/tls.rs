//! The HTTPS client of the Lambda functions: the SDK's default client (rustls with
//! aws-lc, proxy settings from the environment), trusting the Amazon Trust Services
//! roots instead of the system's whole store when that is safe.
//!
//! Why: the default client reads every certificate of the system store when the
//! first SDK client is built (on Debian, every file in /etc/ssl/certs: some 300
//! certificates read and parsed), which was the largest part of a function's cold
//! start. A function only ever talks to AWS service endpoints, and in the commercial
//! partition all of them chain to the five Amazon Trust Services roots.
//!
//! The system store is kept, exactly as before, whenever anything says the
//! endpoints may be others: `SSL_CERT_FILE` or `SSL_CERT_DIR` is set (an operator's
//! own bundle), an `AWS_ENDPOINT_URL*` variable names an https endpoint, or the
//! region is outside the commercial partition (China, GovCloud, ISO and sovereign
//! partitions may use other roots). `mirrorgate --backend aws` does not use this:
//! it keeps the system store, which may hold a company's own roots.
//!
//! The connector (with its rustls configuration: the roots parsed, aws-lc's
//! provider set up) is built once, by the first call. The SDK's own client also
//! builds one and throws it away each time an SDK client is built, to load the
//! system store early; that check is left out here (see [`ConnectorOnFirstCall`]).

use std::collections::HashMap;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, Connector, ConnectorBuilder};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Amazon Root CA 1-4 and Starfield Services Root CA G2, in PEM.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("amazon-trust-services.pem");

/// Which roots of trust the functions' HTTPS client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The five Amazon Trust Services roots, built into the binary.
    AmazonTrustServices,
    /// The system's certificate store, as the SDK's default client loads it.
    System,
}

impl Roots {
    /// The choice for these environment variables (see the module's documentation).
    pub fn for_env(vars: impl IntoIterator<Item = (String, String)>) -> Roots {
        let vars: HashMap<String, String> = vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let https_endpoint = vars.iter().any(|(name, url)| {
            name.starts_with("AWS_ENDPOINT_URL") && !url.trim().to_ascii_lowercase().starts_with("http://")
        });
        let region = vars.get("AWS_REGION").or_else(|| vars.get("AWS_DEFAULT_REGION"));
        let commercial = region.is_some_and(|r| commercial_region(r));
        if vars.contains_key("SSL_CERT_FILE") || vars.contains_key("SSL_CERT_DIR") || https_endpoint || !commercial {
            Roots::System
        } else {
            Roots::AmazonTrustServices
        }
    }

    fn trust_store(self) -> TrustStore {
        match self {
            Roots::System => TrustStore::default(),
            Roots::AmazonTrustServices => TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(AMAZON_TRUST_SERVICES.as_bytes()),
        }
    }
}

/// A region of the `aws` partition: `^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`, as the
/// SDK's partition table has it.
pub fn commercial_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    matches!(parts.as_slice(), [area, name, number]
        if matches!(*area, "us" | "eu" | "ap" | "sa" | "ca" | "me" | "af" | "il" | "mx")
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit()))
}

/// The SDK's default HTTPS client (the same connector settings, sleep and proxy from
/// the environment) with the given roots of trust.
pub fn https_client(roots: Roots) -> SharedHttpClient {
    let context = TlsContext::builder().with_trust_store(roots.trust_store()).build();
    // Building a context from a trust store cannot fail; fall back to the default if it ever does.
    let context = context.unwrap_or_default();
    let client =
        Builder::new().build_with_connector_fn(move |settings, components| connector(&context, settings, components));
    SharedHttpClient::new(ConnectorOnFirstCall(client))
}

/// The connector for one set of connector settings: what the first call with these
/// settings builds and every later one reuses.
fn connector(
    context: &TlsContext,
    settings: Option<&HttpConnectorSettings>,
    components: Option<&RuntimeComponents>,
) -> Connector {
    let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    connector.set_connector_settings(settings.cloned());
    if let Some(components) = components {
        connector.set_sleep_impl(components.sleep_impl());
    }
    connector.set_proxy_config(Some(ProxyConfig::from_env()));
    connector.set_tls_context(context.clone());
    connector.build()
}

/// The SDK's client, without its check at SDK-client build time.
///
/// That check builds a whole connector (the roots parsed into a rustls
/// configuration) and drops it, for every SDK client built, so that the system
/// store is read at start rather than on the first call. The connector a call uses
/// is built and cached by the first call either way, so the check only repeated
/// that work once per SDK client. Nothing can fail in it that the first call would
/// not report: the roots are fixed ([`Roots`], tested below).
#[derive(Debug)]
struct ConnectorOnFirstCall(SharedHttpClient);

impl HttpClient for ConnectorOnFirstCall {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(vars: &[(&str, &str)]) -> Roots {
        Roots::for_env(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn aws_endpoints_of_the_commercial_partition_use_the_amazon_roots() {
        assert_eq!(roots(&[("AWS_REGION", "us-west-2")]), Roots::AmazonTrustServices);
        assert_eq!(
            roots(&[("AWS_DEFAULT_REGION", "eu-central-1")]),
            Roots::AmazonTrustServices
        );
        // An emulator over plain http needs no roots at all.
        assert_eq!(
            roots(&[
                ("AWS_REGION", "us-west-2"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
            ]),
            Roots::AmazonTrustServices
        );
    }

    #[test]
    fn anything_that_may_need_other_roots_keeps_the_system_store() {
        for vars in [
            &[("AWS_REGION", "cn-north-1")][..],
            &[("AWS_REGION", "us-gov-west-1")],
            &[("AWS_REGION", "us-iso-east-1")],
            &[("AWS_REGION", "eusc-de-east-1")],
            &[],
            &[("AWS_REGION", "us-west-2"), ("SSL_CERT_FILE", "/opt/ca.pem")],
            &[("AWS_REGION", "us-west-2"), ("SSL_CERT_DIR", "/opt/certs")],
            &[
                ("AWS_REGION", "us-west-2"),
                ("AWS_ENDPOINT_URL", "https://localhost:4566"),
            ],
            &[
                ("AWS_REGION", "us-west-2"),
                ("AWS_ENDPOINT_URL_DYNAMODB", "https://ddb.example"),
            ],
        ] {
            assert_eq!(roots(vars), Roots::System, "{vars:?}");
        }
    }

    #[tokio::test]
    async fn a_connector_is_built_with_the_built_in_roots() {
        // Building a connector parses the roots: a malformed certificate would panic
        // here, not in a function's first call.
        for roots in [Roots::AmazonTrustServices, Roots::System] {
            let context = TlsContext::builder().with_trust_store(roots.trust_store()).build();
            let _ = connector(&context.expect("a TLS context"), None, None);
            let config = aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-west-2"))
                .http_client(https_client(roots))
                .build();
            let _ = aws_sdk_sns::Client::new(&config);
        }
    }

    #[test]
    fn the_built_in_roots_are_the_five_amazon_trust_services_certificates() {
        let pems = AMAZON_TRUST_SERVICES.matches("-----BEGIN CERTIFICATE-----").count();
        assert_eq!(pems, 5);
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(AMAZON_TRUST_SERVICES.contains(name), "{name}");
        }
    }
}
