//! Adapters: the ports' implementations.

pub mod embedded;

#[cfg(feature = "aws")]
pub mod aws;
