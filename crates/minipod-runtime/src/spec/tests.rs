//! Table tests of [`super::build_spec`]: each default and each securityContext field.
#![allow(clippy::type_complexity)] // table tests spell their row type out

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, LinuxSeccompOperator, Spec,
};

use super::*;
use crate::config::{
    Mount, NamespaceMode, Namespaces, ProcessConfig, Resources, SecurityConfig, UserRequest,
};

/// Where the default mounts go, in order (`default_mounts`, shared with its own tests).
pub(super) const DEFAULT_MOUNT_DESTINATIONS: [&str; 7] = [
    "/proc",
    "/dev",
    "/dev/pts",
    "/dev/shm",
    "/dev/mqueue",
    "/sys",
    "/sys/fs/cgroup",
];

fn pod_ns(name: &str) -> NamespaceMode {
    NamespaceMode::Join(PathBuf::from(format!("/run/minipod/pods/u1/ns/{name}")))
}

fn config() -> ContainerConfig {
    ContainerConfig {
        id: "u1-web-0".to_string(),
        name: "web".to_string(),
        rootfs: PathBuf::from("/var/lib/minipod/rootfs/u1-web-0"),
        process: ProcessConfig {
            args: vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                "sleep 1".to_string(),
            ],
            env: vec![
                ("PATH".to_string(), "/usr/bin:/bin".to_string()),
                ("HOSTNAME".to_string(), "web-0".to_string()),
            ],
            cwd: None,
            tty: false,
            stdin: false,
            console_size: None,
        },
        security: SecurityConfig::default(),
        resources: Resources::default(),
        mounts: Vec::new(),
        namespaces: Namespaces {
            network: pod_ns("net"),
            ipc: pod_ns("ipc"),
            uts: pod_ns("uts"),
            pid: NamespaceMode::Private,
        },
        hostname: Some("web-0".to_string()),
        cgroups_path: "minipod/u1/u1-web-0".to_string(),
        stop_signal: libc::SIGTERM,
        annotations: BTreeMap::from([
            (ANNOTATION_POD_NAME.to_string(), "web-0".to_string()),
            (ANNOTATION_POD_NAMESPACE.to_string(), "default".to_string()),
            (ANNOTATION_POD_UID.to_string(), "u1".to_string()),
        ]),
    }
}

fn inputs() -> SpecInputs {
    SpecInputs {
        user: ResolvedUser {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![1000],
            username: None,
        },
        localhost_seccomp: None,
        host_devices: Vec::new(),
    }
}

fn build(c: &ContainerConfig) -> Spec {
    build_spec(c, &inputs(), &HostFacts::default()).expect("spec builds")
}

fn with(mutate: impl FnOnce(&mut ContainerConfig)) -> Spec {
    let mut c = config();
    mutate(&mut c);
    build(&c)
}

fn build_err(mutate: impl FnOnce(&mut ContainerConfig)) -> String {
    let mut c = config();
    mutate(&mut c);
    let err = build_spec(&c, &inputs(), &HostFacts::default()).expect_err("spec fails");
    error_chain(&err)
}

/// The whole error chain on one line, as the CLI prints it.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

fn process(spec: &Spec) -> &Process {
    spec.process().as_ref().expect("process")
}

fn linux(spec: &Spec) -> &Linux {
    spec.linux().as_ref().expect("linux")
}

fn cap_mask(spec: &Spec) -> u64 {
    let caps = process(spec).capabilities().clone().expect("capabilities");
    let effective: Vec<Capability> = caps
        .effective()
        .clone()
        .expect("effective")
        .into_iter()
        .collect();
    assert_eq!(caps.effective(), caps.bounding());
    assert_eq!(caps.effective(), caps.permitted());
    assert_eq!(caps.inheritable().as_ref().map(|s| s.len()), Some(0));
    assert_eq!(caps.ambient().as_ref().map(|s| s.len()), Some(0));
    capability_mask(&effective)
}

fn mount_at<'a>(spec: &'a Spec, destination: &str) -> Option<&'a OciMount> {
    spec.mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(destination))
}

fn options_at(spec: &Spec, destination: &str) -> Vec<String> {
    mount_at(spec, destination)
        .and_then(|m| m.options().clone())
        .unwrap_or_else(|| panic!("no mount at {destination}"))
}

