//! End-to-end tests of the `minipod` binary against a private `--root`.

mod common;
mod describe;
mod get;
mod image;
mod logs;
mod run;
mod validate;
