//! Options every verb shares, and where they put state.

use std::path::PathBuf;

use clap::Args;

const DEFAULT_ROOT: &str = "/var/lib/minipod";
const DEFAULT_RUN_DIR: &str = "/run/minipod";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where images and pods are stored (runtime state goes to DIR/run when given).
    #[arg(long, global = true, env = "MINIPOD_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// More output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log level (error, warn, info, debug, trace); overrides -v.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<log::LevelFilter>,
    /// Never colour output.
    #[arg(long, global = true)]
    pub no_color: bool,
}

impl GlobalArgs {
    /// Persistent state: images, layers, pod records.
    pub fn root_dir(&self) -> PathBuf {
        self.root
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT))
    }

    /// Runtime state that must not survive a reboot: namespace files, mounts, container state.
    pub fn run_dir(&self) -> PathBuf {
        match &self.root {
            Some(root) => root.join("run"),
            None => PathBuf::from(DEFAULT_RUN_DIR),
        }
    }

    /// Tightens to 0700 the state directories that are minipod's own and exist already
    /// (left open by an older minipod): the default root, the run directory and its `pods`,
    /// the root's `pods` and `workloads`. A `--root DIR` given by the user keeps its own
    /// mode; what is below it is private either way. Missing ones are created 0700 by
    /// whoever needs them first.
    pub fn tighten_state_dirs(&self) -> std::io::Result<()> {
        let root = self.root_dir();
        let run = self.run_dir();
        let mut dirs = vec![
            root.join("pods"),
            root.join(crate::control::WORKLOADS_DIR),
            run.join("pods"),
            run,
        ];
        if self.root.is_none() {
            dirs.push(root);
        }
        for d in dirs {
            minipod_runtime::private::tighten(&d)?;
        }
        Ok(())
    }
}

pub fn init_logging(args: &GlobalArgs) {
    let level = args.log_level.unwrap_or(match args.verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    });
    // The TLS verifier logs a failed certificate check at error level and then returns the
    // same error, which `pull` reports in its one error line: show its log only when
    // debugging.
    let verifier = if level >= log::LevelFilter::Debug {
        level
    } else {
        log::LevelFilter::Off
    };
    // youki's crates log what this host lacks ("cgroup hugetlb not supported on this
    // system") on every container they touch, and log each error they also return (which
    // minipod then prints once, with its context): shown from -vv on only.
    let youki = if level >= log::LevelFilter::Debug {
        level
    } else {
        log::LevelFilter::Off
    };
    env_logger::Builder::new()
        .filter_level(level)
        .filter_module("libcgroups", youki)
        .filter_module("libcontainer", youki)
        .filter_module("rustls_platform_verifier", verifier)
        .format_timestamp(None)
        .format_target(false)
        .write_style(if args.no_color {
            env_logger::WriteStyle::Never
        } else {
            env_logger::WriteStyle::Auto
        })
        .init();
}