fn namespace_list(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    linux(spec)
        .namespaces()
        .iter()
        .flatten()
        .map(|ns| (ns.typ(), ns.path().clone()))
        .collect()
}

#[test]
fn defaults_of_a_plain_container() {
    let spec = build(&config());
    let p = process(&spec);
    assert_eq!(spec.version(), "1.1.0");
    assert_eq!(cap_mask(&spec), 0xa80425fb);
    assert_eq!(
        effective_mask(&spec).map(status_hex).as_deref(),
        Some("00000000a80425fb")
    );
    assert_eq!(p.no_new_privileges(), Some(false));
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!(
        p.args().as_deref(),
        Some(
            &[
                "/bin/sh".to_string(),
                "-c".to_string(),
                "sleep 1".to_string()
            ][..]
        )
    );
    assert_eq!(
        p.env().as_deref(),
        Some(
            &[
                "PATH=/usr/bin:/bin".to_string(),
                "HOSTNAME=web-0".to_string()
            ][..]
        )
    );
    assert_eq!((p.user().uid(), p.user().gid()), (1000, 1000));
    assert_eq!(p.user().additional_gids().as_deref(), Some(&[1000][..]));
    assert_eq!(p.user().umask(), Some(0o022));
    let rlimits = p.rlimits().clone().expect("rlimits");
    assert_eq!(rlimits.len(), 1);
    assert_eq!((rlimits[0].soft(), rlimits[0].hard()), (1024, 1024));
    assert!(p.apparmor_profile().is_none());

    let root = spec.root().as_ref().expect("root");
    assert_eq!(root.path(), Path::new("/var/lib/minipod/rootfs/u1-web-0"));
    assert_eq!(root.readonly(), Some(false));

    let l = linux(&spec);
    assert_eq!(l.masked_paths().as_ref().map(Vec::len), Some(11));
    assert_eq!(l.readonly_paths().as_ref().map(Vec::len), Some(5));
    assert!(l.seccomp().is_none(), "Unconfined is the config default");
    assert!(l.sysctl().is_none());
    assert!(l.devices().is_none());
    // libcontainer ignores per-bind propagation: a private root keeps `None` volumes private.
    assert_eq!(l.rootfs_propagation().as_deref(), Some("private"));
    assert!(l.uid_mappings().is_none());
    assert_eq!(
        l.cgroups_path().as_deref(),
        Some(Path::new("/minipod/u1/u1-web-0"))
    );
    let resources = l.resources().as_ref().expect("resources");
    assert_eq!(resources.devices().as_ref().map(Vec::len), Some(10));
    assert!(resources.memory().is_none());
    assert!(resources.cpu().is_none());
    assert!(resources.pids().is_none());

    // The pod's UTS namespace is joined, so no hostname is set.
    assert!(spec.hostname().is_none());
    assert!(spec.hooks().is_none());
    let destinations: Vec<_> = spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| m.destination().display().to_string())
        .collect();
    assert_eq!(destinations, DEFAULT_MOUNT_DESTINATIONS);
    assert_eq!(
        spec.annotations()
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_POD_NAME)),
        Some(&"web-0".to_string())
    );
}

