#!/usr/bin/env bash
# Regenerates the reference implementation's generated files with the controller-gen pinned in
# this module:
#   reference/api/**/zz_generated.deepcopy.go
#   reference/config/crd/bases/template.kubevirt.io_{virtualmachinetemplates,virtualmachinetemplaterequests}.yaml
#
#   ci/tools/generate.sh            write the files
#   ci/tools/generate.sh --verify   regenerate, fail (exit 1, diff on stderr) if anything differs
#                                   from the working tree, and leave the tree as it was
#
# controller-gen is built once into ${VMT_CACHE_DIR:-$HOME/.cache/vmt-conformance}/tools,
# keyed by this module's go.sum (cold: ~2-4 min on 2 cores; warm: < 1 s).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

log() { echo "[ci/tools] $*" >&2; }

mode=write
case "${1:-}" in
  "") ;;
  --verify) mode=verify ;;
  *) echo "usage: $0 [--verify]" >&2; exit 2 ;;
esac

cache=${VMT_CACHE_DIR:-$HOME/.cache/vmt-conformance}/tools
version=$(cd "$here" && go list -m -f '{{.Version}}' sigs.k8s.io/controller-tools)
key=$(cd "$here" && sha256sum go.mod go.sum | sha256sum | cut -c1-12)
cgen="$cache/controller-gen-$version-$key"
if [ ! -x "$cgen" ]; then
  log "building controller-gen $version (cold: a few minutes)"
  mkdir -p "$cache"
  (cd "$here" && go build -trimpath -o "$cgen.tmp" sigs.k8s.io/controller-tools/cmd/controller-gen)
  mv "$cgen.tmp" "$cgen"
fi

api=reference/api
crds=reference/config/crd/bases

generate() {
  cd "$root"
  # Deepcopy for every API package; CRDs only for the CRD group (the subresource group is
  # served by the aggregated API server, not by CRDs).
  "$cgen" object paths="./$api/..."
  rm -f "$crds"/*.yaml
  "$cgen" crd:crdVersions=v1 \
    paths="./$api/core/v1alpha1" paths="./$api/core/v1beta1" \
    output:crd:artifacts:config="$crds"
}

generated_files() {
  cd "$root"
  find "$api" -name zz_generated.deepcopy.go
  find "$crds" -name '*.yaml' 2>/dev/null || true
}

if [ "$mode" = write ]; then
  generate
  log "generated: $(generated_files | sort | tr '\n' ' ')"
  exit 0
fi

# --verify: keep the current files, regenerate in place, compare, put the originals back.
backup=$(mktemp -d)
restore() {
  cd "$root"
  find "$api" -name zz_generated.deepcopy.go -delete
  rm -f "$crds"/*.yaml
  (cd "$backup/before" && find . -type f) | while read -r f; do
    mkdir -p "$(dirname "$f")"
    cp "$backup/before/$f" "$f"
  done
  rm -rf "$backup"
}
trap restore EXIT
mkdir -p "$backup/before" "$backup/after"
cd "$root"
generated_files | while read -r f; do mkdir -p "$backup/before/$(dirname "$f")"; cp "$f" "$backup/before/$f"; done
generate
cd "$root"
generated_files | while read -r f; do mkdir -p "$backup/after/$(dirname "$f")"; cp "$f" "$backup/after/$f"; done
if ! diff -ru "$backup/before" "$backup/after" >&2; then
  log "generated files are stale: run ci/tools/generate.sh and commit the result"
  exit 1
fi
log "generated files are up to date"
