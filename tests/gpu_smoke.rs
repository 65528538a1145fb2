//! GPU plumbing smoke tests: `shaders/copy_scale.wgsl` (y = a * x) in f32 and f64 against the CPU.
//!
//! They run on any adapter, the software Vulkan device (lavapipe) included. With no adapter at
//! all they fail, unless `CQGRAV_ALLOW_NO_GPU=1` is set.
use bytemuck::{Pod, Zeroable};
use cqgrav::config::Precision;
use cqgrav::gpu::{workgroup_grid, Binding, GpuContext, GpuError, Kernel};

/// `struct Params { a: real, n: u32 }` for `real = f32`: 8 bytes.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ParamsF32 {
    a: f32,
    n: u32,
}

/// The same for `real = f64`: WGSL rounds the size up to the 8-byte alignment, 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ParamsF64 {
    a: f64,
    n: u32,
    _pad: u32,
}

/// Opens the GPU, or returns `None` (test passes vacuously) when there is no adapter and
/// `CQGRAV_ALLOW_NO_GPU=1`; any other failure fails the test.
fn context(precision: Precision) -> Option<GpuContext> {
    match GpuContext::new(precision) {
        Ok(ctx) => {
            eprintln!("gpu_smoke: using {}", ctx.describe());
            Some(ctx)
        }
        Err(e @ GpuError::NoAdapter { .. }) if std::env::var("CQGRAV_ALLOW_NO_GPU").as_deref() == Ok("1") => {
            eprintln!("gpu_smoke: SKIPPED (CQGRAV_ALLOW_NO_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e}\n(set CQGRAV_ALLOW_NO_GPU=1 to skip the GPU tests on a machine without any GPU adapter)"),
    }
}

/// Deterministic values in about ±1000, no denormals (software rasterisers may flush them).
fn inputs(n: usize) -> Vec<f64> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2000.0
        })
        .collect()
}

const SENTINEL: f64 = -7.25;

/// Runs copy_scale on `len` elements with `n` active threads; returns y.
/// `row_limit` caps workgroups per dispatch row (forces the 2-D path on small inputs).
fn run_copy_scale<T: Pod>(
    ctx: &GpuContext,
    precision: Precision,
    x: &[T],
    y0: &[T],
    params: &impl Pod,
    n: u32,
    row_limit: Option<u32>,
) -> Vec<T> {
    let kernel = Kernel::new(
        ctx,
        "copy_scale",
        precision,
        "main",
        &[
            Binding::StorageRead,
            Binding::StorageReadWrite,
            Binding::Uniform,
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let xb = ctx.storage_buffer("x", x).unwrap();
    let yb = ctx.storage_buffer("y", y0).unwrap();
    let pb = ctx.uniform_buffer("params", params).unwrap();
    let bind_group = kernel.bind(ctx, &[&xb, &yb, &pb]);
    let mut encoder = ctx.encoder("copy_scale test");
    match row_limit {
        Some(r) => kernel.dispatch_with_row_limit(&mut encoder, &bind_group, n, r),
        None => kernel.dispatch(&mut encoder, &bind_group, n),
    }
    ctx.submit(encoder);
    ctx.read_buffer(&yb).unwrap()
}

fn check_f32(ctx: &GpuContext, len: usize, n: usize, row_limit: Option<u32>) {
    let a = 1.7f32;
    let x: Vec<f32> = inputs(len).iter().map(|&v| v as f32).collect();
    let y0 = vec![SENTINEL as f32; len];
    let y = run_copy_scale(
        ctx,
        Precision::F32,
        &x,
        &y0,
        &ParamsF32 { a, n: n as u32 },
        n as u32,
        row_limit,
    );
    assert_eq!(y.len(), len);
    for i in 0..len {
        let want = if i < n { a * x[i] } else { SENTINEL as f32 };
        assert_eq!(
            y[i].to_bits(),
            want.to_bits(),
            "f32 len {len} n {n}: y[{i}] = {} (GPU) vs {want} (CPU)",
            y[i]
        );
    }
}

fn check_f64(ctx: &GpuContext, len: usize, n: usize, row_limit: Option<u32>) {
    let a = 0.1f64; // not exactly representable: exercises the f64 path end to end
    let x = inputs(len);
    let y0 = vec![SENTINEL; len];
    let y = run_copy_scale(
        ctx,
        Precision::F64,
        &x,
        &y0,
        &ParamsF64 {
            a,
            n: n as u32,
            _pad: 0,
        },
        n as u32,
        row_limit,
    );
    assert_eq!(y.len(), len);
    for i in 0..len {
        let want = if i < n { a * x[i] } else { SENTINEL };
        assert_eq!(
            y[i].to_bits(),
            want.to_bits(),
            "f64 len {len} n {n}: y[{i}] = {:e} (GPU) vs {want:e} (CPU)",
            y[i]
        );
    }
}

#[test]
fn workgroup_grid_covers_threads() {
    assert_eq!(workgroup_grid(1, 65535), [1, 1, 1]);
    assert_eq!(workgroup_grid(64, 65535), [1, 1, 1]);
    assert_eq!(workgroup_grid(65, 65535), [2, 1, 1]);
    assert_eq!(workgroup_grid(65535 * 64, 65535), [65535, 1, 1]);
    assert_eq!(workgroup_grid(65535 * 64 + 1, 65535), [32768, 2, 1]);
    assert!(workgroup_grid(u32::MAX, 65535)[1] <= 65535);
    for n in [1u32, 63, 64, 5000, 1 << 20, u32::MAX] {
        for max in [1u32, 7, 1000, 65535] {
            let [x, y, z] = workgroup_grid(n, max);
            assert!(x <= max && z == 1, "n {n} max {max}: {x} {y}");
            assert!(
                x as u64 * y as u64 * 64 >= n as u64,
                "n {n} max {max}: {x} x {y} too small"
            );
            assert!(
                (x as u64 * (y as u64 - 1)) * 64 < n as u64,
                "n {n} max {max}: a whole row is idle"
            );
        }
    }
}

#[test]
fn copy_scale_f32() {
    let Some(ctx) = context(Precision::F32) else {
        return;
    };
    check_f32(&ctx, 1, 1, None);
    check_f32(&ctx, 4099, 4099, None);
    check_f32(&ctx, 5000, 4997, None); // threads past n must not write
    check_f32(&ctx, 5000, 4997, Some(7)); // 79 workgroups as 12 rows of 7
}

#[test]
fn copy_scale_f64() {
    let Some(ctx) = context(Precision::F64) else {
        return;
    };
    check_f64(&ctx, 1, 1, None);
    check_f64(&ctx, 4099, 4099, None);
    check_f64(&ctx, 5000, 4997, None);
    check_f64(&ctx, 5000, 4997, Some(7));
}

/// More than 65535 workgroups: the 2-D dispatch a real lattice of 4M+ points needs.
#[test]
fn copy_scale_more_than_one_row() {
    let Some(ctx) = context(Precision::F64) else {
        return;
    };
    let len = 65535 * 64 + 1000; // 32 MiB in f64
    assert!(workgroup_grid(len as u32, ctx.limits.max_compute_workgroups_per_dimension)[1] > 1);
    check_f64(&ctx, len, len - 5, None);
    check_f32(&ctx, len, len, None);
}

#[test]
fn oversized_buffer_is_a_clear_error() {
    let Some(ctx) = context(Precision::F32) else {
        return;
    };
    let bytes = ctx.max_storage_bytes() + 4;
    let msg = ctx
        .storage_buffer_zeroed("huge", bytes)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&bytes.to_string()) && msg.contains(&ctx.max_storage_bytes().to_string()),
        "{msg}"
    );
}

