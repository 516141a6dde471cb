//! The embedded adapters of local mode: a file-backed store with the same
//! conditional-write semantics as DynamoDB, an outbox file for alerts, and a
//! record of promotion actions. Also in-memory variants for tests.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};

#[cfg(all(feature = "lambda", any(test, feature = "test-util")))]
use crate::adapters::probe::{Answer, Probe};
use crate::domain::{Alert, MirrorState};
use crate::domain::{Member, Mirror};
use crate::ports::{
    ActionError, Clock, FenceOrder, NotifyError, PromotionActions, PromotionOrder, SaveError, Store, StoreError,
    WallClock, DEDUPE_WINDOW_HOURS,
};
#[cfg(any(test, feature = "test-util"))]
use crate::ports::{Invocation, RunCommandOutput};

/// What a lock guards, even after a panic in another thread poisoned it: the stores,
/// the outbox and the records here stay usable by the threads that remain.
fn held<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn conflict(current: Option<&MirrorState>) -> SaveError {
    SaveError::Conflict {
        current: current.map(|s| Box::new(s.clone())),
    }
}

/// Checks a conditional write against what is stored: the one rule every store shares.
fn check_write(current: Option<&MirrorState>, state: &MirrorState, expected: u64) -> Result<(), SaveError> {
    let stored_version = current.map_or(0, |s| s.version);
    if stored_version != expected {
        return Err(conflict(current));
    }
    if state.version != expected + 1 {
        return Err(SaveError::Store(StoreError(format!(
            "a write must carry version {} (expected + 1), not {}",
            expected + 1,
            state.version
        ))));
    }
    Ok(())
}

/// A clock that stands where it is set: a replay's simulated time, moved to each
/// scenario line's time before the line is handled (and a test's).
#[derive(Debug)]
pub struct SimulatedClock(Mutex<DateTime<Utc>>);

impl SimulatedClock {
    pub fn new(at: DateTime<Utc>) -> SimulatedClock {
        SimulatedClock(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *held(&self.0) = at;
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        *held(&self.0)
    }
}

/// The deliveries a store has applied, each remembered until its expiry (an absolute
/// time on the store's clock): `save`'s duplicate check.
#[derive(Debug, Default)]
struct Deliveries(HashMap<(String, String), DateTime<Utc>>);

impl Deliveries {
    fn applied(&self, mirror: &str, id: &str, now: DateTime<Utc>) -> bool {
        self.0
            .get(&(mirror.to_string(), id.to_string()))
            .is_some_and(|expires_at| *expires_at > now)
    }

    fn insert(&mut self, mirror: &str, delivered: Delivered) {
        self.0.insert((mirror.to_string(), delivered.id), delivered.expires_at);
    }

    fn forget_expired(&mut self, now: DateTime<Utc>) {
        self.0.retain(|_, expires_at| *expires_at > now);
    }

    fn of(&self, mirror: &str) -> Vec<Delivered> {
        let mut of: Vec<Delivered> = self
            .0
            .iter()
            .filter(|((m, _), _)| m == mirror)
            .map(|((_, id), expires_at)| Delivered {
                id: id.clone(),
                expires_at: *expires_at,
            })
            .collect();
        of.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
        of
    }
}

/// A delivery a write applied, and until when it is remembered.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Delivered {
    id: String,
    expires_at: DateTime<Utc>,
}

impl Delivered {
    /// A delivery applied at `now`, remembered for [`DEDUPE_WINDOW_HOURS`].
    fn at(id: &str, now: DateTime<Utc>) -> Delivered {
        Delivered {
            id: id.to_string(),
            expires_at: now + chrono::Duration::hours(DEDUPE_WINDOW_HOURS),
        }
    }
}

/// Checks a write's delivery (at `now`), then its version: the rules every store shares.
fn check_save(
    current: Option<&MirrorState>,
    deliveries: &Deliveries,
    state: &MirrorState,
    expected: u64,
    delivery: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), SaveError> {
    if let Some(id) = delivery {
        if deliveries.applied(&state.mirror, id, now) {
            return Err(SaveError::Duplicate);
        }
    }
    check_write(current, state, expected)
}

/// Mirror states in memory: for tests and for `replay` without `--data`.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
    clock: Arc<dyn Clock>,
}

/// A store on the wall clock.
impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::with_clock(Arc::new(WallClock))
    }
}

#[derive(Debug, Default)]
struct MemoryInner {
    states: HashMap<String, MirrorState>,
    deliveries: Deliveries,
}

