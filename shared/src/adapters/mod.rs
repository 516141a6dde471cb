//! Adapters: the ports' implementations.

pub mod embedded;
