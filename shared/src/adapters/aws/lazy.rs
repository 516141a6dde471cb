//! SDK clients built on first use.
//!
//! Building an SDK client is not free: each service crate parses its endpoint
//! partition table (a JSON document and a regular expression per partition) the
//! first time one of its clients is built. A function calls only some of the six
//! services (only `health-poll` calls Route 53 and CloudWatch, only
//! `promotion-executor` calls SSM), so every client is built from the shared
//! configuration when it is first used, and the ones a function never calls are
//! never built.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use aws_config::SdkConfig;

/// An SDK client built from its configuration on first use; clones share it.
pub struct LazyClient<C> {
    client: Arc<OnceLock<C>>,
    build: Arc<dyn Fn() -> C + Send + Sync>,
}

impl<C: 'static> LazyClient<C> {
    /// A client that `build` makes from `config` when it is first used
    /// (`LazyClient::new(&config, aws_sdk_sns::Client::new)`).
    pub fn new(config: &SdkConfig, build: fn(&SdkConfig) -> C) -> LazyClient<C> {
        let config = config.clone();
        LazyClient {
            client: Arc::new(OnceLock::new()),
            build: Arc::new(move || build(&config)),
        }
    }
}

impl<C> LazyClient<C> {
    /// The client, built now if this is its first use.
    pub fn get(&self) -> &C {
        self.client.get_or_init(|| (self.build)())
    }

    /// Whether the client has been built.
    pub fn is_built(&self) -> bool {
        self.client.get().is_some()
    }
}

/// A client that is already built.
impl<C: Clone + Send + Sync + 'static> From<C> for LazyClient<C> {
    fn from(client: C) -> LazyClient<C> {
        let copy = client.clone();
        LazyClient {
            client: Arc::new(OnceLock::from(client)),
            build: Arc::new(move || copy.clone()),
        }
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> LazyClient<C> {
        LazyClient {
            client: Arc::clone(&self.client),
            build: Arc::clone(&self.build),
        }
    }
}

impl<C> Deref for LazyClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.get()
    }
}

impl<C: fmt::Debug> fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.client.get() {
            Some(client) => client.fmt(f),
            None => f.write_str("LazyClient(not built yet)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-west-2"))
            .build()
    }

    #[test]
    fn a_client_is_built_on_first_use_and_shared_by_clones() {
        let lazy = LazyClient::new(&config(), aws_sdk_sns::Client::new);
        let clone = lazy.clone();
        assert!(!lazy.is_built());
        assert_eq!(clone.config().region().map(|r| r.as_ref()), Some("us-west-2"));
        assert!(lazy.is_built());
    }

    #[test]
    fn a_built_client_is_used_as_it_is() {
        let lazy = LazyClient::from(aws_sdk_sns::Client::new(&config()));
        assert!(lazy.is_built());
    }
}
