#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kubectl, etcd) and helm from the pinned
# wrapper modules into a cache directory outside the repo, and prints that directory on stdout.
# Builds only what is missing. KUBEBUILDER_ASSETS, when set, wins (the envtest convention).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$here/versions.env"

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for bin in kube-apiserver etcd; do
    [ -x "$KUBEBUILDER_ASSETS/$bin" ] || { echo "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $bin" >&2; exit 1; }
  done
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

out="${GATEWAY_TESTBIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}}"
kube_tools=(kube-apiserver kube-controller-manager kubectl)
missing=()
for bin in "${kube_tools[@]}"; do [ -x "$out/$bin" ] || missing+=("$bin"); done
if [ ${#missing[@]} -eq 0 ] && [ -x "$out/etcd" ] && [ -x "$out/helm" ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "go is needed to build the test control plane (kube-apiserver, etcd)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d "$out.partial.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly"

start=$(date +%s)
echo "building the test control plane into $out (first run only; about 20 min on 2 cores)" >&2
if [ ${#missing[@]} -gt 0 ]; then
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  stamp="k8s.io/component-base/version"
  ldflags="-s -w -X $stamp.gitVersion=$KUBE_VERSION -X $stamp.gitMajor=1 -X $stamp.gitMinor=$minor -X $stamp.gitTreeState=clean"
  packages=()
  for bin in "${missing[@]}"; do packages+=("k8s.io/kubernetes/cmd/$bin"); done
  (cd "$here/kube" && go mod download && go build -ldflags "$ldflags" -o "$tmp/" "${packages[@]}") >&2
  for bin in "${missing[@]}"; do mv "$tmp/$bin" "$out/$bin"; done
  echo "built ${missing[*]} $KUBE_VERSION in $(( $(date +%s) - start )) s" >&2
fi
if [ ! -x "$out/etcd" ]; then
  (cd "$here/etcd" && go mod download && go build -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3) >&2
  mv "$tmp/etcd" "$out/etcd"
fi
if [ ! -x "$out/helm" ]; then
  # As helm's own Makefile does: the default Kubernetes version (lint, template) follows its client-go.
  (
    cd "$here/helm" && go mod download
    kminor=$(go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
    flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      flags="$flags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kminor"
    done
    go build -ldflags "$flags" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm
  ) >&2
  mv "$tmp/helm" "$out/helm"
fi
echo "test control plane built in $(( $(date +%s) - start )) s" >&2
echo "$out"
