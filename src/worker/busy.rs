//! Delivery yielding to requests: fewer messages in flight while the HTTP server is busy.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use tokio::sync::watch;

use crate::load::Load;

/// Yielding to requests: while `load` counts at least `requests` HTTP requests in flight, a
/// pass starts another message only while fewer than `concurrency` are in flight. Delivery
/// goes on, more slowly, and catches up once the requests let up; without this, a pass of
/// many messages in flight takes as much of a saturated machine as the requests do.
#[derive(Clone, Debug)]
pub struct Busy {
    pub load: Load,
    pub requests: usize,
    pub concurrency: usize,
}

/// How often a message held back by [`Busy`] looks again.
const RECHECK: Duration = Duration::from_millis(10);

/// A message in flight, counted in its pass's `sending` until dropped.
pub(super) struct Slot<'s>(&'s AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A place among the pass's messages in flight (`sending`): at once unless `busy` says the
/// HTTP server is busy and [`Busy::concurrency`] are already in flight; then when one ends or
/// the requests let up (checked every [`RECHECK`]). `None` if told to stop meanwhile.
pub(super) async fn slot<'s>(
    busy: Option<&Busy>,
    sending: &'s AtomicUsize,
    stop: &watch::Receiver<bool>,
) -> Option<Slot<'s>> {
    loop {
        let limit = match busy {
            Some(busy) if busy.load.in_flight() >= busy.requests => busy.concurrency.max(1),
            _ => usize::MAX,
        };
        let taken = sending.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < limit).then_some(n + 1)
        });
        if taken.is_ok() {
            return Some(Slot(sending));
        }
        if *stop.borrow() {
            return None;
        }
        tokio::time::sleep(RECHECK).await;
    }
}
