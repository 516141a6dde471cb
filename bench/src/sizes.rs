//! Sizes of the deployment artifacts: each function's `bootstrap` and its zip as
//! `cargo lambda build --release --arm64 --output-format zip` leaves them in
//! target/lambda/<function>/.

use std::path::PathBuf;

use anyhow::{bail, Context as _};

use crate::results::{Artifact, Sizes};

#[derive(clap::Args)]
pub struct Args {
    /// cargo lambda's output directory.
    #[arg(long, value_name = "DIR", default_value = "target/lambda")]
    pub lambda_dir: PathBuf,
    /// The artifacts to measure (directories under --lambda-dir).
    #[arg(long, value_delimiter = ',', required = true)]
    pub names: Vec<String>,
    #[arg(long, default_value = "aarch64 (cargo lambda build --release --arm64)")]
    pub target: String,
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut artifacts = Vec::new();
    for name in &args.names {
        let dir = args.lambda_dir.join(name);
        let size = |file: &str| {
            let path = dir.join(file);
            std::fs::metadata(&path)
                .map(|m| m.len())
                .with_context(|| format!("{} is missing: run cargo lambda build first", path.display()))
        };
        let bootstrap_bytes = size("bootstrap")?;
        let zip_bytes = size("bootstrap.zip")?;
        if zip_bytes == 0 || bootstrap_bytes == 0 {
            bail!("empty artifact in {}", dir.display());
        }
        artifacts.push(Artifact {
            name: name.clone(),
            bootstrap_bytes,
            zip_bytes,
        });
    }
    crate::write_json(
        &args.out,
        &Sizes {
            target: args.target,
            artifacts,
        },
    )
}
