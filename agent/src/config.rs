//! The agent's configuration file (TOML, default `/etc/mirrorgate/agent.toml`).
//!
//! Every key is checked by hand rather than by serde, so that each error names the
//! key, says what was wrong and what is expected. Unknown keys are refused: a
//! misspelt optional key would otherwise be silently ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// Where the agent looks for its configuration unless `--config` says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/mirrorgate/agent.toml";
/// Where the agent remembers what it saw last (see [`crate::state`]).
pub const DEFAULT_STATE_FILE: &str = "/var/lib/mirrorgate-agent/state.json";
pub const DEFAULT_INTERVAL_SECS: u64 = 60;
pub const DEFAULT_IRIS_TIMEOUT_SECS: u64 = 20;

/// Which InterSystems product runs on the host, and so which command opens a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// InterSystems IRIS: `iris session INSTANCE -U %SYS ...`.
    Iris,
    /// Caché: `csession INSTANCE -U %SYS ...`.
    Cache,
}

impl Product {
    /// The command looked up on `PATH`.
    pub fn command(self) -> &'static str {
        match self {
            Product::Iris => "iris",
            Product::Cache => "csession",
        }
    }

    /// How the session command is named in messages (`iris session`, `csession`).
    pub fn session_words(self) -> &'static str {
        match self {
            Product::Iris => "iris session",
            Product::Cache => "csession",
        }
    }
}

/// A valid configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The mirror's name, exactly as in mirrorgate's topology.
    pub mirror: String,
    /// This member's name, exactly as in mirrorgate's topology.
    pub member: String,
    /// The IRIS (or Caché) instance name, as `iris list` shows it.
    pub instance: String,
    pub product: Product,
    /// The region where mirrorgate runs (the DR region), not the host's.
    pub region: String,
    /// The event bus mirrorgate's rule listens on, in `region` (name or ARN).
    pub event_bus: String,
    pub interval_secs: u64,
    pub iris_timeout_secs: u64,
    /// Where the agent keeps what it last saw (when the member was last connected).
    pub state_file: PathBuf,
}

/// A configuration that cannot be used; the message names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The keys, with what each one is, for error messages and `--help`.
pub const KEYS: [(&str, &str); 9] = [
    (
        "mirror",
        "the mirror's name, exactly as in mirrorgate's topology (e.g. \"HSPROD\")",
    ),
    (
        "member",
        "this member's name, exactly as in mirrorgate's topology (e.g. \"HSPROD-B\")",
    ),
    (
        "instance",
        "the IRIS instance name, as `iris list` shows it (e.g. \"IRIS\")",
    ),
    (
        "product",
        "\"iris\" (runs `iris session`) or \"cache\" (runs `csession`)",
    ),
    (
        "region",
        "the AWS region where mirrorgate runs, not the host's (e.g. \"us-west-2\")",
    ),
    (
        "event_bus",
        "the EventBridge bus mirrorgate's rule listens on, in that region (e.g. \"default\")",
    ),
    ("interval_secs", "seconds between two heartbeats (default 60)"),
    (
        "iris_timeout_secs",
        "seconds to wait for IRIS before reporting Unknown (default 20)",
    ),
    (
        "state_file",
        "where the agent remembers when the member was last connected (default /var/lib/mirrorgate-agent/state.json)",
    ),
];

impl Config {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            message: format!(
                "cannot read it ({e}); write it from agent/dist/agent.toml, or give another file with --config"
            ),
        })?;
        Config::parse(&file, &text)
    }

    /// Checks the text of a configuration file named `file`.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            file: file.to_string(),
            message,
        };
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| error(format!("not valid TOML: {}", e.message().trim())))?;
        for key in table.keys() {
            if !KEYS.iter().any(|(k, _)| k == key) {
                return Err(error(format!(
                    "unknown key `{key}`; the keys are {}",
                    KEYS.map(|(k, _)| k).join(", ")
                )));
            }
        }
        let get = |key: &str| table.get(key);
        let mirror = name(get("mirror"), "mirror").map_err(error)?;
        let member = name(get("member"), "member").map_err(error)?;
        let instance = required_string(get("instance"), "instance").map_err(error)?;
        if !instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            || instance.len() > 64
        {
            return Err(error(format!(
                "`instance` = {instance:?} is not an instance name; expected letters, digits, `_` or `-` (as `iris list` shows it)"
            )));
        }
        let product = match required_string(get("product"), "product").map_err(error)?.as_str() {
            "iris" => Product::Iris,
            "cache" => Product::Cache,
            other => {
                return Err(error(format!(
                    "`product` = {other:?} is not a product; expected \"iris\" (runs `iris session`) or \"cache\" (runs `csession`)"
                )))
            }
        };
        let region = required_string(get("region"), "region").map_err(error)?;
        if !is_region(&region) {
            return Err(error(format!(
                "`region` = {region:?} is not an AWS region; expected a region such as \"us-west-2\": the region where mirrorgate runs"
            )));
        }
        let event_bus = required_string(get("event_bus"), "event_bus").map_err(error)?;
        if event_bus.len() > 1600
            || !event_bus
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':'))
        {
            return Err(error(format!(
                "`event_bus` = {event_bus:?} is not an event bus name or ARN; expected e.g. \"default\""
            )));
        }
        let interval_secs =
            seconds(get("interval_secs"), "interval_secs", DEFAULT_INTERVAL_SECS, 10, 3600).map_err(error)?;
        let iris_timeout_secs = seconds(
            get("iris_timeout_secs"),
            "iris_timeout_secs",
            DEFAULT_IRIS_TIMEOUT_SECS,
            1,
            300,
        )
        .map_err(error)?;
        if iris_timeout_secs >= interval_secs {
            return Err(error(format!(
                "`iris_timeout_secs` = {iris_timeout_secs} must be less than `interval_secs` = {interval_secs}, so that a \
                 round ends before the next one starts"
            )));
        }
        let state_file = match get("state_file") {
            None => PathBuf::from(DEFAULT_STATE_FILE),
            Some(v) => {
                let path = PathBuf::from(required_string(Some(v), "state_file").map_err(error)?);
                if !path.is_absolute() {
                    return Err(error(format!(
                        "`state_file` = {:?} is not an absolute path; expected e.g. \"{DEFAULT_STATE_FILE}\"",
                        path.display()
                    )));
                }
                path
            }
        };
        Ok(Config {
            mirror,
            member,
            instance,
            product,
            region,
            event_bus,
            interval_secs,
            iris_timeout_secs,
            state_file,
        })
    }
}

