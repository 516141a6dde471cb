//! Any bytes, as an AWS payload delivered to a mirrorgate function: decoding
//! against the reference topology never panics, and every refusal has a kind.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared::events::{decode, DecodeError};
use shared::topology::Topology;

fn topology() -> &'static Topology {
    static TOPOLOGY: OnceLock<Topology> = OnceLock::new();
    TOPOLOGY.get_or_init(|| {
        Topology::parse("examples/topology.toml", include_str!("../../examples/topology.toml"))
            .unwrap_or_else(|e| panic!("the example topology: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    match decode(data, topology()) {
        Ok(signals) => {
            for signal in signals {
                assert!(
                    topology().mirror(&signal.mirror).is_some(),
                    "a signal names a mirror of the topology"
                );
            }
        }
        Err(e) => assert!(DecodeError::KINDS.contains(&e.kind())),
    }
});
