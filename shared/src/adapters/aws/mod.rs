//! The AWS adapters (cargo feature `aws`): the ports on DynamoDB, SNS, SSM and
//! EventBridge, plus the Route 53 health poll, the alarms read again in their own
//! regions, the heartbeat metric and the embedded-metric-format lines.
//!
//! One `SdkConfig` is loaded once (standard AWS chain: `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, credentials) and every client is built from it when first
//! used ([`lazy`]), with the
//! SDK's standard retry mode: exponential backoff with full jitter on throttling,
//! 5xx and transport errors. SDK error types never leave this module: they become
//! the ports' errors (`StoreError`, `NotifyError`, `ActionError`) or [`AwsError`].

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;

pub mod alarms;
pub mod dynamodb;
pub mod eventbridge;
pub mod lazy;
pub mod metrics;
pub mod parameters;
pub mod promotion;
pub mod route53;
pub mod sns;
pub mod tls;

pub use alarms::AlarmReader;
pub use dynamodb::DynamoStore;
pub use eventbridge::EventBridgeHandOff;
pub use lazy::LazyClient;
pub use metrics::{emf_line, Counts, Heartbeat};
pub use parameters::TopologyParameters;
pub use promotion::AwsPromotionActions;
pub use route53::{fold_observations, FailoverRecord, FailoverRole, Fold, Route53Health};
pub use sns::{sns_message, SnsMessage, SnsNotifier};

/// The environment variables the AWS backend reads (besides the standard AWS ones).
pub const ENV_TABLE: &str = "MIRRORGATE_TABLE";
pub const ENV_TOPIC_ARN: &str = "MIRRORGATE_TOPIC_ARN";
/// The alert topic's display name, which SNS puts before every SMS (optional).
pub const ENV_SMS_SENDER: &str = "MIRRORGATE_SMS_SENDER";
/// Optional: the log group the promote and fence scripts' output goes to
/// (`CloudWatchOutputConfig` of `SendCommand`); unset: the output stays in SSM only.
pub const ENV_RUN_COMMAND_LOG_GROUP: &str = "MIRRORGATE_RUN_COMMAND_LOG_GROUP";
/// Optional: attempts per AWS call, first try included (default [`DEFAULT_MAX_ATTEMPTS`]).
pub const ENV_MAX_ATTEMPTS: &str = "MIRRORGATE_MAX_ATTEMPTS";

/// Attempts per AWS call (the first try and up to four retries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// A failure of an AWS call outside the ports (Route 53, CloudWatch), in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AwsError(pub String);

/// The AWS backend cannot start: names what is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set: {1}")]
    Missing(&'static str, &'static str),
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, String),
}

/// The names of the deployment's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The DynamoDB table (`MIRRORGATE_TABLE`).
    pub table: String,
    /// The SNS topic alerts go to (`MIRRORGATE_TOPIC_ARN`).
    pub topic_arn: String,
    /// The topic's display name (`MIRRORGATE_SMS_SENDER`), counted in every SMS.
    pub sms_sender: Option<String>,
    /// The log group of the scripts' output (`MIRRORGATE_RUN_COMMAND_LOG_GROUP`).
    pub run_command_log_group: Option<String>,
}

impl Names {
    /// Reads the names from a variable source (the environment in production).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Names, ConfigError> {
        let required = |name: &'static str, what: &'static str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name, what))
        };
        Ok(Names {
            table: required(ENV_TABLE, "the DynamoDB table that holds the mirror state")?,
            topic_arn: required(ENV_TOPIC_ARN, "the ARN of the SNS topic alerts are published to")?,
            sms_sender: var(ENV_SMS_SENDER).filter(|v| !v.trim().is_empty()),
            run_command_log_group: var(ENV_RUN_COMMAND_LOG_GROUP).filter(|v| !v.trim().is_empty()),
        })
    }
}

/// Everything the AWS adapters need, loaded once: the clients share one `SdkConfig`
/// and each is built when first used, so a function builds only those it calls.
#[derive(Clone, Debug)]
pub struct Deps {
    pub config: SdkConfig,
    pub names: Names,
    pub dynamodb: LazyClient<aws_sdk_dynamodb::Client>,
    pub sns: LazyClient<aws_sdk_sns::Client>,
    pub route53: LazyClient<aws_sdk_route53::Client>,
    pub ssm: LazyClient<aws_sdk_ssm::Client>,
    pub events: LazyClient<aws_sdk_eventbridge::Client>,
    pub cloudwatch: LazyClient<aws_sdk_cloudwatch::Client>,
    /// CloudWatch in each alarm's own region, for reading alarms again.
    pub alarms: AlarmReader,
}

