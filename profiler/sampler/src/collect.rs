//! The sampler: follows a process tree through `/proc` (threads that come and go, children from
//! `/proc/…/task/…/children` or a `/proc` scan by parent pid), reads each thread's kept-open files with `pread`
//! once per tick, and accumulates on-CPU, run-queue and blocked-by-kind time, per-thread state spans and the
//! tree's timeline.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use super::model::{BlockedByKind, TimelinePoint};
use super::procfs::{self, Refused, TaskFiles, WaitKind};

/// A thread's cumulative counters at one reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub cpu_ns: u64,
    pub runq_ns: u64,
    pub vol: u64,
    pub invol: u64,
}

/// What a thread mostly did during one sampling interval (for the trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanState {
    Running,
    Runnable,
    Blocked(WaitKind),
}

impl SpanState {
    pub fn label(self) -> String {
        match self {
            SpanState::Running => "running".into(),
            SpanState::Runnable => "runnable (waiting for a CPU)".into(),
            SpanState::Blocked(k) => format!("blocked: {}", k.label()),
        }
    }
}

/// A run of ticks in one state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateSpan {
    pub start_s: f64,
    pub end_s: f64,
    pub state: SpanState,
}

/// Everything the sampler learned about one thread.
#[derive(Debug)]
pub struct ThreadTrack {
    pub pid: i32,
    pub tid: i32,
    pub start_ticks: u64,
    pub name: String,
    files: Option<TaskFiles>,
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    /// Counters at the start of the observed window (zero for threads born while profiling).
    pub base: Counters,
    pub last: Counters,
    pub last_state: char,
    last_kind: Option<WaitKind>,
    pub blocked: BlockedByKind,
    pub alive: bool,
    /// Ran (or waited for a CPU) during the last interval; a thread that did not cannot have forked, created a
    /// thread, switched or changed what it waits on, so its `status`, `syscall` and `children` are not re-read.
    ran: bool,
    pub spans: Vec<StateSpan>,
}

impl ThreadTrack {
    /// Counters over the observed window.
    pub fn delta(&self) -> Counters {
        Counters {
            cpu_ns: self.last.cpu_ns.saturating_sub(self.base.cpu_ns),
            runq_ns: self.last.runq_ns.saturating_sub(self.base.runq_ns),
            vol: self.last.vol.saturating_sub(self.base.vol),
            invol: self.last.invol.saturating_sub(self.base.invol),
        }
    }
}

/// Everything the sampler learned about one process.
#[derive(Debug)]
pub struct ProcTrack {
    pub pid: i32,
    pub ppid: i32,
    pub start_ticks: u64,
    pub name: String,
    pub cmdline: Vec<String>,
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    pub alive: bool,
    pub max_threads: usize,
    /// Keys into `Sampler::threads`, in order of discovery.
    pub threads: Vec<(i32, u64)>,
    /// CPU seconds of the whole process so far (`/proc/PID/stat` utime + stime: exited threads included).
    pub stat_cpu_s: f64,
    /// CPU seconds of the children it reaped (cutime + cstime: processes too short-lived to sample included).
    pub child_cpu_s: f64,
}

/// Sampler settings.
#[derive(Debug, Clone)]
pub struct SamplerConfig {
    pub rate_hz: f64,
}

/// The tree follower.
#[derive(Debug)]
pub struct Sampler {
    pub t0: Instant,
    clk_tck: f64,
    /// Usable cores: no interval uses more.
    cores: usize,
    /// Seconds since boot at `t0` (from `/proc/uptime`), to date threads born while profiling.
    boot_s_at_t0: Option<f64>,
    pub procs: BTreeMap<i32, ProcTrack>,
    pub threads: BTreeMap<(i32, u64), ThreadTrack>,
    pub timeline: Vec<TimelinePoint>,
    pub refused: Refused,
    pub ticks: u64,
    pub tick_time: Duration,
    /// Whether `children` files exist on this kernel (else: scan `/proc` by parent pid).
    children_files: bool,
    loadavg: Option<File>,
    buf: Vec<u8>,
    last_tick_s: f64,
    /// Ticks so far at which the tree was first sampled (the root's threads present at start get a baseline).
    initial_done: bool,
    /// Every pid that was ever part of the tree.
    pub tree_ever: BTreeSet<i32>,
    /// Tids of live tracked threads.
    live_tids: std::collections::HashSet<i32>,
    /// The pid the kernel allocated last (`/proc/loadavg`'s last field) at the previous tick.
    last_pid: Option<i32>,
    /// At most this many tasks of the tree came and went between ticks: the pids allocated between ticks
    /// that were never seen in the tree and were gone at the next tick (alive ones belong to other programs).
    pub unseen_tasks_at_most: u64,
}