#[test]
fn spec_round_trips_through_json() {
    let spec = with(|c| {
        c.security.seccomp = Seccomp::RuntimeDefault;
        c.security.sysctls = vec![("net.core.somaxconn".into(), "1024".into())];
        c.resources.memory_limit = Some(64 << 20);
    });
    let json = serde_json::to_string(&spec).expect("serialize");
    let back: Spec = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, spec);
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(
        value["process"]["capabilities"]["ambient"],
        serde_json::json!([])
    );
    assert_eq!(value["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(value["linux"]["cgroupsPath"], "/minipod/u1/u1-web-0");
}

#[test]
fn capabilities_from_security_context() {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // (what, privileged, add, drop, CapEff)
    let cases: &[(&str, bool, &[&str], &[&str], u64)] = &[
        ("default", false, &[], &[], 0xa80425fb),
        ("drop ALL", false, &[], &["ALL"], 0),
        (
            "drop ALL add NET_BIND_SERVICE",
            false,
            &["NET_BIND_SERVICE"],
            &["ALL"],
            0x400,
        ),
        (
            "add CAP_NET_ADMIN",
            false,
            &["CAP_NET_ADMIN"],
            &[],
            0xa80435fb,
        ),
        ("drop NET_RAW", false, &[], &["NET_RAW"], 0xa80405fb),
        ("add ALL", false, &["ALL"], &[], 0x1ff_ffff_ffff),
        ("privileged", true, &[], &[], 0x1ff_ffff_ffff),
    ];
    for (what, privileged, add, drop, want) in cases {
        let spec = with(|c| {
            c.security.privileged = *privileged;
            c.security.capabilities_add = strings(add);
            c.security.capabilities_drop = strings(drop);
        });
        assert_eq!(cap_mask(&spec), *want, "{what}: {:x}", cap_mask(&spec));
    }
    let err = build_err(|c| c.security.capabilities_add = strings(&["NET_ADMINN"]));
    assert_eq!(
        err,
        "container \"web\": capabilities: unknown capability \"NET_ADMINN\""
    );
}

#[test]
fn privileged_on_an_older_kernel_gets_what_it_knows() {
    let mut c = config();
    c.security.privileged = true;
    let host = HostFacts {
        last_cap: 37,
        ..HostFacts::default()
    };
    let spec = build_spec(&c, &inputs(), &host).expect("spec");
    assert_eq!(cap_mask(&spec), (1 << 38) - 1);
}

#[test]
fn no_new_privileges_table() {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // (what, allowPrivilegeEscalation, privileged, add, expected no_new_privileges)
    let cases: &[(&str, Option<bool>, bool, &[&str], bool)] = &[
        ("unset", None, false, &[], false),
        ("true", Some(true), false, &[], false),
        ("false", Some(false), false, &[], true),
        ("false but privileged", Some(false), true, &[], false),
        (
            "false but CAP_SYS_ADMIN",
            Some(false),
            false,
            &["SYS_ADMIN"],
            false,
        ),
        ("false but add ALL", Some(false), false, &["ALL"], false),
        (
            "false with other caps",
            Some(false),
            false,
            &["NET_ADMIN"],
            true,
        ),
    ];
    for (what, ape, privileged, add, want) in cases {
        let spec = with(|c| {
            c.security.allow_privilege_escalation = *ape;
            c.security.privileged = *privileged;
            c.security.capabilities_add = strings(add);
        });
        assert_eq!(process(&spec).no_new_privileges(), Some(*want), "{what}");
    }
}

#[test]
fn masks_present_or_absent() {
    // (what, privileged, procMount, masked and readonly expected)
    let cases = [
        ("default", false, ProcMount::Default, true),
        ("privileged", true, ProcMount::Default, false),
        ("procMount Unmasked", false, ProcMount::Unmasked, false),
        ("both", true, ProcMount::Unmasked, false),
    ];
    for (what, privileged, proc_mount, masked) in cases {
        let spec = with(|c| {
            c.security.privileged = privileged;
            c.security.proc_mount = proc_mount;
        });
        let l = linux(&spec);
        let masked_paths = l.masked_paths().clone().unwrap_or_default();
        let readonly_paths = l.readonly_paths().clone().unwrap_or_default();
        if masked {
            for p in defaults::MASKED_PATHS {
                assert!(masked_paths.contains(&p.to_string()), "{what}: {p}");
            }
            for p in [
                "/proc/kcore",
                "/sys/firmware",
                "/sys/devices/virtual/powercap",
            ] {
                assert!(masked_paths.contains(&p.to_string()), "{what}: {p}");
            }
            assert!(readonly_paths.contains(&"/proc/sys".to_string()), "{what}");
            assert!(
                readonly_paths.contains(&"/proc/sysrq-trigger".to_string()),
                "{what}"
            );
        } else {
            assert!(masked_paths.is_empty(), "{what}");
            assert!(readonly_paths.is_empty(), "{what}");
        }
    }
}

#[test]
fn privileged_container() {
    let mut c = config();
    c.security.privileged = true;
    c.security.seccomp = Seccomp::RuntimeDefault;
    let mut i = inputs();
    let mut sda = LinuxDevice::default();
    sda.set_path(PathBuf::from("/dev/sda"));
    sda.set_typ(LinuxDeviceType::B);
    sda.set_major(8);
    i.host_devices = vec![sda];
    let spec = build_spec(&c, &i, &HostFacts::default()).expect("spec");
    let l = linux(&spec);
    assert!(
        l.seccomp().is_none(),
        "privileged containers run unconfined"
    );
    assert_eq!(l.devices().as_ref().map(Vec::len), Some(1));
    let rules = l
        .resources()
        .as_ref()
        .and_then(|r| r.devices().clone())
        .expect("rules");
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    assert!(options_at(&spec, "/sys").contains(&"rw".to_string()));
    assert!(options_at(&spec, "/sys/fs/cgroup").contains(&"rw".to_string()));
}

#[test]
fn read_only_root_filesystem() {
    let spec = with(|c| c.security.read_only_root_filesystem = true);
    assert_eq!(spec.root().as_ref().and_then(|r| r.readonly()), Some(true));
}

#[test]
fn seccomp_modes() {
    // Unconfined.
    assert!(linux(&with(|c| c.security.seccomp = Seccomp::Unconfined))
        .seccomp()
        .is_none());

    // RuntimeDefault is rendered for the container's capabilities.
    let spec = with(|c| c.security.seccomp = Seccomp::RuntimeDefault);
    let profile = linux(&spec).seccomp().clone().expect("profile");
    assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActErrno);
    let clone_rules: Vec<_> = profile
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == "clone"))
        .collect();
    assert_eq!(clone_rules.len(), 1);
    assert!(
        clone_rules[0].args().is_some(),
        "clone is masked without SYS_ADMIN"
    );
    let spec = with(|c| {
        c.security.seccomp = Seccomp::RuntimeDefault;
        c.security.capabilities_add = vec!["SYS_ADMIN".to_string()];
    });
    let profile = linux(&spec).seccomp().clone().expect("profile");
    assert!(profile
        .syscalls()
        .iter()
        .flatten()
        .any(|s| s.names().iter().any(|n| n == "mount")));

    // RuntimeDefault on an architecture without a profile is an error, not unconfined.
    let mut c = config();
    c.security.seccomp = Seccomp::RuntimeDefault;
    let host = HostFacts {
        seccomp_arch: None,
        ..HostFacts::default()
    };
    let err = build_spec(&c, &inputs(), &host).expect_err("no profile");
    assert!(matches!(err, SpecError::NoRuntimeDefaultProfile { .. }));

    // Localhost uses the loaded profile, and refuses to go on without one.
    let mut c = config();
    c.security.seccomp = Seccomp::Localhost(PathBuf::from("/var/lib/kubelet/seccomp/audit.json"));
    let err = build_spec(&c, &inputs(), &HostFacts::default()).expect_err("not loaded");
    assert_eq!(
        error_chain(&err),
        "container \"web\": Localhost seccomp profile /var/lib/kubelet/seccomp/audit.json was not loaded (call prepare_inputs)"
    );
    let mut i = inputs();
    let mut loaded = LinuxSeccomp::default();
    loaded.set_default_action(LinuxSeccompAction::ScmpActLog);
    i.localhost_seccomp = Some(loaded.clone());
    let spec = build_spec(&c, &i, &HostFacts::default()).expect("spec");
    assert_eq!(linux(&spec).seccomp().as_ref(), Some(&loaded));
}

