#!/usr/bin/env bash
# Builds the embedded Hatchet engine sidecar (engine/, our launcher around the
# engine and API packages of github.com/hatchet-dev/hatchet, version pinned in
# engine/go.mod) with Go from the module proxy, and caches it.
#
#   scripts/engine-build.sh              the sidecar, with engine/patches/ applied
#   scripts/engine-build.sh --unpatched  the same engine module as released (tests
#                                        of what the gateway does on Hatchet Cloud)
#   scripts/engine-build.sh --source     only prepare the patched module copy and
#                                        print its folder (for `npm run engine:test`)
#
# Patches: the module is copied out of the Go module cache into
# ~/.cache/hatchet-graphql-gateway/engine-src/<key>/ (`go build -overlay`
# refuses files under the module cache), engine/patches/*.patch are applied to
# the copy in order, and the sidecar is built with a `replace` of the module by
# that copy in a temporary go.mod (-modfile), so engine/go.mod stays as released.
# The build records the patches' names in the binary (`-patches` prints them).
#
# Caches: the binary in ~/.cache/hatchet-graphql-gateway/engine/<key>/, keyed
# by the sources, the patches, go.sum and the Go version, so fresh clones on the
# same machine reuse it; a copy at .engine/bin/ (git-ignored), which the
# gateway and the tests pick up.
# Why not the official sidecar module: the module proxy refuses
# github.com/hatchet-dev/hatchet-embedded (403), and GitHub releases are out of
# reach here; the engine module itself is served.
set -euo pipefail

variant=patched
case "${1:-}" in
  "") ;;
  --unpatched) variant=unpatched ;;
  --source) variant=source ;;
  *) echo "usage: $0 [--unpatched | --source]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/hatchet-graphql-gateway"
say() { echo "engine:build: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  echo "engine:build needs Go (1.26+) on PATH: install it, or set HATCHET_CLIENT_EMBEDDED_BINARY_PATH / HATCHET_CLIENT_TOKEN instead" >&2
  exit 1
fi

module=github.com/hatchet-dev/hatchet
version="$(awk -v m="$module" '$1 == m { print $2 }' "$root/engine/go.mod")"
patches=()
if [ "$variant" != unpatched ]; then
  for p in "$root"/engine/patches/*.patch; do [ -e "$p" ] && patches+=("$p"); done
fi
# a patch's name: its file name without the number and extension
patch_names="$(for p in "${patches[@]}"; do basename "$p" .patch | sed -E 's/^[0-9]+-//'; done | paste -sd, -)"

# The patched module copy, shared by every build with the same patches.
patched_source() {
  local key src dir tmp_src
  key="$(cd "$root/engine" && { echo "$version"; cat "${patches[@]}"; } | sha256sum | cut -c1-16)"
  src="$cache_root/engine-src/$key"
  if [ ! -d "$src" ]; then
    say "copying $module@$version out of the module cache and applying ${#patches[@]} patch(es)"
    dir="$(cd "$root/engine" && go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" { print $4 }')"
    [ -d "$dir" ] || { echo "engine:build: $module@$version is not in the module cache" >&2; exit 1; }
    mkdir -p "$cache_root/engine-src"
    tmp_src="$(mktemp -d "$cache_root/engine-src/.copy.XXXXXX")"
    trap 'rm -rf "$tmp_src"' RETURN
    cp -R "$dir/." "$tmp_src"
    chmod -R u+w "$tmp_src"
    for p in "${patches[@]}"; do
      (cd "$tmp_src" && git apply -p1 "$p") || { echo "engine:build: $(basename "$p") does not apply to $module@$version" >&2; exit 1; }
    done
    # other keys' copies are ~250 MB each: keep only this one
    find "$cache_root/engine-src" -mindepth 1 -maxdepth 1 -type d ! -name '.copy.*' -exec rm -rf {} +
    mv "$tmp_src" "$src"
  fi
  echo "$src"
}

if [ "$variant" = source ]; then
  patched_source
  exit 0
fi

suffix=""
[ "$variant" = unpatched ] && suffix="-unpatched"
out="$root/.engine/bin/hatchet-embedded-sidecar$suffix"
key="$(cd "$root/engine" && { go version; echo "$variant $patch_names"; cat go.mod go.sum "${patches[@]}"; find cmd -name '*.go' | sort | xargs cat; } | sha256sum | cut -c1-16)"
cache_dir="$cache_root/engine/$key"
cached="$cache_dir/hatchet-embedded-sidecar"

start=$(date +%s.%N)
if [ -x "$cached" ]; then
  how="cached"
else
  mkdir -p "$cache_dir"
  say "building the Hatchet engine $version sidecar ($variant) with $(go version | cut -d' ' -f3): the first build downloads the engine's modules and compiles them, about 2 to 4 minutes on 2 cores; later builds take seconds"
  # a unique temp file per build, renamed into place: two concurrent builds
  # (e.g. two test runs) never write the same file, and the cache only ever
  # holds a complete binary (mv within one folder is atomic)
  tmp="$(mktemp "$cache_dir/.hatchet-embedded-sidecar.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  modflags=()
  if [ "$variant" = patched ] && [ ${#patches[@]} -gt 0 ]; then
    src="$(patched_source)"
    modfile="$(mktemp "$cache_dir/.build.XXXXXX")"
    cp "$root/engine/go.mod" "$modfile.mod"
    cp "$root/engine/go.sum" "$modfile.sum"
    trap 'rm -f "$tmp" "$modfile" "$modfile.mod" "$modfile.sum"' EXIT
    (cd "$root/engine" && go mod edit -modfile="$modfile.mod" -replace "$module=$src")
    modflags=(-modfile="$modfile.mod")
  fi
  (cd "$root/engine" && CGO_ENABLED=0 go build "${modflags[@]}" -trimpath \
    -ldflags "-X main.enginePatches=$patch_names" -o "$tmp" ./cmd/hatchet-embedded-sidecar)
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
printf 'engine:build: %s hatchet engine %s sidecar (%s%s) in %.1f s -> %s\n' "$how" "$version" "$variant" \
  "${patch_names:+: $patch_names}" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$out" >&2
