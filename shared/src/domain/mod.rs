//! The pure decision core: no I/O, no clock, no randomness of its own.

pub mod alert;
pub mod decide;
pub mod loss;
pub mod maintenance;
pub mod mirror;
pub mod notice;
pub mod report;
pub mod signal;
pub mod state;
pub mod view;
pub mod wording;

#[cfg(test)]
mod tests;

pub use alert::{Alert, AlertKind, Severity};
pub use decide::{decide, Context, Decided, DecisionVerdict, Effect, Refusal, Verdict};
pub use loss::{LossBasis, LossEstimate};
pub use maintenance::MaintenanceWindow;
pub use mirror::{AlarmMapping, FenceMethod, Member, MemberKind, Mirror, Observer, Policy, PromotionConfig};
pub use notice::{
    DrillNotice, FailbackNotice, FencingNotice, MaintenanceNotice, MirrorNotice, Notice, PromotionNotice,
    SwitchoverNotice,
};
pub use signal::*;
pub use state::*;