#[test]
fn libcontainer_adaptation_swaps_the_clone_mask() {
    let mut spec = with(|c| c.security.seccomp = Seccomp::RuntimeDefault);
    adapt_for_libcontainer(&mut spec);
    let profile = linux(&spec).seccomp().clone().expect("profile");
    let arg = profile
        .syscalls()
        .iter()
        .flatten()
        .find(|s| s.names().iter().any(|n| n == "clone"))
        .and_then(|s| s.args().clone())
        .expect("clone args")[0];
    assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    assert_eq!(arg.value(), 0);
    assert_eq!(arg.value_two(), Some(seccomp::CLONE_NAMESPACE_FLAGS));
    // No seccomp: nothing to do.
    let mut spec = build(&config());
    adapt_for_libcontainer(&mut spec);
    assert!(linux(&spec).seccomp().is_none());
}

#[test]
fn namespaces_table() {
    let host = NamespaceMode::Host;
    let private = NamespaceMode::Private;
    let spec = build(&config());
    assert_eq!(
        namespace_list(&spec),
        vec![
            (LinuxNamespaceType::Mount, None),
            (LinuxNamespaceType::Cgroup, None),
            (LinuxNamespaceType::Pid, None),
            (
                LinuxNamespaceType::Network,
                Some(PathBuf::from("/run/minipod/pods/u1/ns/net"))
            ),
            (
                LinuxNamespaceType::Ipc,
                Some(PathBuf::from("/run/minipod/pods/u1/ns/ipc"))
            ),
            (
                LinuxNamespaceType::Uts,
                Some(PathBuf::from("/run/minipod/pods/u1/ns/uts"))
            ),
        ]
    );
    // hostNetwork + hostIPC + hostPID: those namespaces are left out.
    let spec = with(|c| {
        c.namespaces.network = host.clone();
        c.namespaces.ipc = host.clone();
        c.namespaces.pid = host.clone();
    });
    assert_eq!(
        namespace_list(&spec),
        vec![
            (LinuxNamespaceType::Mount, None),
            (LinuxNamespaceType::Cgroup, None),
            (
                LinuxNamespaceType::Uts,
                Some(PathBuf::from("/run/minipod/pods/u1/ns/uts"))
            ),
        ]
    );
    // shareProcessNamespace: the pod's PID namespace is joined.
    let spec = with(|c| c.namespaces.pid = pod_ns("pid"));
    assert!(namespace_list(&spec).contains(&(
        LinuxNamespaceType::Pid,
        Some(PathBuf::from("/run/minipod/pods/u1/ns/pid"))
    )));
    // A private UTS namespace gets the hostname.
    let spec = with(|c| c.namespaces.uts = private.clone());
    assert!(namespace_list(&spec).contains(&(LinuxNamespaceType::Uts, None)));
    assert_eq!(spec.hostname().as_deref(), Some("web-0"));
    // The host's UTS namespace is never renamed.
    let spec = with(|c| c.namespaces.uts = host.clone());
    assert!(spec.hostname().is_none());
}

