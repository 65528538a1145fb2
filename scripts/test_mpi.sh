#!/usr/bin/env bash
# Build cqgrav with MPI (cargo feature `mpi`) and run its MPI tests (tests/mpi.rs) under mpirun, installing what
# is missing first: everything scripts/bootstrap.sh installs, then the Debian/Ubuntu packages
#   libopenmpi-dev openmpi-bin   (Open MPI: the library, its headers, mpirun)
#   libclang-dev                 (bindgen of the `mpi` crate reads the MPI headers with libclang)
# only when they are not installed yet (apt-get, with sudo when not root). The tests start
# `mpirun --allow-run-as-root --oversubscribe -np 2|3 target/debug/cqgrav …` (more ranks than cores is fine:
# the runs are small) and compare the files with the serial runs' byte for byte (docs/mpi.md).
# Exit status: cargo's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"

say="[test_mpi]"
mpi_packages=(libopenmpi-dev openmpi-bin libclang-dev)
missing=()
for p in "${mpi_packages[@]}"; do
    _cqgrav_is_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "$say MPI packages: all present (${mpi_packages[*]})"
else
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "$say error: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
    fi
    echo "$say installing missing MPI packages: ${missing[*]}"
    ${sudo[@]+"${sudo[@]}"} apt-get update
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "$say $(mpirun --version 2>&1 | head -n1)"

export CQGRAV_PYTHON="$root/.venv/bin/python"
export NODEVICE_SELECT=1
# Open MPI refuses to run as root without these (CI containers run as root)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# (the slab decomposition's single-rank unit tests, src/parallel/, run in the README's test command already)
echo "+ cargo test --features mpi --no-fail-fast --test mpi"
status=0
cargo test --features mpi --no-fail-fast --test mpi || status=$?
if [ "$status" -eq 0 ]; then
    echo "$say all MPI tests passed"
else
    echo "$say FAILED: cargo test --features mpi exited with status $status" >&2
fi
exit "$status"
