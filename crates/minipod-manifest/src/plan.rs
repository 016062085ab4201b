//! The typed plan of one pod: the defaulted `Pod` kept whole, plus the derived views the
//! runtime and the pod supervisor need (containers classified, volumes with their file
//! contents, env sources resolved, resources in numbers, sandbox options).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, HostAlias, Pod, PodDNSConfig, PodSecurityContext, PodSpec, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::env::EnvVarPlan;
use crate::error::{FieldError, Warning};
use crate::node::NodeInfo;
use crate::path::FieldPath;
use crate::quantity::Quantity;
use crate::resolve::Resolver;
use crate::volume::VolumePlan;

/// Pod-level restart policy (`spec.restartPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    Always,
    OnFailure,
    Never,
}

/// `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

/// Which list a container comes from, and whether it is a native sidecar
/// (api/v1/pod IsRestartableInitContainer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContainerKind {
    /// `spec.initContainers[i]` without `restartPolicy: Always`: runs to completion, in order.
    Init,
    /// `spec.initContainers[i]` with `restartPolicy: Always` (a native sidecar).
    Sidecar,
    /// `spec.containers[i]`.
    Regular,
}

impl ContainerKind {
    /// True for both kinds of `spec.initContainers` entries.
    pub fn is_init_list(self) -> bool {
        matches!(self, ContainerKind::Init | ContainerKind::Sidecar)
    }
}

/// An entry of `spec.initContainers`: `kind` is [`ContainerKind::Init`] or
/// [`ContainerKind::Sidecar`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitContainerPlan {
    pub kind: ContainerKind,
    pub container: ContainerPlan,
}

/// `terminationMessagePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TerminationMessagePolicy {
    File,
    FallbackToLogsOnError,
}

/// One container, typed. `spec` is the defaulted k8s-openapi container for anything not
/// lifted out here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerPlan {
    pub name: String,
    pub image: String,
    pub image_pull_policy: PullPolicy,
    /// `command` as written (None = unset: the image ENTRYPOINT is used).
    pub command: Option<Vec<String>>,
    /// `args` as written (None = unset: the image CMD is used when command is unset too).
    pub args: Option<Vec<String>>,
    pub working_dir: Option<String>,
    /// Environment sources in kubelet order: envFrom entries first, then `env`.
    /// Turn into final values with [`build_env`] once the pod IP is known.
    pub env: Vec<EnvVarPlan>,
    pub resources: Resources,
    pub mounts: Vec<MountPlan>,
    pub ports: Vec<PortPlan>,
    pub post_start: Option<Handler>,
    pub pre_stop: Option<Handler>,
    /// `lifecycle.stopSignal` (e.g. `SIGUSR1`); None = the image's STOPSIGNAL or SIGTERM.
    pub stop_signal: Option<String>,
    pub liveness_probe: Option<ProbePlan>,
    pub readiness_probe: Option<ProbePlan>,
    pub startup_probe: Option<ProbePlan>,
    /// The container's securityContext merged over the pod's (runAsUser, runAsGroup,
    /// runAsNonRoot, seLinuxOptions, seccompProfile, appArmorProfile), as the kubelet does.
    pub security_context: SecurityContext,
    pub stdin: bool,
    pub stdin_once: bool,
    pub tty: bool,
    pub termination_message_path: String,
    pub termination_message_policy: TerminationMessagePolicy,
    /// The defaulted container as the API object has it.
    pub spec: Container,
}

/// Resources in numbers (None = not set). Requests default to limits (SetDefaults_Pod).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_request_millis: Option<i64>,
    pub cpu_limit_millis: Option<i64>,
    pub memory_request_bytes: Option<i64>,
    pub memory_limit_bytes: Option<i64>,
    pub ephemeral_storage_request_bytes: Option<i64>,
    pub ephemeral_storage_limit_bytes: Option<i64>,
    /// `hugepages-<size>` limits: (size as written, bytes).
    pub hugepages_limits: Vec<(String, i64)>,
}

