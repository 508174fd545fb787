#!/usr/bin/env bash
# Runs the Go tests the patches of engine/patches/ bring, in the patched copy
# of the engine module (scripts/engine-build.sh --source prepares it). Only
# those tests: some packages the patches touch also hold tests that need a
# database of their own (pkg/repository). Skipped, with a line that says so,
# when Go is not on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v go >/dev/null 2>&1; then
  echo "engine:test: skipped: Go is not on PATH (the patches are tested where the engine is built)" >&2
  exit 0
fi
src="$(bash "$root/scripts/engine-build.sh" --source)"
# the packages the patches touch, and the test functions they add
packages="$(grep -h '^+++ b/' "$root"/engine/patches/*.patch | sed -E 's|^\+\+\+ b/||; s|/[^/]+$||' | sort -u | sed 's|^|./|')"
tests="$(grep -hoE '^\+func (Test[A-Za-z0-9_]+)' "$root"/engine/patches/*.patch | sed -E 's/^\+func //' | sort -u | paste -sd'|' -)"
cd "$src"
# shellcheck disable=SC2086
go test -count=1 -run "^(${tests})\$" $packages
