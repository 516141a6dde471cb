//! What promoting a DR async member may lose: the primary's transactions it has not
//! **received** (journal transfer), not what it has not yet applied. While the
//! async is connected that is its journal latency; once it has lost its link, the
//! loss grows with the time since it last received journal data, until the primary
//! itself stopped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::alert::{clock, duration_words};
use super::signal::JournalLatency;

/// The estimate for one candidate, with what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossEstimate {
    /// Seconds of the primary's transactions the candidate may lack; `None`: unknown.
    pub seconds: Option<f64>,
    pub basis: LossBasis,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum LossBasis {
    /// Connected until the primary was lost: its journal latency, as measured then.
    Latency { measured_at: DateTime<Utc> },
    /// It stopped receiving at `since`, before the primary stopped at `primary_until`:
    /// everything in between is missing, plus how far behind it was then.
    LinkLost {
        since: DateTime<Utc>,
        primary_until: DateTime<Utc>,
    },
    /// No latency was ever reported.
    Unknown,
}

impl LossEstimate {
    /// The estimate for an async member.
    ///
    /// - `latency`: its last reported journal latency (with `received_at` when the agent says);
    /// - `last_connected`, `link_lost_at`: when it last reported Connected, and when it was
    ///   first seen without its link after that;
    /// - `primary_until`: the last time the primary was seen serving.
    pub fn of(
        latency: Option<&JournalLatency>,
        last_connected: Option<DateTime<Utc>>,
        link_lost_at: Option<DateTime<Utc>>,
        primary_until: DateTime<Utc>,
    ) -> LossEstimate {
        let behind = latency.map_or(0.0, |l| l.seconds);
        // When it stopped receiving: what the agent says, else the last time it was seen
        // connected before it lost its link (the larger, safer loss).
        let stopped = latency
            .and_then(|l| l.received_at)
            .filter(|_| link_lost_at.is_some())
            .or(link_lost_at.and(last_connected));
        if let Some(since) = stopped.filter(|since| *since < primary_until) {
            let gap = (primary_until - since).num_milliseconds() as f64 / 1000.0;
            return LossEstimate {
                seconds: Some(gap + behind),
                basis: LossBasis::LinkLost { since, primary_until },
            };
        }
        match latency {
            Some(l) => LossEstimate {
                seconds: Some(l.seconds),
                basis: LossBasis::Latency {
                    measured_at: l.measured_at,
                },
            },
            None => LossEstimate {
                seconds: None,
                basis: LossBasis::Unknown,
            },
        }
    }

    /// Whether the estimate is over the policy's limit (unknown counts as over).
    pub fn over(&self, max_secs: u64) -> bool {
        self.seconds.is_none_or(|s| s > max_secs as f64)
    }

    /// The amount alone, short enough for an SMS: `~1.8 s`, `>=15 min`, `unknown`.
    pub fn short(&self) -> String {
        match (self.seconds, &self.basis) {
            (None, _) => "unknown".into(),
            (Some(s), LossBasis::LinkLost { .. }) => format!(">={}", amount(s)),
            (Some(s), _) => format!("~{}", amount(s)),
        }
    }

    /// The estimate in a sentence, with what it rests on and when it was measured.
    pub fn words(&self, candidate: &str) -> String {
        match (&self.basis, self.seconds) {
            (LossBasis::LinkLost { since, primary_until }, Some(s)) => format!(
                "at least {} of transactions: {candidate} lost its link to the primary at {}, {} before the primary was last seen ({})",
                amount(s),
                clock(*since),
                duration_words((*primary_until - *since).num_seconds()),
                clock(*primary_until),
            ),
            (LossBasis::Latency { measured_at }, Some(s)) => format!(
                "about {} of transactions not yet received by {candidate} (its journal latency, measured at {} while connected)",
                amount(s),
                clock(*measured_at)
            ),
            _ => format!("unknown: {candidate} never reported its journal latency, so the data that may be lost cannot be estimated"),
        }
    }
}

/// A number of seconds as people read it: `1.8 s`, `42 s`, `15 min`, `2 h 5 min`.
pub fn amount(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else {
        duration_words(seconds.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).single().expect("time") + Duration::seconds(secs)
    }

    fn latency(seconds: f64, at: i64) -> JournalLatency {
        JournalLatency {
            seconds,
            bytes: None,
            files: None,
            measured_at: t(at),
            received_at: None,
        }
    }

    #[test]
    fn connected_until_the_loss_is_its_latency() {
        let e = LossEstimate::of(Some(&latency(1.8, 120)), Some(t(120)), None, t(120));
        assert_eq!(e.seconds, Some(1.8));
        assert_eq!(e.short(), "~1.8 s");
        assert!(e.words("DR1").contains("about 1.8 s"), "{}", e.words("DR1"));
    }

    #[test]
    fn a_link_lost_before_the_primary_counts_the_time_since() {
        // Connected at 02:45 with 0.3 s; Waiting from 02:50; the primary seen until 03:05.
        let e = LossEstimate::of(Some(&latency(0.3, -900)), Some(t(-900)), Some(t(-600)), t(300));
        assert_eq!(e.seconds, Some(1200.3));
        assert_eq!(e.short(), ">=20 min");
        let words = e.words("HSPROD-DR1");
        assert!(
            words.contains("at least 20 min")
                && words.contains("lost its link to the primary at 02:45 UTC, 20 min before"),
            "{words}"
        );
    }

    #[test]
    fn the_agents_last_received_time_is_used_when_it_says() {
        let mut l = latency(0.3, -900);
        l.received_at = Some(t(-610));
        let e = LossEstimate::of(Some(&l), Some(t(-900)), Some(t(-600)), t(300));
        assert_eq!(e.seconds, Some(910.3));
    }

    #[test]
    fn losing_the_link_with_the_primary_is_not_an_earlier_loss() {
        let e = LossEstimate::of(Some(&latency(2.0, 100)), Some(t(100)), Some(t(160)), t(100));
        assert_eq!(e.seconds, Some(2.0));
    }

    #[test]
    fn unknown_latency_is_unknown_and_over_any_policy() {
        let e = LossEstimate::of(None, None, None, t(0));
        assert_eq!((e.seconds, e.short().as_str()), (None, "unknown"));
        assert!(e.over(3600));
    }
}
