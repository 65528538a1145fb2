//! Buffer helpers on [`GpuContext`]: storage and uniform buffers, writes, copies, read-back.
//!
//! Storage buffers get `STORAGE | COPY_SRC | COPY_DST` usage, so any of them can be written,
//! copied and read back. Sizes are checked against the device limits before allocating.
use super::context::{GpuContext, GpuError};
use bytemuck::Pod;
use wgpu::util::DeviceExt;

const ALIGN: u64 = wgpu::COPY_BUFFER_ALIGNMENT;
/// Uniform buffers are padded to this, so a Rust struct slightly shorter than its WGSL
/// counterpart (trailing padding) still binds.
const UNIFORM_ALIGN: u64 = 16;

const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

fn round_up(x: u64, to: u64) -> u64 {
    x.div_ceil(to) * to
}

fn buffer_err(label: &str, message: impl Into<String>) -> GpuError {
    GpuError::Buffer {
        label: label.to_owned(),
        message: message.into(),
    }
}

/// wgpu does not expose a buffer's label: describe it by size.
fn label_of(buffer: &wgpu::Buffer) -> String {
    format!("<{} bytes>", buffer.size())
}

impl GpuContext {
    /// Largest storage buffer (bytes) that can be created and bound whole.
    pub fn max_storage_bytes(&self) -> u64 {
        self.limits
            .max_buffer_size
            .min(self.limits.max_storage_buffer_binding_size)
    }

    /// Checks that a storage buffer of `bytes` can be created and bound whole.
    pub fn check_storage_size(&self, label: &str, bytes: u64) -> Result<(), GpuError> {
        if bytes == 0 {
            return Err(buffer_err(label, "a storage buffer cannot be empty"));
        }
        let (limit, limit_name) =
            if self.limits.max_storage_buffer_binding_size <= self.limits.max_buffer_size {
                (
                    self.limits.max_storage_buffer_binding_size,
                    "max_storage_buffer_binding_size",
                )
            } else {
                (self.limits.max_buffer_size, "max_buffer_size")
            };
        if bytes > limit {
            return Err(GpuError::BufferTooLarge {
                label: label.to_owned(),
                bytes,
                limit,
                limit_name,
            });
        }
        Ok(())
    }

    fn create_checked(
        &self,
        label: &str,
        bytes: u64,
        create: impl FnOnce() -> wgpu::Buffer,
    ) -> Result<wgpu::Buffer, GpuError> {
        match self.capture_errors(create) {
            (buffer, None) => Ok(buffer),
            (_, Some(wgpu::Error::OutOfMemory { .. })) => Err(GpuError::OutOfMemory {
                what: format!("buffer {label:?}"),
                bytes,
            }),
            (_, Some(e)) => Err(buffer_err(label, e.to_string())),
        }
    }

