//! EventBridge `EC2 Command Invocation Status-change Notification` (source `aws.ssm`):
//! a Run Command of one of mirrorgate's documents (promote, fence) changed status on a
//! member's instance. The event names the command, the document, the instance and the
//! status; the command's comment and output are read afterwards by `mirror-events`
//! (`GetCommandInvocation`), which the decoder cannot do.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{envelope, malformed, DecodeError};
use crate::domain::{CommandReport, RunStatus, Signal, SignalKind};
use crate::topology::Topology;

pub const SSM_SOURCE: &str = "aws.ssm";
pub const DETAIL_TYPE: &str = "EC2 Command Invocation Status-change Notification";

const CONTEXT: &str = "EventBridge \"EC2 Command Invocation Status-change Notification\" event";

/// The event's `detail`, as Run Command sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InvocationStatusDetail {
    #[serde(rename = "command-id")]
    pub command_id: String,
    #[serde(rename = "document-name")]
    pub document_name: String,
    #[serde(rename = "instance-id")]
    pub instance_id: String,
    #[serde(rename = "requested-date-time", default)]
    pub requested_date_time: Option<DateTime<Utc>>,
    pub status: String,
}

pub(super) fn decode(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let event = envelope::<InvocationStatusDetail>(payload, CONTEXT)?;
    let detail = event.detail;
    let (mirror, member) = topology
        .by_instance(&detail.instance_id)
        .ok_or_else(|| DecodeError::UnknownInstance {
            instance_id: detail.instance_id.clone(),
        })?;
    let status = RunStatus::parse(&detail.status).ok_or_else(|| {
        malformed(
            format!("{CONTEXT}, field detail.status"),
            format!(
                "{:?} is not a Run Command status; expected one of {}",
                detail.status,
                RunStatus::ALL.map(RunStatus::as_str).join(", ")
            ),
        )
    })?;
    if detail.command_id.trim().is_empty() {
        return Err(malformed(
            format!("{CONTEXT}, field detail.command-id"),
            "is empty; expected the command id",
        ));
    }
    Ok(vec![Signal {
        mirror: mirror.name.clone(),
        id: event.id,
        at: event.at,
        kind: SignalKind::CommandStatus(CommandReport {
            member: member.name.clone(),
            command_id: detail.command_id,
            document: detail.document_name,
            status,
            requested_at: detail.requested_date_time,
            comment: None,
            output: None,
            unread: None,
        }),
    }])
}
