//! Unit tests of `seccomp.rs`.
#![allow(clippy::type_complexity)] // table tests spell their row type out

use super::*;
use crate::spec::capabilities::DEFAULT_CAPABILITIES;

/// The rules of `profile` that name `syscall`, as (action, errno, args).
fn rules_for<'a>(profile: &'a LinuxSeccomp, syscall: &str) -> Vec<&'a LinuxSyscall> {
    profile
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == syscall))
        .collect()
}

/// Whether `syscall` is allowed unconditionally.
fn allowed(profile: &LinuxSeccomp, syscall: &str) -> bool {
    rules_for(profile, syscall)
        .iter()
        .any(|s| s.action() == LinuxSeccompAction::ScmpActAllow && s.args().is_none())
}

fn with(extra: &[Capability]) -> Vec<Capability> {
    let mut caps = DEFAULT_CAPABILITIES.to_vec();
    caps.extend_from_slice(extra);
    caps
}

#[test]
fn default_action_is_eperm_and_arches_cover_compat() {
    let p = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(p.default_errno_ret(), Some(1));
    assert_eq!(
        p.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
    );
    let p = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::Aarch64);
    assert_eq!(
        p.architectures().as_deref(),
        Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
    );
}

#[test]
fn allow_list_is_unique_and_large() {
    let unique: std::collections::HashSet<_> = ALLOWED.iter().collect();
    assert_eq!(unique.len(), ALLOWED.len(), "duplicate in ALLOWED");
    assert!(ALLOWED.len() > 350, "{}", ALLOWED.len());
    for name in [
        "read",
        "write",
        "execve",
        "fork",
        "vfork",
        "futex",
        "io_uring_setup",
    ] {
        assert!(ALLOWED.contains(&name), "{name}");
    }
    // Never unconditionally allowed.
    for name in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "clone",
        "clone3",
        "bpf",
        "keyctl",
        "add_key",
        "request_key",
        "kexec_load",
        "open_by_handle_at",
        "userfaultfd",
        "reboot",
        "init_module",
        "personality",
        "socket",
        "ptrace_evil",
    ] {
        assert!(!ALLOWED.contains(&name), "{name}");
    }
}

