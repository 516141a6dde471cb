//! `mirrorgate topology`: check a topology file here, push it to Parameter Store
//! (one parameter per mirror, where the stack reads it), show what the stack reads.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use shared::topology::{parameter_path, MirrorParameter, Topology, STANDARD_PARAMETER_BYTES};

use crate::local::Backend;

/// The Parameter Store path the stack reads (the template's TopologyPath output).
pub const ENV_TOPOLOGY_PATH: &str = "MIRRORGATE_TOPOLOGY_PATH";

#[derive(Args, Debug)]
pub struct TopologyArgs {
    #[command(subcommand)]
    pub command: TopologyCommand,
    /// Set from the global `--backend` option.
    #[arg(skip)]
    pub backend: Backend,
}

#[derive(Subcommand, Debug)]
pub enum TopologyCommand {
    /// Validate a topology file here (no AWS): every mirror, and that each fits a
    /// Parameter Store parameter (4 KB standard, 8 KB advanced).
    Check {
        /// The topology file.
        file: PathBuf,
    },
    /// Validate a topology file and write one parameter per mirror under the stack's
    /// path, overwriting (needs --backend aws and credentials that may
    /// ssm:PutParameter there). Mirrors no longer in the file are removed only with --prune.
    Push {
        file: PathBuf,
        /// The stack's Parameter Store path (its TopologyPath output); default
        /// $MIRRORGATE_TOPOLOGY_PATH.
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// Delete the parameters of mirrors that are not in FILE.
        #[arg(long)]
        prune: bool,
    },
    /// Print the parameters the stack reads, and whether together they are a valid
    /// topology (needs --backend aws).
    Show {
        /// The stack's Parameter Store path; default $MIRRORGATE_TOPOLOGY_PATH.
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
    },
}

pub fn run(args: TopologyArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TopologyCommand::Check { file } => check(&file),
        TopologyCommand::Push { file, path, prune } => {
            let path = the_path(path)?;
            needs_aws(args.backend, "push")?;
            push(&file, &path, prune)
        }
        TopologyCommand::Show { path } => {
            let path = the_path(path)?;
            needs_aws(args.backend, "show")?;
            show(&path)
        }
    }
}

fn the_path(path: Option<String>) -> anyhow::Result<String> {
    let path = path
        .or_else(|| std::env::var(ENV_TOPOLOGY_PATH).ok().filter(|p| !p.trim().is_empty()))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "which Parameter Store path? give --path /mirrorgate/<stack>/mirrors (the stack's TopologyPath \
                 output) or set {ENV_TOPOLOGY_PATH}"
            )
        })?;
    parameter_path(&path).map_err(|e| anyhow::anyhow!("--path: {e}"))
}

fn needs_aws(backend: Backend, what: &str) -> anyhow::Result<()> {
    if backend != Backend::Aws {
        anyhow::bail!(
            "topology {what} talks to Parameter Store: run it as mirrorgate --backend aws topology {what} ... \
             (topology check needs no AWS)"
        );
    }
    Ok(())
}

