#!/usr/bin/env bash
# Builds the embedded Hatchet engine sidecar (engine/, our launcher around the
# engine and API packages of github.com/hatchet-dev/hatchet, version pinned in
# engine/go.mod) with Go from the module proxy, and caches it:
# - in ~/.cache/hatchet-graphql-gateway/engine/<key>/, keyed by the sources,
#   go.sum and the Go version, so fresh clones on the same machine reuse it;
# - as .engine/bin/hatchet-embedded-sidecar (git-ignored), which the gateway
#   and the tests pick up.
# Why not the official sidecar module: the module proxy refuses
# github.com/hatchet-dev/hatchet-embedded (403), and GitHub releases are out of
# reach here; the engine module itself is served.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.engine/bin/hatchet-embedded-sidecar"

if ! command -v go >/dev/null 2>&1; then
  echo "engine:build needs Go (1.26+) on PATH: install it, or set HATCHET_CLIENT_EMBEDDED_BINARY_PATH / HATCHET_CLIENT_TOKEN instead" >&2
  exit 1
fi

key="$(cd "$root/engine" && { go version; cat go.mod go.sum; find cmd -name '*.go' | sort | xargs cat; } | sha256sum | cut -c1-16)"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/hatchet-graphql-gateway/engine/$key"
cached="$cache_dir/hatchet-embedded-sidecar"
version="$(awk '$1 == "github.com/hatchet-dev/hatchet" { print $2 }' "$root/engine/go.mod")"

start=$(date +%s.%N)
if [ -x "$cached" ]; then
  how="cached"
else
  mkdir -p "$cache_dir"
  echo "engine:build: building the Hatchet engine $version sidecar with $(go version | cut -d' ' -f3) (first build takes a few minutes)" >&2
  # a unique temp file per build, renamed into place: two concurrent builds
  # (e.g. two test runs) never write the same file, and the cache only ever
  # holds a complete binary (mv within one folder is atomic)
  tmp="$(mktemp "$cache_dir/.hatchet-embedded-sidecar.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  (cd "$root/engine" && CGO_ENABLED=0 go build -trimpath -o "$tmp" ./cmd/hatchet-embedded-sidecar)
  chmod 755 "$tmp" # mktemp makes it 0600
  mv -f "$tmp" "$cached"
  how="built"
fi
mkdir -p "$(dirname "$out")"
# same for the copy into .engine/bin: unique temp file, atomic rename
out_tmp="$(mktemp "$(dirname "$out")/.hatchet-embedded-sidecar.XXXXXX")"
trap 'rm -f "${tmp:-}" "$out_tmp"' EXIT
cp -f "$cached" "$out_tmp" && chmod 755 "$out_tmp" && mv -f "$out_tmp" "$out"
end=$(date +%s.%N)
printf 'engine:build: %s hatchet engine %s sidecar in %.1f s -> %s\n' "$how" "$version" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$out" >&2
