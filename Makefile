# vmt-conformance — see README.md. The two commands for a fresh machine:
#   make e2e    the main job: the hermetic lane, tier1, with a summary and reports
#   make test   every test: unit tests, generated-file checks and the hermetic e2e lane
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

LANE      ?= tier1
PROVIDER  ?= local
PROCS     ?= 2
ARTIFACTS ?= _output/artifacts
FUZZTIME  ?= 10m
BIN       := $(CURDIR)/bin

GO_UNIT_PKGS = $$(go list ./... | grep -v -E '/tests$$')

.PHONY: help e2e test unit verify bench fuzz cluster-binaries tools cluster-up cluster-down list-lanes list report nightly deps lane-binaries

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

cluster-binaries: ## build (or reuse the cached) kube-apiserver, kube-controller-manager and etcd
	@bash ci/kube/build.sh >/dev/null

tools: $(BIN)/ginkgo $(BIN)/vmt-e2e $(BIN)/vmt-virtctl ## build the pinned ginkgo CLI, the lane runner and the reference CLI

$(BIN)/ginkgo: go.mod go.sum
	@echo "building ginkgo CLI"; go build -o $@ github.com/onsi/ginkgo/v2/ginkgo

$(BIN)/vmt-e2e: go.mod go.sum $(shell find cmd framework tiers fixtures internal -name '*.go' -o -name '*.yaml' -o -name '*.tmpl' 2>/dev/null)
	@echo "building vmt-e2e"; go build -o $@ ./cmd/vmt-e2e

$(BIN)/vmt-nightly: go.mod go.sum $(shell find cmd/vmt-nightly framework tiers -name '*.go' -o -name '*.yaml' -o -name '*.tmpl' 2>/dev/null)
	@echo "building vmt-nightly"; go build -o $@ ./cmd/vmt-nightly

$(BIN)/vmt-report: go.mod go.sum $(shell find cmd/vmt-report tiers -name '*.go' -o -name '*.yaml' -o -name '*.tmpl' 2>/dev/null)
	@echo "building vmt-report"; go build -o $@ ./cmd/vmt-report

$(BIN)/vmt-virtctl: go.mod go.sum $(shell find cmd/vmt-virtctl reference -name '*.go' 2>/dev/null)
	@echo "building vmt-virtctl (reference CLI)"; go build -o $@ ./cmd/vmt-virtctl

# The local lane runs the simulator, which runs the reference template API server and controller
# (go build relinks nothing when they are up to date).
LANE_BINS := vmt-sim vmt-template-apiserver vmt-template-controller
export VMT_BIN_DIR ?= $(BIN)

lane-binaries: ## build the simulator and the reference template components the local lane runs
	@echo "building $(LANE_BINS)"; go build -o $(BIN)/ $(addprefix ./cmd/,$(LANE_BINS))

# The local and kind lanes drive the reference CLI; against a cluster, set VMT_VIRTCTL to a real virtctl
# (or leave it empty to use virtctl on PATH).
ifneq ($(filter local kind,$(PROVIDER)),)
export VMT_VIRTCTL ?= $(BIN)/vmt-virtctl
endif

e2e: tools $(if $(filter local,$(PROVIDER)),cluster-binaries lane-binaries) ## run LANE (tier1) on PROVIDER (local, playing PROFILE: kubevirt-1.9 | kubevirt-1.8); summary and report paths at the end
	$(BIN)/vmt-e2e --lane $(LANE) --provider $(PROVIDER) $(if $(PROFILE),--profile '$(PROFILE)') --procs $(PROCS) --artifacts $(ARTIFACTS) --ginkgo $(BIN)/ginkgo

# The self-tests run whole hermetic lanes; on a busy 2-core machine their package takes longer
# than go test's default 10 minutes.
UNIT_TIMEOUT ?= 45m

unit: cluster-binaries lane-binaries tools ## unit and integration tests of the framework, tiers, fixtures and reference implementation
	go test -count=1 -timeout $(UNIT_TIMEOUT) $(GO_UNIT_PKGS)

verify: ## fail when generated files (CRDs, deepcopy) are out of date
	@if [ -x ci/tools/generate.sh ] || [ -f ci/tools/generate.sh ]; then bash ci/tools/generate.sh --verify; fi

# make test plays both generations the STP targets: KubeVirt 1.9 / virt-template v0.2.2 and
# KubeVirt 1.8 / v0.1.8 (v1alpha1 only), each with its own reports.
PROFILES_ALL := kubevirt-1.9 kubevirt-1.8

test: deps unit verify ## every test: unit tests, generated-file checks, then the hermetic lane on both profiles
	@for p in $(PROFILES_ALL); do \
		echo "== hermetic lane, profile $$p"; \
		$(MAKE) --no-print-directory e2e LANE=hermetic PROVIDER=local PROFILE=$$p ARTIFACTS=$(ARTIFACTS)/$$p || exit 1; \
	done

