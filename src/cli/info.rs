pub fn info() -> anyhow::Result<()> {
    anyhow::bail!("info: not yet wired")
}
