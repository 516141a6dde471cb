//! The hand-off on EventBridge: an approved order becomes one event on the stack's
//! bus, which the promotion executor's rule (and the site's own automation) reads.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::promotion::{PromotionEvent, DRILL_APPROVED, EVENT_SOURCE, FENCING_APPROVED, PROMOTION_APPROVED};
use super::{describe, LazyClient};
use crate::domain::RequestKind;
use crate::ports::{HandOff, HandOffError, PromotionOrder};
use crate::topology::Topology;

/// The EventBridge event that hands an approved order of `kind` to the executor: its
/// `detail-type` and `detail`. A promotion (a switchover's and a failback's too) is
/// `PromotionApproved` with the detail the site's automation also gets from
/// `PromotionExecuted`; a fencing is `FencingApproved` and a drill `DrillApproved`,
/// with the order as detail, never `PromotionApproved`: the site's automation must not
/// read either as a promotion.
pub fn hand_off_event(
    kind: RequestKind,
    topology: &Topology,
    order: &PromotionOrder,
) -> Result<(&'static str, String), serde_json::Error> {
    let detail_type = match kind {
        RequestKind::Promotion | RequestKind::Switchover | RequestKind::Failback => PROMOTION_APPROVED,
        RequestKind::Fencing => FENCING_APPROVED,
        RequestKind::Drill => DRILL_APPROVED,
    };
    let event = topology
        .mirror(&order.mirror)
        .and_then(|m| m.member(&order.candidate).map(|c| PromotionEvent::new(m, c, order)))
        .filter(|_| detail_type == PROMOTION_APPROVED);
    let detail = match event {
        Some(event) => serde_json::to_string(&event)?,
        None => serde_json::to_string(order)?,
    };
    Ok((detail_type, detail))
}

/// Hands approved orders over as [`hand_off_event`]s on one bus (`PutEvents`, with
/// the SDK's retries). A refused entry or a failed call is an error: the caller
/// retries.
pub struct EventBridgeHandOff {
    events: LazyClient<aws_sdk_eventbridge::Client>,
    bus: String,
}

impl EventBridgeHandOff {
    /// On `bus` (a name or an ARN), with a client built or built on first use.
    pub fn new(events: impl Into<LazyClient<aws_sdk_eventbridge::Client>>, bus: &str) -> EventBridgeHandOff {
        EventBridgeHandOff {
            events: events.into(),
            bus: bus.to_string(),
        }
    }

    /// The bus the events are put on.
    pub fn bus(&self) -> &str {
        &self.bus
    }
}

impl HandOff for EventBridgeHandOff {
    async fn hand_off(
        &self,
        topology: &Topology,
        kind: RequestKind,
        order: &PromotionOrder,
    ) -> Result<(), HandOffError> {
        let (detail_type, detail) = hand_off_event(kind, topology, order).map_err(|e| HandOffError(e.to_string()))?;
        let entry = PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .event_bus_name(&self.bus)
            .build();
        let sent = self.events.get().put_events().entries(entry).send().await;
        match sent {
            Ok(out) if out.failed_entry_count() == 0 => {
                tracing::info!(mirror = %order.mirror, request = %order.request, "promotion handed to the executor");
                Ok(())
            }
            Ok(out) => {
                let why = out
                    .entries()
                    .iter()
                    .filter_map(|e| e.error_message())
                    .collect::<Vec<_>>()
                    .join("; ");
                Err(HandOffError(format!(
                    "hand-off of {} refused by EventBridge: {why}",
                    order.request
                )))
            }
            Err(e) => Err(HandOffError(describe(
                &format!("hand-off of {} (EventBridge PutEvents)", order.request),
                &e,
            ))),
        }
    }
}

/// One event [`RecordingHandOff`] kept: what EventBridge would have been given.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Clone, PartialEq)]
pub struct HandedOff {
    pub detail_type: &'static str,
    pub detail: serde_json::Value,
}

