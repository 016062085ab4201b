//! Seccomp profiles: minipod's `RuntimeDefault`, `Localhost` profiles read from disk, and a
//! compatibility fix-up for libcontainer.
//!
//! The `RuntimeDefault` profile is minipod's own table, derived from the rules of Docker's
//! default profile (moby `profiles/seccomp/default.json`, as of moby PR #47341, 2024, which also
//! matches containerd's `contrib/seccomp/seccomp_default.go`): default action `ERRNO(EPERM)`; an
//! allow list of ~370 syscalls; syscalls that need a capability allowed only when the container
//! has it; arch-specific syscalls; `clone` allowed only without namespace flags unless the
//! container has `CAP_SYS_ADMIN`, and `clone3` answering `ENOSYS` (so glibc falls back to
//! `clone`, whose flags seccomp can inspect; moby PR #42681). Rules are rendered for the
//! container's actual capability set, like containerd's `DefaultProfile(spec)`.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Arch, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

/// `EPERM`: what a syscall outside the profile returns.
const EPERM: u32 = libc::EPERM as u32;
/// `ENOSYS`: what `clone3` returns without `CAP_SYS_ADMIN`.
const ENOSYS: u32 = libc::ENOSYS as u32;
/// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
/// CLONE_NEWNET` (0x7e020000 = 2114060288): the namespace flags `clone` may not carry.
pub const CLONE_NAMESPACE_FLAGS: u64 = 0x7e02_0000;
/// `AF_VSOCK`: sockets of this family are refused (moby: host-to-guest channel, not namespaced).
const AF_VSOCK: u64 = 40;

/// The CPU architectures minipod has a `RuntimeDefault` profile for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompArch {
    X86_64,
    Aarch64,
}

impl SeccompArch {
    /// The architecture minipod was compiled for, if it has a profile.
    pub fn native() -> Option<SeccompArch> {
        if cfg!(target_arch = "x86_64") {
            Some(SeccompArch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(SeccompArch::Aarch64)
        } else {
            None
        }
    }

    /// The seccomp architectures a filter must cover: the native one and the compat ABIs it
    /// can execute (moby default.json `archMap`), so a 32-bit binary cannot sidestep the filter.
    fn oci_arches(self) -> Vec<Arch> {
        match self {
            SeccompArch::X86_64 => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
            SeccompArch::Aarch64 => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        }
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy)]
enum RuleAction {
    Allow,
    Errno(u32),
}

/// One condition on one syscall argument.
#[derive(Debug, Clone, Copy)]
struct ArgMatch {
    index: usize,
    /// For `MaskedEq`: the mask; the argument must be zero under it (OCI `value`, `valueTwo` 0).
    value: u64,
    op: LinuxSeccompOperator,
}

/// One rule of the profile, in minipod's own form.
struct Rule {
    names: &'static [&'static str],
    action: RuleAction,
    arg: Option<ArgMatch>,
    /// Present only when the container has this capability.
    with_cap: Option<Capability>,
    /// Present only when the container lacks this capability.
    without_cap: Option<Capability>,
    /// Present only on these architectures (`None`: all).
    arches: Option<&'static [SeccompArch]>,
}

impl Rule {
    const fn allow(names: &'static [&'static str]) -> Rule {
        Rule {
            names,
            action: RuleAction::Allow,
            arg: None,
            with_cap: None,
            without_cap: None,
            arches: None,
        }
    }

    const fn with_cap(mut self, cap: Capability) -> Rule {
        self.with_cap = Some(cap);
        self
    }

    const fn on(mut self, arches: &'static [SeccompArch]) -> Rule {
        self.arches = Some(arches);
        self
    }

    const fn when_arg(mut self, index: usize, op: LinuxSeccompOperator, value: u64) -> Rule {
        self.arg = Some(ArgMatch { index, value, op });
        self
    }

    fn applies(&self, caps: &[Capability], arch: SeccompArch) -> bool {
        self.with_cap.is_none_or(|c| caps.contains(&c))
            && self.without_cap.is_none_or(|c| !caps.contains(&c))
            && self.arches.is_none_or(|a| a.contains(&arch))
    }
}

/// Syscalls every container may make. Names a kernel or libseccomp does not know are skipped by
/// the runtime (libcontainer logs and continues; runc does the same), so the list can run ahead
/// of the host.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
    "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set",
    "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc",
    "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack",
    "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
    "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
    "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
    "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat",
    "_newselect", "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe",
    "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
    "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
    "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo",
    "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
];

const X86: &[SeccompArch] = &[SeccompArch::X86_64];
const ARM: &[SeccompArch] = &[SeccompArch::Aarch64];

