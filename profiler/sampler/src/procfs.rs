//! Linux `/proc` readers for the external profiler: pure parsers of `stat`, `schedstat`, `status`, `syscall` and
//! `wchan`, the wait-kind classification of a blocked thread, and [`TaskFiles`], the kept-open descriptors read
//! with `pread` (`FileExt::read_at`) on every tick.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

pub use crate::model::WaitKind;

/// The fields of `/proc/PID/task/TID/stat` the profiler uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    /// R running/runnable, S sleeping, D uninterruptible, T stopped, Z zombie, …
    pub state: char,
    pub ppid: i32,
    /// utime + stime in clock ticks (of a process: all its threads, exited ones included).
    pub cpu_ticks: u64,
    /// cutime + cstime in clock ticks: the CPU of children this process waited for (reaped).
    pub child_cpu_ticks: u64,
    /// Start time in clock ticks since boot (tells a reused TID from the old one).
    pub start_ticks: u64,
    pub num_threads: u64,
    pub minflt: u64,
    pub majflt: u64,
}

/// Parses a `stat` line. The command name may contain spaces and parentheses: it runs to the last `)`.
pub fn parse_stat(s: &str) -> Option<Stat> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    if close < open {
        return None;
    }
    let comm = s[open + 1..close].to_string();
    let rest: Vec<&str> = s[close + 1..].split_ascii_whitespace().collect();
    // rest[0] is field 3 (state).
    let field = |n: usize| -> Option<u64> { rest.get(n - 3)?.parse().ok() };
    let state = rest.first()?.chars().next()?;
    Some(Stat {
        comm,
        state,
        ppid: rest.get(1)?.parse().ok()?,
        minflt: field(10)?,
        majflt: field(12)?,
        cpu_ticks: field(14)?.saturating_add(field(15)?),
        child_cpu_ticks: field(16)?.saturating_add(field(17)?),
        num_threads: field(20)?,
        start_ticks: field(22)?,
    })
}

/// `/proc/…/schedstat`: nanoseconds on the CPU, nanoseconds waiting on a run queue, timeslices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedStat {
    pub cpu_ns: u64,
    pub runq_ns: u64,
    pub slices: u64,
}

pub fn parse_schedstat(s: &str) -> Option<SchedStat> {
    let mut it = s.split_ascii_whitespace().map(|f| f.parse::<u64>().ok());
    Some(SchedStat { cpu_ns: it.next()??, runq_ns: it.next()??, slices: it.next().flatten().unwrap_or(0) })
}

/// Voluntary and involuntary context switches from `/proc/…/status`.
pub fn parse_status_switches(s: &str) -> Option<(u64, u64)> {
    let mut vol = None;
    let mut invol = None;
    for line in s.lines() {
        if let Some(v) = line.strip_prefix("voluntary_ctxt_switches:") {
            vol = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
            invol = v.trim().parse().ok();
        }
    }
    Some((vol?, invol?))
}

/// The system call number from `/proc/…/syscall` (`None` for "running", "-1 …" or garbage).
pub fn parse_syscall(s: &str) -> Option<i64> {
    let first = s.split_ascii_whitespace().next()?;
    let n: i64 = first.parse().ok()?;
    (n >= 0).then_some(n)
}

/// Classifies a system call number a thread is blocked in: the one table both runtime halves use
/// ([`conc_report::waits::syscall_kind`]).
pub use conc_report::waits::syscall_kind;

/// Classifies a kernel wait channel name (`/proc/…/wchan`), the fallback when `syscall` is unreadable.
pub fn wchan_kind(w: &str) -> Option<WaitKind> {
    let w = w.trim();
    if w.is_empty() || w == "0" {
        return None;
    }
    Some(if w.contains("futex") {
        WaitKind::Lock
    } else if w.contains("nanosleep") || w.contains("hrtimer") {
        WaitKind::Sleep
    } else if w.contains("do_wait") || w.contains("wait_consider") {
        WaitKind::Child
    } else if ["ep_poll", "select", "poll", "sk_wait", "wait_woken", "pipe_", "unix_stream", "tcp_", "inet_", "n_tty"]
        .iter()
        .any(|p| w.contains(p))
    {
        WaitKind::Io
    } else if w.contains("io_schedule") || w.contains("folio") || w.contains("blk") {
        WaitKind::Disk
    } else {
        WaitKind::Other
    })
}

/// Reads a whole small procfs file from offset 0 into `buf` with `pread`; returns the text.
pub fn pread_text<'b>(file: &File, buf: &'b mut Vec<u8>) -> io::Result<&'b str> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let n = file.read_at(&mut chunk, buf.len() as u64)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 1 << 20 {
            break;
        }
    }
    std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The kept-open descriptors of one thread.
#[derive(Debug)]
pub struct TaskFiles {
    pub stat: File,
    pub schedstat: Option<File>,
    pub status: Option<File>,
    pub syscall: Option<File>,
    pub wchan: Option<File>,
    pub children: Option<File>,
}

/// Which sources were refused while opening files (reported once per run).
#[derive(Debug, Default, Clone, Copy)]
pub struct Refused {
    pub schedstat: bool,
    pub syscall: bool,
    pub wchan: bool,
    pub children: bool,
}

