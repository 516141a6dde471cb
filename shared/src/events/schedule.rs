//! The EventBridge schedule (`Scheduled Event`, source `aws.events`): time passed, for
//! every mirror of the topology.

use serde_json::Value;

use super::{envelope, DecodeError};
use crate::domain::{Signal, SignalKind};
use crate::topology::Topology;

pub(super) const EVENT_SOURCE: &str = "aws.events";
pub(super) const DETAIL_TYPE: &str = "Scheduled Event";

const CONTEXT: &str = "EventBridge \"Scheduled Event\"";

/// One tick per mirror, at the event's time. Ticks carry no delivery id: a repeated
/// tick is harmless (every rule it drives is a function of time), and ids of ticks
/// would only crowd out the ids of signals whose duplicates matter.
pub(super) fn decode(payload: &Value, topology: &Topology) -> Result<Vec<Signal>, DecodeError> {
    let event = envelope::<Value>(payload, CONTEXT)?;
    Ok(topology
        .mirrors
        .iter()
        .map(|m| Signal {
            mirror: m.name.clone(),
            id: None,
            at: event.at,
            kind: SignalKind::Tick,
        })
        .collect())
}
