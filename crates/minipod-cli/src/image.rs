//! `minipod image load|pull|ls|inspect|rm|prune`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use minipod_image::{
    in_use_by, Image, ImageStore, LoadError, Platform, PullError, PullOptions, Pulled, StoreError,
};

use crate::exit::input;
use crate::global::GlobalArgs;

mod authfile;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Load images from an OCI layout directory, an oci-archive or a `docker save` archive.
    Load {
        /// The image file or directory.
        path: PathBuf,
        /// Name for the image (when the file holds exactly one), e.g. app:1.0.
        #[arg(long, value_name = "REF")]
        name: Option<String>,
    },
    /// Pull an image from an OCI distribution registry.
    ///
    /// Registries on loopback addresses (localhost, 127.0.0.0/8, ::1) are spoken to over
    /// plain HTTP, others over HTTPS unless --plain-http is given.
    Pull(PullArgs),
    /// List images.
    #[command(alias = "list")]
    Ls {
        /// Only print image IDs.
        #[arg(short, long)]
        quiet: bool,
        /// Output format.
        #[arg(short, long, value_enum)]
        output: Option<ListFormat>,
    },
    /// Show an image's config, manifest and layers as JSON.
    Inspect {
        /// Image name or ID.
        reference: String,
    },
    /// Remove image names; refuses images a pod uses unless forced.
    #[command(alias = "remove")]
    Rm {
        /// Remove the name even if a pod uses the image; its content stays until no pod
        /// holds it, then `image prune` removes it.
        #[arg(short, long)]
        force: bool,
        /// Image names or IDs.
        #[arg(required = true)]
        references: Vec<String>,
    },
    /// Remove blobs and layers no image references.
    Prune,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Use HTTP instead of HTTPS (implied for loopback registries).
    #[arg(long)]
    pub plain_http: bool,
    /// The platform to pick from a multi-platform image (default: this host's).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Registry credentials file (podman's auth.json, docker's config.json). Without it:
    /// $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
    /// $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json or
    /// ~/.docker/config.json, first match wins.
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// User name for the registry, with the password read from stdin (--password-stdin).
    #[arg(
        long,
        short = 'u',
        requires = "password_stdin",
        conflicts_with = "creds"
    )]
    pub username: Option<String>,
    /// Read the registry password from stdin (with --username).
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// Registry credentials for HTTP basic authentication. Deprecated: the password is
    /// visible to every user (ps); use --authfile or --password-stdin.
    #[arg(long, value_name = "USER:PASS")]
    pub creds: Option<String>,
    /// The image, e.g. 127.0.0.1:5000/busybox:1.35 or NAME@sha256:DIGEST.
    pub reference: String,
}

impl TryFrom<&PullArgs> for PullOptions {
    type Error = anyhow::Error;

