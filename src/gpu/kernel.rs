//! Compute kernels: one WGSL entry point with an explicit bind-group layout (group 0).
//!
//! # Kernel convention (all kernels of this project)
//! - `@compute @workgroup_size(64)`, 1-D (enforced by `build.rs`).
//! - More than 65535 workgroups are spread over a 2-D dispatch; the flat thread index is
//!   ```wgsl
//!   @compute @workgroup_size(64)
//!   fn main(@builtin(global_invocation_id) gid: vec3<u32>,
//!           @builtin(num_workgroups) nwg: vec3<u32>) {
//!       let i = gid.x + gid.y * (nwg.x * 64u);
//!       if i >= n { return; }   // the grid is rounded up: always guard
//!       ...
//!   }
//!   ```
//! - Bindings are `@group(0) @binding(k)` for `k = 0, 1, ...` in the order of the
//!   [`Binding`] list given to [`Kernel::new`]; `Binding::StorageRead` is `var<storage, read>`,
//!   `StorageReadWrite` is `var<storage, read_write>`, `Uniform` is `var<uniform>`.
//!
//! Typical use: create kernels and bind groups once, then per step record
//! [`Kernel::dispatch`] calls into one encoder and submit it.
use super::context::{GpuContext, GpuError};
use super::shader_source::try_shader_source;
use crate::config::Precision;

/// Threads per workgroup of every kernel.
pub const WORKGROUP_SIZE: u32 = 64;

/// Kind of one binding of group 0, in binding order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `var<storage, read>`
    StorageRead,
    /// `var<storage, read_write>`
    StorageReadWrite,
    /// `var<uniform>`
    Uniform,
}

impl Binding {
    fn ty(self) -> wgpu::BindingType {
        let ty = match self {
            Binding::StorageRead => wgpu::BufferBindingType::Storage { read_only: true },
            Binding::StorageReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
            Binding::Uniform => wgpu::BufferBindingType::Uniform,
        };
        wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        }
    }

    fn usage(self) -> wgpu::BufferUsages {
        match self {
            Binding::StorageRead | Binding::StorageReadWrite => wgpu::BufferUsages::STORAGE,
            Binding::Uniform => wgpu::BufferUsages::UNIFORM,
        }
    }
}

/// Workgroup counts `[x, y, 1]` covering `n_threads` threads with at most `max_per_row`
/// workgroups along x (`x * y * 64 >= n_threads`, rows as even as possible).
pub fn workgroup_grid(n_threads: u32, max_per_row: u32) -> [u32; 3] {
    let groups = n_threads.div_ceil(WORKGROUP_SIZE);
    let rows = groups.div_ceil(max_per_row.max(1));
    if rows <= 1 {
        return [groups, 1, 1];
    }
    [groups.div_ceil(rows), rows, 1]
}

/// A compiled compute pipeline and its bind-group layout.
#[derive(Debug)]
pub struct Kernel {
    name: String,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    bindings: Vec<Binding>,
    max_per_row: u32,
}

impl Kernel {
    /// Compiles `entry_point` of shader `shader` (a file stem in `shaders/`) for `precision`.
    /// A binding list that does not match the shader is an error here, not at dispatch.
    pub fn new(
        ctx: &GpuContext,
        shader: &str,
        precision: Precision,
        entry_point: &str,
        bindings: &[Binding],
    ) -> Result<Kernel, GpuError> {
        let name = format!("{shader}::{entry_point} ({precision:?})");
        if precision == Precision::F64 && !ctx.supports_f64() {
            return Err(GpuError::Kernel {
                kernel: name,
                message:
                    "the device was opened without SHADER_F64 (GpuContext::new(Precision::F32))"
                        .into(),
            });
        }
        let source = try_shader_source(shader, precision)
            .ok_or_else(|| GpuError::UnknownShader(shader.to_owned()))?;
        let ((layout, pipeline), error) = ctx.capture_errors(|| {
            let module = ctx
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(&name),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
            let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                    binding: i as u32,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: b.ty(),
                    count: None,
                })
                .collect();
            let layout = ctx
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(&name),
                    entries: &entries,
                });
            let pipeline_layout =
                ctx.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(&name),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let pipeline = ctx
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&name),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry_point),
                    compilation_options: Default::default(),
                    cache: None,
                });
            (layout, pipeline)
        });
        if let Some(e) = error {
            return Err(GpuError::Kernel {
                kernel: name,
                message: format!("{e}\n(binding list given: {bindings:?})"),
            });
        }
        Ok(Kernel {
            name,
            pipeline,
            layout,
            bindings: bindings.to_vec(),
            max_per_row: ctx.limits.max_compute_workgroups_per_dimension,
        })
    }

    /// `shader::entry (precision)`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Binds `buffers` (whole) in binding order.
    ///
    /// # Panics
    /// If the number of buffers or a buffer's usage does not match the binding list.
    pub fn bind(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        assert_eq!(
            buffers.len(),
            self.bindings.len(),
            "kernel {}: {} buffers given for bindings {:?}",
            self.name,
            buffers.len(),
            self.bindings
        );
        for (i, (b, buf)) in self.bindings.iter().zip(buffers).enumerate() {
            assert!(
                buf.usage().contains(b.usage()),
                "kernel {}: binding {i} is {b:?} but the buffer has usage {:?}",
                self.name,
                buf.usage()
            );
        }
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, buf)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buf.as_entire_binding(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&self.name),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Records a compute pass running `n_threads` threads (nothing if 0).
    pub fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        bind_group: &wgpu::BindGroup,
        n_threads: u32,
    ) {
        self.dispatch_with_row_limit(encoder, bind_group, n_threads, self.max_per_row);
    }

    /// As [`Kernel::dispatch`] with at most `max_per_row` workgroups along x (kept within the
    /// device limit on both axes); small values exercise the 2-D path in tests.
    pub fn dispatch_with_row_limit(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        bind_group: &wgpu::BindGroup,
        n_threads: u32,
        max_per_row: u32,
    ) {
        if n_threads == 0 {
            return;
        }
        let fewest = n_threads
            .div_ceil(WORKGROUP_SIZE)
            .div_ceil(self.max_per_row);
        let [x, y, z] = workgroup_grid(n_threads, max_per_row.clamp(fewest, self.max_per_row));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(&self.name),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }

    /// Binds, dispatches and submits in one go (does not wait). For tests and one-off work.
    pub fn run(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer], n_threads: u32) {
        let bind_group = self.bind(ctx, buffers);
        let mut encoder = ctx.encoder(&self.name);
        self.dispatch(&mut encoder, &bind_group, n_threads);
        ctx.submit(encoder);
    }
}