#[test]
fn sysctls_accepted_and_rejected() {
    let spec = with(|c| {
        c.security.sysctls = vec![
            ("net.ipv4.ip_unprivileged_port_start".into(), "0".into()),
            ("kernel/shm_rmid_forced".into(), "1".into()),
        ]
    });
    let sysctl = linux(&spec).sysctl().clone().expect("sysctls");
    assert_eq!(
        sysctl
            .get("net.ipv4.ip_unprivileged_port_start")
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        sysctl.get("kernel.shm_rmid_forced").map(String::as_str),
        Some("1")
    );

    let err = build_err(|c| c.security.sysctls = vec![("vm.swappiness".into(), "0".into())]);
    assert_eq!(
        err,
        "container \"web\": sysctls: sysctl \"vm.swappiness\" is not namespaced and cannot be set for a pod"
    );
    let err = build_err(|c| {
        c.namespaces.network = NamespaceMode::Host;
        c.security.sysctls = vec![("net.core.somaxconn".into(), "1024".into())];
    });
    assert_eq!(
        err,
        "container \"web\": sysctls: sysctl \"net.core.somaxconn\" not allowed with host net enabled"
    );
    let err = build_err(|c| {
        c.namespaces.ipc = NamespaceMode::Host;
        c.security.sysctls = vec![("kernel.msgmax".into(), "1".into())];
    });
    assert!(err.ends_with("not allowed with host ipc enabled"), "{err}");
}

#[test]
fn process_fields() {
    let spec = with(|c| {
        c.process.cwd = Some(PathBuf::from("/srv/app"));
        c.process.tty = true;
    });
    assert_eq!(process(&spec).cwd(), Path::new("/srv/app"));
    assert_eq!(process(&spec).terminal(), Some(true));

    let err = build_err(|c| c.process.args.clear());
    assert_eq!(err, "container \"web\": no command to run");
    let err = build_err(|c| c.process.cwd = Some(PathBuf::from("srv")));
    assert_eq!(
        err,
        "container \"web\": working directory srv is not an absolute path"
    );
}

#[test]
fn user_from_inputs() {
    let mut i = inputs();
    i.user = ResolvedUser {
        uid: 0,
        gid: 0,
        additional_gids: vec![0, 10, 2000],
        username: Some("root".to_string()),
    };
    let spec = build_spec(&config(), &i, &HostFacts::default()).expect("spec");
    let u = process(&spec).user();
    assert_eq!((u.uid(), u.gid()), (0, 0));
    assert_eq!(u.additional_gids().as_deref(), Some(&[0, 10, 2000][..]));
}

