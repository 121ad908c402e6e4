//! The per-call guard of a synchronous instrumented function: created on entry, it records the call when it
//! drops — on a normal return, an early `return`, a `?`, or while unwinding from a panic (marked as unwound).

use std::time::Instant;

use crate::control::{PROBE_BUDGET_DIVISOR, WARMUP_CALLS, enabled};
use crate::probe::{Snapshot, caps};
use crate::registry::{self, Callsite, DROPPED_CALLS, Frame, Local, Slot, f};

/// Records one call of a synchronous function when dropped. Returned by [`enter`].
#[must_use = "the call is recorded when the guard drops"]
#[derive(Debug)]
pub struct Guard {
    active: Option<Active>,
}

#[derive(Debug)]
struct Active {
    idx: usize,
    depth: usize,
    probe: Option<Snapshot>,
    panicking_at_entry: bool,
    /// The published call this one nests in (restored on exit).
    prev_published: usize,
    start: Instant,
}

/// Whether a call of a function whose slot holds these counters should be probed.
#[inline]
pub(crate) fn should_sample(slot: &Slot) -> bool {
    let calls = slot.get(f::CALLS);
    calls < WARMUP_CALLS || slot.get(f::PROBE_NS).saturating_mul(PROBE_BUDGET_DIVISOR) <= slot.get(f::WALL)
}

/// Estimated CPU and run-queue of an unsampled call of `wall` ns, from the function's sampled ratios.
#[inline]
pub(crate) fn estimate(slot: &Slot, wall: u64) -> (u64, u64) {
    let sw = slot.get(f::S_WALL);
    if sw == 0 {
        return (0, 0);
    }
    // f64: a u128 division would cost more than the rest of the unsampled path.
    let per_wall = wall as f64 / sw as f64;
    let scale = |x: u64| ((x as f64 * per_wall) as u64).min(wall);
    (scale(slot.get(f::S_CPU)), scale(slot.get(f::S_RQ)))
}

/// Starts recording a call of `cs`. Used by `#[profile_concurrency]`.
#[inline]
pub fn enter(cs: &'static Callsite) -> Guard {
    if !enabled() {
        return Guard { active: None };
    }
    enter_enabled(cs)
}

#[inline]
fn enter_enabled(cs: &'static Callsite) -> Guard {
    let idx = cs.index();
    let panicking_at_entry = std::thread::panicking();
    let started = registry::with_local(|l: &Local| {
        let slot = l.data.slot(idx)?;
        let sample = should_sample(slot);
        let depth = l.push();
        let prev = l.waits.enter(idx);
        let probe = if sample { Some(l.with_probes(|p| p.start())) } else { None };
        Some((depth, probe, prev))
    })
    .flatten();
    match started {
        Some((depth, probe, prev_published)) => Guard {
            active: Some(Active { idx, depth, probe, panicking_at_entry, prev_published, start: Instant::now() }),
        },
        None => {
            DROPPED_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Guard { active: None }
        }
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        if let Some(a) = self.active.take() {
            exit(a);
        }
    }
}

#[inline]
fn exit(a: Active) {
    let wall = a.start.elapsed().as_nanos() as u64;
    let unwound = !a.panicking_at_entry && std::thread::panicking();
    let recorded = registry::with_local(|l: &Local| {
        let end = a.probe.as_ref().map(|_| l.with_probes(|p| p.end()));
        l.waits.leave(a.prev_published);
        let kids = l.pop(a.depth);
        let Some(slot) = l.data.slot(a.idx) else { return };
        slot.add(f::CALLS, 1);
        slot.add(f::WALL, wall);
        if unwound {
            slot.add(f::UNWOUND, 1);
        }
        let up = match (a.probe, end) {
            (Some(start), Some(end)) => {
                let d = start.delta(&end);
                let cost = caps().probe_cost_ns;
                slot.add(f::S_CALLS, 1);
                slot.add(f::S_WALL, wall);
                slot.add(f::S_CPU, d.cpu);
                slot.add(f::S_RQ, d.rq);
                slot.add(f::S_VOL, d.vol);
                slot.add(f::S_INVOL, d.invol);
                slot.add(f::S_CHILD_WALL, kids.wall);
                slot.add(f::S_CHILD_CPU, kids.cpu);
                slot.add(f::S_CHILD_RQ, kids.rq);
                slot.add(f::S_CHILD_VOL, kids.vol);
                slot.add(f::S_CHILD_INVOL, kids.invol);
                slot.add(f::PROBE_NS, cost);
                slot.add(f::PERF_TASK_CLOCK, d.perf_task_clock);
                slot.add(f::PERF_CS, d.perf_cs);
                slot.add(f::PERF_MIGRATIONS, d.perf_migrations);
                slot.add(f::PERF_FAULTS, d.perf_faults);
                // The caller's window also holds this call's probes.
                Frame { wall: wall + cost, cpu: d.cpu + cost, rq: d.rq, vol: d.vol, invol: d.invol, wait: 0 }
            }
            // Unsampled: only a caller needs the estimate.
            _ if a.depth == 0 => return,
            _ => {
                let (cpu, rq) = estimate(slot, wall);
                Frame { wall, cpu, rq, ..Frame::default() }
            }
        };
        l.add_to_parent(&up);
    });
    if recorded.is_none() {
        DROPPED_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}
