#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 120), starting from the
# small committed seeds. Needs cargo-fuzz; on a stable toolchain it sets
# RUSTC_BOOTSTRAP=1 for the sanitizer flags. Crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-120}"
export RUSTC_BOOTSTRAP=1
for t in receipt keys actions bundle report tip_json followup manifest; do
  mkdir -p "corpus/$t"
  echo "== $t ($secs s)"
  cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -3
done
