#!/usr/bin/env bash
# Builds the kstatus test helper (hack/testbin/kstatus: sigs.k8s.io/cli-utils' kstatus, which Flux uses to
# decide readiness) into a cache directory outside the repo, once per go.sum, and prints that directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sum=$(sha256sum "$here/kstatus/go.sum" "$here/kstatus/main.go" | sha256sum | cut -c1-12)
out="${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/kstatus-$sum"
if [ -x "$out/kstatus" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "go is needed to build the kstatus test helper" >&2; exit 1; }
mkdir -p "$out"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"
(cd "$here/kstatus" && go mod download && go build -ldflags "-s -w" -o "$out/kstatus.partial" .) >&2
mv "$out/kstatus.partial" "$out/kstatus"
echo "built the kstatus test helper into $out" >&2
echo "$out"
