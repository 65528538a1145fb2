//! Adapter selection and the device/queue pair ([`GpuContext`]).
//!
//! Selection: adapters of the primary backends (Vulkan, Metal, DX12) are enumerated first, GL
//! only when there is none. Among them: hardware before software (device type `Cpu`, e.g.
//! lavapipe), discrete before integrated before virtual; Vulkan first on ties. Environment:
//! `WGPU_BACKEND` (e.g. `vulkan`, `gl`) restricts the backends, `WGPU_ADAPTER_NAME` picks the first
//! adapter whose name contains it (case-insensitive), `WGPU_VALIDATION=1` / `WGPU_DEBUG=1` turn on
//! backend validation layers / debug labels (off by default: they are slow). Under MPI (issue 18) the ranks on
//! one node take the equally preferred adapters round-robin by node-local rank (one GPU per rank).
use crate::config::Precision;
use thiserror::Error;

/// Errors of the GPU layer. Messages are meant for the end user.
#[derive(Debug, Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found (wgpu backends tried: {backends}). Install a GPU driver with Vulkan support, \
         or the software Vulkan device (Debian/Ubuntu: `apt install mesa-vulkan-drivers libvulkan1`), \
         or use run.backend = \"cpu\""
    )]
    NoAdapter { backends: String },

    #[error("WGPU_ADAPTER_NAME={wanted:?} matches no adapter (available: {available})")]
    AdapterNotFound { wanted: String, available: String },

    #[error(
        "adapter {adapter} does not support 64-bit floats in shaders (SHADER_F64); \
         use run.precision = \"f32\" or run.backend = \"cpu\""
    )]
    NoF64 { adapter: String },

    #[error("could not open a device on adapter {adapter}: {source}")]
    RequestDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },

    #[error(
        "buffer {label:?} needs {bytes} bytes ({}), over the device limit {limit_name} = {limit} bytes ({}); \
         use a smaller lattice, run.precision = \"f32\", or run.backend = \"cpu\"",
        mib(*bytes), mib(*limit)
    )]
    BufferTooLarge {
        label: String,
        bytes: u64,
        limit: u64,
        limit_name: &'static str,
    },

    #[error("buffer {label:?}: {message}")]
    Buffer { label: String, message: String },

    #[error("GPU out of memory while creating {what} ({bytes} bytes)")]
    OutOfMemory { what: String, bytes: u64 },

    #[error("no shader named {0:?} is embedded (see shaders/)")]
    UnknownShader(String),

    #[error("kernel {kernel}: {message}")]
    Kernel { kernel: String, message: String },

    #[error("waiting for the GPU failed: {0}")]
    Poll(#[from] wgpu::PollError),
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// What cqgrav knows about one adapter without opening it.
#[derive(Debug, Clone)]
pub struct AdapterReport {
    pub info: wgpu::AdapterInfo,
    pub features: wgpu::Features,
    pub limits: wgpu::Limits,
}

impl AdapterReport {
    fn of(adapter: &wgpu::Adapter) -> Self {
        Self {
            info: adapter.get_info(),
            features: adapter.features(),
            limits: adapter.limits(),
        }
    }

    /// Whether f64 can be used in shaders (`SHADER_F64`).
    pub fn supports_f64(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_F64)
    }

    /// Software rasteriser (device type `Cpu`: lavapipe/llvmpipe, SwiftShader, WARP).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// `name (backend, device type)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// Sort key: lower is preferred.
    fn rank(&self) -> (u8, u8) {
        let device = match self.info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        let backend = match self.info.backend {
            wgpu::Backend::Vulkan => 0,
            wgpu::Backend::Metal => 1,
            wgpu::Backend::Dx12 => 2,
            wgpu::Backend::Gl => 3,
            _ => 4,
        };
        (device, backend)
    }
}