impl MemoryStore {
    /// An empty store whose deliveries are dated by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> MemoryStore {
        MemoryStore {
            inner: Mutex::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        held(&self.inner)
    }
}

impl Store for MemoryStore {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, StoreError> {
        Ok(self.lock().states.get(mirror).cloned())
    }

    async fn save(&self, state: &MirrorState, expected: u64, delivery: Option<&str>) -> Result<(), SaveError> {
        let mut inner = self.lock();
        let now = self.clock.now();
        check_save(
            inner.states.get(&state.mirror),
            &inner.deliveries,
            state,
            expected,
            delivery,
            now,
        )?;
        inner.states.insert(state.mirror.clone(), state.clone());
        if let Some(id) = delivery {
            inner.deliveries.insert(&state.mirror, Delivered::at(id, now));
        }
        Ok(())
    }

    async fn mirrors(&self) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self.lock().states.keys().cloned().collect();
        names.sort();
        Ok(names)
    }
}

/// One line of the file store's log: a mirror's whole state, with the deliveries the
/// write applied (compaction puts every delivery still remembered on the mirror's line).
#[derive(Serialize, Deserialize)]
struct LogLine {
    mirror: String,
    state: MirrorState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deliveries: Vec<Delivered>,
}

/// A file-backed store in a directory: an append-only log of whole states
/// (`state.jsonl`), guarded by an advisory lock (`state.lock`) so that several
/// processes (`serve` and `replay` on one `--data`) share it safely. Each write is
/// one appended line; the log is compacted when it is opened. The deliveries it
/// remembers are dated by its clock, in absolute times that every process sharing
/// the directory reads as they are.
pub struct FileStore {
    dir: PathBuf,
    inner: Mutex<FileInner>,
    clock: Arc<dyn Clock>,
}

struct FileInner {
    lock: File,
    /// What has been read of the log, and which file it was (compaction replaces it).
    offset: u64,
    inode: u64,
    states: HashMap<String, MirrorState>,
    deliveries: Deliveries,
}

impl FileStore {
    /// Opens (or creates) the store in `dir`, on the wall clock.
    pub fn open(dir: &Path) -> Result<FileStore, StoreError> {
        FileStore::open_with_clock(dir, Arc::new(WallClock))
    }

    /// Opens (or creates) the store in `dir`, dating deliveries by `clock` (and
    /// forgetting, when it compacts the log on opening, those expired by it).
    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<FileStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("cannot create the data directory {}: {e}", dir.display())))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join("state.lock"))
            .map_err(|e| StoreError(format!("cannot open {}: {e}", dir.join("state.lock").display())))?;
        let store = FileStore {
            dir: dir.to_path_buf(),
            inner: Mutex::new(FileInner {
                lock,
                offset: 0,
                inode: 0,
                states: HashMap::new(),
                deliveries: Deliveries::default(),
            }),
            clock,
        };
        store.with_lock(|inner, log| {
            inner.refresh(log)?;
            inner.compact(log, store.clock.now())
        })?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("state.jsonl")
    }

    /// Runs `f` holding the cross-process lock, with the log's path.
    fn with_lock<T>(&self, f: impl FnOnce(&mut FileInner, &Path) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut inner = held(&self.inner);
        inner
            .lock
            .lock_exclusive()
            .map_err(|e| StoreError(format!("cannot lock the store: {e}")))?;
        let result = f(&mut inner, &self.log_path());
        let _ = FileExt::unlock(&inner.lock);
        result
    }
}