#[test]
fn buffer_round_trip() {
    let Some(ctx) = context(Precision::F32) else {
        return;
    };
    let data: Vec<u32> = (0..1001).collect();
    let a = ctx.storage_buffer("a", &data).unwrap();
    assert_eq!(ctx.read_buffer::<u32>(&a).unwrap(), data);
    assert_eq!(
        ctx.read_buffer_range::<u32>(&a, 17, 5).unwrap(),
        vec![17, 18, 19, 20, 21]
    );
    let b = ctx.storage_buffer_zeroed("b", 1001 * 4).unwrap();
    assert!(ctx.read_buffer::<u32>(&b).unwrap().iter().all(|&v| v == 0));
    ctx.copy_buffer(&a, &b).unwrap();
    ctx.write_buffer(&b, 8, &[7u32, 8]).unwrap();
    let got = ctx.read_buffer::<u32>(&b).unwrap();
    assert_eq!(&got[..4], &[0, 1, 7, 8]);
    assert_eq!(&got[4..], &data[4..]);
    assert!(ctx.write_buffer(&b, 4000, &[1u32, 2]).is_err());
}

#[test]
fn shader_variants() {
    let f32_src = cqgrav::gpu::shader_source("copy_scale", Precision::F32);
    let f64_src = cqgrav::gpu::shader_source("copy_scale.wgsl", Precision::F64);
    assert!(f32_src.starts_with("alias real = f32;"));
    assert!(f64_src.starts_with("alias real = f64;"));
    assert!(cqgrav::gpu::shader_names().any(|n| n == "copy_scale"));
    assert!(cqgrav::gpu::try_shader_source("no_such_shader", Precision::F32).is_none());
}

#[test]
fn kernel_errors_are_reported() {
    let Some(ctx) = context(Precision::F32) else { return };
    let wrong = [Binding::StorageRead, Binding::StorageRead, Binding::Uniform]; // y is read_write
    let msg = Kernel::new(&ctx, "copy_scale", Precision::F32, "main", &wrong).unwrap_err().to_string();
    assert!(msg.contains("copy_scale::main"), "{msg}");
    let err = Kernel::new(&ctx, "no_such_shader", Precision::F32, "main", &wrong).unwrap_err();
    assert!(matches!(err, GpuError::UnknownShader(_)), "{err}");
}
