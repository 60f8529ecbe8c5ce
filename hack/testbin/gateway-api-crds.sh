#!/usr/bin/env bash
# Fetches the Gateway API CRDs (standard channel) that the tests install, from the pinned Go module
# sigs.k8s.io/gateway-api (checked against the Go checksum database), into a cache directory outside the
# repo, and prints that directory on stdout. Only the kinds the operator reads are copied.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"

out="${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/gateway-api-${GATEWAY_API_VERSION}"
kinds=(gatewayclasses gateways httproutes referencegrants grpcroutes backendtlspolicies)
complete=true
for kind in "${kinds[@]}"; do [ -s "$out/gateway.networking.k8s.io_$kind.yaml" ] || complete=false; done
if $complete; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to fetch the Gateway API CRDs (module sigs.k8s.io/gateway-api)" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
# Outside any module, so the version named here is the one fetched.
module_dir=$(cd "$(mktemp -d)" && go mod download -json "sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$module_dir/config/crd/standard" ] || { echo "sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION} has no config/crd/standard (got '$module_dir')" >&2; exit 1; }
mkdir -p "$out"
for kind in "${kinds[@]}"; do cp "$module_dir/config/crd/standard/gateway.networking.k8s.io_$kind.yaml" "$out/"; done
echo "Gateway API ${GATEWAY_API_VERSION} CRDs in $out" >&2
echo "$out"
