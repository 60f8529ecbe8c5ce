# Every target installs and builds what it needs, so each works on a fresh clone.
SHELL := bash
.DEFAULT_GOAL := build
NPM_STAMP := node_modules/.npm-ci.stamp

.PHONY: deps testbin build lint test test-unit test-integration bench demo demo-down cluster-up cluster-down clean

# Not `npm ci`: the registry reachable here serves only the Linux builds of platform-specific optional
# packages (jest 30's resolver bindings), so the lock file lists those alone and `npm ci` calls it out
# of sync. `npm install --no-save` installs exactly the locked versions and never rewrites the lock.
$(NPM_STAMP): package.json package-lock.json
	npm install --no-save --no-audit --no-fund
	@touch $@

## deps: node modules and the test control plane binaries (kube-apiserver, etcd, ...; built once, cached)
deps: $(NPM_STAMP) testbin

testbin:
	@bash hack/testbin/build.sh >/dev/null

## build: compile TypeScript to dist/
build: $(NPM_STAMP)
	npm run --silent build

## lint: type-check everything, tests included
lint: $(NPM_STAMP)
	npm run --silent lint

## test: unit + integration tests against a real kube-apiserver + etcd; ends with "N passed, N failed"
test: deps build lint
	bash hack/run-tests.sh

test-unit: $(NPM_STAMP)
	bash hack/run-tests.sh --selectProjects unit

test-integration: deps build
	bash hack/run-tests.sh --selectProjects integration

## demo: everything end to end on this machine, until Ctrl-C (DEMO_EXIT=1 stops after the first request)
demo: deps build
	@npx --no-install tsx hack/demo.ts

## demo-down: stop a demo running in another terminal
demo-down:
	@if [ -f .local/demo.pid ]; then kill -TERM $$(cat .local/demo.pid) && echo "demo stopping"; else echo "no demo is running"; fi

## bench: benchmarks (Ingress → control plane latency, bytes per route); never part of `make test`
bench: deps build
	npx --no-install tsx bench/route-latency.ts

## cluster-up: start etcd + kube-apiserver (CRDs installed) in the background; writes .local/kubeconfig
cluster-up: deps
	@npx --no-install tsx test/support/cluster-cli.ts up

## cluster-down: stop what cluster-up started
cluster-down: $(NPM_STAMP)
	@npx --no-install tsx test/support/cluster-cli.ts down

clean:
	rm -rf dist test-results