impl FileInner {
    /// Reads whatever other processes appended since the last look.
    fn refresh(&mut self, log: &Path) -> Result<(), StoreError> {
        let meta = match std::fs::metadata(log) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.offset = 0;
                self.inode = 0;
                self.states.clear();
                self.deliveries = Deliveries::default();
                return Ok(());
            }
            Err(e) => return Err(StoreError(format!("cannot read {}: {e}", log.display()))),
        };
        if meta.ino() != self.inode || meta.len() < self.offset {
            self.offset = 0;
            self.inode = meta.ino();
            self.states.clear();
            self.deliveries = Deliveries::default();
        }
        if meta.len() == self.offset {
            return Ok(());
        }
        let mut file = File::open(log).map_err(|e| StoreError(format!("cannot open {}: {e}", log.display())))?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| StoreError(e.to_string()))?;
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| StoreError(format!("cannot read {}: {e}", log.display())))?;
            if n == 0 || !line.ends_with('\n') {
                // End of the log, or a line still being written: read it next time.
                break;
            }
            let entry: LogLine = serde_json::from_str(&line).map_err(|e| {
                StoreError(format!(
                    "{} is damaged at byte {}: {e}; restore it from a copy or move it away",
                    log.display(),
                    self.offset
                ))
            })?;
            self.offset += n as u64;
            for delivered in entry.deliveries {
                self.deliveries.insert(&entry.mirror, delivered);
            }
            self.states.insert(entry.mirror, entry.state);
        }
        Ok(())
    }

    fn append(
        &mut self,
        log: &Path,
        state: &MirrorState,
        delivery: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let delivered: Vec<Delivered> = delivery.map(|id| Delivered::at(id, now)).into_iter().collect();
        let mut line = serde_json::to_string(&LogLine {
            mirror: state.mirror.clone(),
            state: state.clone(),
            deliveries: delivered.clone(),
        })
        .map_err(|e| StoreError(format!("cannot encode the state: {e}")))?;
        line.push('\n');
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(log)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", log.display())))?;
        file.write_all(line.as_bytes())
            .map_err(|e| StoreError(format!("cannot write {}: {e}", log.display())))?;
        let meta = file.metadata().map_err(|e| StoreError(e.to_string()))?;
        self.inode = meta.ino();
        self.offset += line.len() as u64;
        self.states.insert(state.mirror.clone(), state.clone());
        for delivered in delivered {
            self.deliveries.insert(&state.mirror, delivered);
        }
        Ok(())
    }

    /// Rewrites the log with one line per mirror when it has grown, leaving out
    /// the deliveries whose time is up at `now`.
    fn compact(&mut self, log: &Path, now: DateTime<Utc>) -> Result<(), StoreError> {
        let lines_estimate = self.offset / 512;
        if lines_estimate < (self.states.len() as u64) * 4 + 64 {
            return Ok(());
        }
        self.deliveries.forget_expired(now);
        let tmp = log.with_extension("jsonl.tmp");
        let mut out = String::new();
        let mut names: Vec<&String> = self.states.keys().collect();
        names.sort();
        for name in names {
            if let Some(state) = self.states.get(name) {
                let line = serde_json::to_string(&LogLine {
                    mirror: name.clone(),
                    state: state.clone(),
                    deliveries: self.deliveries.of(name),
                })
                .map_err(|e| StoreError(e.to_string()))?;
                out.push_str(&line);
                out.push('\n');
            }
        }
        std::fs::write(&tmp, out.as_bytes()).map_err(|e| StoreError(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, log).map_err(|e| StoreError(format!("cannot replace {}: {e}", log.display())))?;
        let meta = std::fs::metadata(log).map_err(|e| StoreError(e.to_string()))?;
        self.inode = meta.ino();
        self.offset = meta.len();
        Ok(())
    }
}

impl Store for FileStore {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, StoreError> {
        self.with_lock(|inner, log| {
            inner.refresh(log)?;
            Ok(inner.states.get(mirror).cloned())
        })
    }

    async fn save(&self, state: &MirrorState, expected: u64, delivery: Option<&str>) -> Result<(), SaveError> {
        let mut outcome = Ok(());
        self.with_lock(|inner, log| {
            inner.refresh(log)?;
            let now = self.clock.now();
            outcome = check_save(
                inner.states.get(&state.mirror),
                &inner.deliveries,
                state,
                expected,
                delivery,
                now,
            );
            if outcome.is_ok() {
                inner.append(log, state, delivery, now)?;
            }
            Ok(())
        })?;
        outcome
    }

    async fn mirrors(&self) -> Result<Vec<String>, StoreError> {
        self.with_lock(|inner, log| {
            inner.refresh(log)?;
            let mut names: Vec<String> = inner.states.keys().cloned().collect();
            names.sort();
            Ok(names)
        })
    }
}

/// One delivered alert as written to the outbox file.
#[derive(Debug, Serialize, Deserialize)]
pub struct OutboxLine {
    pub id: String,
    pub mirror: String,
    pub severity: String,
    pub kind: String,
    pub at: String,
    pub subject: String,
    pub sms: String,
    pub email: String,
    #[serde(default)]
    pub link: Option<String>,
}

impl OutboxLine {
    pub fn of(alert: &Alert) -> OutboxLine {
        OutboxLine {
            id: alert.id.clone(),
            mirror: alert.mirror.clone(),
            severity: alert.severity.as_str().into(),
            kind: alert.kind.as_str().into(),
            at: alert.at.to_rfc3339(),
            subject: alert.subject(),
            sms: alert.sms(),
            email: alert.email(),
            link: alert.link.clone(),
        }
    }
}

