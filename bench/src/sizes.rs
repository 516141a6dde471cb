//! Sizes of the deployment artifacts: each function's zip as
//! `cargo lambda build --release --arm64 --output-format zip` (scripts/build-functions)
//! leaves it in target/lambda/<function>/bootstrap.zip, and the `bootstrap` in it.

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
        let path = args.lambda_dir.join(name).join("bootstrap.zip");
        let zip = std::fs::read(&path)
            .with_context(|| format!("{} is missing: run scripts/build-functions first", path.display()))?;
        let bootstrap_bytes =
            unzipped_size(&zip, "bootstrap").with_context(|| format!("{} holds no bootstrap", path.display()))?;
        let zip_bytes = zip.len() as u64;
        if bootstrap_bytes == 0 {
            bail!("{}: the bootstrap is empty", path.display());
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

/// The uncompressed size of the entry `name`, from the zip's central directory.
fn unzipped_size(zip: &[u8], name: &str) -> Option<u64> {
    let u16_at = |at: usize| zip.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize);
    let u32_at = |at: usize| {
        zip.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    // The end of central directory record: signature 0x06054b50, within the last 64 KiB + 22 bytes.
    let end = (0..=zip.len().checked_sub(22)?)
        .rev()
        .find(|&at| u32_at(at) == Some(0x0605_4b50))?;
    let entries = u16_at(end + 10)?;
    let mut at = u32_at(end + 16)?;
    for _ in 0..entries {
        if u32_at(at)? != 0x0201_4b50 {
            return None;
        }
        let size = u32_at(at + 24)?;
        let (name_len, extra_len, comment_len) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        if zip.get(at + 46..at + 46 + name_len)? == name.as_bytes() {
            return Some(size as u64);
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_of_an_entry_is_read_from_the_central_directory() {
        // A stored (uncompressed) zip of one file "bootstrap" holding "hello", made by Python's zipfile.
        let zip = [
            0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x86, 0xa6, 0x10, 0x36,
            0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x62, 0x6f, 0x6f, 0x74, 0x73, 0x74,
            0x72, 0x61, 0x70, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x86, 0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
            0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa4, 0x81, 0x00, 0x00, 0x00, 0x00,
            0x62, 0x6f, 0x6f, 0x74, 0x73, 0x74, 0x72, 0x61, 0x70, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x01, 0x00, 0x37, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(unzipped_size(&zip, "bootstrap"), Some(5));
        assert_eq!(unzipped_size(&zip, "other"), None);
        assert_eq!(unzipped_size(&zip[..10], "bootstrap"), None);
    }
}
