//! The kubelet's generateContainerConfig: a container of the plan, its image's config and the
//! pod sandbox become the runtime's plain [`ContainerConfig`] (process, mounts with subPath
//! and propagation, security, cgroup resources).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minipod_image::Image;
use minipod_manifest::k8s_openapi::api::core::v1::SecurityContext;
use minipod_manifest::{
    build_env, expand_sub_path_expr, resolve_process, ContainerPlan, ImageProcessDefaults,
    MountPropagation, RuntimeFacts,
};
use minipod_runtime::config::{
    ContainerConfig, Mount, MountSource, Namespaces, ProcMount, ProcessConfig, Propagation,
    Resources, Seccomp, SecurityConfig, UserRequest,
};
use minipod_runtime::propagation::PodPropagation;
use minipod_runtime::spec;
use minipod_runtime::subpath;
use nix::sys::signal::Signal;

use super::ContainerBackend;
use crate::supervisor::StartError;

impl ContainerBackend {
    /// The kubelet's generateContainerConfig: the plan's container + the image config + the
    /// sandbox → the runtime's container config.
    pub(super) fn container_config(
        &self,
        c: &ContainerPlan,
        image: &Image,
        rootfs: PathBuf,
        id: &str,
        termination_log: Option<&Path>,
    ) -> Result<ContainerConfig, StartError> {
        let config_error = StartError::CreateContainerConfigError;
        let sandbox = self
            .sandbox
            .as_ref()
            .ok_or_else(|| config_error("the pod sandbox is not ready".into()))?;
        let defaults = image.defaults();
        let image_defaults = ImageProcessDefaults {
            entrypoint: defaults.entrypoint.clone(),
            cmd: defaults.cmd.clone(),
            env: defaults.env.clone(),
            working_dir: defaults.working_dir.clone(),
            user: defaults.user.clone(),
        };
        // status.podIPs / status.hostIPs for the downward API (fieldRef status.podIP, ...).
        let host_ips: Vec<String> = self.host_ip.iter().cloned().collect();
        let facts = RuntimeFacts {
            pod_ips: if self.plan.sandbox.host_network {
                host_ips.clone()
            } else {
                Vec::new()
            },
            host_ips,
        };
        let hostname =
            (!self.plan.sandbox.host_network).then_some(self.plan.sandbox.hostname.as_str());
        let process = resolve_process(c, &facts, hostname, &image_defaults)
            .map_err(|e| config_error(e.to_string()))?;
        let env = process
            .env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (kv.clone(), String::new()),
            })
            .collect();
        let mut mounts = sandbox.etc_mounts();
        // The pod's shared /dev/shm; a volume mounted there replaces it (spec mounts: a later
        // mount at the same destination wins).
        mounts.push(sandbox.shm_mount());
        // The container's own env (not the image's) expands subPathExpr, as in the kubelet.
        let spec_env = if c.mounts.iter().any(|m| m.sub_path_expr.is_some()) {
            build_env(&c.env, &facts)
        } else {
            Vec::new()
        };
        for (index, m) in c.mounts.iter().enumerate() {
            let Some(source) = self.volumes.get(&m.volume_name) else {
                return Err(config_error(format!(
                    "volume {:?} of mount {:?} is not prepared",
                    m.volume_name, m.mount_path
                )));
            };
            let sub_path = match &m.sub_path_expr {
                Some(expr) => Some(expand_sub_path_expr(expr, &spec_env).map_err(|e| {
                    config_error(format!(
                        "volumeMount {:?} of container {:?}: {e}",
                        m.volume_name, c.name
                    ))
                })?),
                None => m.sub_path.clone(),
            };
            let source = match (source, sub_path.as_deref()) {
                (MountSource::Bind(base), Some(sub)) if !sub.is_empty() => {
                    let staged = subpath::staging_path(&self.dirs.run_dir, &c.name, index);
                    // With mountPropagation the volume's own mount must propagate first; the
                    // staged bind of its subPath then inherits that (see propagation.rs).
                    let propagation = runtime_propagation(m.propagation);
                    let propagate = propagation != Propagation::Private;
                    if propagate {
                        PodPropagation::new(&self.dirs.pod_dir)
                            .prepare(base, propagation)
                            .map_err(|e| {
                                config_error(format!(
                                    "volumeMount {:?} of container {:?} (mountPropagation): {e}",
                                    m.volume_name, c.name
                                ))
                            })?;
                    }
                    let prepared =
                        subpath::prepare(base, sub, &staged, propagate).map_err(|e| {
                            // The kubelet's wording (makeMounts), then what is wrong.
                            let what = if e.is_create() {
                                "failed to create subPath directory"
                            } else {
                                "failed to prepare subPath"
                            };
                            config_error(format!(
                                "{what} for volumeMount {:?} of container {:?}: {e}",
                                m.volume_name, c.name
                            ))
                        })?;
                    MountSource::Bind(prepared)
                }
                (s, _) => s.clone(),
            };
            let destination = if m.mount_path.starts_with('/') {
                PathBuf::from(&m.mount_path)
            } else {
                // kubelet makeMounts: a relative mountPath is taken from the root.
                Path::new("/").join(&m.mount_path)
            };
            mounts.push(Mount {
                source,
                destination,
                read_only: m.read_only,
                propagation: runtime_propagation(m.propagation),
            });
        }
        if let Some(host) = termination_log {
            mounts.push(Mount {
                source: MountSource::Bind(host.to_path_buf()),
                destination: Path::new("/").join(&c.termination_message_path),
                read_only: false,
                propagation: Propagation::Private,
            });
        }
        let security = security_config(
            &c.security_context,
            self.plan
                .sandbox
                .security_context
                .supplemental_groups
                .clone(),
            self.plan.sandbox.security_context.fs_group,
            &self.plan.sandbox.sysctls,
            &process.user,
        );
        let namespaces: Namespaces = sandbox.namespaces();
        let mut annotations = BTreeMap::new();
        annotations.insert(spec::ANNOTATION_POD_NAME.to_owned(), self.plan.name.clone());
        annotations.insert(
            spec::ANNOTATION_POD_NAMESPACE.to_owned(),
            self.plan.namespace.clone(),
        );
        annotations.insert(spec::ANNOTATION_POD_UID.to_owned(), self.plan.uid.clone());
        annotations.insert("io.kubernetes.container.name".into(), c.name.clone());
        let stop_signal = c
            .stop_signal
            .as_deref()
            .or(defaults.stop_signal.as_deref())
            .and_then(crate::supervisor::parse_signal)
            .unwrap_or(Signal::SIGTERM) as i32;
        Ok(ContainerConfig {
            id: id.to_owned(),
            name: c.name.clone(),
            rootfs,
            process: ProcessConfig {
                args: process.args,
                env,
                cwd: Some(PathBuf::from(process.cwd)),
                tty: c.tty,
                stdin: c.stdin,
                console_size: None,
            },
            security,
            resources: container_resources(&c.resources),
            mounts,
            namespaces,
            hostname: Some(self.plan.sandbox.hostname.clone()),
            cgroups_path: sandbox.container_cgroups_path(id),
            stop_signal,
            annotations,
        })
    }
}