/// Local delivery: each alert appended as a JSON line to an outbox file (the local
/// stand-in for the email and SMS people would receive), optionally also printed.
pub struct OutboxNotifier {
    path: PathBuf,
    print: bool,
    file: Mutex<()>,
}

impl OutboxNotifier {
    /// `print`: also write each alert's SMS and email text to stdout.
    pub fn new(path: PathBuf, print: bool) -> OutboxNotifier {
        OutboxNotifier {
            path,
            print,
            file: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl crate::ports::Notifier for OutboxNotifier {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        let mut line = serde_json::to_string(&OutboxLine::of(alert)).map_err(|e| NotifyError(e.to_string()))?;
        line.push('\n');
        {
            let _guard = held(&self.file);
            if let Some(parent) = self.path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| NotifyError(format!("cannot create {}: {e}", parent.display())))?;
            }
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&self.path)
                .map_err(|e| NotifyError(format!("cannot open {}: {e}", self.path.display())))?;
            file.write_all(line.as_bytes())
                .map_err(|e| NotifyError(format!("cannot write {}: {e}", self.path.display())))?;
        }
        if self.print {
            let rule = "-".repeat(72);
            println!(
                "{rule}\nALERT {} [{}] {}\nSMS:  {}\n\n{}{rule}",
                alert.id,
                alert.severity.as_str(),
                alert.subject(),
                alert.sms(),
                alert.email()
            );
        }
        Ok(())
    }
}

/// Alerts kept in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    pub alerts: Mutex<Vec<Alert>>,
}

impl MemoryNotifier {
    pub fn sent(&self) -> Vec<Alert> {
        held(&self.alerts).clone()
    }
}

impl crate::ports::Notifier for MemoryNotifier {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        held(&self.alerts).push(alert.clone());
        Ok(())
    }
}

/// Run Command output held in memory, by command and instance (tests: nothing runs
/// Run Command locally). A command it does not hold could not be read.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Default)]
pub struct MemoryCommandOutput {
    outputs: HashMap<(String, String), Invocation>,
}

#[cfg(any(test, feature = "test-util"))]
impl MemoryCommandOutput {
    /// Holds what `command_id` printed on `instance_id`.
    pub fn with(mut self, command_id: &str, instance_id: &str, invocation: Invocation) -> MemoryCommandOutput {
        self.outputs
            .insert((command_id.to_string(), instance_id.to_string()), invocation);
        self
    }
}

#[cfg(any(test, feature = "test-util"))]
impl RunCommandOutput for MemoryCommandOutput {
    async fn read(&self, command_id: &str, instance_id: &str) -> Result<Invocation, String> {
        self.outputs
            .get(&(command_id.to_string(), instance_id.to_string()))
            .cloned()
            .ok_or_else(|| format!("no output of command {command_id} on {instance_id}"))
    }
}

/// The members' `mirror_status.cxw` answered from memory (the handlers' tests:
/// nothing is asked over the network). Each member is given what its page answers,
/// an [`Answer`]: `200 SUCCESS` on the primary, `503 FAILED`, a timeout, a refused
/// connection, a TLS failure in words... A member with a `status_url` given no
/// answer is one whose probe did not finish within the budget: it has no result, as
/// when the budget cuts [`Prober`](crate::adapters::probe::Prober)'s probes. What was
/// asked is kept.
#[cfg(all(feature = "lambda", any(test, feature = "test-util")))]
#[derive(Debug, Default)]
pub struct MemoryProbes {
    answers: HashMap<(String, String), Answer>,
    /// Each member asked, `(member, status_url)`, in the order asked.
    pub asked: Mutex<Vec<(String, String)>>,
    /// The deadline of each round of probes.
    pub deadlines: Mutex<Vec<tokio::time::Instant>>,
}

#[cfg(all(feature = "lambda", any(test, feature = "test-util")))]
impl MemoryProbes {
    /// `member` of `mirror` answers `answer` whenever it is probed.
    pub fn answering(mut self, mirror: &str, member: &str, answer: Answer) -> MemoryProbes {
        self.answers.insert((mirror.to_string(), member.to_string()), answer);
        self
    }
}