impl Deps {
    /// `mirrorgate --backend aws`: the standard AWS chain for region, endpoint and
    /// credentials, and the `MIRRORGATE_*` names.
    pub async fn from_env() -> Result<Deps, ConfigError> {
        Deps::load(load_sdk_config).await
    }

    /// The Lambda functions: the same, with the cold start kept short (see
    /// [`load_lambda_sdk_config`]).
    pub async fn from_lambda_env() -> Result<Deps, ConfigError> {
        Deps::load(load_lambda_sdk_config).await
    }

    async fn load<F: std::future::Future<Output = SdkConfig>>(
        load_config: impl FnOnce(u32) -> F,
    ) -> Result<Deps, ConfigError> {
        let var = |name: &str| std::env::var(name).ok();
        let names = Names::from_vars(var)?;
        let attempts = match var(ENV_MAX_ATTEMPTS) {
            None => DEFAULT_MAX_ATTEMPTS,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or_else(|| {
                    ConfigError::Invalid(ENV_MAX_ATTEMPTS, format!("{v:?} is not a whole number from 1 to 20"))
                })?,
        };
        let config = load_config(attempts).await;
        if config.region().is_none() {
            return Err(ConfigError::Missing(
                "AWS_REGION",
                "the region of the deployment (or set region in the AWS profile)",
            ));
        }
        Ok(Deps::new(config, names))
    }

    /// Every client, from one loaded configuration, each built on first use (tests
    /// use this too).
    pub fn new(config: SdkConfig, names: Names) -> Deps {
        Deps {
            dynamodb: LazyClient::new(&config, aws_sdk_dynamodb::Client::new),
            sns: LazyClient::new(&config, aws_sdk_sns::Client::new),
            route53: LazyClient::new(&config, aws_sdk_route53::Client::new),
            ssm: LazyClient::new(&config, aws_sdk_ssm::Client::new),
            events: LazyClient::new(&config, aws_sdk_eventbridge::Client::new),
            cloudwatch: LazyClient::new(&config, aws_sdk_cloudwatch::Client::new),
            alarms: AlarmReader::new(&config),
            config,
            names,
        }
    }

    /// The store (builds the DynamoDB client).
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamodb.get().clone(), &self.names.table)
    }

    /// The notifier (builds the SNS client).
    pub fn notifier(&self) -> SnsNotifier {
        SnsNotifier::new(self.sns.get().clone(), &self.names.topic_arn)
            .with_sms_sender(self.names.sms_sender.as_deref())
    }

    /// The promotion actions; their SSM and EventBridge clients are built when a
    /// promotion first needs them.
    pub fn actions(&self) -> AwsPromotionActions {
        AwsPromotionActions::new(self.ssm.clone(), self.events.clone())
            .with_output_log_group(self.names.run_command_log_group.as_deref())
    }

    /// The hand-off to the promotion executor on `bus`; its EventBridge client is
    /// built by the first hand-off.
    pub fn hand_off(&self, bus: &str) -> EventBridgeHandOff {
        EventBridgeHandOff::new(self.events.clone(), bus)
    }

    /// The reading of Run Command output; its SSM client is built by the first read.
    pub fn command_output(&self) -> promotion::SsmCommandOutput {
        promotion::SsmCommandOutput::new(self.ssm.clone())
    }

    /// The topology's parameters under `path` (builds the SSM client).
    pub fn topology_parameters(&self, path: &str) -> TopologyParameters {
        TopologyParameters::new(self.ssm.get().clone(), path)
    }

    /// The Route 53 health poll (builds the Route 53 client).
    pub fn route53(&self) -> Route53Health {
        Route53Health::new(self.route53.get().clone())
    }

    /// The heartbeat of this deployment, named after its table (builds the
    /// CloudWatch client).
    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat::new(self.cloudwatch.get().clone(), &self.names.table)
    }
}

/// Loads the shared SDK configuration with mirrorgate's retry and timeout settings.
///
/// Retries: the SDK's standard mode, `attempts` in all, exponential backoff with full
/// jitter (a random wait up to 100 ms × 2^n, at most 5 s) on throttling, 5xx and
/// transport errors. Timeouts keep a dead endpoint from eating a Lambda's budget.
pub async fn load_sdk_config(attempts: u32) -> SdkConfig {
    loader(attempts).load().await
}

