//! What the agent remembers between rounds (a small JSON file, `state_file`): when
//! this async member was last seen `Connected`, and the journal latency it had then.
//!
//! Why: once an async has lost its link to the primary, what a promotion may lose
//! grows with the time since it last received journal data (docs/events.md §5.5).
//! While IRIS says `Connected` the async is receiving; the agent keeps the time of
//! that observation, and after the link is lost it reports it as `received_at`.
//! Nothing in the state is needed for the agent to work: a missing or unreadable
//! file only means that `received_at` cannot be said until the member is seen
//! connected again.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The journal latency as last measured while connected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownLatency {
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u32>,
    pub measured_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct State {
    /// Whom the state is about: a state left by another configuration is ignored.
    pub mirror: String,
    pub member: String,
    /// The last time IRIS said this async was `Connected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connected_at: Option<DateTime<Utc>>,
    /// Its journal latency then, if the routine could read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_latency: Option<KnownLatency>,
}

impl State {
    /// The state for this mirror and member: what the file holds when it is theirs,
    /// otherwise an empty one.
    pub fn load(path: &Path, mirror: &str, member: &str) -> State {
        let empty = State {
            mirror: mirror.to_string(),
            member: member.to_string(),
            ..State::default()
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return empty;
        };
        match serde_json::from_str::<State>(&text) {
            Ok(s) if s.mirror == mirror && s.member == member => s,
            _ => empty,
        }
    }

    /// Writes the file (through a temporary file and a rename, so that it is never
    /// half written).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_of_another_member_or_a_broken_file_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join("state.json");
        assert_eq!(
            State::load(&path, "M", "A"),
            State {
                mirror: "M".into(),
                member: "A".into(),
                ..State::default()
            }
        );
        let s = State {
            mirror: "M".into(),
            member: "A".into(),
            last_connected_at: Some(DateTime::<Utc>::UNIX_EPOCH),
            last_latency: None,
        };
        s.save(&path).expect("saved");
        assert_eq!(State::load(&path, "M", "A"), s);
        assert_eq!(State::load(&path, "M", "B").last_connected_at, None);
        std::fs::write(&path, "{").expect("write");
        assert_eq!(State::load(&path, "M", "A").last_connected_at, None);
    }
}