/// The file's parameters, validated; errors name the file, the mirror and the field.
fn parameters(file: &std::path::Path, path: &str) -> anyhow::Result<(Topology, Vec<MirrorParameter>)> {
    let topology = Topology::load(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let parameters = topology.to_parameters(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((topology, parameters))
}

fn tier(p: &MirrorParameter) -> &'static str {
    if p.needs_advanced_tier() {
        "advanced tier"
    } else {
        "standard tier"
    }
}

fn check(file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let (topology, parameters) = parameters(file, "/check")?;
    println!("{}: valid, {} mirror(s)", file.display(), topology.mirrors.len());
    for p in &parameters {
        let members = topology.mirror(&p.mirror).map_or(0, |m| m.members.len());
        println!(
            "  {}: {members} members, {} bytes as a parameter ({}{})",
            p.mirror,
            p.value.len(),
            tier(p),
            if p.needs_advanced_tier() {
                format!(": over the standard tier's {STANDARD_PARAMETER_BYTES}; advanced parameters are charged")
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "aws")]
fn store(path: &str) -> anyhow::Result<shared::adapters::aws::TopologyParameters> {
    use anyhow::Context as _;
    let path = path.to_string();
    std::thread::spawn(move || -> anyhow::Result<_> {
        let config = crate::local::runtime()?.block_on(shared::adapters::aws::load_sdk_config(
            shared::adapters::aws::DEFAULT_MAX_ATTEMPTS,
        ));
        if config.region().is_none() {
            anyhow::bail!("no AWS region: set AWS_REGION to the stack's region");
        }
        Ok(shared::adapters::aws::TopologyParameters::from_config(&config, &path))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("loading the AWS configuration failed"))?
    .context("the AWS backend needs its settings (eval \"$(scripts/emulator up)\" sets them for the local emulator)")
}

#[cfg(feature = "aws")]
fn push(file: &std::path::Path, path: &str, prune: bool) -> anyhow::Result<ExitCode> {
    let (topology, parameters) = parameters(file, path)?;
    let store = store(path)?;
    let runtime = crate::local::runtime()?;
    let existing = runtime.block_on(store.read_all()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
    let stale: Vec<(String, String)> = existing
        .iter()
        .filter(|(name, _)| !names.contains(&name.as_str()))
        .cloned()
        .collect();
    // What the stack will read afterwards must itself be a valid topology: checked
    // before anything is written.
    if !prune && !stale.is_empty() {
        let mut after: Vec<(String, String)> = parameters.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
        after.extend(stale.iter().cloned());
        after.sort();
        if let Err(e) = Topology::from_parameters(path, &after) {
            anyhow::bail!(
                "nothing was written: with the parameters already under {path} that are not in {} ({}), the stack \
                 would read an invalid topology: {e}\n  (run again with --prune to delete them)",
                file.display(),
                stale.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let written = runtime
        .block_on(store.push(&parameters))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}: {} mirror(s) written under {path}",
        file.display(),
        topology.mirrors.len()
    );
    for w in &written {
        println!(
            "  wrote {} ({} bytes, {} tier, version {})",
            w.name,
            w.bytes,
            if w.advanced { "advanced" } else { "standard" },
            w.version
        );
    }
    let stale_names: Vec<String> = stale.into_iter().map(|(n, _)| n).collect();
    if prune && !stale_names.is_empty() {
        runtime
            .block_on(store.delete(&stale_names))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for name in &stale_names {
            println!("  deleted {name} (not in {})", file.display());
        }
    } else {
        for name in &stale_names {
            println!(
                "  left {name}: its mirror is not in {} but the stack still reads it (--prune deletes it)",
                file.display()
            );
        }
    }
    println!("Running functions read it within 5 minutes; new ones at their start.");
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "aws")]
fn show(path: &str) -> anyhow::Result<ExitCode> {
    let store = store(path)?;
    let runtime = crate::local::runtime()?;
    let parameters = runtime.block_on(store.read_all()).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (name, value) in &parameters {
        println!("# {name} ({} bytes)\n{}", value.len(), value.trim_end());
        println!();
    }
    match Topology::from_parameters(path, &parameters) {
        Ok(topology) => {
            println!(
                "# {path}: {} parameter(s), a valid topology of {} mirror(s): {}",
                parameters.len(),
                topology.mirrors.len(),
                topology
                    .mirrors
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("mirrorgate: the stack cannot use what it reads under {path}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(not(feature = "aws"))]
fn push(_file: &std::path::Path, _path: &str, _prune: bool) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "this mirrorgate was built without the AWS backend; build it with: cargo build -p mirrorgate --features aws"
    )
}

#[cfg(not(feature = "aws"))]
fn show(_path: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "this mirrorgate was built without the AWS backend; build it with: cargo build -p mirrorgate --features aws"
    )
}
