#!/usr/bin/env bash
# Regenerates the Go wrapper modules that pin the test binaries (the control plane's, prometheus and promtool).
# k8s.io/kubernetes maps its staging modules to ./staging with replace directives that are ignored
# when it is a dependency, so the wrapper replaces each of them with the matching v0.X.Y release,
# derived from the release's own go.mod rather than from a hand-kept list.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

staging_version="v0.${KUBE_VERSION#v1.}"
kube_gomod=$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
go_line=$(grep -E '^go [0-9.]+' "$kube_gomod")

write_wrapper() { # dir module
  local dir=$1 module=$2
  rm -f "$dir/go.mod" "$dir/go.sum"
  printf 'module %s\n\n%s\n' "$module" "$go_line" > "$dir/go.mod"
}

kube="$here/kube"
write_wrapper "$kube" gateway-operator/testbin/kube
{
  echo
  echo "replace ("
  grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$kube_gomod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} >> "$kube/go.mod"
(cd "$kube" &&
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@${KUBE_VERSION}" &&
  go get -tool "k8s.io/kubernetes/cmd/kube-controller-manager@${KUBE_VERSION}" &&
  go get -tool "k8s.io/kubernetes/cmd/kubectl@${KUBE_VERSION}" &&
  go mod tidy)

etcd="$here/etcd"
write_wrapper "$etcd" gateway-operator/testbin/etcd
(cd "$etcd" && go get -tool "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" && go mod tidy)
prometheus="$here/prometheus"
rm -f "$prometheus/go.mod" "$prometheus/go.sum"
prometheus_gomod=$(go mod download -json "github.com/prometheus/prometheus@${PROMETHEUS_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
printf 'module gateway-operator/testbin/prometheus\n\n%s\n' "$(grep -E '^go [0-9.]+' "$prometheus_gomod")" > "$prometheus/go.mod"
(cd "$prometheus" &&
  go get -tool "github.com/prometheus/prometheus/cmd/prometheus@${PROMETHEUS_VERSION}" &&
  go get -tool "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}" &&
  go mod tidy)
echo "wrappers regenerated for kubernetes ${KUBE_VERSION}, etcd ${ETCD_VERSION}, prometheus ${PROMETHEUS_VERSION}"
