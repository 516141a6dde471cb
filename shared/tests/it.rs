//! The integration tests of mirrorgate-shared in one test binary: each file of this
//! folder is a module of it, so the crate and the AWS SDK are linked once, not once a
//! file. Run one file with `cargo test -p mirrorgate-shared --test it delivery::`.
//! The tests against the local AWS emulator are behind the feature `emulator`.

#[cfg(feature = "emulator")]
mod aws_support;
mod contract;
mod logs;
mod reliability;

mod approval;
mod aws_adapters;
mod decode;
mod delivery;
mod faults;
mod handlers;
mod hostile;
mod races;
mod regressions;
mod secrets;
mod site;
mod ssm_documents;
mod store_dynamodb;
mod store_embedded;
mod walks;
