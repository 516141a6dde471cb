//! The integration tests of the mirrorgate CLI in one test binary: each file of this
//! folder is a module of it. Run one file with `cargo test -p mirrorgate --test it scenarios::`.
//! The operator's commands on `--backend aws` (against the local AWS emulator) are
//! behind the feature `aws`.

mod support;

mod aws_operator;
mod hostile_http;
mod operator;
mod scenarios;
mod serve;
mod topology;
