//! placeholder (in progress)
use crate::backend::StepperSetup;
use crate::gpu::GpuContext;
use crate::state::State;
use super::quantum::FieldBuffers;
pub struct GpuFourierField;
impl GpuFourierField {
    pub fn new(_: &GpuContext, _: &StepperSetup, _: &State, _: FieldBuffers<'_>) -> anyhow::Result<Box<dyn super::quantum::GpuQuantumField>> {
        anyhow::bail!("in progress")
    }
}