/// [`load_sdk_config`] for a Lambda function, without the work a cold start does
/// not need; the configuration it gives is the same:
///
/// - Lambda puts the execution role's credentials and the region in the
///   environment: when they are there, they are read from there directly instead
///   of through the default chains, whose web-identity provider alone builds an STS
///   client (and with it a TLS setup) at load time;
/// - the HTTPS client trusts the Amazon Trust Services roots instead of reading the
///   whole system store, where that is safe ([`tls`]).
pub async fn load_lambda_sdk_config(attempts: u32) -> SdkConfig {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let var = |name: &str| {
        vars.iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut loader = loader(attempts).http_client(tls::https_client(tls::Roots::for_env(vars.iter().cloned())));
    // The default chain would take these same variables first.
    if var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if let Some(region) = var("AWS_REGION") {
        loader = loader.region(Region::new(region));
    }
    loader.load().await
}

fn loader(attempts: u32) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
}

/// The retry policy every client uses.
pub fn retry_config(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts.max(1))
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(5))
}

/// An SDK error in words an operator can act on, for the ports' error types and the
/// alerts that quote them: for an error response, the service's error code and
/// message and the AWS request id (what AWS Support asks for); for anything else,
/// what went wrong on the way and its causes (`dispatch failure: io error: …
/// Connection refused`). Never the raw HTTP response, which the SDK's own
/// rendering of an error appends.
pub(crate) fn describe<E, R>(call: &str, error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(_) => {
            let meta = error.meta();
            let code = meta.code().unwrap_or("an error response without an error code");
            let mut text = format!("{call}: {code}");
            if let Some(message) = meta.message().filter(|m| !m.trim().is_empty()) {
                text.push_str(": ");
                text.push_str(message);
            }
            if let Some(id) = meta.request_id() {
                text.push_str(&format!(" (AWS request id {id})"));
            }
            text
        }
        _ => format!("{call}: {}", causes(error)),
    }
}

/// An error and its sources, each in its own words, joined by `: `.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.ends_with(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_is_named() {
        let err = Names::from_vars(|name| (name == ENV_TABLE).then(|| "t".to_string())).err();
        assert_eq!(
            err,
            Some(ConfigError::Missing(
                ENV_TOPIC_ARN,
                "the ARN of the SNS topic alerts are published to"
            ))
        );
        let message = Names::from_vars(|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("MIRRORGATE_TABLE is not set"), "{message}");
    }

    #[test]
    fn names_are_read_from_the_variables() {
        let names = Names::from_vars(|name| Some(format!("{name}-value"))).expect("names");
        assert_eq!(names.table, "MIRRORGATE_TABLE-value");
        assert_eq!(names.topic_arn, "MIRRORGATE_TOPIC_ARN-value");
    }

    #[test]
    fn an_error_response_is_told_by_its_code_message_and_request_id_not_its_raw_http() {
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let meta = ErrorMetadata::builder()
            .code("AccessDeniedException")
            .message("User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: dynamodb:GetItem")
            .custom("aws_request_id", "R4ND0M")
            .build();
        let error = SdkError::service_error(GetItemError::generic(meta), "HTTP/1.1 400 headers and body");
        assert_eq!(
            describe("DynamoDB GetItem", &error),
            "DynamoDB GetItem: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/x \
             is not authorized to perform: dynamodb:GetItem (AWS request id R4ND0M)"
        );
    }

    #[test]
    fn a_failure_on_the_way_is_told_with_its_causes() {
        use aws_sdk_dynamodb::error::ConnectorError;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        let error: SdkError<GetItemError, String> = SdkError::dispatch_failure(ConnectorError::io(refused.into()));
        assert_eq!(
            describe("DynamoDB GetItem", &error),
            "DynamoDB GetItem: dispatch failure: io error: Connection refused (os error 111)"
        );
        let unnamed: SdkError<GetItemError, String> =
            SdkError::service_error(GetItemError::generic(Default::default()), "raw".to_string());
        assert_eq!(
            describe("DynamoDB GetItem", &unnamed),
            "DynamoDB GetItem: an error response without an error code"
        );
    }

    #[test]
    fn retries_use_the_standard_mode_with_the_attempts_asked_for() {
        let config = retry_config(7);
        assert_eq!(config.max_attempts(), 7);
        assert_eq!(config.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(config.initial_backoff(), Duration::from_millis(100));
    }
}
