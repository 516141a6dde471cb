//! Any text as a topology file: parsing never panics, and every error names a field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::topology::Topology;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Topology::parse("fuzz.toml", &text) {
        Ok(topology) => {
            for mirror in &topology.mirrors {
                assert!(topology.mirror(&mirror.name).is_some());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