/// Pid ranges wider than this between two ticks are not scanned (counted whole: still an upper bound).
const MAX_PID_SCAN: i32 = 4096;

/// The `/bin/sh -c` script that holds a spawned command until the counters are attached.
pub const TRAMPOLINE: &str = "kill -STOP $$ && exec \"$@\"";

fn is_trampoline(cmdline: &[String]) -> bool {
    cmdline.get(2).is_some_and(|a| a == TRAMPOLINE)
}

fn uptime_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/uptime").ok()?;
    s.split_ascii_whitespace().next()?.parse().ok()
}

impl Sampler {
    /// Starts following the tree rooted at `root`. `born_now`: the root was just spawned by us, so every
    /// counter counts from zero; otherwise (attach) the first reading is the baseline.
    pub fn new(root: i32, born_now: bool) -> Sampler {
        let children_files = std::path::Path::new(&format!("/proc/{root}/task/{root}/children")).exists();
        let mut s = Sampler {
            t0: Instant::now(),
            clk_tck: rustix::param::clock_ticks_per_second() as f64,
            cores: procfs::cores().max(1),
            boot_s_at_t0: uptime_s(),
            procs: BTreeMap::new(),
            threads: BTreeMap::new(),
            timeline: Vec::new(),
            refused: Refused::default(),
            ticks: 0,
            tick_time: Duration::ZERO,
            children_files,
            loadavg: File::open("/proc/loadavg").ok(),
            buf: Vec::with_capacity(4096),
            last_tick_s: 0.0,
            initial_done: born_now,
            tree_ever: BTreeSet::new(),
            live_tids: Default::default(),
            last_pid: None,
            unseen_tasks_at_most: 0,
        };
        s.last_pid = s.last_allocated_pid();
        s.add_process(root, 0.0);
        s
    }