    /// A storage buffer holding `data`.
    pub fn storage_buffer<T: Pod>(
        &self,
        label: &str,
        data: &[T],
    ) -> Result<wgpu::Buffer, GpuError> {
        let contents: &[u8] = bytemuck::cast_slice(data);
        let bytes = round_up(contents.len() as u64, ALIGN);
        self.check_storage_size(label, bytes)?;
        self.create_checked(label, bytes, || {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage: STORAGE_USAGE,
                })
        })
    }

    /// A zero-filled storage buffer of `bytes` (rounded up to a multiple of 4).
    pub fn storage_buffer_zeroed(&self, label: &str, bytes: u64) -> Result<wgpu::Buffer, GpuError> {
        let bytes = round_up(bytes, ALIGN);
        self.check_storage_size(label, bytes)?;
        // wgpu zero-initialises buffers that are not mapped at creation.
        self.create_checked(label, bytes, || {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage: STORAGE_USAGE,
                mapped_at_creation: false,
            })
        })
    }

    /// A uniform buffer holding `value`, padded to a multiple of 16 bytes. `T` must match the
    /// WGSL struct layout (e.g. `{ a: f64, n: u32 }` is 16 bytes: add explicit padding fields).
    pub fn uniform_buffer<T: Pod>(&self, label: &str, value: &T) -> Result<wgpu::Buffer, GpuError> {
        let raw = bytemuck::bytes_of(value);
        let bytes = round_up(raw.len().max(1) as u64, UNIFORM_ALIGN);
        let limit = self.limits.max_uniform_buffer_binding_size;
        if bytes > limit {
            return Err(GpuError::BufferTooLarge {
                label: label.to_owned(),
                bytes,
                limit,
                limit_name: "max_uniform_buffer_binding_size",
            });
        }
        let mut contents = raw.to_vec();
        contents.resize(bytes as usize, 0);
        self.create_checked(label, bytes, || {
            self.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents: &contents,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                })
        })
    }

    /// Queues a write of `data` at byte `offset` (both multiples of 4 bytes); it lands before
    /// the next submitted commands run.
    pub fn write_buffer<T: Pod>(
        &self,
        buffer: &wgpu::Buffer,
        offset: u64,
        data: &[T],
    ) -> Result<(), GpuError> {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let len = bytes.len() as u64;
        if !buffer.usage().contains(wgpu::BufferUsages::COPY_DST) {
            return Err(buffer_err(
                &label_of(buffer),
                "not writable (created without COPY_DST)",
            ));
        }
        if !offset.is_multiple_of(ALIGN) || !len.is_multiple_of(ALIGN) {
            return Err(buffer_err(
                &label_of(buffer),
                format!(
                    "write of {len} bytes at offset {offset}: both must be multiples of {ALIGN}"
                ),
            ));
        }
        if offset + len > buffer.size() {
            return Err(buffer_err(
                &label_of(buffer),
                format!(
                    "write of {len} bytes at offset {offset} overruns the buffer ({} bytes)",
                    buffer.size()
                ),
            ));
        }
        self.queue.write_buffer(buffer, offset, bytes);
        Ok(())
    }

    /// Reads the whole buffer back as `T`s (`size / size_of::<T>()` of them). Blocks.
    pub fn read_buffer<T: Pod>(&self, buffer: &wgpu::Buffer) -> Result<Vec<T>, GpuError> {
        let n = buffer.size() as usize / std::mem::size_of::<T>().max(1);
        self.read_buffer_range(buffer, 0, n)
    }

    /// Reads `count` elements of type `T` starting at element `first`. Blocks until all
    /// previously submitted work is done.
    pub fn read_buffer_range<T: Pod>(
        &self,
        buffer: &wgpu::Buffer,
        first: usize,
        count: usize,
    ) -> Result<Vec<T>, GpuError> {
        let size = std::mem::size_of::<T>() as u64;
        let (start, end) = (first as u64 * size, (first + count) as u64 * size);
        if end > buffer.size() {
            return Err(buffer_err(
                &label_of(buffer),
                format!(
                    "read of bytes {start}..{end} is outside the buffer ({} bytes)",
                    buffer.size()
                ),
            ));
        }
        if count == 0 || size == 0 {
            return Ok(Vec::new());
        }
        // Copies must be 4-byte aligned: widen the range, then cut.
        let (a_start, a_end) = (
            start / ALIGN * ALIGN,
            round_up(end, ALIGN).min(buffer.size()),
        );
        let bytes = self.read_byte_ranges(buffer, &[a_start..a_end])?;
        let skip = (start - a_start) as usize;
        Ok(bytemuck::pod_collect_to_vec(&bytes[skip..skip + (end - start) as usize]))
    }

    /// Reads the element ranges `regions` of `buffer` (elements of `T`, 4 or 8 bytes) into one vector, one
    /// region after the other, through one staging buffer and one wait (issue 18: the halo planes of a slab).
    pub fn read_regions<T: Pod>(
        &self,
        buffer: &wgpu::Buffer,
        regions: &[std::ops::Range<usize>],
    ) -> Result<Vec<T>, GpuError> {
        self.read_regions_via(buffer, regions, &mut None)
    }

    /// [`Self::read_regions`] through the caller's staging buffer `staging`, created on the first call and
    /// replaced only when a read needs more room (the halo exchange of every RK stage reuses one).
    pub fn read_regions_via<T: Pod>(
        &self,
        buffer: &wgpu::Buffer,
        regions: &[std::ops::Range<usize>],
        staging: &mut Option<wgpu::Buffer>,
    ) -> Result<Vec<T>, GpuError> {
        let size = std::mem::size_of::<T>() as u64;
        if size % ALIGN != 0 {
            return Err(buffer_err(&label_of(buffer), format!("regions of {size}-byte elements are not copy-aligned")));
        }
        let bytes: Vec<_> = regions.iter().map(|r| r.start as u64 * size..r.end as u64 * size).collect();
        if let Some(r) = bytes.iter().find(|r| r.end > buffer.size() || r.start > r.end) {
            return Err(buffer_err(
                &label_of(buffer),
                format!("read of bytes {}..{} is outside the buffer ({} bytes)", r.start, r.end, buffer.size()),
            ));
        }
        Ok(bytemuck::pod_collect_to_vec(&self.read_byte_ranges_via(buffer, &bytes, staging)?))
    }

    /// The bytes of the aligned `ranges` of `buffer`, concatenated. Blocks until all previously submitted work
    /// is done.
    fn read_byte_ranges(&self, buffer: &wgpu::Buffer, ranges: &[std::ops::Range<u64>]) -> Result<Vec<u8>, GpuError> {
        self.read_byte_ranges_via(buffer, ranges, &mut None)
    }

    /// [`Self::read_byte_ranges`] through `staging` (kept when large enough, else replaced by a new one).
    fn read_byte_ranges_via(&self, buffer: &wgpu::Buffer, ranges: &[std::ops::Range<u64>], staging: &mut Option<wgpu::Buffer>) -> Result<Vec<u8>, GpuError> {
        let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        if total == 0 {
            return Ok(Vec::new());
        }
        if !buffer.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(buffer_err(
                &label_of(buffer),
                "not readable (created without COPY_SRC)",
            ));
        }
        let staging_size = round_up(total, ALIGN);
        if staging.as_ref().is_none_or(|b| b.size() < staging_size) {
            *staging = Some(self.create_checked("readback staging", staging_size, || {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("cqgrav readback"),
                    size: staging_size,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })?);
        }
        let staging = staging.as_ref().expect("created above");
        let mut encoder = self.encoder("cqgrav readback");
        let mut at = 0;
        for r in ranges.iter().filter(|r| r.end > r.start) {
            encoder.copy_buffer_to_buffer(buffer, r.start, &staging, at, r.end - r.start);
            at += r.end - r.start;
        }
        self.submit(encoder);

        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..staging_size).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .map_err(|_| buffer_err("readback staging", "map callback never ran"))?
            .map_err(|e| buffer_err("readback staging", format!("mapping for read failed: {e}")))?;
        let out = {
            let view = staging
                .slice(..staging_size)
                .get_mapped_range()
                .map_err(|e| buffer_err("readback staging", format!("mapped range: {e}")))?;
            view[..total as usize].to_vec()
        };
        staging.unmap();
        Ok(out)
    }

    /// Reads `count` reals of the run's `precision` from the start of `buffer`, as f64. Blocks.
    pub fn read_reals(
        &self,
        buffer: &wgpu::Buffer,
        count: usize,
        precision: crate::config::Precision,
    ) -> Result<Vec<f64>, GpuError> {
        Ok(match precision {
            crate::config::Precision::F64 => self.read_buffer_range::<f64>(buffer, 0, count)?,
            crate::config::Precision::F32 => self
                .read_buffer_range::<f32>(buffer, 0, count)?
                .into_iter()
                .map(f64::from)
                .collect(),
        })
    }

    /// Records a copy of the whole `src` into the start of `dst`.
    pub fn encode_copy(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        dst: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        if src.size() > dst.size() {
            return Err(buffer_err(
                &label_of(dst),
                format!(
                    "copy destination ({} bytes) is smaller than the source {} ({} bytes)",
                    dst.size(),
                    label_of(src),
                    src.size()
                ),
            ));
        }
        if !src.usage().contains(wgpu::BufferUsages::COPY_SRC) {
            return Err(buffer_err(
                &label_of(src),
                "cannot be copied from (created without COPY_SRC)",
            ));
        }
        if !dst.usage().contains(wgpu::BufferUsages::COPY_DST) {
            return Err(buffer_err(
                &label_of(dst),
                "cannot be copied to (created without COPY_DST)",
            ));
        }
        encoder.copy_buffer_to_buffer(src, 0, dst, 0, src.size());
        Ok(())
    }

    /// Copies the whole `src` into the start of `dst` now (submitted, not waited for).
    pub fn copy_buffer(&self, src: &wgpu::Buffer, dst: &wgpu::Buffer) -> Result<(), GpuError> {
        let mut encoder = self.encoder("cqgrav copy");
        self.encode_copy(&mut encoder, src, dst)?;
        self.submit(encoder);
        Ok(())
    }
}