    fn try_from(a: &PullArgs) -> anyhow::Result<PullOptions> {
        let platform = a
            .platform
            .as_deref()
            .map(str::parse::<Platform>)
            .transpose()
            .map_err(input)?;
        let credentials = if let Some(c) = a.creds.as_deref() {
            eprintln!(
                "warning: --creds puts the password on the command line, where every local user can read it (ps, /proc/PID/cmdline); use --password-stdin or --authfile"
            );
            match c.split_once(':') {
                Some((user, pass)) if !user.is_empty() => {
                    Some((user.to_string(), pass.to_string()))
                }
                _ => return Err(input(anyhow::anyhow!("--creds: expected USER:PASS"))),
            }
        } else if let Some(user) = &a.username {
            let mut pass = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut pass)
                .context("--password-stdin: read the password from stdin")?;
            // `echo PASS | ...` adds a newline, as docker login accepts.
            let pass = pass.strip_suffix('\n').unwrap_or(&pass);
            let pass = pass.strip_suffix('\r').unwrap_or(pass);
            if pass.is_empty() {
                return Err(input(anyhow::anyhow!(
                    "--password-stdin: no password on stdin"
                )));
            }
            Some((user.clone(), pass.to_string()))
        } else {
            let reference = minipod_image::Reference::parse(&a.reference).map_err(input)?;
            authfile::credentials_for(a.authfile.as_deref(), reference.domain(), reference.path())
                .map_err(input)?
        };
        Ok(PullOptions {
            plain_http: a.plain_http,
            platform,
            credentials,
            stall_timeout: None,
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Json,
}

pub fn run(cmd: ImageCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let root = global.root_dir();
    let store =
        ImageStore::open(&root).with_context(|| format!("open image store {}", root.display()))?;
    match cmd {
        ImageCommand::Load { path, name } => load(&store, path, name),
        ImageCommand::Pull(args) => {
            let options = PullOptions::try_from(&args)?;
            let pulled = pull(&store, &args.reference, &options).map_err(pull_err)?;
            // docker's summary: the digest, whether anything changed, the full name.
            println!("Digest: {}", pulled.image.manifest_digest);
            let name = pulled.image.reference.familiar();
            if pulled.up_to_date {
                println!("Status: Image is up to date for {name}");
            } else {
                println!("Status: Downloaded newer image for {name}");
            }
            println!("{}", pulled.image.reference);
            Ok(ExitCode::SUCCESS)
        }
        ImageCommand::Ls { quiet, output } => list(&store, quiet, output),
        ImageCommand::Inspect { reference } => inspect(&store, &reference),
        ImageCommand::Rm { force, references } => remove(&store, &references, force, global),
        ImageCommand::Prune => {
            let r = store.prune()?;
            println!(
                "Deleted {} blobs and {} layers, reclaimed {}",
                r.blobs,
                r.layers,
                human_size(r.bytes)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Pull options for the pulls `run` and `apply` make: credentials from the default auth
/// files (`$REGISTRY_AUTH_FILE`, podman's and docker's), as the kubelet reads the node's
/// docker config (pkg/credentialprovider `ReadDockerConfigFile`).
pub fn pull_options_for(reference: &str) -> anyhow::Result<PullOptions> {
    let credentials = match minipod_image::Reference::parse(reference) {
        Ok(r) => authfile::credentials_for(None, r.domain(), r.path()).map_err(input)?,
        // The pull itself reports a bad reference.
        Err(_) => None,
    };
    Ok(PullOptions {
        credentials,
        ..PullOptions::default()
    })
}

/// Pulls with progress on stderr (bars on a terminal, lines otherwise).
pub fn pull(
    store: &ImageStore,
    reference: &str,
    options: &PullOptions,
) -> Result<Pulled, PullError> {
    let progress = crate::progress::for_stderr();
    store.pull(reference, options, progress.as_ref())
}

/// A bad reference or platform is the user's input (exit 2); the rest exit 1.
pub fn pull_err(e: PullError) -> anyhow::Error {
    if e.is_input() {
        input(e)
    } else {
        e.into()
    }
}

fn load(store: &ImageStore, path: PathBuf, name: Option<String>) -> anyhow::Result<ExitCode> {
    let progress = crate::progress::for_stderr();
    match store.load_with_progress(&path, name.as_deref(), progress.as_ref()) {
        Ok(images) => {
            for i in images {
                println!("Loaded image: {}", i.reference.familiar());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let is_input = e.is_input();
            // Layer errors name the digest but not the file.
            let e = match e {
                LoadError::Layer(_) => anyhow::Error::new(e).context(path.display().to_string()),
                e => anyhow::Error::new(e),
            };
            Err(if is_input { input(e) } else { e })
        }
    }
}

fn store_err(e: minipod_image::StoreError) -> anyhow::Error {
    if e.is_input() {
        input(e)
    } else {
        e.into()
    }
}

fn list(store: &ImageStore, quiet: bool, output: Option<ListFormat>) -> anyhow::Result<ExitCode> {
    let images = store.images().map_err(store_err)?;
    if quiet {
        let mut seen = std::collections::HashSet::new();
        for i in &images {
            if seen.insert(i.id().short().to_string()) {
                println!("{}", i.id().short());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(ListFormat::Json) = output {
        let rows: Vec<serde_json::Value> = images
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.reference.to_string(),
                    "repository": i.reference.familiar_repository(),
                    "tag": i.reference.tag(),
                    "id": i.id().to_string(),
                    "digest": i.manifest_digest.to_string(),
                    "size": i.size(),
                    "created": i.created(),
                    "platform": i.platform,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut rows = vec![[
        "REPOSITORY".to_string(),
        "TAG".into(),
        "IMAGE ID".into(),
        "SIZE".into(),
        "CREATED".into(),
    ]];
    for i in &images {
        rows.push([
            i.reference.familiar_repository(),
            i.reference.tag().unwrap_or("<none>").to_string(),
            i.id().short().to_string(),
            human_size(i.size()),
            i.created()
                .and_then(parse_rfc3339)
                .map(|t| format!("{} ago", human_duration(now - t)))
                .unwrap_or_else(|| "N/A".into()),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(store: &ImageStore, reference: &str) -> anyhow::Result<ExitCode> {
    let i: Image = store.image(reference).map_err(store_err)?;
    let layers: Vec<serde_json::Value> = i
        .manifest
        .layers()
        .iter()
        .zip(i.diff_ids())
        .map(|(l, diff)| {
            serde_json::json!({
                "digest": l.digest().to_string(),
                "diffId": diff.to_string(),
                "mediaType": l.media_type().to_string(),
                "size": l.size(),
            })
        })
        .collect();
    let out = serde_json::json!({
        "Id": i.id().to_string(),
        "Name": i.reference.to_string(),
        "RepoTags": [i.reference.familiar()],
        "Digest": i.manifest_digest.to_string(),
        "Platform": i.platform,
        "Size": i.size(),
        "Created": i.created(),
        "Defaults": i.defaults(),
        "Config": i.config,
        "Manifest": i.manifest,
        "Layers": layers,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn remove(
    store: &ImageStore,
    references: &[String],
    force: bool,
    global: &GlobalArgs,
) -> anyhow::Result<ExitCode> {
    for r in references {
        let image = match store.remove(r, force) {
            Ok(i) => i,
            Err(StoreError::InUse {
                reference,
                id,
                holders,
            }) => {
                // Leases hold pod uids; the user knows pods by namespace/name.
                let holders = holders.iter().map(|h| pod_name(global, h)).collect();
                return Err(store_err(StoreError::InUse {
                    reference,
                    id,
                    holders,
                }));
            }
            Err(e) => return Err(store_err(e)),
        };
        println!("Untagged: {}", image.reference.familiar());
        let holders = store
            .lease_holders(&image.manifest_digest)
            .map_err(store_err)?;
        if !holders.is_empty() {
            let names: Vec<String> = holders.iter().map(|h| pod_name(global, h)).collect();
            eprintln!(
                "{}: {} still uses image {}; its layers are kept until released (then `image prune` removes them)",
                image.reference.familiar(),
                in_use_by(&names),
                image.id().short()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `namespace/name` of the pod with this uid, or the uid when it has no record.
fn pod_name(global: &GlobalArgs, uid: &str) -> String {
    minipod_pod::store::PodStore::open(&global.root_dir())
        .ok()
        .and_then(|s| s.load(uid).ok().flatten())
        .map(|r| format!("{}/{} ({uid})", r.namespace(), r.name()))
        .unwrap_or_else(|| uid.to_string())
}

/// Decimal units with three significant digits, as `docker images` prints sizes.
fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        return format!("{bytes}B");
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s}{}", units[u])
}

/// docker/go-units `HumanDuration`, coarse.
fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match () {
        _ if s < 1 => "Less than a second".into(),
        _ if s == 1 => "1 second".into(),
        _ if s < 60 => format!("{s} seconds"),
        _ if m == 1 => "About a minute".into(),
        _ if m < 60 => format!("{m} minutes"),
        _ if h == 1 => "About an hour".into(),
        _ if h < 48 => format!("{h} hours"),
        _ if h < 24 * 7 * 2 => format!("{d} days"),
        _ if h < 24 * 30 * 2 => format!("{} weeks", d / 7),
        _ if h < 24 * 365 * 2 => format!("{} months", d / 30),
        _ => format!("{} years", d / 365),
    }
}

/// Seconds since the epoch of an RFC 3339 time (`2022-01-01T00:00:00Z`, fractions and
/// offsets allowed).
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &s[19..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match rest {
        "Z" | "z" | "" => 0,
        o if o.len() == 6 => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o.get(1..3)?.parse::<i64>().ok()? * 3600
                + o.get(4..6)?.parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86400 + h * 3600 + mi * 60 + se - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_print_like_docker() {
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(12_300_000), "12.3MB");
        assert_eq!(parse_rfc3339("2022-01-01T00:00:00Z"), Some(1_640_995_200));
        assert_eq!(
            parse_rfc3339("2022-01-01T01:00:00.5+01:00"),
            Some(1_640_995_200)
        );
        assert_eq!(human_duration(3 * 86400), "3 days");
    }
}
