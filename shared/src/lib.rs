//! mirrorgate's library: the pure decision core (`domain`), the decoding of AWS
//! payloads into signals (`events`), the ports the core's effects go through
//! (`ports`), their adapters, and the engine that ties them together.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod adapters;
pub mod deployment;
pub mod domain;
pub mod engine;
pub mod events;
#[cfg(feature = "lambda")]
pub mod handlers;
pub mod ports;
pub mod token;
pub mod topology;
pub mod web;