bench: cluster-binaries lane-binaries ## print the figures the issues target: local cluster warm start, engine processing, the scale lane beside its GET floor
	go test -run '^$$' -bench 'WarmStart|ProviderUp' -benchtime 3x ./framework/cluster/local/ | grep -E '^(Benchmark|ok|FAIL)'
	@echo "tier1 lane on the local provider, wall time (target <= 90 s)"
	@start=$$(date +%s.%N); $(MAKE) --no-print-directory e2e LANE=tier1 ARTIFACTS=$(ARTIFACTS)/bench-tier1 >/dev/null; \
		awk -v s=$$start -v e=$$(date +%s.%N) 'BEGIN { printf "tier1 wall: %.1f s\n", e - s }'
	@echo "hermetic lane (tier1 + tier2) per profile, wall time (target <= 90 s each)"
	@for p in $(PROFILES_ALL); do \
		start=$$(date +%s.%N); $(MAKE) --no-print-directory e2e LANE=hermetic PROFILE=$$p ARTIFACTS=$(ARTIFACTS)/bench-hermetic-$$p >/dev/null; \
		awk -v p=$$p -v s=$$start -v e=$$(date +%s.%N) 'BEGIN { printf "hermetic %s wall: %.1f s\n", p, e - s }'; \
	done
	go test -run '^$$' -bench . ./reference/apiserver/ | grep -E '^(Benchmark|ok|FAIL)'
	@if [ -d reference/engine ]; then go test -run '^$$' -bench . -benchmem ./reference/engine/ | grep -E '^(Benchmark|ok|FAIL)'; fi
	@echo "scale lane (VMT-024) on the hermetic lane against the reference implementation; reports in $(ARTIFACTS)/bench"
	@$(MAKE) --no-print-directory e2e LANE=scale PROCS=1 ARTIFACTS=$(ARTIFACTS)/bench | \
		awk '/^== scale:/ {on=1} /^== / && !/^== scale:/ {on=0} on || /^[0-9]+ passed, [0-9]+ failed$$/'

# Container images without Docker (internal/image, cmd/vmt-image): static binaries on an empty
# base, written as docker/OCI tarballs (docker load, podman load, kind load image-archive).
IMAGES ?= vmt-conformance,vmt-template-apiserver,vmt-template-controller
TAG    ?= devel

.PHONY: image
image: ## write _output/images/{vmt-conformance,vmt-template-apiserver,vmt-template-controller}.tar (IMAGES, TAG=devel); no Docker needed
	@go run ./cmd/vmt-image --images '$(IMAGES)' --tag '$(TAG)' --out _output/images

.PHONY: stress
stress: ## make unit + the hermetic lane, ROUNDS (5) times under load (HOGS=2 busy processes per core); RUN=unit|lanes|both, LANES, PROFILES (all), PKGS, TESTS, ROUND_TIMEOUT (45m), STRESS_TIMEOUT (4h), STRESS_OUT
	@go build -o $(BIN)/vmt-stress ./cmd/vmt-stress
	@$(BIN)/vmt-stress --procs '$(PROCS)' $(if $(ROUNDS),--rounds='$(ROUNDS)') $(if $(HOGS),--hogs='$(HOGS)') $(if $(RUN),--run='$(RUN)') \
		$(if $(LANES),--lanes='$(LANES)') $(if $(PROFILES),--profiles='$(PROFILES)') $(if $(PKGS),--pkgs='$(PKGS)') $(if $(TESTS),--test-run='$(TESTS)') \
		$(if $(ROUND_TIMEOUT),--round-timeout='$(ROUND_TIMEOUT)') $(if $(STRESS_TIMEOUT),--timeout='$(STRESS_TIMEOUT)') $(if $(STRESS_OUT),--out='$(STRESS_OUT)')

fuzz: ## fuzz the processing engine for FUZZTIME (10m)
	go test -run '^$$' -fuzz FuzzProcess -fuzztime $(FUZZTIME) ./reference/engine/

cluster-up: cluster-binaries lane-binaries ## start a local cluster in the background (prints `export KUBECONFIG=...`)
	@go run ./cmd/vmt-cluster up

cluster-down: ## stop every local cluster
	@go run ./cmd/vmt-cluster down --all

list-lanes: ## print every lane and its label expression (for plain ginkgo --label-filter)
	@go run ./cmd/vmt-e2e --lanes

list: ## print the specs LANE selects, with scenario ids and required capabilities (no cluster)
	@go run ./cmd/vmt-e2e --lane $(LANE) --list

report: ## regenerate JUnit, traceability matrix and GA-readiness report from ARTIFACTS
	go run ./cmd/vmt-report --artifacts $(ARTIFACTS)

nightly: tools ## the nightly job against KUBECONFIG: preconditions, LANE (nightly), reports (ci/nightly.sh)
	LANE=$(if $(filter tier1,$(LANE)),nightly,$(LANE)) PROCS=$(PROCS) ARTIFACTS=$(ARTIFACTS) bash ci/nightly.sh

deps: ## install the system packages tests need (headless Chromium for the HTML report check)
	@bash ci/deps.sh
