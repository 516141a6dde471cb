//! mirrorgate's host agent. On every IRIS (or Caché) member host, each round asks
//! IRIS for this member's mirror status through the routine `^ZMIRRORGATE`
//! (`iris/ZMIRRORGATE.mac`), builds a `Mirror Member Heartbeat` (or, with
//! `--event status`, a `Mirror Member Status`) event with the project's own event
//! types, and sends it to EventBridge in mirrorgate's region. An agent that could
//! not ask IRIS sends `Unknown` with the reason, never `Down`.
//!
//! The contract is docs/events.md §5; installing and running it is §5.3.

pub mod aws;
pub mod config;
pub mod event;
pub mod iris;
pub mod state;

use chrono::{DateTime, SubsecRound, Utc};

use crate::config::Config;
use crate::event::{Event, Kind};
use crate::state::State;

/// The time of an observation, in whole seconds (EventBridge keeps no more).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// One round without the sending: asks IRIS (blocking, at most
/// `iris_timeout_secs`), builds the event, and updates the state file (a failure
/// to write it is returned as a warning, never an error).
pub fn observe(config: &Config, kind: Kind) -> (Event, Option<String>) {
    let answer = iris::ask(config);
    let time = now();
    let mut state = State::load(&config.state_file, &config.mirror, &config.member);
    let before = state.clone();
    let event = event::build(config, kind, time, &answer, &mut state);
    let warning = if state != before {
        state.save(&config.state_file).err().map(|e| {
            format!(
                "cannot write the state file {} ({e}); received_at cannot be reported after the link is lost",
                config.state_file.display()
            )
        })
    } else {
        None
    };
    (event, warning)
}