#[cfg(all(feature = "lambda", any(test, feature = "test-util")))]
impl crate::handlers::health_poll::StatusProbe for MemoryProbes {
    async fn probe_all(&self, topology: &crate::topology::Topology, deadline: tokio::time::Instant) -> Vec<Probe> {
        held(&self.deadlines).push(deadline);
        let mut probes = Vec::new();
        for mirror in &topology.mirrors {
            for member in &mirror.members {
                let Some(url) = &member.status_url else { continue };
                held(&self.asked).push((member.name.clone(), url.clone()));
                if let Some(answer) = self.answers.get(&(mirror.name.clone(), member.name.clone())) {
                    probes.push(Probe::new(&mirror.name, &member.name, url, Utc::now(), answer));
                }
            }
        }
        probes
    }
}

/// One promotion as recorded locally, with what AWS would have been asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedPromotion {
    pub mirror: String,
    pub request: String,
    pub epoch: u64,
    pub candidate: String,
    pub instance_id: Option<String>,
    pub ssm_document: Option<String>,
    /// The promote document's parameters as the AWS executor would send them.
    pub ssm_parameters: std::collections::BTreeMap<String, Vec<String>>,
    pub event_bus: Option<String>,
}

/// One fencing of a former failover member as recorded locally, with what AWS would
/// have been asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedFence {
    pub mirror: String,
    pub request: String,
    pub epoch: u64,
    pub member: String,
    pub instance_id: Option<String>,
    pub fence_document: Option<String>,
    /// The document's parameters: MirrorName, InstanceName, Method, Request.
    pub parameters: std::collections::BTreeMap<String, String>,
}

/// One DR drill as recorded locally: the drill document AWS would have been asked to
/// run on the candidate (never the promote document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedDrill {
    pub mirror: String,
    pub request: String,
    pub epoch: u64,
    pub candidate: String,
    pub instance_id: Option<String>,
    pub drill_document: Option<String>,
}

/// Local promotion: records what would be run to a JSON-lines file (and in memory).
pub struct RecordingActions {
    path: Option<PathBuf>,
    fence_path: Option<PathBuf>,
    drill_path: Option<PathBuf>,
    pub recorded: Mutex<Vec<RecordedPromotion>>,
    pub fences: Mutex<Vec<RecordedFence>>,
    pub drills: Mutex<Vec<RecordedDrill>>,
}

fn append_line<T: Serialize>(path: &std::path::Path, record: &T) -> Result<(), ActionError> {
    let mut line = serde_json::to_string(record).map_err(|e| ActionError(e.to_string()))?;
    line.push('\n');
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| ActionError(format!("cannot open {}: {e}", path.display())))?;
    file.write_all(line.as_bytes())
        .map_err(|e| ActionError(format!("cannot write {}: {e}", path.display())))
}

impl RecordingActions {
    /// `path`: the file to append to; `None` keeps the record in memory only.
    pub fn new(path: Option<PathBuf>) -> RecordingActions {
        RecordingActions {
            path,
            fence_path: None,
            drill_path: None,
            recorded: Mutex::new(Vec::new()),
            fences: Mutex::new(Vec::new()),
            drills: Mutex::new(Vec::new()),
        }
    }

    /// Also appends each drill to this JSON-lines file.
    pub fn with_drill_file(mut self, path: PathBuf) -> RecordingActions {
        self.drill_path = Some(path);
        self
    }

    pub fn drilled(&self) -> Vec<RecordedDrill> {
        held(&self.drills).clone()
    }

    /// Also appends each fencing to this JSON-lines file.
    pub fn with_fence_file(mut self, path: PathBuf) -> RecordingActions {
        self.fence_path = Some(path);
        self
    }

    pub fn fenced(&self) -> Vec<RecordedFence> {
        held(&self.fences).clone()
    }

    pub fn recorded(&self) -> Vec<RecordedPromotion> {
        held(&self.recorded).clone()
    }
}

