#!/usr/bin/env bash
# Run cqgrav's whole test suite, installing what is missing first (scripts/bootstrap.sh).
#
# The GPU-path tests (tests/gpu_smoke.rs, tests/gpu_twin.rs, tests/cli_run.rs) run on whatever Vulkan device
# wgpu finds: a real GPU when there is one, otherwise Mesa's software device lavapipe (mesa-vulkan-drivers,
# installed by the bootstrap). They are never skipped here: CQGRAV_ALLOW_NO_GPU is unset, so a machine with no
# usable adapter at all fails them. Each test prints its measured numbers with
#   cargo test --all-targets -- --nocapture
# (docs/validation.md collects them). The tests that read cqgrav's files from Python — tests/output_layout.rs,
# tests/crash_safety.rs (h5py), tests/xarray_engines.rs (xarray through h5netcdf and netCDF4),
# tests/xdmf_readers.rs (VTK and pyvista), tests/python_package.rs (pytest of python/cqgrav, with yt) — run
# with the venv's python (CQGRAV_PYTHON). Exit status: cargo's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"

# The output tests read cqgrav's HDF5 files with h5py/xarray from the venv the bootstrap made.
export CQGRAV_PYTHON="$root/.venv/bin/python"
# Silences a harmless warning of Mesa's device-select Vulkan layer.
export NODEVICE_SELECT=1
# The GPU tests must run, not skip.
unset CQGRAV_ALLOW_NO_GPU

echo "+ cargo test --all-targets --no-fail-fast"
status=0
cargo test --all-targets --no-fail-fast || status=$?
if [ "$status" -eq 0 ]; then
    echo "[test] all tests passed"
else
    echo "[test] FAILED: cargo test exited with status $status" >&2
fi
exit "$status"
