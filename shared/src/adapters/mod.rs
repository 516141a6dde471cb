//! Adapters: the ports' implementations.

pub mod embedded;
/// Fault injection around the ports, for the reliability tests.
pub mod faulty;

#[cfg(feature = "aws")]
pub mod aws;
