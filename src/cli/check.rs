use std::path::Path;
pub fn check(_config: Option<&Path>, _set: &[String]) -> anyhow::Result<()> {
    anyhow::bail!("check: not yet wired")
}