    pub fn now_s(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    pub fn children_files(&self) -> bool {
        self.children_files
    }

    /// Any process of the tree still alive.
    pub fn any_alive(&self) -> bool {
        self.procs.values().any(|p| p.alive)
    }

    fn add_process(&mut self, pid: i32, now: f64) {
        if self.procs.contains_key(&pid) {
            return;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| procfs::parse_stat(&s));
        let Some(stat) = stat else { return };
        self.tree_ever.insert(pid);
        self.procs.insert(
            pid,
            ProcTrack {
                pid,
                ppid: stat.ppid,
                start_ticks: stat.start_ticks,
                name: stat.comm,
                cmdline: procfs::read_cmdline(pid),
                first_seen_s: now,
                last_seen_s: now,
                alive: true,
                max_threads: 0,
                threads: Vec::new(),
                stat_cpu_s: stat.cpu_ticks as f64 / self.clk_tck,
                child_cpu_s: stat.child_cpu_ticks as f64 / self.clk_tck,
            },
        );
    }

    /// Reads every live process's cumulative CPU (its own, exited threads included, and its reaped children's),
    /// so short-lived threads and processes the ticks never saw still count.
    fn read_process_totals(&mut self) {
        for p in self.procs.values_mut().filter(|p| p.alive) {
            let Ok(text) = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)) else { continue };
            let Some(st) = procfs::parse_stat(&text).filter(|st| st.start_ticks == p.start_ticks) else { continue };
            p.stat_cpu_s = p.stat_cpu_s.max(st.cpu_ticks as f64 / self.clk_tck);
            p.child_cpu_s = p.child_cpu_s.max(st.child_cpu_ticks as f64 / self.clk_tck);
        }
    }

    /// Seconds since `t0` at which a task that started `start_ticks` after boot was born (clamped to 0).
    fn born_at(&self, start_ticks: u64) -> Option<f64> {
        let boot = self.boot_s_at_t0?;
        Some((start_ticks as f64 / self.clk_tck - boot).max(0.0))
    }

    /// Finds the tree's processes and threads now (before the first tick), e.g. to open counters on them.
    pub fn discover_tree(&mut self) {
        let now = self.now_s();
        self.discover(now);
    }

    /// Finds new threads of every live process and new child processes.
    fn discover(&mut self, now: f64) {
        // Up to a few rounds, so a child found this tick has its threads (and children) found this tick too.
        for _ in 0..4 {
            let before = self.procs.len();
            // Only a process one of whose threads ran can have created a thread.
            let active: BTreeSet<i32> = self.threads.values().filter(|t| t.alive && t.ran).map(|t| t.pid).collect();
            let pids: Vec<i32> = self
                .procs
                .values()
                .filter(|p| p.alive && (p.threads.is_empty() || active.contains(&p.pid)))
                .map(|p| p.pid)
                .collect();
            for pid in pids {
                self.discover_threads(pid, now);
            }
            self.discover_children(now);
            if self.procs.len() == before {
                break;
            }
        }
    }

    fn discover_threads(&mut self, pid: i32, now: f64) {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            if let Some(p) = self.procs.get_mut(&pid) {
                p.alive = false;
            }
            return;
        };
        let mut count = 0;
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            count += 1;
            if self.live_tids.contains(&tid) {
                continue;
            }
            let Ok(files) = TaskFiles::open(pid, tid, &mut self.refused) else { continue };
            let Some(stat) = procfs::pread_text(&files.stat, &mut self.buf).ok().and_then(procfs::parse_stat) else {
                continue;
            };
            let key = (tid, stat.start_ticks);
            if self.threads.contains_key(&key) {
                continue;
            }
            if tid == pid {
                // The process may have exec'd since `add_process` read its name (the start trampoline does):
                // the tick renames a process only when its main thread's name changes from this reading.
                if let Some(p) = self.procs.get_mut(&pid).filter(|p| p.name != stat.comm) {
                    p.name = stat.comm.clone();
                    p.cmdline = procfs::read_cmdline(pid);
                }
            }
            let first_seen =
                if self.initial_done { self.born_at(stat.start_ticks).unwrap_or(now).min(now) } else { now };
            self.threads.insert(
                key,
                ThreadTrack {
                    pid,
                    tid,
                    start_ticks: stat.start_ticks,
                    name: stat.comm,
                    files: Some(files),
                    first_seen_s: first_seen,
                    last_seen_s: first_seen,
                    base: Counters::default(),
                    last: Counters::default(),
                    last_state: stat.state,
                    last_kind: None,
                    blocked: BlockedByKind::default(),
                    alive: true,
                    ran: true,
                    spans: Vec::new(),
                },
            );
            self.live_tids.insert(tid);
            if let Some(p) = self.procs.get_mut(&pid) {
                p.threads.push(key);
            }
        }
        if let Some(p) = self.procs.get_mut(&pid) {
            p.max_threads = p.max_threads.max(count);
        }
    }

    fn discover_children(&mut self, now: f64) {
        let mut found = Vec::new();
        if self.children_files {
            for th in self.threads.values().filter(|t| t.alive && t.ran) {
                let Some(f) = th.files.as_ref().and_then(|f| f.children.as_ref()) else { continue };
                if let Ok(text) = procfs::pread_text(f, &mut self.buf) {
                    found.extend(text.split_ascii_whitespace().filter_map(|s| s.parse::<i32>().ok()));
                }
            }
        } else {
            let alive: BTreeSet<i32> = self.procs.values().filter(|p| p.alive).map(|p| p.pid).collect();
            if let Ok(dir) = std::fs::read_dir("/proc") {
                for e in dir.flatten() {
                    let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
                    if self.procs.contains_key(&pid) {
                        continue;
                    }
                    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
                    if procfs::parse_stat(&s).is_some_and(|st| alive.contains(&st.ppid)) {
                        found.push(pid);
                    }
                }
            }
        }
        for pid in found {
            if !self.procs.contains_key(&pid) {
                self.add_process(pid, now);
            }
        }
    }

    /// One sampling tick: discover, then read every live thread.
    pub fn tick(&mut self) {
        let started = Instant::now();
        self.read_process_totals();
        let now = self.now_s();
        if self.ticks == 0 {
            self.discover(now);
        }
        let dt = (now - self.last_tick_s).max(1e-6);
        let initial = !self.initial_done;
        let (totals, renamed) = self.read_threads(now, initial);
        self.update_processes(renamed, now);
        if !initial && dt >= 1e-3 {
            let machine_runnable = self.machine_runnable();
            self.timeline.push(TimelinePoint {
                t_s: now,
                // Clock ticks of threads read at slightly different instants can add up past the cores.
                cores_used: (totals.cpu_ns as f64 / 1e9 / dt).min(self.cores as f64),
                runnable: totals.runnable,
                threads: totals.alive_threads,
                machine_runnable,
            });
        }
        self.initial_done = true;
        // New threads and children of the threads that ran; they are read from the next tick on (counting from
        // their birth, so nothing of their first interval is lost).
        self.discover(now);
        self.count_unseen_tasks();
        self.last_tick_s = now;
        self.ticks += 1;
        self.tick_time += started.elapsed();
    }

    /// Reads every live thread once and accounts the interval since its last reading. Returns the tick's totals
    /// and the processes whose main thread took a new name (an exec).
    fn read_threads(&mut self, now: f64, initial: bool) -> (TickTotals, Vec<(i32, String)>) {
        let mut totals = TickTotals::default();
        let mut renamed: Vec<(i32, String)> = Vec::new();
        for th in self.threads.values_mut().filter(|t| t.alive) {
            let Some(files) = th.files.as_ref() else { continue };
            let stat = procfs::pread_text(&files.stat, &mut self.buf).ok().and_then(procfs::parse_stat);
            let Some(stat) = stat.filter(|s| s.state != 'X') else {
                th.alive = false;
                th.files = None;
                self.live_tids.remove(&th.tid);
                continue;
            };
            let (cur, still) = read_counters(files, th, &stat, &mut self.buf, self.clk_tck, initial);
            th.ran = !still;
            let kind = wait_kind(files, th, &stat, still, &mut self.buf);
            totals.cpu_ns += th.account(cur, kind, stat.state, now, initial);
            if th.name != stat.comm {
                th.name = stat.comm.clone();
                if th.tid == th.pid {
                    renamed.push((th.pid, stat.comm));
                }
            }
            if stat.state == 'Z' {
                // Exited (a zombie awaiting its parent): this was its last reading.
                th.alive = false;
                th.files = None;
                self.live_tids.remove(&th.tid);
                continue;
            }
            totals.alive_threads += 1;
            if stat.state == 'R' {
                totals.runnable += 1;
            }
        }
        (totals, renamed)
    }

    /// Renames exec'd processes and marks as exited those without a live thread.
    fn update_processes(&mut self, renamed: Vec<(i32, String)>, now: f64) {
        for (pid, name) in renamed {
            if let Some(p) = self.procs.get_mut(&pid) {
                p.name = name;
                p.cmdline = procfs::read_cmdline(pid);
            }
        }
        // A command still showing the start trampoline's arguments has just exec'd (or is about to).
        for p in self.procs.values_mut().filter(|p| p.alive && is_trampoline(&p.cmdline)) {
            p.cmdline = procfs::read_cmdline(p.pid);
        }
        let live_pids: BTreeSet<i32> = self.threads.values().filter(|t| t.alive).map(|t| t.pid).collect();
        for p in self.procs.values_mut() {
            if p.alive {
                if live_pids.contains(&p.pid) {
                    p.last_seen_s = now;
                } else if self.ticks > 0 || !p.threads.is_empty() {
                    p.alive = false;
                }
            }
        }
    }

    /// Runnable threads on the whole machine (`/proc/loadavg`), not counting the sampler.
    fn machine_runnable(&mut self) -> Option<u32> {
        self.loadavg.as_ref().and_then(|f| {
            let text = procfs::pread_text(f, &mut self.buf).ok()?;
            let field = text.split_ascii_whitespace().nth(3)?;
            let r: u32 = field.split('/').next()?.parse().ok()?;
            Some(r.saturating_sub(1)) // not counting the sampler itself
        })
    }

    /// Counts the tasks (processes or threads) that may have belonged to the tree and came and went since the
    /// previous tick: of the pids the kernel allocated meanwhile (`/proc/loadavg`'s last pid; pids are handed
    /// out in order), those not seen in the tree and no longer alive. Alive ones belong to other programs (a
    /// child of the tree found later is seen in the tree). An upper bound: other programs' short-lived tasks of
    /// the same interval count too; a pid wrap-around interval is skipped.
    fn count_unseen_tasks(&mut self) {
        let Some(now_pid) = self.last_allocated_pid() else { return };
        let Some(prev) = self.last_pid.replace(now_pid) else { return };
        if now_pid <= prev {
            return;
        }
        if now_pid - prev > MAX_PID_SCAN {
            self.unseen_tasks_at_most += (now_pid - prev) as u64;
            return;
        }
        let own = std::process::id() as i32;
        for pid in prev + 1..=now_pid {
            let ours = self.tree_ever.contains(&pid) || self.threads.keys().any(|(tid, _)| *tid == pid);
            if ours || pid == own {
                continue;
            }
            if !std::path::Path::new(&format!("/proc/{pid}/stat")).exists() {
                self.unseen_tasks_at_most += 1;
            }
        }
    }

    fn last_allocated_pid(&mut self) -> Option<i32> {
        self.loadavg.as_ref().and_then(|f| {
            let text = procfs::pread_text(f, &mut self.buf).ok()?;
            text.split_ascii_whitespace().nth(4)?.parse().ok()
        })
    }

    /// Processes by pid, threads by (tid, start) — read-only views for the analysis.
    pub fn thread(&self, key: &(i32, u64)) -> Option<&ThreadTrack> {
        self.threads.get(key)
    }
}

