//! How busy this instance's HTTP server is: the requests in flight, counted by the outermost
//! middleware. The email worker reads it to yield to requests (see [`crate::worker::Busy`]).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// The number of requests in flight; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Load(Arc<AtomicUsize>);

impl Load {
    /// Counts one request until the returned guard is dropped (when it is answered, or
    /// abandoned by its client).
    #[must_use = "the request counts only while the guard lives"]
    pub fn enter(&self) -> InFlight {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlight(self.0.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// One request in flight.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_guards_alive() {
        let load = Load::default();
        let first = load.enter();
        let second = load.clone().enter();
        assert_eq!(load.in_flight(), 2);
        drop(first);
        assert_eq!(load.in_flight(), 1);
        drop(second);
        assert_eq!(load.in_flight(), 0);
    }
}
