#!/usr/bin/env bash
# Builds a small test-only Go program, hack/testbin/<name>/ (main.go with its pinned go.mod and go.sum), into a
# cache directory outside the repo, once per version of those three files, and prints that directory. The helpers:
# kstatus (sigs.k8s.io/cli-utils' kstatus, which Flux uses to decide readiness) and netpol (cyclonus'
# NetworkPolicy matcher). Without a name, builds every hack/testbin/*/main.go.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
  for main in "$here"/*/main.go; do bash "$0" "$(basename "$(dirname "$main")")" >/dev/null; done
  exit 0
fi
name=$1
[ -f "$here/$name/main.go" ] || { echo "no test helper hack/testbin/$name" >&2; exit 2; }
sum=$(sha256sum "$here/$name/go.mod" "$here/$name/go.sum" "$here/$name/main.go" | sha256sum | cut -c1-12)
out="${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/$name-$sum"
if [ -x "$out/$name" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "go is needed to build the $name test helper" >&2; exit 1; }
mkdir -p "$out"
# A build directory of its own, renamed into place: two test workers may build the same helper at once.
tmp=$(mktemp -d "$out/$name.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"
(cd "$here/$name" && go mod download && go build -ldflags "-s -w" -o "$tmp/$name" .) >&2
mv "$tmp/$name" "$out/$name"
echo "built the $name test helper into $out" >&2
echo "$out"
