//! A run as its caller follows it while it runs: how far it got ([`Progress`]), and a way to
//! end it early ([`Stop`]). Both are optional hooks in [`RunHooks`], so the pipeline never
//! knows whether a terminal, a scheduler or nobody is watching; the command line draws the
//! bar and turns signals into a stop.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// What a run reports as it goes. Called from the run's worker threads, so implementations
/// must be quick and must not block: a slow callback would hold up a fetch.
pub trait Progress: Send + Sync {
    /// The run is about to ask `total` entries (mirrors × vantages × addresses).
    fn entries(&self, total: usize);
    /// One entry answered its first round, or gave up (timeout, refusal, bad content).
    fn entry_done(&self);
    /// The artifacts stage starts: `files` artifact checks over `entries` entries that
    /// serve the latest content (none when artifacts are not checked).
    fn artifacts(&self, files: usize, entries: usize);
}

impl std::fmt::Debug for dyn Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// The hooks of one run; the default has none (a library caller, a test, `merge`).
#[derive(Clone, Debug, Default)]
pub struct RunHooks {
    /// Told how far the run got.
    pub progress: Option<Arc<dyn Progress>>,
    /// Once stopped, the run gives up at its next await point with
    /// [`super::CheckError::Stopped`]: nothing is recorded in the state, and nothing
    /// is half written, because the local state is written after the last await.
    pub stop: Option<Stop>,
}

impl RunHooks {
    pub(crate) fn entries(&self, total: usize) {
        if let Some(p) = &self.progress {
            p.entries(total);
        }
    }

    pub(crate) fn entry_done(&self) {
        if let Some(p) = &self.progress {
            p.entry_done();
        }
    }

    pub(crate) fn artifacts(&self, files: usize, entries: usize) {
        if let Some(p) = &self.progress {
            p.artifacts(files, entries);
        }
    }
}

/// A request to stop, shared between whoever asks (a signal handler) and whoever obeys (a
/// run's async pipeline, a scheduler sleeping between runs). Once stopped it stays stopped.
#[derive(Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Default)]
struct StopInner {
    stopped: Mutex<bool>,
    /// Wakes blocking waiters ([`Stop::wait_timeout`]).
    changed: Condvar,
    /// Wakes async waiters ([`Stop::stopped`]).
    notify: Notify,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stop").field(&self.is_stopped()).finish()
    }
}

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks everything that holds this handle to stop. Safe from any thread, any number
    /// of times.
    pub fn stop(&self) {
        *self.lock() = true;
        self.0.changed.notify_all();
        self.0.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        *self.lock()
    }

    /// Sleeps until `timeout` passed or a stop was asked, whichever comes first; true
    /// when stopped. The sleep between two scheduled runs: a signal ends it at once.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut stopped = self.lock();
        while !*stopped {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                // Beyond what the clock can name: wait in long steps.
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                break;
            }
            stopped = match self.0.changed.wait_timeout(stopped, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        *stopped
    }

    /// Completes once a stop was asked (at once if it already was).
    pub async fn stopped(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read: a stop between the two still wakes it.
            notified.as_mut().enable();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        // The flag is a plain bool: a panic elsewhere cannot leave it half set.
        self.0.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_ends_a_blocking_wait_and_an_async_one() {
        let stop = Stop::new();
        assert!(!stop.wait_timeout(Duration::from_millis(10)));
        let s = stop.clone();
        let waiter = std::thread::spawn(move || s.wait_timeout(Duration::from_secs(600)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let s = stop.clone();
        let task = rt.spawn(async move { s.stopped().await });
        stop.stop();
        // Joins only because the stop woke it: a 600 s wait would hang the test.
        assert!(waiter.join().unwrap());
        rt.block_on(task).unwrap();
        assert!(stop.is_stopped());
        // Already stopped: both return at once.
        assert!(stop.wait_timeout(Duration::from_secs(600)));
        rt.block_on(stop.stopped());
    }
}