impl PromotionActions for RecordingActions {
    async fn execute(
        &self,
        mirror: &Mirror,
        candidate: &Member,
        order: &PromotionOrder,
    ) -> Result<String, ActionError> {
        // A resumed promotion (its executor stopped before recording the outcome)
        // first looks for what the stopped run did: never twice.
        if order.resume {
            let recorded = held(&self.recorded);
            if recorded
                .iter()
                .any(|r| r.mirror == order.mirror && r.request == order.request && r.epoch == order.epoch)
            {
                return Ok(format!(
                    "(an earlier run had recorded the promotion of {}; not recorded again)",
                    candidate.name
                ));
            }
        }
        let record = RecordedPromotion {
            mirror: order.mirror.clone(),
            request: order.request.clone(),
            epoch: order.epoch,
            candidate: candidate.name.clone(),
            instance_id: candidate.instance_id.clone(),
            ssm_document: mirror.promotion.ssm_document.clone(),
            ssm_parameters: match &mirror.promotion.ssm_document {
                Some(_) => crate::topology::promote_parameters(
                    mirror,
                    candidate,
                    &order.request,
                    order.allow_no_partner,
                    order.purpose(),
                ),
                None => mirror.promotion.ssm_parameters.clone(),
            },
            event_bus: mirror.promotion.event_bus.clone(),
        };
        if let Some(path) = &self.path {
            append_line(path, &record)?;
        }
        held(&self.recorded).push(record.clone());
        Ok(match (&record.ssm_document, &record.instance_id) {
            (Some(doc), Some(id)) => format!("recorded locally: SSM document {doc} on {id} ({})", record.candidate),
            _ => format!("recorded locally: promote {}", record.candidate),
        })
    }

    async fn fence(&self, mirror: &Mirror, member: &Member, order: &FenceOrder) -> Result<String, ActionError> {
        let mut fences = held(&self.fences);
        // Never twice for the same request and member, resumed or not.
        if fences
            .iter()
            .any(|f| f.mirror == order.mirror && f.request == order.request && f.member == member.name)
        {
            return Ok(format!(
                "(an earlier run had recorded the fencing of {}; not recorded again)",
                member.name
            ));
        }
        let record = RecordedFence {
            mirror: order.mirror.clone(),
            request: order.request.clone(),
            epoch: order.epoch,
            member: member.name.clone(),
            instance_id: member.instance_id.clone(),
            fence_document: mirror.promotion.fence_document.clone(),
            parameters: fence_parameters(mirror, member, order)?,
        };
        if let Some(path) = &self.fence_path {
            append_line(path, &record)?;
        }
        fences.push(record.clone());
        Ok(match (&record.fence_document, &record.instance_id) {
            (Some(doc), Some(id)) => format!(
                "recorded locally: SSM document {doc} on {id} ({}) with Method={}",
                record.member,
                order.method_word()
            ),
            _ => format!("recorded locally: fence {}", record.member),
        })
    }

    async fn drill(&self, mirror: &Mirror, candidate: &Member, order: &PromotionOrder) -> Result<String, ActionError> {
        let mut drills = held(&self.drills);
        // Never twice for the same request, resumed or not.
        if drills
            .iter()
            .any(|d| d.mirror == order.mirror && d.request == order.request)
        {
            return Ok(format!(
                "(an earlier run had recorded the drill on {}; not recorded again)",
                candidate.name
            ));
        }
        let record = RecordedDrill {
            mirror: order.mirror.clone(),
            request: order.request.clone(),
            epoch: order.epoch,
            candidate: candidate.name.clone(),
            instance_id: candidate.instance_id.clone(),
            drill_document: mirror.promotion.drill_document.clone(),
        };
        if let Some(path) = &self.drill_path {
            append_line(path, &record)?;
        }
        drills.push(record.clone());
        Ok(match (&record.drill_document, &record.instance_id) {
            (Some(doc), Some(id)) => format!(
                "recorded locally: drill document {doc} on {id} ({}); nothing promoted",
                record.candidate
            ),
            _ => format!("recorded locally: drill on {}; nothing promoted", record.candidate),
        })
    }
}

/// The fencing document's parameters for one member, as the AWS executor sends them
/// ([`crate::topology::fence_parameters`]: the mirror's name, the member's IRIS
/// instance, never the mirror's name, the method, the fencing request, and the site's
/// `Product` and `RunAs`). Each SSM parameter value is a list; these hold one string.
pub fn fence_parameters(
    mirror: &Mirror,
    member: &Member,
    order: &FenceOrder,
) -> Result<std::collections::BTreeMap<String, String>, ActionError> {
    if member.iris_instance.is_none() {
        return Err(ActionError(format!(
            "{} has no iris_instance in the topology: the fencing document needs the IRIS instance name; add it and fence by hand now",
            member.name
        )));
    }
    let mut parameters = crate::topology::fence_parameters(mirror, member, &order.request);
    // A failback un-fences with the same document.
    parameters.insert("Method".into(), vec![order.method_word().to_string()]);
    Ok(parameters.into_iter().map(|(k, v)| (k, v.join(","))).collect())
}
