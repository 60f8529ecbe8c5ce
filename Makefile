# Every target installs and builds what it needs, so each works on a fresh clone.
SHELL := bash
.DEFAULT_GOAL := build
NPM_STAMP := node_modules/.npm-ci.stamp

.PHONY: deps testbin lua build lint generate test test-image test-unit test-integration mutation bench bench-tunnel bench-grpc bench-ha demo demo-down cluster-up cluster-down clean image image-local deploy undeploy release release-archive

# Not `npm ci`: the registry reachable here serves only the Linux builds of platform-specific optional
# packages (jest 30's resolver bindings), so the lock file lists those alone and `npm ci` calls it out
# of sync. `npm install --no-save` installs exactly the locked versions and never rewrites the lock.
$(NPM_STAMP): package.json package-lock.json
	npm install --no-save --no-audit --no-fund
	@touch $@

## deps: node modules, the test control plane binaries (kube-apiserver, etcd, ...), prometheus and promtool (built once, cached), Lua
deps: $(NPM_STAMP) testbin lua

lua:
	@bash hack/lua.sh

testbin:
	@bash hack/testbin/build.sh >/dev/null
	@bash hack/testbin/gateway-api-crds.sh >/dev/null
	@bash hack/testbin/go-helper.sh
	@bash hack/testbin/prometheus.sh >/dev/null

## build: compile TypeScript: the operator to dist/, the reference control plane to dist-reference/
build: $(NPM_STAMP)
	npm run --silent build

## lint: type-check everything, tests included; fails when src/api/v1alpha1/generated.ts is out of date with crds/, the chart README's values table with its values.yaml, or a layer rule of .dependency-cruiser.cjs is broken (no folder cycles, api/ pure, features meet only in app.ts)
lint: $(NPM_STAMP)
	npm run --silent lint

## generate: from the CRDs in crds/, the API types (src/api/v1alpha1/generated.ts) and the chart's CRD templates; the chart README's values table from values.yaml; run after changing a CRD or a value
generate: $(NPM_STAMP)
	npm run --silent generate

## test: unit + integration tests against a real kube-apiserver + etcd; ends with "N passed, N failed"
test: deps build lint test-image
	bash hack/run-tests.sh

# The image the image test runs (built on local bases; where podman cannot run, the test says why).
test-image:
	@bash hack/test-image.sh

test-unit: $(NPM_STAMP)
	bash hack/run-tests.sh --selectProjects unit

test-integration: deps build
	bash hack/run-tests.sh --selectProjects integration

## mutation: mutation testing of the pure core (StrykerJS, ~25 min): score per file, HTML report in reports/mutation/; exits 1 when a file is below 85 % (not part of make test)
mutation: $(NPM_STAMP)
	npx --no-install stryker run
	node hack/mutation-scores.mjs

## demo: everything end to end on this machine, until Ctrl-C (DEMO_EXIT=1 stops after the first request)
demo: deps build
	@npx --no-install tsx hack/demo.ts

## demo-down: stop a demo running in another terminal
demo-down:
	@if [ -f .local/demo.pid ]; then kill -TERM $$(cat .local/demo.pid) && echo "demo stopping"; else echo "no demo is running"; fi

## bench: the operator at scale (BENCH_N Ingresses, default 10000): table + bench/results.json; never part of `make test`
BENCH_N ?= 10000
bench: deps build
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/scale.ts
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/tunnel.ts
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/grpc.ts
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/ha.ts

## bench-ha: the availability part alone (replicas replaced and killed under load, about two minutes)
bench-ha: deps build
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/ha.ts

## bench-grpc: gRPC and HTTPS backends through the tunnel against straight (about a minute), merged into the same results file
bench-grpc: deps build
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/grpc.ts

## bench-tunnel: the tunnel part of the bench alone (about a minute), merged into the same results file
bench-tunnel: deps build
	BENCH_N=$(BENCH_N) npx --no-install tsx bench/tunnel.ts

## cluster-up: start etcd + kube-apiserver (CRDs installed) in the background; writes .local/kubeconfig
cluster-up: deps
	@npx --no-install tsx test/support/cluster-cli.ts up

## cluster-down: stop what cluster-up started
cluster-down: $(NPM_STAMP)
	@npx --no-install tsx test/support/cluster-cli.ts down

, := ,
# package.json's version is the release's: the chart and the kustomize images carry checked copies (hack/release.ts).
VERSION := $(shell node -p "require('./package.json').version")
# The image this project publishes (the chart's and config/'s default).
IMAGE_REPOSITORY := ghcr.io/pipeops/gateway-operator
IMAGE ?= $(IMAGE_REPOSITORY):$(VERSION)
CONTAINER_TOOL ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
# Empty: the Dockerfile's defaults (official Node 24 images). `make image-base` prints local ones.
BASE_IMAGE ?=
BUILD_IMAGE ?=
# Extra CAs for the build stage's npm (a TLS-intercepting network); passed as a build secret, never a layer.
# Default: $NODE_EXTRA_CA_CERTS, else npm's cafile, else this machine's CA bundle (harmless where not needed).
BUILD_CA_FILE ?= $(firstword $(NODE_EXTRA_CA_CERTS) $(filter-out null undefined,$(shell npm config get cafile 2>/dev/null)) $(wildcard /etc/ssl/certs/ca-certificates.crt))
IMAGE_BUILD_ARGS = $(if $(BUILD_CA_FILE),--secret id=ca$(,)src=$(BUILD_CA_FILE)) --build-arg VERSION=$(VERSION) $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) $(if $(BUILD_IMAGE),--build-arg BUILD_IMAGE=$(BUILD_IMAGE))

