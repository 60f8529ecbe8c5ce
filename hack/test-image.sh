#!/usr/bin/env bash
# Before `make test`: builds the operator image on locally made bases (hack/image-base.sh) for the image
# test, and writes its name to .local/test-image. Where podman cannot be had or run (not root and not
# installed), writes the reason to .local/test-image.skip instead and the test reports one skipped line.
# A build that fails where podman works fails `make test`.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local
rm -f .local/test-image .local/test-image.skip
image=localhost/gateway-operator:test

if ! command -v podman >/dev/null && [[ $(id -u) -ne 0 ]]; then
  echo "podman is not installed and this user cannot install it (apt-get install podman runc needs root)" > .local/test-image.skip
  echo "image test: skipped ($(cat .local/test-image.skip))" >&2
  exit 0
fi
started=$SECONDS
if ! bases=$(bash hack/image-base.sh); then
  echo "image test: making the base images failed (see above)" >&2
  exit 1
fi
if ! make --no-print-directory image IMAGE="$image" BASE_IMAGE="$(sed -n 1p <<<"$bases")" BUILD_IMAGE="$(sed -n 2p <<<"$bases")" >.local/test-image.log 2>&1; then
  tail -40 .local/test-image.log >&2
  echo "image test: building the image failed" >&2
  exit 1
fi
echo "$image" > .local/test-image
echo "image test: $(tail -1 .local/test-image.log) in $((SECONDS - started)) s" >&2
