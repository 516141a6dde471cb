//! Log lines captured per test. The tests of this binary run side by side, so one
//! process-wide subscriber (JSON, every level) takes every line and keeps it for the
//! test whose thread logged it, if that thread is capturing; the other lines are not
//! even formatted. A subscriber per test (`set_default`) would not do: tracing caches,
//! for the whole process, whether a log line is wanted at all, and a line first reached
//! by a test with no subscriber could stay cached as unwanted.
//!
//! A capturing test must log from its own thread: `#[tokio::test]`'s current-thread
//! runtime does.

#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

type Lines = Arc<Mutex<Vec<u8>>>;

thread_local! {
    static CAPTURING: RefCell<Option<Lines>> = const { RefCell::new(None) };
}

fn capturing() -> bool {
    CAPTURING.with(|c| c.borrow().is_some())
}

/// Writes to the capture of the current thread.
struct ThisThread;

impl Write for ThisThread {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(lines) = c.borrow().as_ref() {
                lines.lock().expect("log lines").extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What this thread logs from now until the capture is dropped.
pub struct Capture(Lines);

pub fn capture() -> Capture {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_writer(|| ThisThread)
            // Decided for each line as it is logged ("sometimes"), never once per log
            // line: which thread reaches a line first must not matter.
            .with_filter(
                tracing_subscriber::filter::DynFilterFn::new(|_, _| capturing())
                    .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes()),
            );
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("the tests set no other process-wide subscriber");
    });
    let lines = Lines::default();
    CAPTURING.with(|c| *c.borrow_mut() = Some(Arc::clone(&lines)));
    Capture(lines)
}

impl Capture {
    /// Every line captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lines")).into_owned()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CAPTURING.with(|c| *c.borrow_mut() = None);
    }
}
