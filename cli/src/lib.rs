//! The `mirrorgate` operator's tool and local control plane, as a library so that
//! its tests can drive replay and serve in-process.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod identity;
pub mod local;
pub mod operator;
pub mod output;
pub mod replay;
pub mod serve;
pub mod status;
pub mod status_page;
pub mod topology;
