//! The topology in SSM Parameter Store: one parameter per mirror under a path
//! (`/mirrorgate/<stack>/mirrors/<MIRROR>`), each holding that mirror's TOML.
//!
//! The functions read them all with `GetParametersByPath` (the only call their role
//! may make on the path); `mirrorgate --backend aws topology push|show` writes and
//! reads them with the operator's own credentials.

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use aws_sdk_ssm::Client;

use super::{describe, AwsError};
use crate::topology::{MirrorParameter, Topology, TopologyError};

/// The path the functions read the topology from (the template's `TopologyPath`).
pub const ENV_TOPOLOGY_PATH: &str = "MIRRORGATE_TOPOLOGY_PATH";

/// GetParametersByPath returns at most 10 parameters a page.
const PAGE: i32 = 10;

/// Why the topology could not be read from Parameter Store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Parameter Store could not be asked (network, throttling, permissions).
    #[error("{0}")]
    Unreachable(AwsError),
    /// The parameters were read and do not form a valid topology.
    #[error("{0}")]
    Invalid(TopologyError),
}

/// What a push did to one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub name: String,
    pub mirror: String,
    pub bytes: usize,
    pub advanced: bool,
    /// The parameter's version after the write.
    pub version: i64,
}

/// The parameters under one path.
#[derive(Clone, Debug)]
pub struct TopologyParameters {
    client: Client,
    path: String,
}

impl TopologyParameters {
    /// `path` is checked by [`crate::topology::parameter_path`] first.
    pub fn new(client: Client, path: &str) -> TopologyParameters {
        TopologyParameters {
            client,
            path: path.trim_end_matches('/').to_string(),
        }
    }

    /// From a loaded configuration (the operator's tool: only the SSM client).
    pub fn from_config(config: &aws_config::SdkConfig, path: &str) -> TopologyParameters {
        TopologyParameters::new(Client::new(config), path)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Every parameter directly under the path, `(name, value)`, sorted by name.
    pub async fn read_all(&self) -> Result<Vec<(String, String)>, AwsError> {
        let mut parameters = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_parameters_by_path()
                .path(&self.path)
                .recursive(false)
                .max_results(PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError(describe(&format!("SSM GetParametersByPath {}", self.path), &e)))?;
            for p in page.parameters() {
                if let (Some(name), Some(value)) = (p.name(), p.value()) {
                    parameters.push((name.to_string(), value.to_string()));
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        parameters.sort();
        Ok(parameters)
    }

    /// The topology the stack reads: every parameter under the path, validated
    /// together.
    pub async fn read(&self) -> Result<Topology, ReadError> {
        let parameters = self.read_all().await.map_err(ReadError::Unreachable)?;
        Topology::from_parameters(&self.path, &parameters).map_err(ReadError::Invalid)
    }

    /// Writes one parameter per mirror (overwriting), the advanced tier where a
    /// value is over 4 KB.
    pub async fn push(&self, parameters: &[MirrorParameter]) -> Result<Vec<Written>, AwsError> {
        let mut written = Vec::new();
        for p in parameters {
            let advanced = p.needs_advanced_tier();
            let out = self
                .client
                .put_parameter()
                .name(&p.name)
                .value(&p.value)
                .r#type(ParameterType::String)
                .tier(if advanced {
                    ParameterTier::Advanced
                } else {
                    ParameterTier::Standard
                })
                .overwrite(true)
                .description(format!("mirrorgate topology: mirror {}", p.mirror))
                .send()
                .await
                .map_err(|e| {
                    AwsError(format!(
                        "{} (parameters written before it: {})",
                        describe(&format!("SSM PutParameter {}", p.name), &e),
                        if written.is_empty() {
                            "none".to_string()
                        } else {
                            written
                                .iter()
                                .map(|w: &Written| w.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ))
                })?;
            written.push(Written {
                name: p.name.clone(),
                mirror: p.mirror.clone(),
                bytes: p.value.len(),
                advanced,
                version: out.version(),
            });
        }
        Ok(written)
    }

    /// Deletes parameters by name (mirrors no longer in the file, `--prune`).
    pub async fn delete(&self, names: &[String]) -> Result<(), AwsError> {
        for name in names {
            self.client
                .delete_parameter()
                .name(name)
                .send()
                .await
                .map_err(|e| AwsError(describe(&format!("SSM DeleteParameter {name}"), &e)))?;
        }
        Ok(())
    }
}