impl Resources {
    fn from_spec(c: &Container) -> Resources {
        let get = |m: Option<
            &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
        >,
                   name: &str|
         -> Option<Quantity> {
            m.and_then(|m| m.get(name))
                .and_then(|q| Quantity::parse(&q.0).ok())
        };
        let r = c.resources.as_ref();
        let limits = r.and_then(|r| r.limits.as_ref());
        let requests = r.and_then(|r| r.requests.as_ref());
        // Requests default to limits (defaults.go SetDefaults_Pod).
        let req = |name: &str| get(requests, name).or_else(|| get(limits, name));
        Resources {
            cpu_request_millis: req("cpu").map(|q| q.milli_value()),
            cpu_limit_millis: get(limits, "cpu").map(|q| q.milli_value()),
            memory_request_bytes: req("memory").map(|q| q.value()),
            memory_limit_bytes: get(limits, "memory").map(|q| q.value()),
            ephemeral_storage_request_bytes: req("ephemeral-storage").map(|q| q.value()),
            ephemeral_storage_limit_bytes: get(limits, "ephemeral-storage").map(|q| q.value()),
            hugepages_limits: limits
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| {
                    let size = k.strip_prefix("hugepages-")?;
                    Some((size.to_string(), Quantity::parse(&v.0).ok()?.value()))
                })
                .collect(),
        }
    }
}

/// `mountPropagation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountPropagation {
    None,
    HostToContainer,
    Bidirectional,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPlan {
    /// Index into [`PodPlan::volumes`].
    pub volume: usize,
    pub volume_name: String,
    /// Absolute path in the container (the kubelet prefixes `/` to relative ones).
    pub mount_path: String,
    pub sub_path: Option<String>,
    /// `subPathExpr`, to expand against the container env at start.
    pub sub_path_expr: Option<String>,
    pub read_only: bool,
    pub recursive_read_only: bool,
    pub propagation: MountPropagation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortPlan {
    pub name: Option<String>,
    pub container_port: u16,
    pub host_port: Option<u16>,
    pub host_ip: Option<String>,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheme {
    Http,
    Https,
}

/// A hook or probe action, with a named port resolved against the container's ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Handler {
    /// Run in the container; not `$(VAR)`-expanded (kubelet handlers.go).
    Exec {
        command: Vec<String>,
    },
    HttpGet {
        /// None = the pod IP.
        host: Option<String>,
        port: u16,
        path: String,
        scheme: Scheme,
        headers: Vec<(String, String)>,
    },
    TcpSocket {
        host: Option<String>,
        port: u16,
    },
    Grpc {
        port: u16,
        service: Option<String>,
    },
    Sleep {
        seconds: i64,
    },
}

/// A probe with its (defaulted) timings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbePlan {
    pub handler: Handler,
    pub initial_delay_seconds: i32,
    pub timeout_seconds: i32,
    pub period_seconds: i32,
    pub success_threshold: i32,
    pub failure_threshold: i32,
    pub termination_grace_period_seconds: Option<i64>,
}

/// Namespaces and names of the pod sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxOptions {
    pub host_network: bool,
    pub host_pid: bool,
    pub host_ipc: bool,
    pub share_process_namespace: bool,
    /// kubelet GeneratePodHostNameAndDomain: `spec.hostname`, else the pod name, cut to 63
    /// characters with trailing `-`/`.` removed; the FQDN when `setHostnameAsFQDN`.
    /// Meaningless with hostNetwork (the host's UTS namespace is kept).
    pub hostname: String,
    pub subdomain: Option<String>,
    /// `<subdomain>.<namespace>.svc.<cluster domain>` when a subdomain is set.
    pub domain: Option<String>,
    pub set_hostname_as_fqdn: bool,
    pub dns_policy: String,
    pub dns_config: Option<PodDNSConfig>,
    pub host_aliases: Vec<HostAlias>,
    /// `securityContext.sysctls` as (name, value).
    pub sysctls: Vec<(String, String)>,
    pub security_context: PodSecurityContext,
}

/// The workload a pod was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerRef {
    /// `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet` or `Job`.
    pub kind: String,
    pub name: String,
    /// Index of the pod within its workload (StatefulSet ordinal, Job completion index for
    /// Indexed jobs, else the creation order): `Manifest::new_pod`'s `sequence`.
    pub index: u32,
    /// How many pods of this index the workload made before this one (a Job's retries):
    /// `Manifest::new_pod`'s `attempt`.
    #[serde(default)]
    pub attempt: u32,
}

