//! The integration tests of mirrorgate-agent in one test binary: each file of this
//! folder is a module of it. The test against the local AWS emulator is behind the
//! feature `emulator`.

mod support;

mod dist;
mod emulator;
mod fake_iris;
mod put_events;
