#!/usr/bin/env bash
# A Lua interpreter for the Argo CD health check test (config/argocd/health.lua): Debian's lua5.4, installed
# when missing and this user may (root); otherwise the test says what to install.
set -euo pipefail
command -v lua5.4 >/dev/null || command -v lua >/dev/null && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "lua: installing lua5.4 (for the Argo CD health check test)" >&2
  (apt-get install -y -qq lua5.4 || { apt-get update -qq && apt-get install -y -qq lua5.4; }) >&2
fi
