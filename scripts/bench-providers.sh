#!/usr/bin/env bash
# The shadow on the example project with the local and the docker provider, in one run:
# time to the first successful connection (ready) and the whole shadow, best of N.
# Needs the postgres:15 image (scripts/build-postgres-image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cargo build --release --quiet
bin=target/release/migration-guard

for provider in local docker; do
  best_ready=999999 best_total=999999
  for _ in $(seq "$rounds"); do
    read -r ready total < <("$bin" shadow --provider "$provider" --format json 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["postgres"]["ready_ms"], r["duration_ms"])')
    (( ready < best_ready )) && best_ready=$ready
    (( total < best_total )) && best_total=$total
  done
  printf '%-7s ready %6d ms   shadow %6d ms   (best of %d)\n' "$provider" "$best_ready" "$best_total" "$rounds"
done
