//! End-to-end tests of the `minipod` binary against a private `--root`.

mod common;
mod image;
mod validate;
mod get;
mod describe;
mod logs;
mod run;
