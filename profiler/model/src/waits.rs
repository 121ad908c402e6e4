//! What a blocked thread waits on: [`WaitKind`], and the one table from a Linux system call number to a kind
//! ([`syscall_kind`]), used by both runtime halves — the in-process wait sampler (`conc-profiler`'s `waits`,
//! which folds the kinds into [`crate::classify::WaitKinds`]) and the external sampler (`conc-sampler`'s
//! `procfs`, which also reads `wchan` and the scheduler state).
//!
//! The classification, decided once for both (issue 14 found two tables that differed):
//! - **lock**: `futex`, `futex_waitv` — a contended lock, but also a condition variable, a channel, a join;
//! - **sleep**: `nanosleep`, `clock_nanosleep`, `pause` — timers;
//! - **child**: `wait4`, `waitid`, `rt_sigsuspend` (dash's `wait` waits for SIGCHLD there) — a coordinator
//!   waiting for its own children, never I/O the program does;
//! - **I/O**: stream and readiness I/O the program does — read/write and their vectored and positioned forms,
//!   recv/send, accept/connect, poll/select/epoll, AIO and io_uring completions, splice/tee/sendfile/copy_file_range;
//! - **disk**: file-system calls that wait for storage — `fsync`, `fdatasync`, `sync_file_range`, `syncfs`,
//!   `sync`, `fallocate`, `open`/`openat`/`openat2` (a slow open is a directory lookup on a cold or remote disk).
//!   Disk waits are I/O the program does: every pool decision counts them with I/O; only the label differs;
//! - **other**: every other call.

use serde::{Deserialize, Serialize};

/// Where a blocked thread waits, as far as `/proc/…/syscall`, `wchan` and the scheduler state tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// `futex`: a lock, a condition variable, a join — for CPython, usually the GIL.
    Lock,
    /// Network, pipe or terminal I/O and readiness waits: read/recv/accept/connect/poll/select/epoll.
    Io,
    /// Storage: fsync and friends, opens, or uninterruptible sleep (state `D`, almost always disk or page cache).
    Disk,
    /// Timers: nanosleep, clock_nanosleep, pause.
    Sleep,
    /// Waiting for a child process to exit (wait4/waitid): a shell or a supervisor.
    Child,
    /// Blocked somewhere else, or the call could not be read.
    Other,
}

impl WaitKind {
    /// Every kind, in display order.
    pub const ALL: [WaitKind; 6] =
        [WaitKind::Lock, WaitKind::Io, WaitKind::Disk, WaitKind::Sleep, WaitKind::Child, WaitKind::Other];

    /// Index into per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            WaitKind::Lock => "lock/futex",
            WaitKind::Io => "I/O",
            WaitKind::Disk => "disk",
            WaitKind::Sleep => "sleep",
            WaitKind::Child => "child wait",
            WaitKind::Other => "other",
        }
    }

    /// Whether this is I/O the program itself does (the only wait that may size a pool past the cores).
    pub fn is_own_io(self) -> bool {
        matches!(self, WaitKind::Io | WaitKind::Disk)
    }

    /// The [`crate::classify::WaitKinds`] index the in-process sampler counts this kind under: disk with I/O,
    /// a child wait with "other" (an instrumented function waiting for a process is not doing I/O).
    pub fn wait_kinds_index(self) -> usize {
        use crate::classify::WaitKinds;
        match self {
            WaitKind::Lock => WaitKinds::LOCK,
            WaitKind::Io | WaitKind::Disk => WaitKinds::IO,
            WaitKind::Sleep => WaitKinds::SLEEP,
            WaitKind::Child | WaitKind::Other => WaitKinds::OTHER,
        }
    }
}

