//! The `mirrorgate` operator's tool and local control plane, as a library so that
//! its tests can drive replay and serve in-process.

pub mod local;
pub mod output;
pub mod replay;
pub mod serve;
pub mod status;
