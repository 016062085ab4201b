//! End-to-end tests of the `minipod` binary against a private `--root`.

mod common;
mod describe;
mod exec;
mod get;
mod image;
mod lifecycle;
mod log_rotation;
mod logs;
mod pods;
mod port_forward;
mod processes;
mod propagation;
mod pull;
mod run;
mod security;
mod serve;
mod validate;
mod version;
mod volumes;
mod wait;
mod workloads;
