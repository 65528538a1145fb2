#!/usr/bin/env bash
# Install what cqgrav needs to build and test, skipping whatever is already there (safe to run again).
#
#   Debian/Ubuntu packages: build-essential pkg-config libhdf5-dev mesa-vulkan-drivers libvulkan1
#                           python3 python3-pip python3-venv
#     (mesa-vulkan-drivers provides lavapipe, the software Vulkan device the GPU path runs on when the
#      machine has no GPU.)
#   Rust toolchain:         rustup (minimal profile), only when `cargo` is not on PATH.
#   Python venv .venv/:     (pip) h5py, numpy, xarray for the output tests (tests/output_layout.rs,
#                           tests/crash_safety.rs read cqgrav's HDF5 files with h5py); h5netcdf and netCDF4 (the
#                           two xarray engines, tests/xarray_engines.rs), vtk and pyvista (the XDMF readers,
#                           tests/xdmf_readers.rs), yt and pytest (tests/python_package.rs), and the repository's
#                           Python package python/cqgrav itself (editable install); scripts/test.sh points the
#                           tests at the venv with CQGRAV_PYTHON. About 400 MB, mostly vtk and yt's matplotlib.
#
# sympy is needed only to regenerate data/reference/ricci_reference.json (optional; not installed here).
#
# Run it (`scripts/bootstrap.sh`) or source it (`source scripts/bootstrap.sh`): when sourced, a freshly
# installed cargo is also on the caller's PATH. scripts/run-example.sh and scripts/test.sh source it.
# The work runs under `set -euo pipefail` either way (in a subshell when sourced, so an interactive shell that
# sources it keeps its own options).

# A package counts as present only when dpkg reports it fully installed (not e.g. removed with its config kept).
_cqgrav_is_installed() {
    [ "$(dpkg -s "$1" 2>/dev/null | sed -n 's/^Status: //p')" = "install ok installed" ]
}

cqgrav_bootstrap() {
    local say="[bootstrap]"
    local apt_packages=(build-essential pkg-config libhdf5-dev mesa-vulkan-drivers libvulkan1 python3 python3-pip python3-venv)

    # Root runs apt-get directly; anyone else through sudo when it exists.
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        fi
    fi

    local need_cargo=0
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        # rustup installed earlier, but this shell has not picked it up yet
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        need_cargo=1
    fi

    # ---- system packages
    if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        local missing=()
        local p
        for p in "${apt_packages[@]}"; do
            _cqgrav_is_installed "$p" || missing+=("$p")
        done
        # rustup's installer is fetched with curl (and needs the CA certificates)
        if [ "$need_cargo" -eq 1 ]; then
            for p in curl ca-certificates; do
                _cqgrav_is_installed "$p" || missing+=("$p")
            done
        fi
        if [ "${#missing[@]}" -eq 0 ]; then
            echo "$say system packages: all present (${apt_packages[*]})"
        else
            if [ "$(id -u)" -ne 0 ] && [ "${#sudo[@]}" -eq 0 ]; then
                echo "$say error: missing packages ${missing[*]}, and not root with no sudo to install them" >&2
                echo "$say install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
                return 1
            fi
            echo "$say installing missing system packages: ${missing[*]}"
            echo "$say + ${sudo[*]:+${sudo[*]} }apt-get update"
            ${sudo[@]+"${sudo[@]}"} apt-get update
            echo "$say + ${sudo[*]:+${sudo[*]} }apt-get install -y --no-install-recommends ${missing[*]}"
            ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
        fi
    else
        echo "$say no dpkg/apt-get (not Debian/Ubuntu): not installing system packages."
        echo "$say make sure these (or your system's equivalents) are installed: a C toolchain, pkg-config, the"
        echo "$say HDF5 development files, a Vulkan loader and driver (Mesa's lavapipe when there is no GPU), python3"
    fi

    # ---- Rust toolchain
    if [ "$need_cargo" -eq 1 ]; then
        echo "$say cargo not found: installing the Rust toolchain with rustup (minimal profile)"
        echo "$say + curl https://sh.rustup.rs -sSf | sh -s -- -y --profile minimal"
        curl https://sh.rustup.rs -sSf | sh -s -- -y --profile minimal
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    local version
    version="$(cargo --version)"
    echo "$say Rust: $version"
    # Cargo.toml declares rust-version = 1.89 (std file locks, src/io/lock.rs)
    local v="${version#cargo }"
    v="${v%% *}"
    if [ "$(printf '%s\n%s\n' "1.89.0" "$v" | sort -V | head -n1)" != "1.89.0" ]; then
        echo "$say warning: cqgrav needs Rust >= 1.89 (found $v); update it, e.g. with \`rustup update stable\`" >&2
    fi

    # ---- Python venv for the output tests
    local root venv
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    venv="$root/.venv"
    local py_packages=(h5py numpy xarray h5netcdf netCDF4 vtk pyvista yt pytest)
    local py_modules="h5py, numpy, xarray, h5netcdf, netCDF4, vtk, pyvista, yt, pytest"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $py_modules" >/dev/null 2>&1; then
        echo "$say Python venv $venv: ${py_packages[*]} present"
    else
        if [ ! -x "$venv/bin/python" ]; then
            echo "$say + python3 -m venv $venv"
            python3 -m venv "$venv"
        fi
        echo "$say + $venv/bin/python -m pip install --quiet ${py_packages[*]}"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${py_packages[@]}"
    fi
    # the repository's Python package (python/cqgrav), installed editable so the venv always runs this checkout's
    # code; reinstalled only when the venv's cqgrav is not this checkout's
    if "$venv/bin/python" -c "import cqgrav, os, sys; sys.exit(os.path.realpath(cqgrav.__file__) != os.path.realpath('$root/python/cqgrav/__init__.py'))" >/dev/null 2>&1; then
        echo "$say Python package cqgrav: installed from $root/python"
    else
        echo "$say + $venv/bin/python -m pip install --quiet --no-build-isolation --no-deps -e $root/python"
        # (without build isolation the venv's setuptools builds it, no download; a venv without setuptools —
        # Python ≥ 3.12 — lets pip fetch one)
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e "$root/python" 2>/dev/null \
            || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$root/python"
    fi

    # ---- what the GPU path will run on
    local icds=""
    local d
    for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
        if [ -d "$d" ]; then
            icds="$icds $(cd "$d" && ls -- *.json 2>/dev/null | tr '\n' ' ' || true)"
        fi
    done
    icds="$(echo "$icds" | xargs)"
    if [ -n "$icds" ]; then
        echo "$say Vulkan drivers (ICDs): $icds"
    else
        echo "$say no Vulkan driver found: the GPU backend will be unavailable (run.backend = \"auto\" uses the CPU)"
    fi
    echo "$say done"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # executed
    set -euo pipefail
    _cqgrav_had_cargo=0
    if command -v cargo >/dev/null 2>&1; then _cqgrav_had_cargo=1; fi
    cqgrav_bootstrap
    if [ "$_cqgrav_had_cargo" -eq 0 ]; then
        echo "[bootstrap] to use cargo in your current shell: source \"\$HOME/.cargo/env\""
    fi
else
    # sourced: do the work in a subshell under strict options (a plain command, not part of an && / || list,
    # so that errexit stays in force inside it), then put cargo on the caller's PATH
    ( set -euo pipefail; cqgrav_bootstrap )
    _cqgrav_rc=$?
    if [ "$_cqgrav_rc" -ne 0 ]; then
        echo "[bootstrap] failed (exit status $_cqgrav_rc)" >&2
        return "$_cqgrav_rc"
    fi
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
    unset _cqgrav_rc
fi