/// Adapters in cqgrav's preference order (see the module docs), with the index of the one
/// [`GpuContext::new`] would open (`None`: no usable adapter).
#[derive(Debug, Clone)]
pub struct AdapterList {
    pub adapters: Vec<AdapterReport>,
    pub chosen: Option<usize>,
    /// Set when `WGPU_ADAPTER_NAME` matched nothing.
    pub name_filter_unmatched: Option<String>,
}

impl AdapterList {
    /// The adapter [`GpuContext::new`] would open.
    pub fn chosen(&self) -> Option<&AdapterReport> {
        self.chosen.map(|i| &self.adapters[i])
    }
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    desc.flags = wgpu::InstanceFlags::empty().with_env();
    wgpu::Instance::new(desc)
}

/// Backends to enumerate, in order: `WGPU_BACKEND` if set, else primary then GL.
fn backend_tiers() -> Vec<wgpu::Backends> {
    match wgpu::Backends::from_env() {
        Some(b) => vec![b],
        None => vec![wgpu::Backends::PRIMARY, wgpu::Backends::SECONDARY],
    }
}

/// Enumerates `backends` and returns the usable adapters sorted best-first.
fn enumerate(backends: wgpu::Backends) -> Vec<(wgpu::Adapter, AdapterReport)> {
    let instance = instance(backends);
    let mut adapters: Vec<_> = pollster::block_on(instance.enumerate_adapters(backends))
        .into_iter()
        .map(|a| {
            let r = AdapterReport::of(&a);
            (a, r)
        })
        .filter(|(_, r)| r.info.backend != wgpu::Backend::Noop)
        .collect();
    adapters.sort_by_key(|(_, r)| r.rank()); // stable: ties keep wgpu's order
    adapters
}

fn name_filter() -> Option<String> {
    std::env::var("WGPU_ADAPTER_NAME")
        .ok()
        .filter(|s| !s.is_empty())
}

fn select(reports: &[&AdapterReport], filter: Option<&str>) -> Option<usize> {
    match filter {
        Some(f) => {
            let f = f.to_lowercase();
            reports
                .iter()
                .position(|r| r.info.name.to_lowercase().contains(&f))
        }
        // issue 18: the ranks of an MPI run on one node share its best adapters round-robin by node-local rank
        None => {
            let best = reports.iter().take_while(|r| r.rank() == reports.first().map_or((0, 0), |f| f.rank())).count();
            (!reports.is_empty()).then(|| crate::parallel::world().node_rank() % best)
        }
    }
}

/// Every adapter wgpu sees on all backend tiers (GL included, unlike [`GpuContext::new`] when a
/// primary adapter exists), best-first, with the one cqgrav would choose.
pub fn list_adapters() -> AdapterList {
    let filter = name_filter();
    let mut adapters = Vec::new();
    let mut chosen = None;
    for backends in backend_tiers() {
        let tier: Vec<AdapterReport> = enumerate(backends).into_iter().map(|(_, r)| r).collect();
        if chosen.is_none() {
            chosen = select(&tier.iter().collect::<Vec<_>>(), filter.as_deref())
                .map(|i| adapters.len() + i);
        }
        adapters.extend(tier);
    }
    let name_filter_unmatched = filter.filter(|_| chosen.is_none() && !adapters.is_empty());
    AdapterList {
        adapters,
        chosen,
        name_filter_unmatched,
    }
}

/// `vulkan, gl`: the backends of `b` compiled into this build.
fn backend_names(b: wgpu::Backends) -> String {
    let names: Vec<String> = (b & wgpu::Instance::enabled_backend_features())
        .iter_names()
        .map(|(n, _)| n.to_lowercase())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Names of `reports` for error messages.
fn names(reports: &[AdapterReport]) -> String {
    let names: Vec<String> = reports.iter().map(AdapterReport::describe).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join("; ")
    }
}

/// An open device on the chosen adapter.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    /// Features enabled on `device` (`SHADER_F64` when opened for f64).
    pub features: wgpu::Features,
    /// Limits of `device`: the adapter's own, not wgpu's defaults.
    pub limits: wgpu::Limits,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("info", &self.info)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
}

