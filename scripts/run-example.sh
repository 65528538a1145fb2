#!/usr/bin/env bash
# Run cqgrav's built-in default example (data/default.toml: CQ gravity on a 10×10×1 lattice — the quantum field
# in its vacuum, CQ noise and decoherence — 40 RK4 steps to t = 1), installing what is missing first
# (scripts/bootstrap.sh).
#
#   scripts/run-example.sh                                   # the default example
#   scripts/run-example.sh data/examples/linear-wave.toml    # another config
#   scripts/run-example.sh --set run.backend=cpu --quiet     # overrides (docs/config.md)
#
# Arguments are passed to `cqgrav run` unchanged; a relative config path is taken relative to the directory
# you call this from. Builds in release mode (the first build takes a while).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"

# Silences a harmless warning of Mesa's device-select Vulkan layer.
export NODEVICE_SELECT="${NODEVICE_SELECT:-1}"

echo "+ cargo run --release -- run $*"
exec cargo run --release --manifest-path "$root/Cargo.toml" -- run "$@"
