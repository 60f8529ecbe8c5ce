# Sourced by the builders of test binaries (go-helper.sh, prometheus.sh): one cache directory outside the repo per
# content of a wrapper module's files, and a build that lands there whole or not at all.

# cache_dir <name> <files...>: the cache directory of <name> for this content of <files>; a regenerated go.sum
# at the same version must not reuse the old build.
cache_dir() {
  local name=$1
  shift
  echo "${XDG_CACHE_HOME:-$HOME/.cache}/gateway-operator/$name-$(sha256sum "$@" | sha256sum | cut -c1-12)"
}

# build_into <out> <build function> <binaries...>: unless every binary is in <out> already, runs the build
# function with a directory of its own as its argument (two test workers may build at once) and renames the
# binaries into <out>. The build's output goes to stderr: stdout is the cache directory the caller prints.
build_into() {
  local out=$1 build=$2 bin missing=0 tmp
  shift 2
  for bin in "$@"; do [ -x "$out/$bin" ] || missing=1; done
  [ "$missing" = 1 ] || return 0
  command -v go >/dev/null || { echo "go is needed to build $* for the tests" >&2; return 1; }
  mkdir -p "$out"
  tmp=$(mktemp -d "$out/.partial.XXXXXX")
  # shellcheck disable=SC2064 # the directory is known now
  trap "rm -rf '$tmp'" EXIT
  (export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -mod=readonly" && "$build" "$tmp") >&2
  for bin in "$@"; do mv "$tmp/$bin" "$out/$bin"; done
}
