#!/usr/bin/env bash
# Regenerates fixtures/crds/ from the pinned generator modules below. Run by hand when a
# version changes (edit the generator's go.mod or script, then run this); CI never runs it,
# the output is checked in. Cold: ~1 min of module downloads and ~4 min compiling KubeVirt's
# virt-operator packages on 2 cores; each generator itself runs in under a second.
#
#   kubevirt/  kubevirt.io/kubevirt  pkg/virt-operator/resource/generate/components
#   cdi/       kubevirt.io/containerized-data-importer  pkg/operator/resources.CDICRDs
#   snapshot/  github.com/kubernetes-csi/external-snapshotter/client/v8  config/crd/*.yaml
#   fixtures/crds/openshift/templates.yaml is hand-written (OpenShift has no Template CRD).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../../fixtures/crds" && pwd)

# The checksum-database lookup for kubevirt.io/kubevirt and containerized-data-importer
# answers 404 here, so these two are verified by the generator modules' go.sum alone (only
# matters when go.mod changes).
export GONOSUMDB=${GONOSUMDB:+$GONOSUMDB,}kubevirt.io/kubevirt,kubevirt.io/containerized-data-importer

log() { echo "[ci/crdgen] $*" >&2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# step NAME CMD...: runs CMD OUTDIR into a scratch directory and, only if it succeeds, replaces
# fixtures/crds/NAME with it, so a CRD dropped from a generator disappears here too and a
# failed build leaves the checked-in files alone.
step() {
  local name=$1 start=$SECONDS
  shift
  log "$name: generating"
  "$@" "$tmp/$name"
  rm -f "$out/$name"/*.yaml
  mkdir -p "$out/$name"
  mv "$tmp/$name"/*.yaml "$out/$name/"
  log "$name: done in $((SECONDS - start)) s"
}

gen() { # gen MODULE_DIR OUTDIR: builds the generator module and runs it
  local dir=$1 dst=$2
  log "$dir: building the generator (minutes for kubevirt when cold)"
  (cd "$here/$dir" && go build -o "$tmp/$dir.bin" .)
  "$tmp/$dir.bin" -out "$dst"
}

step kubevirt gen kubevirt
step cdi gen cdi
step snapshot "$here/snapshot/generate.sh"

log "fixtures/crds: $(find "$out" -name '*.yaml' | wc -l) files, $(du -sh --apparent-size "$out" | cut -f1)"
log "check with: go test ./fixtures/crds/"