/// Everything about one pod to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodPlan {
    /// The accepted pod: defaulted, named, with uid, labels and (for workload pods)
    /// ownerReferences; `status` is None.
    pub pod: Pod,
    /// Input file the pod came from.
    pub file: String,
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub controller: Option<ControllerRef>,
    pub restart_policy: RestartPolicy,
    pub termination_grace_period_seconds: i64,
    pub active_deadline_seconds: Option<i64>,
    /// In spec order.
    pub init_containers: Vec<InitContainerPlan>,
    pub containers: Vec<ContainerPlan>,
    pub volumes: Vec<VolumePlan>,
    pub sandbox: SandboxOptions,
}

impl PodPlan {
    /// Every container (init, then app) by name.
    pub fn container(&self, name: &str) -> Option<&ContainerPlan> {
        self.all_containers()
            .map(|(_, c)| c)
            .find(|c| c.name == name)
    }

    /// Every container with its kind: `spec.initContainers` in order, then `spec.containers`.
    pub fn all_containers(&self) -> impl Iterator<Item = (ContainerKind, &ContainerPlan)> {
        self.init_containers
            .iter()
            .map(|i| (i.kind, &i.container))
            .chain(self.containers.iter().map(|c| (ContainerKind::Regular, c)))
    }

    /// `spec.restartPolicy` is not Never (kubelet kuberuntime_manager.go
    /// shouldRestartOnFailure).
    pub fn restart_on_failure(&self) -> bool {
        self.restart_policy != RestartPolicy::Never
    }

    /// `status.qosClass` of this pod.
    pub fn qos_class(&self) -> &'static str {
        qos_class(self.pod.spec.as_ref().unwrap_or(&PodSpec::default()))
    }
}

