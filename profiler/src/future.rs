//! Instrumentation of async functions: a wrapping future that measures every poll (wall time always; CPU,
//! run-queue and switches on sampled futures) and, on sampled futures, a wrapping waker that timestamps
//! wake-ups — so the time between a `Pending` and the next wake-up (idle: waiting for I/O or a timer) is told
//! apart from the time between the wake-up and the next poll (scheduled but not polled: executor saturation).
//!
//! Written without `unsafe`: the wrapper is an `async` block that pins the inner future on its own stack frame
//! with [`core::pin::pin!`] and drives it through [`core::future::poll_fn`]. Its state is recorded when it is
//! dropped: on completion, on cancellation (dropped before completion) and while unwinding from a panic.
//!
//! Known limit: a wake-up issued by the executor's own thread when it gets around to it (tokio's timer and I/O
//! drivers on a current-thread runtime) is timestamped late, so the delay shows as idle rather than scheduled;
//! wake-ups from other threads (channels, `spawn_blocking` results, multi-thread runtimes) are timed exactly.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use crate::control::enabled;
use crate::probe::caps;
use crate::registry::{self, Callsite, DROPPED_CALLS, Frame, Local, f};
use crate::span::{estimate, should_sample};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the profiler's epoch (never 0 after the first call returns, so 0 can mean "unset").
fn epoch_ns() -> u64 {
    let e = *EPOCH.get_or_init(Instant::now);
    (e.elapsed().as_nanos() as u64).max(1)
}

/// The wrapping waker: remembers when it was first woken since the last poll, then wakes the real waker.
#[derive(Debug, Default)]
struct Tracker {
    inner: Mutex<Option<Waker>>,
    woken_at: AtomicU64,
}

impl Tracker {
    fn set_inner(&self, w: &Waker) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match &*g {
            Some(old) if old.will_wake(w) => {}
            _ => *g = Some(w.clone()),
        }
    }

    fn take_woken(&self) -> Option<u64> {
        match self.woken_at.swap(0, Ordering::AcqRel) {
            0 => None,
            t => Some(t),
        }
    }
}

impl Wake for Tracker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let _ = self.woken_at.compare_exchange(0, epoch_ns(), Ordering::AcqRel, Ordering::Relaxed);
        let w = self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// Per-future accumulators.
struct State {
    idx: usize,
    created: Instant,
    polled: bool,
    done: bool,
    sampled: bool,
    tracker: Option<(Arc<Tracker>, Waker)>,
    last_pending: Option<u64>,
    polls: u64,
    long_polls: u64,
    poll_wall: u64,
    long_poll_wall: u64,
    long_poll_cpu: u64,
    cpu: u64,
    rq: u64,
    vol: u64,
    invol: u64,
    idle: u64,
    scheduled: u64,
    probes: u64,
    kids: Frame,
    perf: [u64; 4],
    panicking_at_entry: bool,
}

impl State {
    fn new(cs: &'static Callsite, created: Instant) -> State {
        State {
            idx: cs.index(),
            created,
            polled: false,
            done: false,
            sampled: false,
            tracker: None,
            last_pending: None,
            polls: 0,
            long_polls: 0,
            poll_wall: 0,
            long_poll_wall: 0,
            long_poll_cpu: 0,
            cpu: 0,
            rq: 0,
            vol: 0,
            invol: 0,
            idle: 0,
            scheduled: 0,
            probes: 0,
            kids: Frame::default(),
            perf: [0; 4],
            panicking_at_entry: std::thread::panicking(),
        }
    }

    fn poll<F: Future>(&mut self, fut: std::pin::Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let long_poll_ns = crate::export::long_poll_ns();
        let ready = registry::with_local(|l: &Local| {
            if !self.polled {
                self.polled = true;
                self.sampled = l.data.slot(self.idx).is_some_and(should_sample);
                if self.sampled {
                    let t = Arc::new(Tracker::default());
                    let w = Waker::from(Arc::clone(&t));
                    self.tracker = Some((t, w));
                    // Created → first poll: scheduled but not yet polled.
                    self.scheduled += self.created.elapsed().as_nanos() as u64;
                }
            } else if let Some((t, _)) = &self.tracker {
                let now = epoch_ns();
                let last = self.last_pending.unwrap_or(now);
                match t.take_woken() {
                    Some(woke) => {
                        let woke = woke.clamp(last, now);
                        self.idle += woke - last;
                        self.scheduled += now - woke;
                    }
                    // Polled without our waker being called (e.g. a select! re-poll): all idle.
                    None => self.idle += now - last,
                }
            }
        });
        if ready.is_none() {
            // Thread-local teardown: just forward.
            return fut.poll(cx);
        }

        // Poll through the wrapping waker on sampled futures.
        let waker = self.tracker.as_ref().map(|(t, w)| {
            t.set_inner(cx.waker());
            w.clone()
        });
        match &waker {
            Some(w) => self.measured_poll(fut, &mut Context::from_waker(w), long_poll_ns),
            None => self.measured_poll(fut, cx, long_poll_ns),
        }
    }

