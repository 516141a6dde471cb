//! Metrics. The heartbeat is a real `PutMetricData` from the scheduled function, so
//! that an alarm on its absence ("mirrorgate is silent", missing data = breaching)
//! can exist. The counters (signals handled, rejected, alerts sent) are CloudWatch
//! embedded-metric-format lines written to the function's log: no API call.

use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};

use super::{describe, AwsError};

/// The CloudWatch namespace of every mirrorgate metric.
pub const NAMESPACE: &str = "mirrorgate";
/// One datum per scheduled run; its absence means the control plane is silent.
pub const HEARTBEAT_METRIC: &str = "ControlPlaneHeartbeat";
/// The heartbeat's dimension: which deployment (named after its table) beats.
pub const DEPLOYMENT_DIMENSION: &str = "Deployment";

/// What one invocation did, for the embedded-metric-format line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Signals decided (whatever the verdict).
    pub signals_handled: u64,
    /// Payloads that could not be decoded or named nothing in the topology.
    pub signals_rejected: u64,
    /// Alerts published.
    pub alerts_sent: u64,
}

/// One CloudWatch embedded-metric-format log line (namespace `mirrorgate`,
/// dimension `Function`): `SignalsHandled`, `SignalsRejected`, `AlertsSent`.
pub fn emf_line(function: &str, counts: &Counts, at: DateTime<Utc>) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [
                    { "Name": "SignalsHandled", "Unit": "Count" },
                    { "Name": "SignalsRejected", "Unit": "Count" },
                    { "Name": "AlertsSent", "Unit": "Count" },
                ],
            }],
        },
        "Function": function,
        "SignalsHandled": counts.signals_handled,
        "SignalsRejected": counts.signals_rejected,
        "AlertsSent": counts.alerts_sent,
    })
    .to_string()
}

/// The control plane's own heartbeat metric.
pub struct Heartbeat {
    client: Client,
    deployment: String,
}

impl Heartbeat {
    pub fn new(client: Client, deployment: &str) -> Heartbeat {
        Heartbeat {
            client,
            deployment: deployment.to_string(),
        }
    }

    /// Puts one `ControlPlaneHeartbeat` datum (value 1, unit Count) at `at`.
    pub async fn beat(&self, at: DateTime<Utc>) -> Result<(), AwsError> {
        let datum = MetricDatum::builder()
            .metric_name(HEARTBEAT_METRIC)
            .dimensions(
                Dimension::builder()
                    .name(DEPLOYMENT_DIMENSION)
                    .value(&self.deployment)
                    .build(),
            )
            .timestamp(AwsDateTime::from_millis(at.timestamp_millis()))
            .unit(StandardUnit::Count)
            .value(1.0)
            .build();
        self.client
            .put_metric_data()
            .namespace(NAMESPACE)
            .metric_data(datum)
            .send()
            .await
            .map_err(|e| AwsError(describe("CloudWatch PutMetricData", &e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emf_line_declares_the_three_counters_and_carries_their_values() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let line = emf_line(
            "alarm",
            &Counts {
                signals_handled: 3,
                signals_rejected: 1,
                alerts_sent: 2,
            },
            at,
        );
        assert!(!line.contains('\n'), "one log line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["_aws"]["Timestamp"], 1_795_575_600_000_i64);
        let declared = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "mirrorgate");
        assert_eq!(declared["Dimensions"], serde_json::json!([["Function"]]));
        let names: Vec<&str> = declared["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect();
        assert_eq!(names, ["SignalsHandled", "SignalsRejected", "AlertsSent"]);
        for name in names {
            assert!(v[name].is_u64(), "{name} has a value at the top level");
        }
        assert_eq!(v["Function"], "alarm");
        assert_eq!(
            (
                v["SignalsHandled"].as_u64(),
                v["SignalsRejected"].as_u64(),
                v["AlertsSent"].as_u64()
            ),
            (Some(3), Some(1), Some(2))
        );
    }
}
