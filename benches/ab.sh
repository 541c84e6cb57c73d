#!/usr/bin/env bash
# Compares builds of peluit fairly on this noisy machine: the builds take
# turns on the same data folder, each start followed by an uncounted warm-up
# run and RUNS measured runs of `wrk`, for ROUNDS rounds. Prints requests per
# second of every run. Uses the keys and wrk scripts of a kept load.sh folder:
#
#   KEEP=1 WORK=/var/tmp/w bash benches/load.sh        # once, makes WORK
#   WORK=/var/tmp/w KIND=status DATA=/var/tmp/w/data-big bash benches/ab.sh OLD_BIN NEW_BIN
#   WORK=/var/tmp/w KIND=submit DATA=/var/tmp/scratch bash benches/ab.sh OLD_BIN NEW_BIN
#
# KIND: status (POST /api/v1/status with WORK/receipts.txt) or submit (tips).
set -euo pipefail
WORK=${WORK:?WORK must be a folder kept by benches/load.sh}
KIND=${KIND:-status} DATA=${DATA:?DATA: the data folder to serve}
ROUNDS=${ROUNDS:-3} RUNS=${RUNS:-3} DURATION=${DURATION:-10} CONNS=${CONNS:-32}
PORT=${PORT:-18090}
case "$KIND" in
    status) script=$WORK/status.lua path=/api/v1/status ;;
    submit) script=$WORK/submit.lua path=/api/v1/reports ;;
    *) echo "KIND must be status or submit" >&2; exit 2 ;;
esac
[ "$#" -ge 2 ] || { echo "usage: benches/ab.sh BIN BIN..." >&2; exit 2; }
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true' EXIT
for round in $(seq 1 "$ROUNDS"); do
    for bin in "$@"; do
        "$bin" serve --listen "127.0.0.1:$PORT" --data "$DATA" --keys "$WORK/keys" \
            --submit-rate 0 --lookup-rate 0 >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
        wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$script" "http://127.0.0.1:$PORT$path" >/dev/null
        rates=()
        for _ in $(seq 1 "$RUNS"); do
            rates+=("$(wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$script" "http://127.0.0.1:$PORT$path" |
                awk '/Requests\/sec/ {printf "%.0f", $2}')")
        done
        echo "round $round $bin: ${rates[*]}"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        pid=
    done
done