    fn measured_poll<F: Future>(
        &mut self,
        fut: std::pin::Pin<&mut F>,
        cx: &mut Context<'_>,
        long_poll_ns: u64,
    ) -> Poll<F::Output> {
        let sampled = self.sampled;
        let idx = self.idx;
        let (depth, start_snap, prev_published) = registry::with_local(|l: &Local| {
            let d = l.push();
            let prev = l.waits.enter(idx);
            let s = if sampled { Some(l.with_probes(|p| p.start())) } else { None };
            (d, s, prev)
        })
        .unwrap_or((usize::MAX, None, 0));
        let t0 = Instant::now();
        let r = fut.poll(cx);
        let wall = t0.elapsed().as_nanos() as u64;

        let up_and_kids = registry::with_local(|l: &Local| {
            let end = start_snap.map(|_| l.with_probes(|p| p.end()));
            if depth != usize::MAX {
                l.waits.leave(prev_published);
            }
            let kids = if depth == usize::MAX { Frame::default() } else { l.pop(depth) };
            let up = match (start_snap, end) {
                (Some(s), Some(e)) => {
                    let d = s.delta(&e);
                    let cost = caps().probe_cost_ns;
                    (d, Frame { wall: wall + cost, cpu: d.cpu + cost, rq: d.rq, vol: d.vol, invol: d.invol, wait: 0 })
                }
                _ => {
                    let (cpu, rq) = l.data.slot(idx).map(|s| estimate(s, wall)).unwrap_or((0, 0));
                    (Default::default(), Frame { wall, cpu, rq, ..Frame::default() })
                }
            };
            l.add_to_parent(&up.1);
            (up.0, kids)
        });
        let (d, kids) = up_and_kids.unwrap_or_default();

        self.polls += 1;
        self.poll_wall += wall;
        // What the poll itself held its thread for: its wall time less its callees' and less the time it waited
        // for a CPU (known on sampled polls, from schedstat). A CPU-only poll preempted by other processes' load
        // is not a long poll: the wait was the machine's, not the poll's (issue 14).
        let self_rq = d.rq.saturating_sub(kids.rq);
        let self_wall = wall.saturating_sub(kids.wall).saturating_sub(self_rq);
        let self_cpu = d.cpu.saturating_sub(kids.cpu);
        if self_wall >= long_poll_ns {
            self.long_polls += 1;
            self.long_poll_wall += self_wall;
            self.long_poll_cpu += self_cpu;
        }
        if sampled {
            self.probes += 1;
            self.cpu += d.cpu;
            self.rq += d.rq;
            self.vol += d.vol;
            self.invol += d.invol;
            self.perf[0] += d.perf_task_clock;
            self.perf[1] += d.perf_cs;
            self.perf[2] += d.perf_migrations;
            self.perf[3] += d.perf_faults;
        }
        self.kids.add(&kids);
        match r {
            Poll::Pending => self.last_pending = Some(epoch_ns()),
            Poll::Ready(_) => self.done = true,
        }
        r
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if !self.polled {
            return;
        }
        let lifetime = self.created.elapsed().as_nanos() as u64;
        let unwound = !self.panicking_at_entry && std::thread::panicking();
        let recorded = registry::with_local(|l: &Local| {
            let Some(slot) = l.data.slot(self.idx) else { return };
            slot.add(f::CALLS, 1);
            slot.add(f::WALL, lifetime);
            slot.add(f::POLLS, self.polls);
            slot.add(f::LONG_POLLS, self.long_polls);
            if unwound {
                slot.add(f::UNWOUND, 1);
            } else if !self.done {
                slot.add(f::CANCELLED, 1);
            }
            if self.sampled {
                slot.add(f::S_CALLS, 1);
                slot.add(f::S_WALL, lifetime);
                slot.add(f::S_CPU, self.cpu);
                slot.add(f::S_RQ, self.rq);
                slot.add(f::S_VOL, self.vol);
                slot.add(f::S_INVOL, self.invol);
                slot.add(f::S_CHILD_WALL, self.kids.wall);
                slot.add(f::S_CHILD_CPU, self.kids.cpu);
                slot.add(f::S_CHILD_RQ, self.kids.rq);
                slot.add(f::S_CHILD_VOL, self.kids.vol);
                slot.add(f::S_CHILD_INVOL, self.kids.invol);
                slot.add(f::S_CHILD_WAIT, self.kids.wait);
                slot.add(f::PROBE_NS, self.probes * caps().probe_cost_ns);
                slot.add(f::S_POLLS, self.polls);
                slot.add(f::S_POLL_WALL, self.poll_wall);
                slot.add(f::S_LONG_POLLS, self.long_polls);
                slot.add(f::S_LONG_POLL_WALL, self.long_poll_wall);
                slot.add(f::S_LONG_POLL_CPU, self.long_poll_cpu);
                slot.add(f::S_IDLE, self.idle);
                slot.add(f::S_SCHEDULED, self.scheduled);
                slot.add(f::PERF_TASK_CLOCK, self.perf[0]);
                slot.add(f::PERF_CS, self.perf[1]);
                slot.add(f::PERF_MIGRATIONS, self.perf[2]);
                slot.add(f::PERF_FAULTS, self.perf[3]);
            } else {
                // Budget accounting still needs the wall time of unsampled futures (done via WALL).
            }
            // An awaiting caller waited for this future outside its polls.
            l.add_to_parent(&Frame { wait: lifetime.saturating_sub(self.poll_wall), ..Frame::default() });
        });
        if recorded.is_none() {
            DROPPED_CALLS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Wraps an async function's body. Used by `#[profile_concurrency]` on `async fn` and on functions returning
/// `impl Future`.
pub fn instrument<F: Future>(cs: &'static Callsite, fut: F) -> impl Future<Output = F::Output> {
    let created = if enabled() { Some(Instant::now()) } else { None };
    async move {
        let Some(created) = created else {
            return fut.await;
        };
        let mut fut = std::pin::pin!(fut);
        let mut state = State::new(cs, created);
        std::future::poll_fn(move |cx| state.poll(fut.as_mut(), cx)).await
    }
}