impl TaskFiles {
    /// The directory of a task.
    pub fn dir(pid: i32, tid: i32) -> PathBuf {
        PathBuf::from(format!("/proc/{pid}/task/{tid}"))
    }

    /// Opens a task's files; `stat` is required, the others are optional and recorded in `refused` when absent.
    pub fn open(pid: i32, tid: i32, refused: &mut Refused) -> io::Result<TaskFiles> {
        let dir = Self::dir(pid, tid);
        let stat = File::open(dir.join("stat"))?;
        // A file that fails to open while the task is still there is refused; a task that vanished meanwhile
        // says nothing about the source.
        let opt = |name: &str, flag: &mut bool| match File::open(dir.join(name)) {
            Ok(f) => Some(f),
            Err(_) => {
                if dir.join("stat").exists() {
                    *flag = true;
                }
                None
            }
        };
        let schedstat = opt("schedstat", &mut refused.schedstat);
        let syscall = opt("syscall", &mut refused.syscall);
        let wchan = opt("wchan", &mut refused.wchan);
        let children = opt("children", &mut refused.children);
        let status = File::open(dir.join("status")).ok();
        Ok(TaskFiles { stat, schedstat, status, syscall, wchan, children })
    }
}

/// A process's command line (`/proc/PID/cmdline`), NUL-separated arguments.
pub fn read_cmdline(pid: i32) -> Vec<String> {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(b) => {
            b.split(|&c| c == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
        }
        Err(_) => Vec::new(),
    }
}

/// The number of runnable tasks on the whole machine (`procs_running` in `/proc/stat`).
pub fn parse_procs_running(s: &str) -> Option<u64> {
    s.lines().find_map(|l| l.strip_prefix("procs_running")?.trim().parse().ok())
}

/// Online CPUs the process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm() {
        let line = "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 2 0 50 25 0 0 20 0 3 0 98765 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.comm, "my (odd) prog");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.minflt, 100);
        assert_eq!(s.majflt, 2);
        assert_eq!(s.cpu_ticks, 75);
        assert_eq!(s.num_threads, 3);
        assert_eq!(s.start_ticks, 98765);
        assert!(parse_stat("garbage").is_none());
        assert!(parse_stat("1 (x) R").is_none());
    }

    #[test]
    fn schedstat_status_syscall() {
        assert_eq!(parse_schedstat("100 20 3\n"), Some(SchedStat { cpu_ns: 100, runq_ns: 20, slices: 3 }));
        assert_eq!(parse_schedstat("x"), None);
        let st = "Name:\tx\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(parse_status_switches(st), Some((12, 3)));
        assert_eq!(parse_syscall("running\n"), None);
        assert_eq!(parse_syscall("-1 0x0 0x0\n"), None);
        assert_eq!(parse_syscall(&format!("{} 0x1 0x2", libc::SYS_futex)), Some(libc::SYS_futex));
        assert_eq!(syscall_kind(libc::SYS_futex), WaitKind::Lock);
        assert_eq!(syscall_kind(libc::SYS_clock_nanosleep), WaitKind::Sleep);
        assert_eq!(syscall_kind(libc::SYS_recvfrom), WaitKind::Io);
        assert_eq!(syscall_kind(libc::SYS_epoll_pwait), WaitKind::Io);
        assert_eq!(syscall_kind(libc::SYS_waitid), WaitKind::Child);
        assert_eq!(syscall_kind(libc::SYS_getpid), WaitKind::Other);
        // The union with the in-process table (issue 14): syncs and opens are disk, sendfile is I/O.
        assert_eq!(syscall_kind(libc::SYS_fsync), WaitKind::Disk);
        assert_eq!(syscall_kind(libc::SYS_openat), WaitKind::Disk);
        assert_eq!(syscall_kind(libc::SYS_sendfile), WaitKind::Io);
    }

    #[test]
    fn wchan_names() {
        assert_eq!(wchan_kind("futex_wait_queue"), Some(WaitKind::Lock));
        assert_eq!(wchan_kind("hrtimer_nanosleep"), Some(WaitKind::Sleep));
        assert_eq!(wchan_kind("do_wait"), Some(WaitKind::Child));
        assert_eq!(wchan_kind("ep_poll"), Some(WaitKind::Io));
        assert_eq!(wchan_kind("0"), None);
        assert_eq!(parse_procs_running("cpu 1 2\nprocs_running 3\nprocs_blocked 0\n"), Some(3));
    }

    #[test]
    fn reads_own_task_files() {
        let pid = std::process::id() as i32;
        let mut refused = Refused::default();
        let f = TaskFiles::open(pid, pid, &mut refused).unwrap();
        let mut buf = Vec::new();
        let s = parse_stat(pread_text(&f.stat, &mut buf).unwrap()).unwrap();
        assert!("RSD".contains(s.state), "state {}", s.state);
        // Read twice at offset 0: pread must give a fresh, complete copy.
        let again = parse_stat(pread_text(&f.stat, &mut buf).unwrap()).unwrap();
        assert_eq!(again.start_ticks, s.start_ticks);
    }
}