/// Gives every bind volume with HostToContainer or Bidirectional propagation a host mount
/// that can propagate (containerd's ensureSharedOrSlave / ensureShared, done the kubelet's
/// way: see minipod_runtime::propagation).
pub(super) fn prepare_propagation(pod_dir: &Path, cfg: &ContainerConfig) -> Result<(), String> {
    let pod = PodPropagation::new(pod_dir);
    for m in &cfg.mounts {
        let MountSource::Bind(source) = &m.source else {
            continue;
        };
        let name = match m.propagation {
            Propagation::Private => continue,
            Propagation::HostToContainer => "HostToContainer",
            Propagation::Bidirectional => "Bidirectional",
        };
        pod.prepare(source, m.propagation).map_err(|e| {
            format!(
                "container {:?}: mount on {} (mountPropagation {name}): {e}",
                cfg.name,
                m.destination.display()
            )
        })?;
    }
    Ok(())
}

pub(super) fn runtime_propagation(p: MountPropagation) -> Propagation {
    match p {
        MountPropagation::None => Propagation::Private,
        MountPropagation::HostToContainer => Propagation::HostToContainer,
        MountPropagation::Bidirectional => Propagation::Bidirectional,
    }
}

/// The kubelet's cgroup values from requests and limits (pkg/kubelet/cm/helpers_linux.go
/// MilliCPUToShares / MilliCPUToQuota with the 100 ms CFS period).
pub(super) fn container_resources(r: &minipod_manifest::Resources) -> Resources {
    const PERIOD: u64 = 100_000;
    let shares = r
        .cpu_request_millis
        .map(|m| ((m.max(0) as u64) * 1024 / 1000).max(2));
    let quota = r.cpu_limit_millis.map(|m| {
        let q = m.max(0) * PERIOD as i64 / 1000;
        q.max(1000) // kubelet's MinQuotaPeriod
    });
    Resources {
        cpu_shares: shares,
        cpu_quota: quota,
        cpu_period: quota.map(|_| PERIOD),
        memory_limit: r.memory_limit_bytes,
        pids_limit: None,
    }
}

pub(super) fn security_config(
    sc: &SecurityContext,
    supplemental_groups: Option<Vec<i64>>,
    fs_group: Option<i64>,
    sysctls: &[(String, String)],
    user: &minipod_manifest::ProcessUser,
) -> SecurityConfig {
    let caps = sc.capabilities.clone().unwrap_or_default();
    let seccomp = match sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()) {
        Some("RuntimeDefault") => Seccomp::RuntimeDefault,
        Some("Localhost") => Seccomp::Localhost(PathBuf::from(
            sc.seccomp_profile
                .as_ref()
                .and_then(|p| p.localhost_profile.clone())
                .unwrap_or_default(),
        )),
        _ => Seccomp::Unconfined,
    };
    SecurityConfig {
        privileged: sc.privileged.unwrap_or(false),
        capabilities_add: caps.add.unwrap_or_default(),
        capabilities_drop: caps.drop.unwrap_or_default(),
        read_only_root_filesystem: sc.read_only_root_filesystem.unwrap_or(false),
        allow_privilege_escalation: sc.allow_privilege_escalation,
        seccomp,
        proc_mount: match sc.proc_mount.as_deref() {
            Some("Unmasked") => ProcMount::Unmasked,
            _ => ProcMount::Default,
        },
        sysctls: sysctls.to_vec(),
        user: UserRequest {
            run_as_user: user.uid.or(sc.run_as_user),
            run_as_group: user.gid.or(sc.run_as_group),
            image_user: user.image_user.clone(),
            supplemental_groups: supplemental_groups.unwrap_or_default(),
            fs_group,
            run_as_non_root: sc.run_as_non_root.unwrap_or(false),
        },
    }
}
