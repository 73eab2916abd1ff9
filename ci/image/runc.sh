#!/usr/bin/env bash
# Runs the suite image (make image: _output/images/vmt-conformance.tar) under runc, without
# Docker or Podman: unpacks the tarball into an OCI bundle and runs its entrypoint with its
# environment and user (65532), a read-only root, a tmpfs /tmp, ARTIFACTS (default
# _output/artifacts/runc) mounted at the image's /tmp/artifacts, and the host network, against the cluster in KUBECONFIG (whose
# server must be reachable from this host, e.g. a `vmt-cluster up` cluster on 127.0.0.1).
#
#   KUBECONFIG=... ci/image/runc.sh [tarball] -- --lane tier1 --provider existing
#
# Needs runc (Debian: apt-get install runc) and root. The image has no virtctl: the reference
# CLI of the image plays it here (VMT_VIRTCTL=/usr/local/bin/vmt-virtctl).
set -euo pipefail
tarball=_output/images/vmt-conformance.tar
if [ $# -gt 0 ] && [ "$1" != "--" ]; then tarball=$1; shift; fi
[ "${1:-}" = "--" ] && shift
: "${KUBECONFIG:?set KUBECONFIG to the cluster under test}"
command -v runc >/dev/null || { echo "runc not found (apt-get install runc)" >&2; exit 2; }
bundle=$(mktemp -d "${TMPDIR:-/tmp}/vmt-runc-XXXXXX")
trap 'rm -rf "$bundle"' EXIT
artifacts=$(mkdir -p "${ARTIFACTS:-_output/artifacts/runc}" && cd "${ARTIFACTS:-_output/artifacts/runc}" && pwd)
chown 65532:65532 "$artifacts"
mkdir -p "$bundle/rootfs" "$bundle/kube"
cp "$KUBECONFIG" "$bundle/kube/kubeconfig" && chmod 644 "$bundle/kube/kubeconfig"
python3 - "$tarball" "$bundle" "$artifacts" "$@" <<'PY'
import json, os, subprocess, sys, tarfile
src, bundle, artifacts, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
t = tarfile.open(src)
m = json.load(t.extractfile('manifest.json'))[0]
img = json.load(t.extractfile(m['Config']))['config']
for layer in m['Layers']:
    tarfile.open(fileobj=t.extractfile(layer), mode='r:gz').extractall(os.path.join(bundle, 'rootfs'))
subprocess.run(['runc', 'spec'], cwd=bundle, check=True)
path = os.path.join(bundle, 'config.json')
c = json.load(open(path))
uid, gid = (int(x) for x in img['User'].split(':'))
c['process'].update(terminal=False, user={'uid': uid, 'gid': gid}, cwd=img['WorkingDir'],
                    args=img['Entrypoint'] + args,
                    env=img['Env'] + ['KUBECONFIG=/kube/kubeconfig', 'VMT_VIRTCTL=/usr/local/bin/vmt-virtctl'])
c['root']['readonly'] = True
c['mounts'] += [
    {'destination': '/kube', 'type': 'bind', 'source': os.path.join(bundle, 'kube'), 'options': ['rbind', 'ro']},
    {'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', 'nodev', 'mode=1777', 'size=512m']},
    {'destination': '/tmp/artifacts', 'type': 'bind', 'source': artifacts, 'options': ['rbind', 'rw']},
]
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']
json.dump(c, open(path, 'w'), indent=1)
PY
echo "runc: $tarball, artifacts in $artifacts"
cd "$bundle"
runc run "vmt-conformance-$$"
