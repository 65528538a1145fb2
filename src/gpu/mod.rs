//! wgpu plumbing: adapter and device ([`GpuContext`]), buffers, shader variants, kernels.
//! No physics here.
pub mod buffers;
pub mod context;
pub mod kernel;
pub mod shader_source;

pub use context::{list_adapters, AdapterList, AdapterReport, GpuContext, GpuError};
pub use kernel::{workgroup_grid, Binding, Kernel, WORKGROUP_SIZE};
pub use shader_source::{shader_names, shader_source, try_shader_source};