/// CPU time used by the calling thread so far (schedstat, else zero).
pub fn own_thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| procfs::parse_schedstat(&s))
        .map(|s| s.cpu_ns)
        .unwrap_or(0)
}

/// What one tick adds to the timeline.
#[derive(Debug, Default, Clone, Copy)]
struct TickTotals {
    /// CPU time the tree's threads used since the last tick.
    cpu_ns: u64,
    runnable: u32,
    alive_threads: u32,
}

/// A thread's counters now, and whether it is `still`: not run since the last reading (same CPU time, same
/// wait, same state), in which case its switch counts are not read again.
fn read_counters(
    files: &TaskFiles,
    th: &ThreadTrack,
    stat: &procfs::Stat,
    buf: &mut Vec<u8>,
    clk_tck: f64,
    initial: bool,
) -> (Counters, bool) {
    let sched =
        files.schedstat.as_ref().and_then(|f| procfs::pread_text(f, buf).ok().and_then(procfs::parse_schedstat));
    let (cpu_ns, runq_ns) = match sched {
        Some(s) => (s.cpu_ns, s.runq_ns),
        None => ((stat.cpu_ticks as f64 / clk_tck * 1e9) as u64, 0),
    };
    // Not run since the last reading: same switches, same wait.
    let still = sched.is_some()
        && !initial
        && th.last_seen_s > th.first_seen_s
        && cpu_ns == th.last.cpu_ns
        && runq_ns == th.last.runq_ns
        && stat.state == th.last_state;
    let (vol, invol) = if still {
        (th.last.vol, th.last.invol)
    } else {
        files
            .status
            .as_ref()
            .and_then(|f| procfs::pread_text(f, buf).ok().and_then(procfs::parse_status_switches))
            .unwrap_or((th.last.vol, th.last.invol))
    };
    (Counters { cpu_ns, runq_ns, vol, invol }, still)
}

