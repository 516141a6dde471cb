//! EventBridge `EC2 Instance State-change Notification` (source `aws.ec2`): a member's
//! instance started, stopped or was terminated.

use aws_lambda_events::cloudwatch_events::ec2::InstanceStateChange;
use serde_json::Value;

use super::{envelope, malformed, DecodeError};
use crate::domain::Observer;
use crate::domain::{Signal, SignalKind};
use crate::topology::Topology;

pub(super) const EVENT_SOURCE: &str = "aws.ec2";
pub(super) const DETAIL_TYPE: &str = "EC2 Instance State-change Notification";

const CONTEXT: &str = "EventBridge \"EC2 Instance State-change Notification\" event";

/// What an instance state says about the member: healthy, unhealthy, or nothing yet.
fn health(state: &str) -> Option<Option<bool>> {
    match state {
        "running" => Some(Some(true)),
        "stopping" | "stopped" | "shutting-down" | "terminated" => Some(Some(false)),
        // Starting: the member says nothing until it runs.
        "pending" => Some(None),
        _ => None,
    }
}

pub(super) fn decode(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let event = envelope::<InstanceStateChange>(payload, CONTEXT)?;
    let change = event.detail;
    let (mirror, member) = topology
        .by_instance(&change.instance_id)
        .ok_or_else(|| DecodeError::UnknownInstance {
            instance_id: change.instance_id.clone(),
        })?;
    let healthy = health(&change.state).ok_or_else(|| {
        malformed(
            format!("{CONTEXT}, field detail.state"),
            format!(
                "{:?} is not an EC2 instance state; expected pending, running, stopping, stopped, shutting-down \
                 or terminated",
                change.state
            ),
        )
    })?;
    let Some(healthy) = healthy else {
        return Ok(Vec::new());
    };
    Ok(vec![Signal {
        mirror: mirror.name.clone(),
        id: event.id,
        at: event.at,
        kind: SignalKind::Observation {
            member: member.name.clone(),
            observer: Observer::Instance,
            healthy,
            source: format!("EC2 instance {} {}", change.instance_id, change.state),
            since: None,
            alarm_arn: None,
            unreachable: false,
        },
    }])
}

#[cfg(test)]
mod tests {
    use super::health;

    #[test]
    fn every_documented_state_has_a_meaning() {
        assert_eq!(health("running"), Some(Some(true)));
        for down in ["stopping", "stopped", "shutting-down", "terminated"] {
            assert_eq!(health(down), Some(Some(false)), "{down}");
        }
        assert_eq!(health("pending"), Some(None));
        assert_eq!(health("Running"), None);
        assert_eq!(health("rebooting"), None);
    }
}
