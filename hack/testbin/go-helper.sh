#!/usr/bin/env bash
# Builds a small test-only Go program, hack/testbin/<name>/ (main.go with its pinned go.mod and go.sum), into a
# cache directory outside the repo, once per version of those three files, and prints that directory. The helpers:
# kstatus (sigs.k8s.io/cli-utils' kstatus, which Flux uses to decide readiness) and netpol (cyclonus'
# NetworkPolicy matcher). Without a name, builds every hack/testbin/*/main.go.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/testbin/cache.sh
. "$here/cache.sh"
if [ $# -eq 0 ]; then
  for main in "$here"/*/main.go; do bash "$0" "$(basename "$(dirname "$main")")" >/dev/null; done
  exit 0
fi
name=$1
[ -f "$here/$name/main.go" ] || { echo "no test helper hack/testbin/$name" >&2; exit 2; }
out=$(cache_dir "$name" "$here/$name/go.mod" "$here/$name/go.sum" "$here/$name/main.go")
build() {
  cd "$here/$name" && go mod download && go build -ldflags "-s -w" -o "$1/$name" .
  echo "built the $name test helper into $out"
}
build_into "$out" build "$name"
echo "$out"
