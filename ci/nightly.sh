#!/usr/bin/env bash
# The nightly job against the cluster in KUBECONFIG: checks and prints the preconditions
# (template API served, KubeVirt Template gate, VolumeSnapshotClass, golden-image DataSource,
# virtctl), runs LANE (nightly) in parallel through vmt-e2e --provider existing and writes
# report.json, run.json, preflight.json, junit.xml, traceability.{md,html} and
# ga-readiness.{md,html,json} into one ARTIFACTS directory. Exits non-zero on failure.
#
#   KUBECONFIG=... ci/nightly.sh                     # or: make nightly
#   LANE=ga-readiness PROCS=4 ARTIFACTS=/tmp/out ci/nightly.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${KUBECONFIG:?set KUBECONFIG to the cluster under test}"
LANE=${LANE:-nightly}
PROCS=${PROCS:-4}
ARTIFACTS=${ARTIFACTS:-_output/nightly-$(date -u +%Y%m%d-%H%M%S)}
BIN=${BIN:-$PWD/bin}

# Build once; `make tools` reuses what is up to date.
make --no-print-directory tools "$BIN/vmt-nightly" >/dev/null
export GINKGO=${GINKGO:-$BIN/ginkgo}
exec "$BIN/vmt-nightly" --lane "$LANE" --procs "$PROCS" --artifacts "$ARTIFACTS" --vmt-e2e "$BIN/vmt-e2e" "$@"
