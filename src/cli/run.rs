use std::path::Path;
pub fn run(_config: Option<&Path>, _set: &[String], _quiet: bool) -> anyhow::Result<()> {
    anyhow::bail!("run: not yet wired")
}
