//! A gate that jobs block on until the test opens it: how the pool tests hold a lane's
//! threads busy to see what queues behind them.

use std::sync::{Arc, Condvar, Mutex};

use crate::wait::wait_until;

/// A gate that blocked jobs wait on until the test opens it. Clones share the gate.
#[derive(Clone, Debug, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks the calling thread until the gate opens.
    pub fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
    }

    /// Opens the gate: every waiter goes on, and later waits return at once.
    pub fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }

    /// A guard that opens the gate when dropped, so that a failing test does not leave
    /// threads blocked forever.
    pub fn open_on_drop(&self) -> OpenOnDrop {
        OpenOnDrop(self.clone())
    }

    /// The pool tests' setup: starts `jobs` jobs that block on this gate (`submit` gets a
    /// clone of the gate to wait on and returns the job's handle), then waits until
    /// `running()` reports `busy` of them running. Returns the handles in order.
    pub fn hold<H>(
        &self,
        jobs: usize,
        busy: usize,
        mut submit: impl FnMut(Gate) -> H,
        mut running: impl FnMut() -> usize,
    ) -> Vec<H> {
        let handles = (0..jobs).map(|_| submit(self.clone())).collect();
        wait_until(&format!("{busy} blocked jobs running"), || {
            running() == busy
        });
        handles
    }
}

/// Opens its gate when dropped (see [`Gate::open_on_drop`]).
#[derive(Debug)]
pub struct OpenOnDrop(pub Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}
