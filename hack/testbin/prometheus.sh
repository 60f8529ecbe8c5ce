#!/usr/bin/env bash
# Builds prometheus and promtool from the pinned wrapper module (hack/testbin/prometheus) into a cache
# directory outside the repo, once per version of its go.mod and go.sum, and prints that directory. The tests
# run promtool on the chart's rules and a real Prometheus against a running operator. Built without the web UI's assets (the
# HTTP API is all the tests use) and with only the static, file and HTTP service discovery.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"
# shellcheck source=hack/testbin/cache.sh
. "$here/cache.sh"
out=$(cache_dir "prometheus-$PROMETHEUS_VERSION" "$here/prometheus/go.mod" "$here/prometheus/go.sum")
build() {
  local start
  start=$(date +%s)
  echo "building prometheus and promtool $PROMETHEUS_VERSION into $out (once per go.mod and go.sum)"
  cd "$here/prometheus"
  go build -tags remove_all_sd -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" -o "$1/" \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
  echo "built prometheus and promtool in $(( $(date +%s) - start )) s"
}
build_into "$out" build prometheus promtool
echo "$out"
