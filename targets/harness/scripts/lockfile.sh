#!/usr/bin/env bash
# Regenerates targets/harness/Cargo.lock: the workspace lockfile's subset for the runtime,
# which `mlc build --target harness` copies into every generated project. Cargo itself
# prunes a copy of the workspace lockfile to the packages a standalone copy of the crate
# uses, keeping every version as pinned. Run it after changing the runtime's dependencies
# or the workspace's Cargo.lock (tests/build_harness.rs checks the two agree).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r src Cargo.toml "$work/"
printf '\n[workspace]\n' >> "$work/Cargo.toml"
cp ../../Cargo.lock "$work/Cargo.lock"
# Re-resolving only the workspace member prunes the lockfile and downloads nothing.
(cd "$work" && cargo update --workspace --offline --quiet)
cp "$work/Cargo.lock" Cargo.lock
echo "wrote targets/harness/Cargo.lock"