## image: build the container image $(IMAGE) with podman or docker (BASE_IMAGE=/BUILD_IMAGE= to swap bases)
image:
	@[ -n "$(CONTAINER_TOOL)" ] || { echo "make image: neither podman nor docker is installed" >&2; exit 1; }
	$(CONTAINER_TOOL) build $(if $(findstring podman,$(CONTAINER_TOOL)),--network host) $(IMAGE_BUILD_ARGS) -t $(IMAGE) .
	@$(CONTAINER_TOOL) image inspect $(IMAGE) --format 'image $(IMAGE): {{.Size}} bytes'

## image-local: make local Node 24 base images (no registry needed), then build the image on them
image-local:
	@bases=$$(bash hack/image-base.sh) && $(MAKE) --no-print-directory image BASE_IMAGE=$$(sed -n 1p <<<"$$bases") BUILD_IMAGE=$$(sed -n 2p <<<"$$bases")

KUBECTL ?= kubectl
CLUSTER_NAME ?=
CONTROL_PLANE_URL ?=
TOKEN_FILE ?=

## deploy: install with kustomize into the current kube context (CLUSTER_NAME= required; CONTROL_PLANE_URL=, TOKEN_FILE=, IMAGE=)
deploy:
	@[ -n "$(CLUSTER_NAME)" ] || { echo "make deploy: CLUSTER_NAME is required: a name unique among your clusters" >&2; exit 2; }
	@[ -z "$(CONTROL_PLANE_URL)" ] || [ -f "$(TOKEN_FILE)" ] || { echo "make deploy: TOKEN_FILE must name the file holding the control-plane token" >&2; exit 2; }
	$(KUBECTL) create namespace gateway-system --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) -n gateway-system create secret generic gateway-operator --dry-run=client -o yaml \
	  --from-literal=cluster-name='$(CLUSTER_NAME)' $(if $(CONTROL_PLANE_URL),--from-literal=control-plane-url='$(CONTROL_PLANE_URL)') \
	  $(if $(TOKEN_FILE),--from-file=token='$(TOKEN_FILE)',--from-literal=token=) | $(KUBECTL) apply -f -
	@mkdir -p .local/deploy
	@image='$(IMAGE)'; printf 'resources: [../../config/default]\nimages: [{name: $(IMAGE_REPOSITORY), newName: "%s", newTag: "%s"}]\n' "$${image%:*}" "$${image##*:}" > .local/deploy/kustomization.yaml
	$(KUBECTL) apply -k .local/deploy
	$(KUBECTL) -n gateway-system rollout status deployment/gateway-operator --timeout=120s

## undeploy: tell the control plane this cluster's routes are gone (config/deregister), then delete everything
undeploy:
	@if $(KUBECTL) -n gateway-system get secret gateway-operator -o jsonpath='{.data.control-plane-url}' 2>/dev/null | grep -q .; then \
	  mkdir -p .local/undeploy; image='$(IMAGE)'; \
	  printf 'resources: [../../config/deregister]\nimages: [{name: $(IMAGE_REPOSITORY), newName: "%s", newTag: "%s"}]\n' "$${image%:*}" "$${image##*:}" > .local/undeploy/kustomization.yaml; \
	  $(KUBECTL) delete job -n gateway-system gateway-operator-deregister --ignore-not-found; \
	  $(KUBECTL) apply -k .local/undeploy && \
	  $(KUBECTL) -n gateway-system wait --for=condition=complete job/gateway-operator-deregister --timeout=180s || \
	  { echo "make undeploy: deregistering failed; see: kubectl -n gateway-system logs job/gateway-operator-deregister" >&2; exit 1; }; \
	  $(KUBECTL) delete -k .local/undeploy --ignore-not-found; \
	fi
	$(KUBECTL) delete -k config/default --ignore-not-found

RELEASE_DIR := dist-release
# helm on the PATH, else the pinned one built with the test control plane.
HELM ?= $(or $(shell command -v helm 2>/dev/null),$(shell bash hack/testbin/build.sh 2>/dev/null | tail -1)/helm)

## release: into dist-release/: the chart package, the image archive ($(IMAGE), `podman load -i`), the CRDs as one file, RELEASE-NOTES.md (CHANGELOG.md's entry for the version, which must exist) and SHA256SUMS. The image is built on local Node 24 bases unless BASE_IMAGE= / BUILD_IMAGE= name others
release: $(NPM_STAMP)
	@rm -rf $(RELEASE_DIR)
	npx --no-install tsx hack/release.ts prepare $(RELEASE_DIR)
	$(HELM) lint --strict charts/gateway-operator --set clusterName=release
	$(HELM) package charts/gateway-operator --destination $(RELEASE_DIR)
	@[ -n "$(CONTAINER_TOOL)" ] || [ "$$(id -u)" -eq 0 ] || { echo "make release: the image needs podman or docker, and neither is installed (as root, hack/image-base.sh installs podman)" >&2; exit 1; }
	$(MAKE) --no-print-directory $(if $(BASE_IMAGE)$(BUILD_IMAGE),image,image-local) IMAGE=$(IMAGE)
	@# A make of its own: CONTAINER_TOOL is looked up again, after image-local may have installed podman.
	$(MAKE) --no-print-directory release-archive

release-archive:
	$(CONTAINER_TOOL) save -o $(RELEASE_DIR)/gateway-operator-image-$(VERSION).tar $(IMAGE)
	cd $(RELEASE_DIR) && sha256sum -- * > SHA256SUMS
	@echo "release $(VERSION) in $(RELEASE_DIR)/:"; ls -l $(RELEASE_DIR); echo "then: git tag v$(VERSION); push the image and the chart (README: Releases)"

clean:
	rm -rf dist dist-reference test-results $(RELEASE_DIR)