/// `status.qosClass` (pkg/apis/core/v1/helper/qos GetPodQOS, cpu and memory only): what the
/// pod status reports and what `describe` shows for a pod that has no status yet.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: [Option<f64>; 2] = [None, None];
    let mut limits: [Option<f64>; 2] = [None, None];
    let mut guaranteed = true;
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        let res = c.resources.as_ref();
        let mut limits_found = [false, false];
        for (i, name) in ["cpu", "memory"].iter().enumerate() {
            if let Some(q) = res
                .and_then(|r| r.requests.as_ref())
                .and_then(|m| m.get(*name))
                .and_then(|q| quantity_value(&q.0))
            {
                if q != 0.0 {
                    requests[i] = Some(requests[i].unwrap_or(0.0) + q);
                }
            }
            if let Some(q) = res
                .and_then(|r| r.limits.as_ref())
                .and_then(|m| m.get(*name))
                .and_then(|q| quantity_value(&q.0))
            {
                if q != 0.0 {
                    limits[i] = Some(limits[i].unwrap_or(0.0) + q);
                    limits_found[i] = true;
                }
            }
        }
        if !(limits_found[0] && limits_found[1]) {
            guaranteed = false;
        }
    }
    if requests.iter().all(Option::is_none) && limits.iter().all(Option::is_none) {
        return "BestEffort";
    }
    if guaranteed {
        for i in 0..2 {
            if let Some(r) = requests[i] {
                match limits[i] {
                    Some(l) if (l - r).abs() <= f64::EPSILON * l.abs().max(1.0) => {}
                    _ => guaranteed = false,
                }
            }
        }
    }
    let n_req = requests.iter().filter(|r| r.is_some()).count();
    let n_lim = limits.iter().filter(|l| l.is_some()).count();
    if guaranteed && n_req == n_lim {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A resource quantity as a number (`500m`, `1Gi`, `2e3`, `1.5`), for comparisons only.
fn quantity_value(s: &str) -> Option<f64> {
    Quantity::parse(s)
        .ok()
        .map(|q| q.milli_value() as f64 / 1000.0)
}

/// kubelet GeneratePodHostNameAndDomain + truncatePodHostnameIfNeeded.
pub fn pod_hostname(pod_name: &str, spec_hostname: Option<&str>) -> String {
    let h = spec_hostname.filter(|h| !h.is_empty()).unwrap_or(pod_name);
    if h.len() <= 63 {
        return h.to_string();
    }
    let mut end = 63;
    while !h.is_char_boundary(end) {
        end -= 1;
    }
    h[..end].trim_end_matches(['-', '.']).to_string()
}

fn restart_policy(s: Option<&str>) -> RestartPolicy {
    match s {
        Some("OnFailure") => RestartPolicy::OnFailure,
        Some("Never") => RestartPolicy::Never,
        _ => RestartPolicy::Always,
    }
}

fn pull_policy(s: Option<&str>) -> PullPolicy {
    match s {
        Some("Always") => PullPolicy::Always,
        Some("Never") => PullPolicy::Never,
        _ => PullPolicy::IfNotPresent,
    }
}

/// Merges a container securityContext over the pod's the way the kubelet does
/// (securitycontext.DetermineEffectiveSecurityContext).
pub fn effective_security_context(
    pod: Option<&PodSecurityContext>,
    c: Option<&SecurityContext>,
) -> SecurityContext {
    let mut sc = c.cloned().unwrap_or_default();
    if let Some(p) = pod {
        if sc.run_as_user.is_none() {
            sc.run_as_user = p.run_as_user;
        }
        if sc.run_as_group.is_none() {
            sc.run_as_group = p.run_as_group;
        }
        if sc.run_as_non_root.is_none() {
            sc.run_as_non_root = p.run_as_non_root;
        }
        if sc.se_linux_options.is_none() {
            sc.se_linux_options = p.se_linux_options.clone();
        }
        if sc.seccomp_profile.is_none() {
            sc.seccomp_profile = p.seccomp_profile.clone();
        }
        if sc.app_armor_profile.is_none() {
            sc.app_armor_profile = p.app_armor_profile.clone();
        }
        if sc.windows_options.is_none() {
            sc.windows_options = p.windows_options.clone();
        }
    }
    sc
}

/// Builds the typed plan from an accepted (defaulted, validated, named) pod.
/// Errors are references the input cannot satisfy (a ConfigMap that is not there, a probe
/// port name no container port has).
pub(crate) fn build(
    pod: Pod,
    file: &str,
    controller: Option<ControllerRef>,
    resolver: &Resolver<'_>,
    node: &NodeInfo,
    warnings: &mut Vec<Warning>,
) -> Result<PodPlan, Vec<FieldError>> {
    let _ = warnings;
    let mut errors = Vec::new();
    let spec = pod.spec.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec_path = FieldPath::new("spec");

    let mut volumes = Vec::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let vp = spec_path.child("volumes").index(i);
        match resolver.volume(v, &pod, node, &vp) {
            Ok(source) => volumes.push(VolumePlan {
                name: v.name.clone(),
                source,
            }),
            Err(mut e) => errors.append(&mut e),
        }
    }

    let psc = spec.security_context.as_ref();
    let mut make = |c: &Container, path: FieldPath| -> Option<ContainerPlan> {
        match container(c, &pod, psc, &volumes, resolver, node, &path) {
            Ok(c) => Some(c),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        }
    };
    let mut init_containers = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        if let Some(plan) = make(c, spec_path.child("initContainers").index(i)) {
            let kind = if c.restart_policy.as_deref() == Some("Always") {
                ContainerKind::Sidecar
            } else {
                ContainerKind::Init
            };
            init_containers.push(InitContainerPlan {
                kind,
                container: plan,
            });
        }
    }
    let mut containers = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        if let Some(plan) = make(c, spec_path.child("containers").index(i)) {
            containers.push(plan);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let subdomain = spec.subdomain.clone().filter(|s| !s.is_empty());
    let domain = subdomain
        .as_ref()
        .map(|s| format!("{s}.{namespace}.svc.{}", node.cluster_domain));
    let mut hostname = pod_hostname(&name, spec.hostname.as_deref());
    let set_fqdn = spec.set_hostname_as_fqdn == Some(true);
    if set_fqdn {
        if let Some(d) = &domain {
            hostname = format!("{hostname}.{d}");
        }
    }
    let sandbox = SandboxOptions {
        host_network: spec.host_network == Some(true),
        host_pid: spec.host_pid == Some(true),
        host_ipc: spec.host_ipc == Some(true),
        share_process_namespace: spec.share_process_namespace == Some(true),
        hostname,
        subdomain,
        domain,
        set_hostname_as_fqdn: set_fqdn,
        dns_policy: spec
            .dns_policy
            .clone()
            .unwrap_or_else(|| "ClusterFirst".to_string()),
        dns_config: spec.dns_config.clone(),
        host_aliases: spec.host_aliases.clone().unwrap_or_default(),
        sysctls: spec
            .security_context
            .as_ref()
            .and_then(|s| s.sysctls.as_ref())
            .map(|v| {
                v.iter()
                    .map(|s| (s.name.clone(), s.value.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        security_context: spec.security_context.clone().unwrap_or_default(),
    };
    Ok(PodPlan {
        file: file.to_string(),
        name,
        namespace,
        uid,
        controller,
        restart_policy: restart_policy(spec.restart_policy.as_deref()),
        termination_grace_period_seconds: spec
            .termination_grace_period_seconds
            .unwrap_or(crate::defaults::DEFAULT_TERMINATION_GRACE_PERIOD),
        active_deadline_seconds: spec.active_deadline_seconds,
        init_containers,
        containers,
        volumes,
        sandbox,
        pod,
    })
}

fn container(
    c: &Container,
    pod: &Pod,
    psc: Option<&PodSecurityContext>,
    volumes: &[VolumePlan],
    resolver: &Resolver<'_>,
    node: &NodeInfo,
    path: &FieldPath,
) -> Result<ContainerPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let env = match resolver.env(c, pod, node, path) {
        Ok(e) => e,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    let mut mounts = Vec::new();
    for m in c.volume_mounts.iter().flatten() {
        let Some(idx) = volumes.iter().position(|v| v.name == m.name) else {
            // Reported by validation (Not found) or by the volume's own resolution error.
            continue;
        };
        let mount_path = if m.mount_path.starts_with('/') {
            m.mount_path.clone()
        } else {
            // kubelet makeMounts: relative mount paths are taken from the root.
            format!("/{}", m.mount_path)
        };
        mounts.push(MountPlan {
            volume: idx,
            volume_name: m.name.clone(),
            mount_path,
            sub_path: m.sub_path.clone().filter(|s| !s.is_empty()),
            sub_path_expr: m.sub_path_expr.clone().filter(|s| !s.is_empty()),
            read_only: m.read_only == Some(true),
            recursive_read_only: matches!(
                m.recursive_read_only.as_deref(),
                Some("Enabled") | Some("IfPossible")
            ),
            propagation: match m.mount_propagation.as_deref() {
                Some("HostToContainer") => MountPropagation::HostToContainer,
                Some("Bidirectional") => MountPropagation::Bidirectional,
                _ => MountPropagation::None,
            },
        });
    }
    let ports: Vec<PortPlan> = c
        .ports
        .iter()
        .flatten()
        .map(|p| PortPlan {
            name: p.name.clone().filter(|n| !n.is_empty()),
            container_port: u16::try_from(p.container_port).unwrap_or(0),
            host_port: p
                .host_port
                .filter(|h| *h != 0)
                .and_then(|h| u16::try_from(h).ok()),
            host_ip: p.host_ip.clone().filter(|h| !h.is_empty()),
            protocol: match p.protocol.as_deref() {
                Some("UDP") => Protocol::Udp,
                Some("SCTP") => Protocol::Sctp,
                _ => Protocol::Tcp,
            },
        })
        .collect();
    let mut handler_err = |r: Result<Option<Handler>, FieldError>| match r {
        Ok(h) => h,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let lc = c.lifecycle.as_ref();
    let post_start = handler_err(lifecycle_handler(
        lc.and_then(|l| l.post_start.as_ref()),
        &ports,
        &path.child("lifecycle").child("postStart"),
    ));
    let pre_stop = handler_err(lifecycle_handler(
        lc.and_then(|l| l.pre_stop.as_ref()),
        &ports,
        &path.child("lifecycle").child("preStop"),
    ));
    let mut probe = |p: Option<&k8s_openapi::api::core::v1::Probe>, name: &str| {
        let p = p?;
        match probe_handler(p, &ports, &path.child(name)) {
            Ok(handler) => Some(ProbePlan {
                handler,
                initial_delay_seconds: p.initial_delay_seconds.unwrap_or(0),
                timeout_seconds: p.timeout_seconds.unwrap_or(1),
                period_seconds: p.period_seconds.unwrap_or(10),
                success_threshold: p.success_threshold.unwrap_or(1),
                failure_threshold: p.failure_threshold.unwrap_or(3),
                termination_grace_period_seconds: p.termination_grace_period_seconds,
            }),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    let liveness_probe = probe(c.liveness_probe.as_ref(), "livenessProbe");
    let readiness_probe = probe(c.readiness_probe.as_ref(), "readinessProbe");
    let startup_probe = probe(c.startup_probe.as_ref(), "startupProbe");
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ContainerPlan {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_pull_policy: pull_policy(c.image_pull_policy.as_deref()),
        command: c.command.clone().filter(|v| !v.is_empty()),
        args: c.args.clone().filter(|v| !v.is_empty()),
        working_dir: c.working_dir.clone().filter(|w| !w.is_empty()),
        env,
        resources: Resources::from_spec(c),
        mounts,
        ports,
        post_start,
        pre_stop,
        stop_signal: lc.and_then(|l| l.stop_signal.clone()),
        liveness_probe,
        readiness_probe,
        startup_probe,
        security_context: effective_security_context(psc, c.security_context.as_ref()),
        stdin: c.stdin == Some(true),
        stdin_once: c.stdin_once == Some(true),
        tty: c.tty == Some(true),
        termination_message_path: c
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".to_string()),
        termination_message_policy: match c.termination_message_policy.as_deref() {
            Some("FallbackToLogsOnError") => TerminationMessagePolicy::FallbackToLogsOnError,
            _ => TerminationMessagePolicy::File,
        },
        spec: c.clone(),
    })
}

/// Resolves a probe/hook port: a number, or the name of one of the container's ports
/// (kubelet probe.go / handlers.go resolvePort).
fn resolve_port(
    port: &IntOrString,
    ports: &[PortPlan],
    path: &FieldPath,
) -> Result<u16, FieldError> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| FieldError::invalid(path, *p, "must be between 1 and 65535, inclusive")),
        IntOrString::String(s) => {
            if let Ok(n) = s.parse::<u16>() {
                // The kubelet accepts a number written as a string.
                return Ok(n);
            }
            ports
                .iter()
                .find(|p| p.name.as_deref() == Some(s.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| {
                    FieldError::invalid(
                        path,
                        s.as_str(),
                        "no container port has this name (the kubelet could never reach it)",
                    )
                })
        }
    }
}

fn http_get(
    g: &k8s_openapi::api::core::v1::HTTPGetAction,
    ports: &[PortPlan],
    path: &FieldPath,
) -> Result<Handler, FieldError> {
    Ok(Handler::HttpGet {
        host: g.host.clone().filter(|h| !h.is_empty()),
        port: resolve_port(&g.port, ports, &path.child("httpGet").child("port"))?,
        path: g.path.clone().unwrap_or_else(|| "/".to_string()),
        scheme: if g.scheme.as_deref() == Some("HTTPS") {
            Scheme::Https
        } else {
            Scheme::Http
        },
        headers: g
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect(),
    })
}

fn lifecycle_handler(
    h: Option<&k8s_openapi::api::core::v1::LifecycleHandler>,
    ports: &[PortPlan],
    path: &FieldPath,
) -> Result<Option<Handler>, FieldError> {
    let Some(h) = h else { return Ok(None) };
    if let Some(e) = &h.exec {
        return Ok(Some(Handler::Exec {
            command: e.command.clone().unwrap_or_default(),
        }));
    }
    if let Some(g) = &h.http_get {
        return http_get(g, ports, path).map(Some);
    }
    if let Some(t) = &h.tcp_socket {
        return Ok(Some(Handler::TcpSocket {
            host: t.host.clone().filter(|h| !h.is_empty()),
            port: resolve_port(&t.port, ports, &path.child("tcpSocket").child("port"))?,
        }));
    }
    if let Some(s) = &h.sleep {
        return Ok(Some(Handler::Sleep { seconds: s.seconds }));
    }
    Ok(None)
}

fn probe_handler(
    p: &k8s_openapi::api::core::v1::Probe,
    ports: &[PortPlan],
    path: &FieldPath,
) -> Result<Handler, FieldError> {
    if let Some(e) = &p.exec {
        return Ok(Handler::Exec {
            command: e.command.clone().unwrap_or_default(),
        });
    }
    if let Some(g) = &p.http_get {
        return http_get(g, ports, path);
    }
    if let Some(t) = &p.tcp_socket {
        return Ok(Handler::TcpSocket {
            host: t.host.clone().filter(|h| !h.is_empty()),
            port: resolve_port(&t.port, ports, &path.child("tcpSocket").child("port"))?,
        });
    }
    if let Some(g) = &p.grpc {
        return Ok(Handler::Grpc {
            port: resolve_port(
                &IntOrString::Int(g.port),
                ports,
                &path.child("grpc").child("port"),
            )?,
            service: g.service.clone(),
        });
    }
    // Validation guarantees one action; an empty probe cannot get here.
    Err(FieldError::required(path, "must specify a handler type"))
}

#[cfg(test)]
mod tests;
