#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from this pinned module into a cache
# outside the repository, keyed by version, and kubectl (static, CGO_ENABLED=0: the suite image
# of internal/image ships it for the specs that pipe into `kubectl create -f -`):
#   ${VMT_CACHE_DIR:-$HOME/.cache/vmt-conformance}/k8s/<version>/{kube-apiserver,kube-controller-manager,etcd,kubectl}
# Prints the directory on the last line of stdout. Does nothing when the binaries exist and
# were built from this go.sum. Cold: 8-12 min on 2 cores; warm: < 1 s.
#
# Several runs may start at once on a fresh machine (two lanes, `make test` beside `make e2e`):
# the build holds an flock(1) on <cache>/k8s/<version>.lock; a second run prints one line
# naming the holder, waits, and reuses what the first built. The kernel drops the lock when its
# holder dies, however it dies.
# VMT_KUBE_BUILD_STUB (tests of the lock only): a command run as `STUB OUTPUT PACKAGE` in place
# of go build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
version=$(go list -m -f "{{.Version}}" k8s.io/kubernetes)
minor=$(echo "$version" | cut -d. -f2)
cache=${VMT_CACHE_DIR:-$HOME/.cache/vmt-conformance}
out="$cache/k8s/$version"
stamp="$out/.built-from"
want=$(sha256sum go.mod go.sum cmd/etcd/main.go | sha256sum | cut -c1-16)
bins=(kube-apiserver kube-controller-manager etcd kubectl)

log() { echo "[ci/kube] $*" >&2; }

cached() {
  local b
  for b in "${bins[@]}"; do [ -x "$out/$b" ] || return 1; done
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]
}
if cached; then
  log "control plane $version cached in $out"
  echo "$out"
  exit 0
fi

mkdir -p "$out"
lock="$cache/k8s/$version.lock"
exec 9>>"$lock"
if ! command -v flock >/dev/null; then
  log "WARNING: flock (util-linux) not found: building without the lock; do not start another build beside this one"
elif ! flock -n 9; then
  holder=$(cat "$lock" 2>/dev/null || true)
  log "waiting for lock $lock (to start building the control plane $version), held by ${holder:-an unknown process}"
  flock 9
fi
printf 'pid %s (building the control plane %s) since %s\n' "$$" "$version" "$(date +%H:%M:%S)" >"$lock"
# The run we waited for has built it.
if cached; then
  log "control plane $version cached in $out (built by the run we waited for)"
  echo "$out"
  exit 0
fi

ld="-s -w -X k8s.io/component-base/version.gitVersion=$version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z"

# A heartbeat so a cold CI log shows the build is alive (the first binary takes ~8 min).
# Its sleep goes with it: an orphaned sleep would hold the caller's stdout/stderr pipes open
# (out=$(build.sh) returning up to 30 s late).
heartbeat() {
  local what=$1 start=$SECONDS s
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 30 & s=$!
    wait "$s"
    log "still building $what ($((SECONDS - start)) s)"
  done
}

compile() { # output package ldflags
  if [ -n "${VMT_KUBE_BUILD_STUB:-}" ]; then
    "$VMT_KUBE_BUILD_STUB" "$1" "$2"
    return
  fi
  go build -trimpath -ldflags "$3" -o "$1" "$2"
}

build() {
  local name=$1 pkg=$2 flags=$3 start=$SECONDS
  log "building $name $version (cold: several minutes, progress every 30 s)"
  # Children do not inherit the lock (fd 9): an orphaned heartbeat must not hold it.
  heartbeat "$name" 9>&- >/dev/null & local hb=$!
  if ! compile "$out/$name.tmp" "$pkg" "$flags" 9>&-; then
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
# kubectl prints client-go's version (kubectl version --client).
CGO_ENABLED=0 build kubectl k8s.io/kubernetes/cmd/kubectl "$ld ${ld//k8s.io\/component-base\/version/k8s.io\/client-go\/pkg\/version}"
echo "$want" > "$stamp"
log "control plane $version ready in $out"
echo "$out"