/// A hand-off that records the events [`EventBridgeHandOff`] would put (the same
/// [`hand_off_event`]s) instead of putting them: the handlers' tests read them back.
/// [`RecordingHandOff::refusing`] makes every hand-off fail, as a refused entry does.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Default)]
pub struct RecordingHandOff {
    handed: std::sync::Mutex<Vec<HandedOff>>,
    refuse: Option<String>,
}

#[cfg(any(test, feature = "test-util"))]
impl RecordingHandOff {
    /// Refuses every hand-off with `why`, recording nothing.
    pub fn refusing(why: &str) -> RecordingHandOff {
        RecordingHandOff {
            handed: Default::default(),
            refuse: Some(why.to_string()),
        }
    }

    /// Every event handed off so far, oldest first.
    pub fn handed(&self) -> Vec<HandedOff> {
        self.handed.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl HandOff for RecordingHandOff {
    async fn hand_off(
        &self,
        topology: &Topology,
        kind: RequestKind,
        order: &PromotionOrder,
    ) -> Result<(), HandOffError> {
        if let Some(why) = &self.refuse {
            return Err(HandOffError(format!(
                "hand-off of {} refused by EventBridge: {why}",
                order.request
            )));
        }
        let (detail_type, detail) = hand_off_event(kind, topology, order).map_err(|e| HandOffError(e.to_string()))?;
        let detail = serde_json::from_str(&detail).map_err(|e| HandOffError(e.to_string()))?;
        self.handed
            .lock()
            .map_err(|_| HandOffError("the recording hand-off is poisoned".into()))?
            .push(HandedOff { detail_type, detail });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::topology::example;

    fn order(candidate: &str) -> PromotionOrder {
        PromotionOrder {
            mirror: "HSPROD".into(),
            request: "HSPROD-R1".into(),
            candidate: candidate.into(),
            epoch: 1,
            resume: false,
            allow_no_partner: false,
            failback: false,
        }
    }

    #[test]
    fn a_promotion_is_handed_off_as_promotion_approved_with_the_sites_detail() {
        for kind in [RequestKind::Promotion, RequestKind::Switchover, RequestKind::Failback] {
            let (detail_type, detail) = hand_off_event(kind, &example(), &order("HSPROD-DR1")).expect("encoded");
            assert_eq!(detail_type, PROMOTION_APPROVED, "{kind:?}");
            let detail: serde_json::Value = serde_json::from_str(&detail).expect("JSON");
            assert_eq!(detail["candidate"], "HSPROD-DR1");
            assert_eq!(detail["instance_id"], "i-0ddddddddddddddd4");
            assert_eq!(detail["ssm_document"], "HSPROD-PromoteDrAsync");
            assert_eq!(detail["epoch"], 1);
        }
    }

    #[test]
    fn a_fencing_or_a_drill_is_never_handed_off_as_a_promotion() {
        for (kind, expected) in [
            (RequestKind::Fencing, FENCING_APPROVED),
            (RequestKind::Drill, DRILL_APPROVED),
        ] {
            let (detail_type, detail) = hand_off_event(kind, &example(), &order("HSPROD-DR1")).expect("encoded");
            assert_eq!(detail_type, expected);
            // The order itself, which the executor reads back; no promotion detail.
            let back: PromotionOrder = serde_json::from_str(&detail).expect("the order");
            assert_eq!(back, order("HSPROD-DR1"));
        }
    }

    #[tokio::test]
    async fn the_recording_hand_off_keeps_the_events_eventbridge_would_get() {
        let recording = RecordingHandOff::default();
        recording
            .hand_off(&example(), RequestKind::Fencing, &order("HSPROD-DR1"))
            .await
            .expect("handed off");
        let handed = recording.handed();
        assert_eq!(handed.len(), 1);
        assert_eq!(handed[0].detail_type, FENCING_APPROVED);
        assert_eq!(handed[0].detail["request"], "HSPROD-R1");
        let refusing = RecordingHandOff::refusing("bus full");
        let refused = refusing
            .hand_off(&example(), RequestKind::Promotion, &order("HSPROD-DR1"))
            .await
            .expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "hand-off of HSPROD-R1 refused by EventBridge: bus full"
        );
        assert!(refusing.handed().is_empty());
    }
}