#[test]
fn rlimit_clamped_to_host() {
    let host = HostFacts {
        nofile_hard_limit: Some(256),
        ..HostFacts::default()
    };
    let spec = build_spec(&config(), &inputs(), &host).expect("spec");
    let r = process(&spec).rlimits().clone().expect("rlimits");
    assert_eq!((r[0].soft(), r[0].hard()), (256, 256));
}

#[test]
fn resources_table() {
    let spec = with(|c| {
        c.resources = Resources {
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            memory_limit: Some(128 << 20),
            pids_limit: Some(64),
        }
    });
    let r = linux(&spec).resources().clone().expect("resources");
    let cpu = r.cpu().clone().expect("cpu");
    assert_eq!(
        (cpu.shares(), cpu.quota(), cpu.period()),
        (Some(512), Some(50_000), Some(100_000))
    );
    let memory = r.memory().expect("memory");
    assert_eq!(memory.limit(), Some(128 << 20));
    assert_eq!(memory.swap(), Some(128 << 20), "swap = limit: no swap");
    assert_eq!(r.pids().expect("pids").limit(), 64);

    // Without a swap controller the swap limit is left out.
    let mut c = config();
    c.resources.memory_limit = Some(1 << 30);
    let host = HostFacts {
        swap_limit_supported: false,
        ..HostFacts::default()
    };
    let spec = build_spec(&c, &inputs(), &host).expect("spec");
    let memory = linux(&spec)
        .resources()
        .clone()
        .and_then(|r| *r.memory())
        .expect("memory");
    assert_eq!((memory.limit(), memory.swap()), (Some(1 << 30), None));

    let err = build_err(|c| c.resources.memory_limit = Some(0));
    assert_eq!(err, "container \"web\": memory limit 0 is out of range");
    let err = build_err(|c| c.resources.pids_limit = Some(-1));
    assert_eq!(err, "container \"web\": pids limit -1 is out of range");
}

fn bind(source: &str, destination: &str, read_only: bool, propagation: Propagation) -> Mount {
    Mount {
        source: MountSource::Bind(PathBuf::from(source)),
        destination: PathBuf::from(destination),
        read_only,
        propagation,
    }
}

#[test]
fn volume_mounts() {
    let spec = with(|c| {
        c.mounts = vec![
            bind(
                "/pods/u1/volumes/cache",
                "/var/cache/app",
                false,
                Propagation::Private,
            ),
            bind(
                "/pods/u1/etc-hosts",
                "/etc/hosts",
                true,
                Propagation::Private,
            ),
            Mount {
                source: MountSource::Tmpfs {
                    size: Some(1 << 20),
                },
                destination: PathBuf::from("/scratch"),
                read_only: false,
                propagation: Propagation::Private,
            },
            bind("/mnt/data", "/data", true, Propagation::HostToContainer),
        ]
    });
    let volumes: Vec<_> = spec
        .mounts()
        .iter()
        .flatten()
        .skip(7)
        .map(|m| m.destination().display().to_string())
        .collect();
    // Shallow first, stable among equals.
    assert_eq!(
        volumes,
        ["/scratch", "/data", "/etc/hosts", "/var/cache/app"]
    );
    assert_eq!(
        options_at(&spec, "/var/cache/app"),
        ["rbind", "rprivate", "rw"]
    );
    assert_eq!(options_at(&spec, "/etc/hosts"), ["rbind", "rprivate", "ro"]);
    assert_eq!(options_at(&spec, "/data"), ["rbind", "rslave", "ro"]);
    assert_eq!(
        options_at(&spec, "/scratch"),
        ["nosuid", "nodev", "mode=0777", "size=1048576", "rw"]
    );
    let cache = mount_at(&spec, "/var/cache/app").expect("cache");
    assert_eq!(cache.typ().as_deref(), Some("bind"));
    assert_eq!(
        cache.source().as_deref(),
        Some(Path::new("/pods/u1/volumes/cache"))
    );
    assert_eq!(
        mount_at(&spec, "/scratch")
            .and_then(|m| m.typ().clone())
            .as_deref(),
        Some("tmpfs")
    );
    assert_eq!(linux(&spec).rootfs_propagation().as_deref(), Some("slave"));
}