/// The kind of wait a thread blocked in Linux system call `nr` is in (the first field of `/proc/…/syscall`).
#[cfg(target_os = "linux")]
pub fn syscall_kind(nr: i64) -> WaitKind {
    use libc as l;
    // Newer than some libc targets define: the numbers are the same on every architecture (the unified table).
    const FUTEX_WAITV: i64 = 449;
    const EPOLL_PWAIT2: i64 = 441;
    const OPENAT2: i64 = 437;
    const IO_PGETEVENTS: i64 = 333;
    const LOCK: &[i64] = &[l::SYS_futex, FUTEX_WAITV];
    const SLEEP: &[i64] = &[
        #[cfg(target_arch = "x86_64")]
        l::SYS_pause,
        l::SYS_nanosleep,
        l::SYS_clock_nanosleep,
    ];
    const CHILD: &[i64] = &[l::SYS_wait4, l::SYS_waitid, l::SYS_rt_sigsuspend];
    const IO: &[i64] = &[
        l::SYS_read,
        l::SYS_readv,
        l::SYS_pread64,
        l::SYS_preadv,
        l::SYS_preadv2,
        l::SYS_write,
        l::SYS_writev,
        l::SYS_pwrite64,
        l::SYS_pwritev,
        l::SYS_pwritev2,
        l::SYS_recvfrom,
        l::SYS_recvmsg,
        l::SYS_recvmmsg,
        l::SYS_sendto,
        l::SYS_sendmsg,
        l::SYS_sendmmsg,
        l::SYS_accept4,
        l::SYS_connect,
        l::SYS_ppoll,
        l::SYS_pselect6,
        l::SYS_epoll_pwait,
        EPOLL_PWAIT2,
        #[cfg(target_arch = "x86_64")]
        l::SYS_poll,
        #[cfg(target_arch = "x86_64")]
        l::SYS_select,
        #[cfg(target_arch = "x86_64")]
        l::SYS_epoll_wait,
        #[cfg(target_arch = "x86_64")]
        l::SYS_accept,
        l::SYS_io_getevents,
        IO_PGETEVENTS,
        l::SYS_io_uring_enter,
        l::SYS_splice,
        l::SYS_tee,
        l::SYS_vmsplice,
        l::SYS_sendfile,
        l::SYS_copy_file_range,
    ];
    const DISK: &[i64] = &[
        l::SYS_fsync,
        l::SYS_fdatasync,
        l::SYS_sync_file_range,
        l::SYS_syncfs,
        l::SYS_sync,
        l::SYS_fallocate,
        #[cfg(target_arch = "x86_64")]
        l::SYS_open,
        l::SYS_openat,
        OPENAT2,
    ];
    if LOCK.contains(&nr) {
        WaitKind::Lock
    } else if SLEEP.contains(&nr) {
        WaitKind::Sleep
    } else if CHILD.contains(&nr) {
        WaitKind::Child
    } else if IO.contains(&nr) {
        WaitKind::Io
    } else if DISK.contains(&nr) {
        WaitKind::Disk
    } else {
        WaitKind::Other
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::classify::WaitKinds;

    #[test]
    fn one_table_for_both_samplers() {
        let cases = [
            (libc::SYS_futex, WaitKind::Lock, WaitKinds::LOCK),
            (libc::SYS_clock_nanosleep, WaitKind::Sleep, WaitKinds::SLEEP),
            (libc::SYS_wait4, WaitKind::Child, WaitKinds::OTHER),
            (libc::SYS_waitid, WaitKind::Child, WaitKinds::OTHER),
            (libc::SYS_read, WaitKind::Io, WaitKinds::IO),
            (libc::SYS_recvfrom, WaitKind::Io, WaitKinds::IO),
            (libc::SYS_epoll_pwait, WaitKind::Io, WaitKinds::IO),
            (libc::SYS_sendfile, WaitKind::Io, WaitKinds::IO),
            (libc::SYS_fsync, WaitKind::Disk, WaitKinds::IO),
            (libc::SYS_fdatasync, WaitKind::Disk, WaitKinds::IO),
            (libc::SYS_openat, WaitKind::Disk, WaitKinds::IO),
            (libc::SYS_getpid, WaitKind::Other, WaitKinds::OTHER),
        ];
        for (nr, kind, index) in cases {
            assert_eq!(syscall_kind(nr), kind, "syscall {nr}");
            assert_eq!(kind.wait_kinds_index(), index, "{kind:?}");
        }
        assert!(WaitKind::Disk.is_own_io() && WaitKind::Io.is_own_io());
        assert!(!WaitKind::Child.is_own_io() && !WaitKind::Lock.is_own_io());
    }

    #[test]
    fn every_kind_has_a_distinct_index_and_label() {
        for (i, k) in WaitKind::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
            assert!(!k.label().is_empty());
        }
        let json = serde_json::to_string(&WaitKind::Disk).unwrap();
        assert_eq!(json, "\"disk\"");
    }
}