/// The rest of the profile, in moby's order. `personality` is limited to the values glibc and
/// `setarch` use (PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query).
const RULES: &[Rule] = &[
    // Since Linux 4.8 seccomp runs after ptrace, so ptrace cannot be used to bypass it (minipod
    // needs a far newer kernel anyway).
    Rule::allow(&["process_vm_readv", "process_vm_writev", "ptrace"]),
    Rule::allow(&["socket"]).when_arg(0, LinuxSeccompOperator::ScmpCmpNe, AF_VSOCK),
    Rule::allow(&["personality"]).when_arg(0, LinuxSeccompOperator::ScmpCmpEq, 0x0),
    Rule::allow(&["personality"]).when_arg(0, LinuxSeccompOperator::ScmpCmpEq, 0x0008),
    Rule::allow(&["personality"]).when_arg(0, LinuxSeccompOperator::ScmpCmpEq, 0x20000),
    Rule::allow(&["personality"]).when_arg(0, LinuxSeccompOperator::ScmpCmpEq, 0x20008),
    Rule::allow(&["personality"]).when_arg(0, LinuxSeccompOperator::ScmpCmpEq, 0xffff_ffff),
    Rule::allow(&[
        "arm_fadvise64_64",
        "arm_sync_file_range",
        "sync_file_range2",
        "breakpoint",
        "cacheflush",
        "set_tls",
    ])
    .on(ARM),
    Rule::allow(&["arch_prctl", "modify_ldt"]).on(X86),
    Rule::allow(&["open_by_handle_at"]).with_cap(Capability::DacReadSearch),
    Rule::allow(&[
        "bpf",
        "clone",
        "clone3",
        "fanotify_init",
        "fsconfig",
        "fsmount",
        "fsopen",
        "fspick",
        "lookup_dcookie",
        "mount",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "perf_event_open",
        "quotactl",
        "quotactl_fd",
        "setdomainname",
        "sethostname",
        "setns",
        "syslog",
        "umount",
        "umount2",
        "unshare",
    ])
    .with_cap(Capability::SysAdmin),
    Rule {
        names: &["clone"],
        action: RuleAction::Allow,
        arg: Some(ArgMatch {
            index: 0,
            value: CLONE_NAMESPACE_FLAGS,
            op: LinuxSeccompOperator::ScmpCmpMaskedEq,
        }),
        with_cap: None,
        without_cap: Some(Capability::SysAdmin),
        arches: None,
    },
    Rule {
        names: &["clone3"],
        action: RuleAction::Errno(ENOSYS),
        arg: None,
        with_cap: None,
        without_cap: Some(Capability::SysAdmin),
        arches: None,
    },
    Rule::allow(&["reboot"]).with_cap(Capability::SysBoot),
    Rule::allow(&["chroot"]).with_cap(Capability::SysChroot),
    Rule::allow(&["delete_module", "init_module", "finit_module"]).with_cap(Capability::SysModule),
    Rule::allow(&["acct"]).with_cap(Capability::SysPacct),
    Rule::allow(&[
        "kcmp",
        "pidfd_getfd",
        "process_madvise",
        "process_vm_readv",
        "process_vm_writev",
        "ptrace",
    ])
    .with_cap(Capability::SysPtrace),
    Rule::allow(&["iopl", "ioperm"]).with_cap(Capability::SysRawio),
    Rule::allow(&["settimeofday", "stime", "clock_settime", "clock_settime64"])
        .with_cap(Capability::SysTime),
    Rule::allow(&["vhangup"]).with_cap(Capability::SysTtyConfig),
    Rule::allow(&[
        "get_mempolicy",
        "mbind",
        "set_mempolicy",
        "set_mempolicy_home_node",
    ])
    .with_cap(Capability::SysNice),
    Rule::allow(&["syslog"]).with_cap(Capability::Syslog),
    Rule::allow(&["bpf"]).with_cap(Capability::Bpf),
    Rule::allow(&["perf_event_open"]).with_cap(Capability::Perfmon),
];

fn seccomp_arg(
    index: usize,
    value: u64,
    value_two: Option<u64>,
    op: LinuxSeccompOperator,
) -> LinuxSeccompArg {
    let builder = LinuxSeccompArgBuilder::default()
        .index(index)
        .value(value)
        .op(op);
    let builder = match value_two {
        Some(v) => builder.value_two(v),
        None => builder,
    };
    builder
        .build()
        // Invariant: the builder has a default for every field and no validation, so `build`
        // cannot fail.
        .expect("LinuxSeccompArgBuilder::build is infallible")
}

fn oci_syscall(names: &[&str], action: RuleAction, arg: Option<ArgMatch>) -> LinuxSyscall {
    let mut syscall = LinuxSyscall::default();
    syscall.set_names(names.iter().map(|n| n.to_string()).collect());
    match action {
        RuleAction::Allow => {
            syscall.set_action(LinuxSeccompAction::ScmpActAllow);
        }
        RuleAction::Errno(errno) => {
            syscall.set_action(LinuxSeccompAction::ScmpActErrno);
            syscall.set_errno_ret(Some(errno));
        }
    }
    if let Some(arg) = arg {
        let value_two = (arg.op == LinuxSeccompOperator::ScmpCmpMaskedEq).then_some(0);
        syscall.set_args(Some(vec![seccomp_arg(
            arg.index, arg.value, value_two, arg.op,
        )]));
    }
    syscall
}

