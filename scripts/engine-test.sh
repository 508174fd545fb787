#!/usr/bin/env bash
# Runs the Go tests of the packages engine/patches/ change, in the patched
# copy of the engine module (scripts/engine-build.sh --source prepares it):
# each patch brings its own tests, and the packages' existing tests must still
# pass with it. Skipped, with a line that says so, when Go is not on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v go >/dev/null 2>&1; then
  echo "engine:test: skipped: Go is not on PATH (the patches are tested where the engine is built)" >&2
  exit 0
fi
src="$(bash "$root/scripts/engine-build.sh" --source)"
# the packages the patches touch, read from their diffs
packages="$(grep -h '^+++ b/' "$root"/engine/patches/*.patch | sed -E 's|^\+\+\+ b/||; s|/[^/]+$||' | sort -u | sed 's|^|./|')"
cd "$src"
# shellcheck disable=SC2086
go test -count=1 $packages
