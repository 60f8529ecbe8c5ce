#!/usr/bin/env bash
# Runs jest (extra arguments go to jest), writes test-results/jest.json, ends with "N passed, N failed".
# Two workers and the tests of each file in a random order, so a test that leans on another's leftovers
# or on running alone fails here, not later. JEST_SEED=<seed> replays an order; JEST_WORKERS=1 runs serially.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results
rm -f test-results/jest.json
seed="${JEST_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
NODE_OPTIONS=--experimental-vm-modules npx --no-install jest --ci --json --outputFile=test-results/jest.json \
  --maxWorkers="${JEST_WORKERS:-2}" --randomize --seed="$seed" "$@"
status=$?
echo "test order seed: $seed (JEST_SEED=$seed replays it)"
node hack/test-summary.mjs test-results/jest.json
exit $status
