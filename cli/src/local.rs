//! Wiring of the local control plane: the engine on the embedded adapters.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use shared::adapters::embedded::{FileStore, MemoryNotifier, MemoryStore, OutboxNotifier, RecordingActions};
use shared::domain::{Alert, MirrorState};
use shared::engine::Engine;
use shared::ports::{NotifyError, SaveError, Store, StoreError};
use shared::topology::Topology;

/// Options every local command shares.
#[derive(Args, Clone, Debug)]
pub struct LocalArgs {
    /// The topology file: mirrors, members, alarm mapping and promotion policy.
    #[arg(long, value_name = "FILE", default_value = "examples/topology.toml")]
    pub topology: PathBuf,
    /// The directory of the embedded store: mirror state, the outbox of alerts
    /// (outbox.jsonl), recorded promotions (promotions.jsonl) and rejected payloads
    /// (dead-letter.jsonl). Commands given the same DIR share one store.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

pub fn load_topology(path: &Path) -> anyhow::Result<Arc<Topology>> {
    let topology = Topology::load(path).map_err(|e| {
        if e.field == "(file)" {
            anyhow::anyhow!("{e}\n  (run from the project directory, or give the file with --topology FILE)")
        } else {
            anyhow::anyhow!("{e}")
        }
    })?;
    Ok(Arc::new(topology))
}

/// The store: a file-backed one in `--data DIR`, or one in memory.
pub enum LocalStore {
    Memory(MemoryStore),
    File(FileStore),
}

impl Store for LocalStore {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, StoreError> {
        match self {
            LocalStore::Memory(s) => s.load(mirror).await,
            LocalStore::File(s) => s.load(mirror).await,
        }
    }

    async fn save(&self, state: &MirrorState, expected: u64) -> Result<(), SaveError> {
        match self {
            LocalStore::Memory(s) => s.save(state, expected).await,
            LocalStore::File(s) => s.save(state, expected).await,
        }
    }

    async fn mirrors(&self) -> Result<Vec<String>, StoreError> {
        match self {
            LocalStore::Memory(s) => s.mirrors().await,
            LocalStore::File(s) => s.mirrors().await,
        }
    }
}

pub enum LocalNotifier {
    Memory(MemoryNotifier),
    Outbox(OutboxNotifier),
}

impl shared::ports::Notifier for LocalNotifier {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        match self {
            LocalNotifier::Memory(n) => n.publish(alert).await,
            LocalNotifier::Outbox(n) => n.publish(alert).await,
        }
    }
}

pub type LocalEngine = Engine<LocalStore, LocalNotifier, RecordingActions>;

/// Builds the engine on `--data DIR` (or in memory when there is none).
pub fn engine(args: &LocalArgs, public_url: &str) -> anyhow::Result<LocalEngine> {
    let topology = load_topology(&args.topology)?;
    let (store, notifier, actions) = match &args.data {
        Some(dir) => {
            let store = FileStore::open(dir).with_context(|| format!("opening the store in {}", dir.display()))?;
            (
                LocalStore::File(store),
                LocalNotifier::Outbox(OutboxNotifier::new(dir.join("outbox.jsonl"), false)),
                RecordingActions::new(Some(dir.join("promotions.jsonl"))),
            )
        }
        None => (
            LocalStore::Memory(MemoryStore::default()),
            LocalNotifier::Memory(MemoryNotifier::default()),
            RecordingActions::new(None),
        ),
    };
    Ok(Engine::new(topology, store, notifier, actions, public_url))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
