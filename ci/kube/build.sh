#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from this pinned module into a cache
# outside the repository, keyed by version:
#   ${VMT_CACHE_DIR:-$HOME/.cache/vmt-conformance}/k8s/<version>/{kube-apiserver,kube-controller-manager,etcd}
# Prints the directory on the last line of stdout. Does nothing when the binaries exist and
# were built from this go.sum. Cold: 8-12 min on 2 cores; warm: < 1 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
version=$(go list -m -f "{{.Version}}" k8s.io/kubernetes)
minor=$(echo "$version" | cut -d. -f2)
cache=${VMT_CACHE_DIR:-$HOME/.cache/vmt-conformance}
out="$cache/k8s/$version"
stamp="$out/.built-from"
want=$(sha256sum go.mod go.sum cmd/etcd/main.go | sha256sum | cut -c1-16)
bins=(kube-apiserver kube-controller-manager etcd)

log() { echo "[ci/kube] $*" >&2; }

have=1
for b in "${bins[@]}"; do [ -x "$out/$b" ] || have=0; done
if [ "$have" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  log "control plane $version cached in $out"
  echo "$out"
  exit 0
fi

mkdir -p "$out"
ld="-s -w -X k8s.io/component-base/version.gitVersion=$version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"

# A heartbeat so a cold CI log shows the build is alive (the first binary takes ~8 min).
heartbeat() {
  local what=$1 start=$SECONDS
  while sleep 30; do log "still building $what ($((SECONDS - start)) s)"; done
}

build() {
  local name=$1 pkg=$2 flags=$3 start=$SECONDS
  log "building $name $version (cold: several minutes, progress every 30 s)"
  heartbeat "$name" & local hb=$!
  # shellcheck disable=SC2086
  if ! go build -trimpath -ldflags "$flags" -o "$out/$name.tmp" "$pkg"; then
    kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
    log "FAILED to build $name"; exit 1
  fi
  kill "$hb" 2>/dev/null; wait "$hb" 2>/dev/null || true
  mv "$out/$name.tmp" "$out/$name"
  log "built $name in $((SECONDS - start)) s"
}

rm -f "$stamp"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$ld"
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$ld"
build etcd ./cmd/etcd "-s -w"
echo "$want" > "$stamp"
log "control plane $version ready in $out"
echo "$out"
