#!/usr/bin/env bash
# Runs jest (extra arguments go to jest), writes test-results/jest.json, ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results
rm -f test-results/jest.json
NODE_OPTIONS=--experimental-vm-modules npx --no-install jest --ci --json --outputFile=test-results/jest.json "$@"
status=$?
node hack/test-summary.mjs test-results/jest.json
exit $status