/// Where a sleeping thread waits: the syscall it is in, else its wchan; a `still` thread keeps its last kind.
fn wait_kind(
    files: &TaskFiles,
    th: &ThreadTrack,
    stat: &procfs::Stat,
    still: bool,
    buf: &mut Vec<u8>,
) -> Option<WaitKind> {
    match stat.state {
        'S' | 'I' | 'D' if still && th.last_kind.is_some() => th.last_kind,
        'D' => Some(WaitKind::Disk),
        'S' | 'I' => {
            let by_syscall = files.syscall.as_ref().and_then(|f| {
                procfs::pread_text(f, buf).ok().and_then(procfs::parse_syscall).map(procfs::syscall_kind)
            });
            let mut by_wchan =
                || files.wchan.as_ref().and_then(|f| procfs::pread_text(f, buf).ok().and_then(procfs::wchan_kind));
            match by_syscall {
                Some(k) => Some(k),
                None => by_wchan().or(Some(WaitKind::Other)),
            }
        }
        'T' | 't' => Some(WaitKind::Other),
        _ => None,
    }
}

impl ThreadTrack {
    /// Takes a reading: the first one of a thread present before profiling began is the baseline; later ones
    /// split the interval since the last reading into CPU, run-queue and blocked time (by `kind`) and extend
    /// the thread's state spans. Returns the CPU time of the interval.
    fn account(&mut self, cur: Counters, kind: Option<WaitKind>, proc_state: char, now: f64, initial: bool) -> u64 {
        let th = self;
        if initial {
            // Present before profiling began: this reading is the baseline.
            th.base = cur;
            th.last = cur;
            th.last_seen_s = now;
            th.last_state = proc_state;
            th.last_kind = kind;
            0
        } else {
            let from = th.last_seen_s;
            let wall = (now - from).max(0.0);
            let dcpu_ns = cur.cpu_ns.saturating_sub(th.last.cpu_ns);
            let dcpu = dcpu_ns as f64 / 1e9;
            let drq = cur.runq_ns.saturating_sub(th.last.runq_ns) as f64 / 1e9;
            let blocked = (wall - dcpu - drq).max(0.0);
            let bkind = kind.or(th.last_kind).unwrap_or(WaitKind::Other);
            *th.blocked.get_mut(bkind) += blocked;
            let state = if blocked >= dcpu && blocked >= drq {
                SpanState::Blocked(bkind)
            } else if drq > dcpu {
                SpanState::Runnable
            } else {
                SpanState::Running
            };
            match th.spans.last_mut() {
                Some(last) if last.state == state && (last.end_s - from).abs() < 1e-9 => last.end_s = now,
                _ if wall > 0.0 => th.spans.push(StateSpan { start_s: from, end_s: now, state }),
                _ => {}
            }
            th.last = cur;
            th.last_seen_s = now;
            th.last_state = proc_state;
            if kind.is_some() {
                th.last_kind = kind;
            }
            dcpu_ns
        }
    }
}

/// The progress line on a terminal.
pub struct Progress {
    enabled: bool,
    last: Option<Instant>,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress { enabled, last: None }
    }

    pub fn update(&mut self, sampler: &Sampler) {
        if !self.enabled || self.last.is_some_and(|l| l.elapsed() < Duration::from_millis(250)) {
            return;
        }
        self.last = Some(Instant::now());
        let cores = sampler.timeline.last().map(|p| p.cores_used).unwrap_or(0.0);
        let procs = sampler.procs.values().filter(|p| p.alive).count();
        let threads = sampler.threads.values().filter(|t| t.alive).count();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[conc-advisor] {:6.1} s  {:4.2} cores in use  {procs} processes  {threads} threads",
            sampler.now_s(),
            cores
        );
        let _ = err.flush();
    }

    pub fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

/// Per-process sums for the analysis.
pub fn threads_by_pid(s: &Sampler) -> HashMap<i32, Vec<&ThreadTrack>> {
    let mut m: HashMap<i32, Vec<&ThreadTrack>> = HashMap::new();
    for t in s.threads.values() {
        m.entry(t.pid).or_default().push(t);
    }
    m
}
