//! minipod-manifest: Kubernetes manifests in, validated and defaulted pod plans out.
//!
//! ```text
//! read_inputs ─► parse (YAML/JSON → k8s-openapi objects, unknown-field warnings)
//!             ─► defaults (API server defaults)
//!             ─► validate (pkg/apis/core/validation rules, all errors)
//!             ─► workloads → pods (controller naming and labels)
//!             ─► PodPlan (typed views: containers, volumes, env, resources, sandbox)
//! ```
//! The crate does no I/O besides reading the input files. [`load`] returns a [`Manifest`]
//! or every error at once ([`Rejected`]); [`resolve_process`] turns a container of a plan
//! and its image's config into the process to run.

pub mod defaults;
pub mod error;
pub mod expand;
pub mod load;
pub mod names;
pub mod naming;
pub mod parse;
pub mod path;
pub mod plan;
pub mod process;
pub mod quantity;
mod resolve;
pub mod validate;

pub use error::{
    BadValue, FieldError, FieldErrorType, ManifestError, ObjectRef, Position, Warning, WarningKind,
};
pub use expand::{expand, expand_with};
pub use load::{
    load, load_files, read_inputs, Input, LoadOptions, Manifest, Rejected, WorkloadKind,
    WorkloadPlan,
};
pub use parse::{parse_str, Object, ParsedFile};
pub use plan::{
    build_env, expand_sub_path_expr, qos_class, ContainerKind, ContainerPlan, ControllerRef,
    EnvValue, EnvVarPlan, Handler, HostPathType, InitContainerPlan, MountPlan, MountPropagation,
    NodeInfo, PodPlan, PortPlan, ProbePlan, Protocol, PullPolicy, Resources, RestartPolicy,
    RuntimeFacts, SandboxOptions, Scheme, StorageMedium, TerminationMessagePolicy, VolumeFile,
    VolumePlan, VolumeSource,
};
pub use process::{
    merge_env, resolve_args, resolve_process, ImageProcessDefaults, Process, ProcessError,
    ProcessUser,
};
pub use quantity::Quantity;

/// Re-exported so consumers name the same k8s-openapi types.
pub use k8s_openapi;
