//! Adapters: the ports' implementations.

pub mod embedded;
/// Fault injection around the ports, for the reliability tests (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
pub mod faulty;
/// The probe of each member's `mirror_status.cxw` (its HTTP client with the feature `aws`).
pub mod probe;

#[cfg(feature = "aws")]
pub mod aws;