impl GpuContext {
    /// Opens the preferred adapter (module docs), with `SHADER_F64` when `precision` is f64
    /// and the adapter's own limits (e.g. storage bindings over wgpu's 128 MiB default).
    pub fn new(precision: Precision) -> Result<GpuContext, GpuError> {
        Self::new_with_features(precision, wgpu::Features::empty())
    }

    /// As [`GpuContext::new`], also requesting the features of `extra` that the chosen adapter supports
    /// (opt-in, e.g. `TIMESTAMP_QUERY | TIMESTAMP_QUERY_INSIDE_ENCODERS` for `cqgrav bench`). Unsupported ones
    /// are left out without an error: check [`GpuContext::features`] for what was enabled.
    pub fn new_with_features(precision: Precision, extra: wgpu::Features) -> Result<GpuContext, GpuError> {
        let filter = name_filter();
        let mut seen = Vec::new();
        let mut tried = wgpu::Backends::empty();
        for backends in backend_tiers() {
            tried |= backends;
            let tier = enumerate(backends);
            let reports: Vec<&AdapterReport> = tier.iter().map(|(_, r)| r).collect();
            if let Some(i) = select(&reports, filter.as_deref()) {
                let (adapter, report) = &tier[i];
                return Self::open(adapter, report, precision, extra);
            }
            seen.extend(tier.into_iter().map(|(_, r)| r));
        }
        match filter {
            Some(wanted) if !seen.is_empty() => Err(GpuError::AdapterNotFound {
                wanted,
                available: names(&seen),
            }),
            _ => Err(GpuError::NoAdapter {
                backends: backend_names(tried),
            }),
        }
    }

    fn open(
        adapter: &wgpu::Adapter,
        report: &AdapterReport,
        precision: Precision,
        extra: wgpu::Features,
    ) -> Result<GpuContext, GpuError> {
        let mut features = extra & report.features;
        if precision == Precision::F64 {
            if !report.supports_f64() {
                return Err(GpuError::NoF64 {
                    adapter: report.describe(),
                });
            }
            features |= wgpu::Features::SHADER_F64;
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("cqgrav"),
            required_features: features,
            required_limits: report.limits.clone(),
            ..Default::default()
        };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&desc)).map_err(|source| {
                GpuError::RequestDevice {
                    adapter: report.describe(),
                    source,
                }
            })?;
        Ok(GpuContext {
            features: device.features(),
            limits: device.limits(),
            info: report.info.clone(),
            device,
            queue,
        })
    }

    /// Whether the device is a software rasteriser (lavapipe etc.): correct but slow.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Whether f64 shaders can run on this device (`SHADER_F64` enabled).
    pub fn supports_f64(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_F64)
    }

    /// `name (backend, device type)`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {:?})",
            self.info.name, self.info.backend, self.info.device_type
        )
    }

    /// A new command encoder.
    pub fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }

    /// Submits `encoder`'s commands (does not wait).
    pub fn submit(&self, encoder: wgpu::CommandEncoder) {
        self.queue.submit([encoder.finish()]);
    }

    /// Blocks until all submitted work has finished.
    pub fn wait(&self) -> Result<(), GpuError> {
        self.device.poll(wgpu::PollType::wait_indefinitely())?;
        Ok(())
    }

    /// Runs `f` inside error scopes and returns the first wgpu error it raised (instead of
    /// wgpu's default of panicking). For object creation, not for hot loops.
    pub fn capture_errors<T>(&self, f: impl FnOnce() -> T) -> (T, Option<wgpu::Error>) {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let value = f();
        // Scopes pop in reverse order of pushing.
        let errors = [internal.pop(), validation.pop(), oom.pop()].map(pollster::block_on);
        (value, errors.into_iter().flatten().next())
    }
}