#[test]
fn mount_propagation() {
    // Bidirectional needs a privileged container and makes the root shared.
    let spec = with(|c| {
        c.security.privileged = true;
        c.mounts = vec![
            bind("/mnt/a", "/a", false, Propagation::HostToContainer),
            bind("/mnt/b", "/b", false, Propagation::Bidirectional),
        ];
    });
    assert_eq!(options_at(&spec, "/b"), ["rbind", "rshared", "rw"]);
    assert_eq!(linux(&spec).rootfs_propagation().as_deref(), Some("shared"));
    let err =
        build_err(|c| c.mounts = vec![bind("/mnt/b", "/b", false, Propagation::Bidirectional)]);
    assert_eq!(
        err,
        "container \"web\": mount on /b: Bidirectional mount propagation is available only to privileged containers"
    );
}

#[test]
fn volumes_override_default_mounts() {
    // A pod-shared /dev/shm replaces the default tmpfs.
    let spec = with(|c| {
        c.mounts = vec![bind(
            "/pods/u1/shm",
            "/dev/shm",
            false,
            Propagation::Private,
        )]
    });
    let shm: Vec<_> = spec
        .mounts()
        .iter()
        .flatten()
        .filter(|m| m.destination() == Path::new("/dev/shm"))
        .collect();
    assert_eq!(shm.len(), 1);
    assert_eq!(shm[0].typ().as_deref(), Some("bind"));
    // A /dev volume replaces everything under /dev.
    let spec = with(|c| c.mounts = vec![bind("/host/dev", "/dev/", false, Propagation::Private)]);
    for gone in ["/dev/pts", "/dev/shm", "/dev/mqueue"] {
        assert!(mount_at(&spec, gone).is_none(), "{gone}");
    }
    assert_eq!(
        mount_at(&spec, "/dev")
            .and_then(|m| m.typ().clone())
            .as_deref(),
        Some("bind")
    );
    assert!(mount_at(&spec, "/proc").is_some());
}

#[test]
fn invalid_mount_destinations() {
    for destination in ["relative/path", "/a/../../etc", "../x"] {
        let err =
            build_err(|c| c.mounts = vec![bind("/mnt", destination, false, Propagation::Private)]);
        assert!(
            err.contains("destination must be an absolute path"),
            "{destination}: {err}"
        );
    }
    // `.` components and trailing slashes are normalized.
    let spec = with(|c| c.mounts = vec![bind("/mnt", "/./data/", false, Propagation::Private)]);
    assert!(mount_at(&spec, "/data").is_some());
}

#[test]
fn cgroups_path_is_absolute() {
    let spec = with(|c| c.cgroups_path = "/minipod/u1/x".to_string());
    assert_eq!(
        linux(&spec).cgroups_path().as_deref(),
        Some(Path::new("/minipod/u1/x"))
    );
}

#[test]
fn prepare_inputs_resolves_user_in_root() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("etc")).expect("mkdir");
    std::fs::write(
        root.path().join("etc/passwd"),
        "app:x:1000:1000::/:/bin/sh\n",
    )
    .expect("passwd");
    std::fs::write(
        root.path().join("etc/group"),
        "app:x:1000:\nextra:x:3000:app\n",
    )
    .expect("group");
    let mut c = config();
    c.rootfs = root.path().to_path_buf();
    c.security.user = UserRequest {
        image_user: Some("app".to_string()),
        supplemental_groups: vec![4000],
        ..UserRequest::default()
    };
    let i = prepare_inputs(&c).expect("inputs");
    assert_eq!((i.user.uid, i.user.gid), (1000, 1000));
    assert_eq!(i.user.additional_gids, vec![1000, 3000, 4000]);
    assert!(i.localhost_seccomp.is_none());
    assert!(i.host_devices.is_empty());

    // runAsNonRoot with a named image user: the kubelet's message, naming the pod.
    c.security.user.run_as_non_root = true;
    let err = prepare_inputs(&c).expect_err("non-numeric");
    assert_eq!(
        error_chain(&err),
        "container \"web\": resolve user: container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root (pod: \"web-0_default(u1)\", container: web)"
    );
    c.security.user.run_as_user = Some(1000);
    assert!(prepare_inputs(&c).is_ok());

    // An unknown user is an error naming it.
    c.security.user = UserRequest {
        image_user: Some("ghost".to_string()),
        ..UserRequest::default()
    };
    let err = prepare_inputs(&c).expect_err("unknown user");
    assert_eq!(
        error_chain(&err),
        "container \"web\": resolve user: unable to find user ghost: no matching entries in passwd file"
    );
}

