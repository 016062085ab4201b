//! minipod-manifest: Kubernetes manifests in, validated and defaulted pod plans out.
//!
//! ```text
//! load::input    read_inputs: files, directories, stdin → named texts (the only I/O)
//!   ─► parse     YAML/JSON → k8s-openapi objects, unknown-field warnings
//!   ─► defaults  API server defaults
//!   ─► validate  pkg/apis/core/validation rules and minipod's refusals, all errors at once
//!   ─► load::workload  workloads → pods (controller naming, labels, owner references)
//!   ─► resolve   configMap/secret/downward API references between objects of the input,
//!                into the value types of `env` and `volume`
//!   ─► plan      PodPlan (typed views: containers, volumes, env, resources, sandbox)
//!   ─► process   a container of a plan + its image's config → the process to run
//! ```
//! [`load()`](fn@load) (in `load/mod.rs`) runs the steps and returns a [`Manifest`] or every error at
//! once ([`Rejected`]). Imports follow the order parse → defaults → validate → resolve →
//! plan → process (each uses only earlier ones and the helpers below); the value types both
//! `resolve` and `plan` speak (`env`, `volume`, `node`) sit below them. `load` sits on top
//! and drives them all.
//!
//! Modules:
//! - `load/`: `mod.rs` the pipeline, `input.rs` reading files, `workload.rs` workload
//!   expansion;
//! - `parse`, `defaults`: objects and their API server defaults;
//! - `validate/`: one file per part of an object (`metadata`, `pod`, `volumes`,
//!   `containers`, `handlers`, `resources`, `security`, `workloads`, `config`) and
//!   `refusals` for what minipod does not support;
//! - `resolve`, `plan`, `process`: references, the typed pod plan, the process to run;
//! - `env`, `volume`, `node`: a container's environment sources and their expansion, volume
//!   sources with their files, the node's facts;
//! - helpers: `names` (name formats, signal names), `path` (field paths), `quantity`,
//!   `expand` (`$(VAR)`), `naming` (generated names and uids), `error`.
//!
//! Tests sit in `<module>/tests.rs` beside the code they test.

#![forbid(unsafe_code)]

pub mod defaults;
pub mod env;
pub mod error;
pub mod expand;
pub mod load;
pub mod names;
pub mod naming;
pub mod node;
pub mod parse;
pub mod path;
pub mod plan;
pub mod process;
pub mod quantity;
mod resolve;
pub mod validate;
pub mod volume;

pub use env::{build_env, expand_sub_path_expr, EnvValue, EnvVarPlan, RuntimeFacts};
pub use error::{
    BadValue, FieldError, FieldErrorType, ManifestError, ObjectRef, Position, Warning, WarningKind,
};
pub use expand::{expand, expand_with};
pub use load::{
    load, load_files, read_inputs, Input, LoadOptions, Manifest, Rejected, WorkloadKind,
    WorkloadPlan,
};
pub use node::NodeInfo;
pub use parse::{parse_str, Object, ParsedFile};
pub use plan::{
    qos_class, ContainerKind, ContainerPlan, ControllerRef, Handler, InitContainerPlan, MountPlan,
    MountPropagation, PodPlan, PortPlan, ProbePlan, Protocol, PullPolicy, Resources, RestartPolicy,
    SandboxOptions, Scheme, TerminationMessagePolicy,
};
pub use process::{
    merge_env, resolve_args, resolve_process, ImageProcessDefaults, Process, ProcessError,
    ProcessUser,
};
pub use quantity::Quantity;
pub use volume::{HostPathType, StorageMedium, VolumeFile, VolumePlan, VolumeSource};

/// Re-exported so consumers name the same k8s-openapi types.
pub use k8s_openapi;
