#!/usr/bin/env bash
# Builds prometheus and promtool from the pinned wrapper module (hack/testbin/prometheus) into a cache
# directory outside the repo, once per version of its go.mod and go.sum, and prints that directory. The tests
# run promtool on the chart's rules and a real Prometheus against a running operator. Built without the web UI's assets (the
# HTTP API is all the tests use) and with only the static, file and HTTP service discovery.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"
# Keyed on the wrapper's files as go-helper.sh does: a regenerated go.sum (same version) must not reuse the old build.
sum=$(sha256sum "$here/prometheus/go.mod" "$here/prometheus/go.sum" | sha256sum | cut -c1-12)
out="${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/prometheus-$PROMETHEUS_VERSION-$sum"
if [ -x "$out/prometheus" ] && [ -x "$out/promtool" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "go is needed to build prometheus and promtool for the tests" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"
start=$(date +%s)
echo "building prometheus and promtool $PROMETHEUS_VERSION into $out (once per go.mod and go.sum)" >&2
(
  cd "$here/prometheus"
  flags="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"
  go build -tags remove_all_sd -ldflags "$flags" -o "$tmp/" \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
) >&2
mv "$tmp/prometheus" "$tmp/promtool" "$out/"
echo "built prometheus and promtool in $(( $(date +%s) - start )) s" >&2
echo "$out"