#[test]
#[rustfmt::skip]
fn capability_gated_rules() {
    // (capability, syscalls it unlocks)
    let cases: &[(Capability, &[&str])] = &[
        (Capability::SysAdmin, &["mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname", "bpf", "perf_event_open", "fsopen", "syslog"]),
        (Capability::DacReadSearch, &["open_by_handle_at"]),
        (Capability::SysBoot, &["reboot"]),
        (Capability::SysModule, &["init_module", "finit_module", "delete_module"]),
        (Capability::SysPacct, &["acct"]),
        (Capability::SysPtrace, &["kcmp", "pidfd_getfd", "process_madvise"]),
        (Capability::SysRawio, &["iopl", "ioperm"]),
        (Capability::SysTime, &["settimeofday", "clock_settime", "clock_settime64", "stime"]),
        (Capability::SysTtyConfig, &["vhangup"]),
        (Capability::SysNice, &["mbind", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node"]),
        (Capability::Syslog, &["syslog"]),
        (Capability::Bpf, &["bpf"]),
        (Capability::Perfmon, &["perf_event_open"]),
    ];
    let base = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    for (cap, syscalls) in cases {
        let p = runtime_default(&with(&[*cap]), SeccompArch::X86_64);
        for name in *syscalls {
            assert!(!allowed(&base, name), "{name} allowed without {cap}");
            assert!(allowed(&p, name), "{name} not allowed with {cap}");
        }
    }
    // The default set includes SYS_CHROOT, so chroot is allowed by default…
    assert!(allowed(&base, "chroot"));
    // …and not once it is dropped.
    let no_chroot: Vec<_> = DEFAULT_CAPABILITIES
        .iter()
        .copied()
        .filter(|c| *c != Capability::SysChroot)
        .collect();
    assert!(!allowed(&runtime_default(&no_chroot, SeccompArch::X86_64), "chroot"));
}

#[test]
fn clone_is_masked_and_clone3_enosys_without_sys_admin() {
    let p = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    let clone = rules_for(&p, "clone");
    assert_eq!(clone.len(), 1);
    let args = clone[0].args().clone().expect("clone has an argument rule");
    assert_eq!(args.len(), 1);
    assert_eq!(args[0].index(), 0);
    assert_eq!(args[0].op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(args[0].value(), 2114060288);
    assert_eq!(args[0].value_two(), Some(0));
    let clone3 = rules_for(&p, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3[0].errno_ret(), Some(38));

    let admin = runtime_default(&with(&[Capability::SysAdmin]), SeccompArch::X86_64);
    assert!(allowed(&admin, "clone"));
    assert!(allowed(&admin, "clone3"));
    assert!(rules_for(&admin, "clone")
        .iter()
        .all(|s| s.args().is_none()));
    assert!(rules_for(&admin, "clone3")
        .iter()
        .all(|s| s.action() == LinuxSeccompAction::ScmpActAllow));
}

#[test]
fn arch_gated_rules() {
    let x86 = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    let arm = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::Aarch64);
    assert!(allowed(&x86, "arch_prctl"));
    assert!(allowed(&x86, "modify_ldt"));
    assert!(!allowed(&arm, "arch_prctl"));
    assert!(allowed(&arm, "set_tls"));
    assert!(!allowed(&x86, "set_tls"));
}

#[test]
fn socket_and_personality_have_argument_rules() {
    let p = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    let socket = rules_for(&p, "socket");
    assert_eq!(socket.len(), 1);
    let arg = socket[0].args().clone().expect("socket args")[0];
    assert_eq!(
        (arg.index(), arg.value(), arg.op()),
        (0, 40, LinuxSeccompOperator::ScmpCmpNe)
    );
    let personas: Vec<u64> = rules_for(&p, "personality")
        .iter()
        .map(|s| s.args().clone().expect("personality args")[0].value())
        .collect();
    assert_eq!(personas, vec![0, 8, 0x20000, 0x20008, 0xffff_ffff]);
}

#[test]
fn serializes_as_oci_json() {
    let p = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    let json = serde_json::to_value(&p).expect("serialize");
    assert_eq!(json["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["defaultErrnoRet"], 1);
    assert_eq!(json["architectures"][0], "SCMP_ARCH_X86_64");
    let back: LinuxSeccomp = serde_json::from_value(json).expect("round trip");
    assert_eq!(back, p);
}

#[test]
fn libcontainer_fix_swaps_masked_eq_only() {
    let mut p = runtime_default(&DEFAULT_CAPABILITIES, SeccompArch::X86_64);
    fix_masked_eq_for_libcontainer(&mut p);
    let clone = rules_for(&p, "clone")[0].args().clone().expect("args")[0];
    assert_eq!(clone.value(), 0);
    assert_eq!(clone.value_two(), Some(CLONE_NAMESPACE_FLAGS));
    let socket = rules_for(&p, "socket")[0].args().clone().expect("args")[0];
    assert_eq!((socket.value(), socket.value_two()), (40, None));
}

#[test]
fn localhost_profile_loads_and_errors_name_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.json");
    std::fs::write(
            &good,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
        )
        .expect("write");
    let p = load_localhost_profile(&good).expect("loads");
    assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(rules_for(&p, "mkdir").len(), 1);

    let missing = dir.path().join("missing.json");
    let err = load_localhost_profile(&missing).expect_err("missing");
    assert!(err.to_string().contains("missing.json"), "{err}");
    assert!(
        err.to_string().starts_with("read seccomp profile "),
        "{err}"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").expect("write");
    let err = load_localhost_profile(&bad).expect_err("bad json");
    assert!(matches!(err, LoadProfileError::Parse { .. }));
    assert!(err.to_string().contains("bad.json"), "{err}");

    let err = load_localhost_profile(dir.path()).expect_err("a directory");
    assert!(matches!(err, LoadProfileError::Read { .. }), "{err}");

    let notify = dir.path().join("notify.json");
    std::fs::write(&notify, r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#).expect("write");
    let err = load_localhost_profile(&notify).expect_err("notify");
    assert!(matches!(err, LoadProfileError::Notify { .. }), "{err}");
}

/// The child half of `libcontainer_loads_the_adapted_profile`: does nothing unless run by
/// it (in a process of its own, because the filter stays on this thread).
#[test]
fn seccomp_probe_child() {
    let Ok(mode) = std::env::var("MINIPOD_SECCOMP_PROBE") else {
        return;
    };
    let arch = SeccompArch::native().expect("an architecture with a profile");
    let mut profile = runtime_default(&DEFAULT_CAPABILITIES, arch);
    if mode == "adapted" {
        fix_masked_eq_for_libcontainer(&mut profile);
    }
    // Loading a filter without CAP_SYS_ADMIN needs no_new_privs; both are per thread.
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "PR_SET_NO_NEW_PRIVS");
    libcontainer::seccomp::initialize_seccomp(&profile).expect("load the filter");
    let errno = || std::io::Error::last_os_error().raw_os_error().unwrap_or(0);

    // SAFETY: the child only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: async-signal-safe.
        unsafe { libc::_exit(0) };
    }
    let fork = if pid > 0 {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        0
    } else {
        errno()
    };
    // SAFETY: a bad pointer is fine: the filter answers before the kernel reads it.
    let clone3 = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
    let clone3 = if clone3 < 0 { errno() } else { 0 };
    // SAFETY: unshare with a flag only.
    let unshare = unsafe { libc::unshare(libc::CLONE_NEWUTS) };
    let unshare = if unshare < 0 { errno() } else { 0 };
    // clone(2) with namespace flags, fork-style (no new stack): the child only exits.
    let flags = (libc::CLONE_NEWUSER | libc::CLONE_NEWUTS | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: as fork; the child only calls _exit.
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if pid == 0 {
        // SAFETY: async-signal-safe.
        unsafe { libc::_exit(0) };
    }
    let clone_ns = if pid > 0 {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        0
    } else {
        errno()
    };
    println!("PROBE fork={fork} clone3={clone3} unshare={unshare} clone_ns={clone_ns}");
}

/// Loads `RuntimeDefault` through libcontainer in a child process and checks what the
/// kernel then does: with [`fix_masked_eq_for_libcontainer`] a plain fork works while
/// `clone` with namespace flags, `unshare` and `clone3` are refused. Without it
/// (libcontainer 0.7.0 swaps the masked-equal operands, so the mask is 0 and the rule
/// matches every call) `clone(CLONE_NEWUSER | …)` gets through. If the second half starts
/// failing, libcontainer was fixed and the adaptation must go.
#[test]
fn libcontainer_loads_the_adapted_profile() {
    let exe = std::env::current_exe().expect("test binary");
    let (enosys, eperm) = (libc::ENOSYS, libc::EPERM);
    let root = nix::unistd::geteuid().is_root();
    for (mode, want) in [
        (
            "adapted",
            format!("fork=0 clone3={enosys} unshare={eperm} clone_ns={eperm}"),
        ),
        (
            "raw",
            format!("fork=0 clone3={enosys} unshare={eperm} clone_ns=0"),
        ),
    ] {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "spec::seccomp::tests::seccomp_probe_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MINIPOD_SECCOMP_PROBE", mode)
            .output()
            .expect("run the probe");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("PROBE ").map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("{mode}: no probe output in {stdout}"));
        if mode == "raw" && !root {
            // Without root the kernel itself may refuse the user namespace; only the
            // fork/clone3/unshare part says something.
            assert!(
                line.starts_with(&want[..want.rfind(' ').unwrap_or(0)]),
                "{line}"
            );
            continue;
        }
        assert_eq!(line, want, "{mode}");
    }
}