/// minipod's `RuntimeDefault` profile for a container with exactly these capabilities (its
/// bounding set), in OCI form with the OCI meaning of `SCMP_CMP_MASKED_EQ` (`value` is the
/// mask, `valueTwo` the expected result). Before handing it to libcontainer 0.7.0, pass the
/// spec through [`fix_masked_eq_for_libcontainer`].
pub fn runtime_default(caps: &[Capability], arch: SeccompArch) -> LinuxSeccomp {
    let mut syscalls = vec![oci_syscall(ALLOWED, RuleAction::Allow, None)];
    syscalls.extend(
        RULES
            .iter()
            .filter(|r| r.applies(caps, arch))
            .map(|r| oci_syscall(r.names, r.action, r.arg)),
    );
    let mut profile = LinuxSeccomp::default();
    profile.set_default_action(LinuxSeccompAction::ScmpActErrno);
    profile.set_default_errno_ret(Some(EPERM));
    profile.set_architectures(Some(arch.oci_arches()));
    profile.set_syscalls(Some(syscalls));
    profile
}

/// Why a `Localhost` seccomp profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadProfileError {
    #[error("read seccomp profile {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("seccomp profile {} is larger than {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("parse seccomp profile {} as OCI linux.seccomp JSON", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("seccomp profile {} uses SCMP_ACT_NOTIFY, which minipod does not support", path.display())]
    Notify { path: PathBuf },
}

/// Profiles are small (Docker's is 12 KiB); refuse to slurp anything huge.
const PROFILE_SIZE_LIMIT: u64 = 4 << 20;

/// Reads a `Localhost` profile: an OCI `linux.seccomp` object (`defaultAction`, `syscalls`, …)
/// at a host path. The path is the node's, chosen by whoever wrote the pod; it is opened with
/// `O_NONBLOCK` so a FIFO cannot hang the supervisor.
pub fn load_localhost_profile(path: &Path) -> Result<LinuxSeccomp, LoadProfileError> {
    let read_err = |source| LoadProfileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(read_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let mut text = Vec::new();
    file.take(PROFILE_SIZE_LIMIT + 1)
        .read_to_end(&mut text)
        .map_err(read_err)?;
    if text.len() as u64 > PROFILE_SIZE_LIMIT {
        return Err(LoadProfileError::TooLarge {
            path: path.to_path_buf(),
            limit: PROFILE_SIZE_LIMIT,
        });
    }
    let profile: LinuxSeccomp =
        serde_json::from_slice(&text).map_err(|source| LoadProfileError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    // The supervisor would have to service the notify fd; runc also refuses it without a
    // listener path.
    let notify = profile.default_action() == LinuxSeccompAction::ScmpActNotify
        || profile
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify);
    if notify {
        return Err(LoadProfileError::Notify {
            path: path.to_path_buf(),
        });
    }
    Ok(profile)
}

/// Swaps `value` and `valueTwo` of every `SCMP_CMP_MASKED_EQ` argument.
///
/// libcontainer 0.7.0 (`seccomp/mod.rs`, `translate_op` + `ScmpArgCompare::new`) passes OCI
/// `valueTwo` to libseccomp as the mask and `value` as the datum, the reverse of the OCI spec
/// and of runc (`MakeCondition(index, op, value, valueTwo)`, mask first). Unfixed, the
/// `RuntimeDefault` rule "clone without namespace flags" gets mask 0, and since libseccomp
/// compares the masked argument with the *masked* datum it matches every `clone`: a container
/// without `CAP_SYS_ADMIN` could `clone(CLONE_NEWUSER | …)` (measured by the
/// `libcontainer_loads_the_adapted_profile` test). Apply this to the spec libcontainer reads,
/// and only to that one: runc and crun read the OCI meaning.
pub fn fix_masked_eq_for_libcontainer(profile: &mut LinuxSeccomp) {
    let Some(syscalls) = profile.syscalls().clone() else {
        return;
    };
    let fixed = syscalls
        .into_iter()
        .map(|mut syscall| {
            if let Some(args) = syscall.args().clone() {
                let args = args
                    .into_iter()
                    .map(|arg| {
                        if arg.op() == LinuxSeccompOperator::ScmpCmpMaskedEq {
                            seccomp_arg(
                                arg.index(),
                                arg.value_two().unwrap_or(0),
                                Some(arg.value()),
                                arg.op(),
                            )
                        } else {
                            arg
                        }
                    })
                    .collect();
                syscall.set_args(Some(args));
            }
            syscall
        })
        .collect();
    profile.set_syscalls(Some(fixed));
}

#[cfg(test)]
mod tests;