fn what(key: &str) -> &'static str {
    KEYS.iter().find(|(k, _)| *k == key).map_or("", |(_, w)| w)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number with a fraction",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

fn required_string(value: Option<&Value>, key: &str) -> Result<String, String> {
    match value {
        None => Err(format!("missing key `{key}`: {}", what(key))),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) => Err(format!("`{key}` is empty; expected {}", what(key))),
        Some(other) => Err(format!(
            "`{key}` is {}; expected a string: {}",
            type_name(other),
            what(key)
        )),
    }
}

/// A mirror or member name: printable, no control characters.
fn name(value: Option<&Value>, key: &str) -> Result<String, String> {
    let s = required_string(value, key)?;
    if s.chars().any(char::is_control) || s.len() > 128 {
        return Err(format!("`{key}` = {s:?} is not a name; expected {}", what(key)));
    }
    Ok(s)
}

fn seconds(value: Option<&Value>, key: &str, default: u64, min: u64, max: u64) -> Result<u64, String> {
    match value {
        None => Ok(default),
        Some(Value::Integer(n)) if (min as i64..=max as i64).contains(n) => Ok(*n as u64),
        Some(Value::Integer(n)) => Err(format!(
            "`{key}` = {n} is out of range; expected a whole number of seconds from {min} to {max}"
        )),
        Some(other) => Err(format!(
            "`{key}` is {}; expected a whole number of seconds from {min} to {max}, without quotes",
            type_name(other)
        )),
    }
}

/// An AWS region name: `area-name-number`, or with a partition prefix (`us-gov-west-1`).
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
mirror = "HSPROD"
member = "HSPROD-DR1"
instance = "IRIS"
product = "iris"
region = "us-west-2"
event_bus = "default"
"#;

    fn err(text: &str) -> String {
        Config::parse("agent.toml", text).expect_err("refused").to_string()
    }

    #[test]
    fn a_minimal_file_takes_the_defaults() {
        let c = Config::parse("agent.toml", GOOD).expect("valid");
        assert_eq!(c.mirror, "HSPROD");
        assert_eq!(c.member, "HSPROD-DR1");
        assert_eq!(c.product, Product::Iris);
        assert_eq!(c.interval_secs, 60);
        assert_eq!(c.iris_timeout_secs, 20);
        assert_eq!(c.state_file, PathBuf::from(DEFAULT_STATE_FILE));
        let c = Config::parse("agent.toml", &GOOD.replace("\"iris\"", "\"cache\"")).expect("valid");
        assert_eq!(c.product.command(), "csession");
    }

    #[test]
    fn every_error_names_the_key() {
        assert_eq!(
            err(&format!("{GOOD}\nintervall_secs = 30\n")),
            "agent.toml: unknown key `intervall_secs`; the keys are mirror, member, instance, product, region, \
             event_bus, interval_secs, iris_timeout_secs, state_file"
        );
        assert_eq!(
            err(&GOOD.replace("mirror = \"HSPROD\"\n", "")),
            "agent.toml: missing key `mirror`: the mirror's name, exactly as in mirrorgate's topology (e.g. \"HSPROD\")"
        );
        assert!(err(&GOOD.replace("\"iris\"", "\"ensemble\"")).contains("`product` = \"ensemble\" is not a product"));
        assert!(
            err(&GOOD.replace("\"us-west-2\"", "\"oregon\"")).contains("`region` = \"oregon\" is not an AWS region")
        );
        assert!(err(&format!("{GOOD}interval_secs = \"60\"\n"))
            .contains("`interval_secs` is a string; expected a whole number"));
        assert!(err(&format!("{GOOD}interval_secs = 5\n")).contains("`interval_secs` = 5 is out of range"));
        assert!(err(&format!("{GOOD}iris_timeout_secs = 0\n")).contains("`iris_timeout_secs` = 0 is out of range"));
        assert!(err(&format!("{GOOD}interval_secs = 20\n"))
            .contains("`iris_timeout_secs` = 20 must be less than `interval_secs` = 20"));
        assert!(err(&GOOD.replace("\"IRIS\"", "\"IRIS; rm -rf /\""))
            .contains("`instance` = \"IRIS; rm -rf /\" is not an instance name"));
        assert!(err(&format!("{GOOD}state_file = \"state.json\"\n"))
            .contains("`state_file` = \"state.json\" is not an absolute path"));
        assert!(err(&GOOD.replace("member = \"HSPROD-DR1\"", "member = 7"))
            .contains("`member` is an integer; expected a string"));
        assert!(err("mirror = ").starts_with("agent.toml: not valid TOML:"));
    }

    #[test]
    fn regions() {
        for good in ["us-west-2", "eu-central-1", "us-gov-west-1", "ap-southeast-4"] {
            assert!(is_region(good), "{good}");
        }
        for bad in ["", "us", "us-west", "US-WEST-2", "us-west-x", "us--2"] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
