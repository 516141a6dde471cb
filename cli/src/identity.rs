//! Who is calling, for the audit of decisions taken from the terminal on the AWS
//! backend: `sts:GetCallerIdentity` (it needs no IAM permission, and answers with the
//! ARN of the user or assumed role whose credentials signed the call).

#[cfg(feature = "aws")]
pub fn caller_arn() -> anyhow::Result<String> {
    use anyhow::Context as _;
    // On a runtime of its own, on its own thread, as the engine's configuration is.
    std::thread::spawn(|| {
        crate::local::runtime()?.block_on(async {
            let deps = shared::adapters::aws::Deps::from_env().await.context(
                "the AWS backend needs its settings (eval \"$(scripts/emulator up)\" sets them for the local emulator)",
            )?;
            let sts = aws_sdk_sts::Client::new(&deps.config);
            let answer = sts
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sts::error::DisplayErrorContext(e)))
                .context("asking AWS who you are (sts:GetCallerIdentity) failed, so nothing was decided; check your AWS credentials")?;
            answer
                .arn()
                .map(str::to_string)
                .filter(|arn| !arn.is_empty())
                .context("sts:GetCallerIdentity answered without an ARN, so nothing was decided")
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("asking AWS who you are failed"))?
}

#[cfg(not(feature = "aws"))]
pub fn caller_arn() -> anyhow::Result<String> {
    anyhow::bail!(
        "this mirrorgate was built without the AWS backend; build it with: cargo build -p mirrorgate --features aws"
    )
}