#[test]
fn prepare_inputs_loads_localhost_profile() {
    let root = tempfile::tempdir().expect("tempdir");
    let profile = root.path().join("profile.json");
    std::fs::write(&profile, r#"{"defaultAction":"SCMP_ACT_LOG"}"#).expect("profile");
    let mut c = config();
    c.rootfs = root.path().to_path_buf();
    c.security.seccomp = Seccomp::Localhost(profile.clone());
    let i = prepare_inputs(&c).expect("inputs");
    assert_eq!(
        i.localhost_seccomp.as_ref().map(|p| p.default_action()),
        Some(LinuxSeccompAction::ScmpActLog)
    );
    let spec = build_spec(&c, &i, &HostFacts::default()).expect("spec");
    assert!(linux(&spec).seccomp().is_some());

    c.security.seccomp = Seccomp::Localhost(root.path().join("absent.json"));
    let err = prepare_inputs(&c).expect_err("missing profile");
    let chain = error_chain(&err);
    assert!(
        chain.starts_with(
            "container \"web\": load Localhost seccomp profile: read seccomp profile "
        ),
        "{chain}"
    );
    assert!(chain.contains("absent.json"), "{chain}");
}

#[test]
fn host_devices_lists_device_nodes_only() {
    // /dev of the test host: at least null and zero, never pts/* or console.
    let devices = host_devices(Path::new("/dev")).expect("list /dev");
    let null = devices
        .iter()
        .find(|d| d.path() == Path::new("/dev/null"))
        .expect("/dev/null");
    assert_eq!(
        (null.typ(), null.major(), null.minor()),
        (LinuxDeviceType::C, 1, 3)
    );
    assert!(devices.iter().all(|d| !d.path().starts_with("/dev/pts")));
    assert!(devices
        .iter()
        .all(|d| d.path() != Path::new("/dev/console")));
    // A directory without devices gives none.
    let empty = tempfile::tempdir().expect("tempdir");
    std::fs::write(empty.path().join("file"), "x").expect("file");
    assert!(host_devices(empty.path()).expect("list").is_empty());
}

#[test]
fn host_facts_probe_reads_this_host() {
    let facts = HostFacts::probe().expect("probe");
    assert!(facts.last_cap >= 37, "{}", facts.last_cap);
    assert!(facts.last_cap <= capabilities::LAST_KNOWN_CAP);
    let (_, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .expect("getrlimit");
    if hard == nix::sys::resource::RLIM_INFINITY {
        assert_eq!(facts.nofile_hard_limit, None);
    } else {
        assert_eq!(facts.nofile_hard_limit, Some(hard));
    }
}

#[test]
fn libcontainer_accepts_the_generated_specs() {
    // libcontainer 0.7.0's own validation (validator.rs): UTS/hostname, sysctls, masks.
    let variants: Vec<(&str, Box<dyn Fn(&mut ContainerConfig)>)> = vec![
        ("default", Box::new(|_| {})),
        (
            "private uts with hostname",
            Box::new(|c| c.namespaces.uts = NamespaceMode::Private),
        ),
        (
            "host uts",
            Box::new(|c| c.namespaces.uts = NamespaceMode::Host),
        ),
        (
            "sysctls",
            Box::new(|c| {
                c.namespaces.network = NamespaceMode::Private;
                c.namespaces.ipc = NamespaceMode::Private;
                c.security.sysctls = vec![
                    ("net.ipv4.ip_unprivileged_port_start".into(), "0".into()),
                    ("kernel.shm_rmid_forced".into(), "1".into()),
                    ("fs.mqueue.msg_max".into(), "10".into()),
                ];
            }),
        ),
        (
            "privileged runtime default",
            Box::new(|c| {
                c.security.privileged = true;
                c.security.seccomp = Seccomp::RuntimeDefault;
            }),
        ),
        (
            "unmasked",
            Box::new(|c| c.security.proc_mount = ProcMount::Unmasked),
        ),
    ];
    for (what, mutate) in variants {
        let mut spec = with(|c| mutate(c));
        adapt_for_libcontainer(&mut spec);
        if let Err(err) = libcontainer::validator::Validator::validate_spec(&spec) {
            panic!("{what}: {err}");
        }
    }
}
