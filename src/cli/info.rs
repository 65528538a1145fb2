//! `cqgrav info`: GPU adapters, the one cqgrav would use, its f64 support and limits, CPU threads.
use crate::gpu::{list_adapters, AdapterReport};

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn print_limits(r: &AdapterReport) {
    let l = &r.limits;
    println!(
        "  64-bit floats in shaders (SHADER_F64): {}",
        yes_no(r.supports_f64())
    );
    println!(
        "  max storage buffer binding size:  {} bytes ({})",
        l.max_storage_buffer_binding_size,
        mib(l.max_storage_buffer_binding_size)
    );
    println!(
        "  max buffer size:                  {} bytes ({})",
        l.max_buffer_size,
        mib(l.max_buffer_size)
    );
    println!(
        "  max storage buffers per stage:    {}",
        l.max_storage_buffers_per_shader_stage
    );
    println!(
        "  max compute workgroups per dim:   {}",
        l.max_compute_workgroups_per_dimension
    );
    println!(
        "  max compute invocations per group: {}",
        l.max_compute_invocations_per_workgroup
    );
    println!(
        "  max compute workgroup size:       {} x {} x {}",
        l.max_compute_workgroup_size_x,
        l.max_compute_workgroup_size_y,
        l.max_compute_workgroup_size_z
    );
}

pub fn info() -> anyhow::Result<()> {
    println!("cqgrav {}", env!("CARGO_PKG_VERSION"));
    println!();

    let list = list_adapters();
    if list.adapters.is_empty() {
        println!("GPU adapters: none found.");
        println!("  The GPU backend is unavailable; run.backend = \"auto\" uses the CPU backend.");
        println!(
            "  For a GPU: install a GPU driver with Vulkan support, or the software Vulkan device"
        );
        println!("  (Debian/Ubuntu: apt install mesa-vulkan-drivers libvulkan1).");
    } else {
        println!("GPU adapters (cqgrav's preference order):");
        for (i, r) in list.adapters.iter().enumerate() {
            let mark = if list.chosen == Some(i) {
                "  <- the GPU backend uses this one"
            } else {
                ""
            };
            println!("  [{i}] {}{mark}", r.info.name);
            println!(
                "      backend {}, device type {:?}{}, f64 shaders: {}",
                r.info.backend,
                r.info.device_type,
                if r.is_software() {
                    " (software: correct but slow)"
                } else {
                    ""
                },
                yes_no(r.supports_f64())
            );
            println!(
                "      driver: {:?}, driver info: {:?}",
                r.info.driver, r.info.driver_info
            );
        }
        println!();
        match list.chosen() {
            Some(r) => {
                println!("Chosen adapter: {}", r.describe());
                print_limits(r);
                if !r.supports_f64() {
                    println!("  note: run.precision = \"f64\" needs SHADER_F64: use \"f32\" on this adapter, or run.backend = \"cpu\"");
                }
                // what `auto` does with it (backend/mod.rs make_stepper)
                if r.is_software() {
                    println!("  run.backend = \"auto\" runs on the CPU backend (this adapter is a software device, slower); \"gpu\" uses it");
                } else {
                    println!("  run.backend = \"auto\" and \"gpu\" run on this adapter");
                }
            }
            None => {
                let wanted = list.name_filter_unmatched.as_deref().unwrap_or("");
                println!("Chosen adapter: none (WGPU_ADAPTER_NAME={wanted:?} matches no adapter); the GPU backend would fail.");
            }
        }
    }
    println!();
    println!(
        "CPU backend: {} rayon threads (set RAYON_NUM_THREADS to change)",
        rayon::current_num_threads()
    );
    println!("{}", crate::parallel::describe_mpi());
    Ok(())
}
