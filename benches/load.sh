#!/usr/bin/env bash
# Load test of the release server on 127.0.0.1 only: durable tips per second,
# status checks per second, one large upload against the reference `age`
# binary, peak RSS under parallel uploads, the same rates with many stored
# reports, export/decrypt time and memory, and two attacks: peak RSS while
# 8 connections each push 200 MiB at the lookup routes and as a multipart
# part header, and GET / latency while slow bodies hold every upload slot.
# Prints one table; every figure is the median of $RUNS runs.
# docs/PERFORMANCE.md has the figures and analysis.
#
#   bash benches/load.sh            # full run (about an hour on 2 cores)
#   QUICK=1 bash benches/load.sh    # small counts, a few minutes
#
# Variables: RUNS, DURATION (s per rate run), WARMUP (s of an uncounted run
# before each rate's runs; 0 for none), CONNS, UPLOAD_MIB, PARALLEL,
# STORED (reports seeded for the "many stored" rates), EXPORT_N (reports for
# export/decrypt; EXPORT_N/10 is measured too, to show how memory scales),
# WORK (scratch folder, removed at the end unless KEEP=1), PHASES (any of
# "rates upload rss export stored hostile slow ab"; default all but ab),
# HOSTILE_MIB (what each attacking connection tries to push), SLOW_UPLOADS
# (the upload slots held by slow bodies), SERVE_EXTRA (more flags for
# `peluit serve`, e.g. "--cache-mib 512"), BIN (the peluit binary to measure;
# default the release build), AB_BINS, AB_KIND, AB_ROUNDS, AB_DATA (phase
# "ab", not in the default: builds taking turns, see below). With KEEP=1 and the same
# WORK, a later run reuses the seeded reports (their count is in WORK/seeded).
# Receipt codes only ever travel in request bodies and mode-0600 files under
# $WORK: never in argv, URLs or logs.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    RUNS=${RUNS:-3} DURATION=${DURATION:-3} UPLOAD_MIB=${UPLOAD_MIB:-16}
    STORED=${STORED:-20000} EXPORT_N=${EXPORT_N:-2000}
else
    RUNS=${RUNS:-3} DURATION=${DURATION:-10} UPLOAD_MIB=${UPLOAD_MIB:-100}
    STORED=${STORED:-1000000} EXPORT_N=${EXPORT_N:-100000}
fi
CONNS=${CONNS:-32}
WARMUP=${WARMUP:-5}
PARALLEL=${PARALLEL:-8}
PHASES=${PHASES:-rates upload rss export stored hostile slow}
HOSTILE_MIB=${HOSTILE_MIB:-200}
SLOW_UPLOADS=${SLOW_UPLOADS:-8}
phase() { [[ " $PHASES " == *" $1 "* ]]; }
TARGET=127.0.0.1
umask 077
WORK=${WORK:-$(mktemp -d /var/tmp/peluit-load.XXXXXX)}
mkdir -p "$WORK"
SERVER_PID=
BASE=

log() { printf '[load %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
BUSY=0
# Notes compilers or other load on the machine at the start of a phase.
busy_check() {
    local other
    other=$(pgrep -x rustc || pgrep -x cargo || pgrep -f clippy-driver || pgrep -f -- '-max_total_time=' ||
        pgrep -f chromium || true)
    PHASE_COUNT=$((PHASE_COUNT + 1))
    if [ -n "$other" ]; then
        BUSY=$((BUSY + 1))
        log "WARNING: compilers, fuzzers or browsers are running (load $(cut -d' ' -f1 /proc/loadavg)): figures may be low"
    fi
}
PHASE_COUNT=0
die() { log "FAILED: $*"; exit 1; }

# --- tools -----------------------------------------------------------------
need_apt() { # need_apt COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return
    log "installing $2"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }
}
need_apt wrk wrk
need_apt age age
need_apt curl curl
[ -x /usr/bin/time ] || need_apt /usr/bin/time time
command -v python3 >/dev/null || die "python3 is needed"

# --- server control ----------------------------------------------------------
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
cleanup() {
    stop_server
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() { # start_server DATA_DIR
    local log_file="$WORK/server-$(date +%s%N).log"
    RUST_LOG=info "$BIN" serve --listen "$TARGET:0" --data "$1" --keys "$WORK/keys" "${SERVE_FLAGS[@]}" \
        >"$log_file" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        grep -q 'listening on http://' "$log_file" && break
        kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -5 "$log_file")"
        sleep 0.1
    done
    BASE=$(grep -o 'listening on http://[0-9.:]*' "$log_file" | head -1 | sed 's/listening on //')
    [ -n "$BASE" ] || die "server did not start"
    case "$BASE" in "http://$TARGET:"*) ;; *) die "unexpected address $BASE" ;; esac
}

vm_hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status"; }

# --- numbers -----------------------------------------------------------------
na() { [[ "$*" == *n/a* ]]; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
calc() { if na "$1"; then echo n/a; else awk "BEGIN {printf \"%.${2:-2}f\", $1}"; fi; }
declare -A R
for k in submit_empty status_empty submit_full status_full; do
    R[${k}_rps]=n/a R[${k}_p50]=n/a R[${k}_p99]=n/a R[${k}_errors]=n/a
done
for k in export_small export_large decrypt_small decrypt_large; do R[${k}_s]=n/a R[${k}_mib]=n/a; done
for k in upload age hwm hwm_idle par_rate seed_rate bundle_large; do R[$k]=n/a; done
for k in status api_status part; do R[hostile_$k]=n/a R[hostile_${k}_idle]=n/a; done
for k in slow_home_p50 slow_home_max slow_tip slow_lookup slow_refused; do R[$k]=n/a; done
du_big=n/a small=$((EXPORT_N / 10))

# --- build and keys ----------------------------------------------------------
log "building the release binary and the seeder"
cargo build --release --quiet --bin peluit --example seed
BIN=${BIN:-$PWD/target/release/peluit}
SEED=$PWD/target/release/examples/seed
# Capacity is measured, so the global rate limits (whose defaults sit below
# it on purpose) are switched off for the load test.
SERVE_FLAGS=()
if "$BIN" serve --help | grep -q -- '--submit-rate'; then
    SERVE_FLAGS+=(--submit-rate 0 --lookup-rate 0)
fi
# SERVE_EXTRA: more `peluit serve` flags, e.g. SERVE_EXTRA="--cache-mib 512".
read -r -a extra <<<"${SERVE_EXTRA:-}"
SERVE_FLAGS+=("${extra[@]}")
mkdir -p "$WORK/keys"
if [ ! -s "$WORK/keys/recipients.txt" ]; then # a reused WORK keeps its keys
    for i in 1 2; do
        "$BIN" keygen --out "$WORK/investigator-$i" | grep '^age1' >>"$WORK/keys/recipients.txt"
    done
fi
[ "$(grep -c '^age1' "$WORK/keys/recipients.txt")" = 2 ] || die "keygen"
# The server key that signs bundles (a binary from before signed bundles has
# no such command and needs none).
EXPORT_KEYS=()
if "$BIN" keys server-key --help >/dev/null 2>&1; then
    [ -s "$WORK/keys/server.key" ] || "$BIN" keys server-key --out "$WORK/keys/server.key" >/dev/null
    EXPORT_KEYS=(--keys "$WORK/keys")
fi

# A ~3 KB JSON tip; every receipt-carrying body is written by python, not argv.
python3 - "$WORK/tip.json" <<'EOF'
import json, sys
text = ("Petugas loket meminta uang tambahan di luar tarif resmi untuk mempercepat "
        "pengurusan dokumen; kuitansi tidak diberikan dan pembayaran harus tunai. ") * 20
json.dump({"what": "pungutan liar di loket pelayanan", "text": text[:2900]},
          open(sys.argv[1], "w"))
EOF

cat >"$WORK/submit.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$WORK/tip.json", "rb")); wrk.body = f:read("*a"); f:close()
EOF
cat >"$WORK/status.lua" <<EOF
local bodies, i = {}, 0
for line in io.lines("$WORK/receipts.txt") do
  if #line > 0 then bodies[#bodies + 1] = '{"receipt":"' .. line .. '"}' end
end
local headers = { ["Content-Type"] = "application/json" }
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/v1/status", headers, bodies[i])
end
EOF
cat >"$WORK/done.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
cat "$WORK/done.lua" >>"$WORK/submit.lua"
cat "$WORK/done.lua" >>"$WORK/status.lua"

# Collects N receipts from real submissions into $WORK/receipts.txt (0600).
collect_receipts() { # collect_receipts N
    python3 - "$BASE" "$1" "$WORK/receipts.txt" <<'EOF'
import json, sys, urllib.request
base, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(out, "a") as f:
    for i in range(n):
        req = urllib.request.Request(base + "/api/v1/reports", method="POST",
            data=json.dumps({"what": "receipt %d" % i}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 201, r.status
            f.write(json.load(r)["receipt"] + "\n")
EOF
}

# rate KEY SCRIPT PATH: one warm-up run of $WARMUP s (not counted: it fills
# sled's cache and the kernel's page cache after a start), then $RUNS wrk
# runs; medians into R[KEY_rps|p50|p99|errors].
rate() {
    local rps=() p50=() p99=() bad=0 out
    if [ "$WARMUP" -gt 0 ]; then
        out=$(timeout $((WARMUP + 60)) wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 10s \
            -s "$2" "$BASE$3" | grep '^RESULT') || die "wrk warm-up"
        log "$1 warm-up: $(cut -d' ' -f2 <<<"$out") req/s (not counted)"
    fi
    for run in $(seq 1 "$RUNS"); do
        out=$(timeout $((DURATION + 60)) wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 10s \
            -s "$2" "$BASE$3" | grep '^RESULT') || die "wrk run $run of $1"
        read -r _ a b c d e <<<"$out"
        rps+=("$a") p50+=("$b") p99+=("$c") bad=$((bad + d + e))
        log "$1 run $run: $a req/s, p50 $b ms, p99 $c ms, non-2xx $d, socket errors $e"
    done
    R[${1}_rps]=$(median "${rps[@]}") R[${1}_p50]=$(median "${p50[@]}")
    R[${1}_p99]=$(median "${p99[@]}") R[${1}_errors]=$bad
}

# --- 1. rates on an empty store ----------------------------------------------
log "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
if phase rates || phase upload; then
rm -rf "$WORK/data-empty" "$WORK/receipts.txt"
start_server "$WORK/data-empty"
fi
if phase rates; then
collect_receipts 200
busy_check
log "status checks, nearly empty store (200 reports)"
rate status_empty "$WORK/status.lua" /api/v1/status
busy_check
log "tip submissions, empty store"
rate submit_empty "$WORK/submit.lua" /api/v1/reports
fi

# --- 2. one large upload against the age binary ---------------------------------
head -c $((UPLOAD_MIB << 20)) /dev/urandom >"$WORK/big.bin"
if phase upload; then
busy_check
log "one $UPLOAD_MIB MiB upload, and age -R on the same file"
up=() ag=()
for run in $(seq 1 "$RUNS"); do
    out=$(curl -sS --max-time 900 -o "$WORK/up.json" -w '%{time_total} %{http_code}' \
        -F "file=@$WORK/big.bin;filename=big.bin" "$BASE/api/v1/reports")
    [ "${out#* }" = 201 ] || die "upload answered ${out#* }"
    up+=("$(calc "$UPLOAD_MIB / ${out% *}" 1)")
    rm -f "$WORK/out.age"
    t0=$(date +%s.%N)
    timeout 900 age -R "$WORK/keys/recipients.txt" -o "$WORK/out.age" "$WORK/big.bin"
    sync "$WORK/out.age" # fsync of the output, as the server's group commit does
    t1=$(date +%s.%N)
    ag+=("$(calc "$UPLOAD_MIB / ($t1 - $t0)" 1)")
    log "upload run $run: server ${up[-1]} MiB/s, age ${ag[-1]} MiB/s"
done
rm -f "$WORK/out.age" "$WORK/up.json"
R[upload]=$(median "${up[@]}") R[age]=$(median "${ag[@]}")
fi
stop_server
rm -rf "$WORK/data-empty"

# --- 3. peak RSS with parallel uploads -----------------------------------------------
if phase rss; then
busy_check
log "peak RSS while $PARALLEL uploads of $UPLOAD_MIB MiB run at once"
hwm=() idle=() agg=()
for run in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/data-rss"
    start_server "$WORK/data-rss"
    idle+=("$(vm_hwm_kib)")
    t0=$(date +%s.%N)
    pids=()
    for i in $(seq 1 "$PARALLEL"); do
        curl -sS --max-time 1800 -o "$WORK/par-$i.json" -w '%{http_code}\n' \
            -F "file=@$WORK/big.bin;filename=big-$i.bin" "$BASE/api/v1/reports" >"$WORK/par-$i.code" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || die "a parallel upload failed"; done
    t1=$(date +%s.%N)
    for i in $(seq 1 "$PARALLEL"); do [ "$(cat "$WORK/par-$i.code")" = 201 ] || die "parallel upload $i"; done
    hwm+=("$(vm_hwm_kib)")
    agg+=("$(calc "$PARALLEL * $UPLOAD_MIB / ($t1 - $t0)" 1)")
    log "rss run $run: VmHWM ${hwm[-1]} KiB (after start ${idle[-1]} KiB), ${agg[-1]} MiB/s together"
    stop_server
    rm -rf "$WORK/data-rss"
done
R[hwm]=$(calc "$(median "${hwm[@]}") / 1024" 1) R[hwm_idle]=$(calc "$(median "${idle[@]}") / 1024" 1)
R[par_rate]=$(median "${agg[@]}")
fi
rm -f "$WORK/big.bin" "$WORK"/par-*

# --- 4. export and decrypt ------------------------------------------------------------
# /usr/bin/time -v: wall time and peak RSS of one command, into R[KEY_s|KEY_mib].
timed() { # timed KEY CMD...
    local key=$1 s=() m=() f="$WORK/time.txt"
    shift
    for run in $(seq 1 "$RUNS"); do
        "$PREP" "$run"
        /usr/bin/time -v -o "$f" timeout 3600 "$@" >/dev/null || die "$key: $(tail -3 "$f")"
        s+=("$(awk -F': ' '/Elapsed/ {n = split($2, p, ":"); t = 0; for (i = 1; i <= n; i++) t = t * 60 + p[i]; print t}' "$f")")
        m+=("$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2 / 1024}' "$f")")
        log "$key run $run: ${s[-1]} s, peak RSS ${m[-1]} MiB"
    done
    R[${key}_s]=$(median "${s[@]}") R[${key}_mib]=$(median "${m[@]}")
}
prep_export() { rm -f "$WORK/bundle.tar"; }
prep_decrypt() { rm -rf "$WORK/cases"; }
export_decrypt() { # export_decrypt LABEL
    PREP=prep_export timed "export_$1" "$BIN" export "${EXPORT_KEYS[@]}" --data "$WORK/data-big" --out "$WORK/bundle.tar"
    R[bundle_$1]=$(calc "$(stat -c %s "$WORK/bundle.tar") / 1048576" 1)
    PREP=prep_decrypt timed "decrypt_$1" "$BIN" decrypt "$WORK/bundle.tar" \
        --identity "$WORK/investigator-1/identity.txt" --out "$WORK/cases"
    local n
    n=$(find "$WORK/cases" -mindepth 1 -maxdepth 1 -type d | wc -l)
    [ "$n" = "$2" ] || die "decrypt wrote $n case folders, expected $2"
    rm -rf "$WORK/cases" "$WORK/bundle.tar"
}
seed_to() { # seed_to TOTAL: adds sealed tips to data-big until it holds TOTAL; R[seed_rate]
    local have out
    have=$(cat "$WORK/seeded" 2>/dev/null || echo 0)
    if [ "$have" -gt "$1" ]; then
        die "data-big holds $have seeded reports, more than $1: use another WORK"
    fi
    [ "$have" -lt "$1" ] || return 0
    log "seeding $(($1 - have)) reports (up to $1)"
    out=$(timeout 7200 "$SEED" --data "$WORK/data-big" --keys "$WORK/keys" --count $(($1 - have)) \
        --receipts "$WORK/receipts-big.txt" --samples 1000)
    echo "$1" >"$WORK/seeded"
    log "$out"
    R[seed_rate]=$(sed -E 's/.*\(([0-9]+) per second\).*/\1/' <<<"$out")
}
if phase export; then
    seed_to "$small"
    busy_check
    export_decrypt small "$small"
    seed_to "$EXPORT_N"
    busy_check
    export_decrypt large "$EXPORT_N"
fi

# --- 5. rates with many stored reports ------------------------------------------------
if phase stored; then
seed_to "$STORED"
du_big=$(du -sm "$WORK/data-big" | cut -f1)
start_server "$WORK/data-big"
cp "$WORK/receipts-big.txt" "$WORK/receipts.txt"
log "status checks, $STORED stored reports ($(wc -l <"$WORK/receipts.txt") sampled receipts)"
busy_check
rate status_full "$WORK/status.lua" /api/v1/status
log "tip submissions, $STORED stored reports"
busy_check
rate submit_full "$WORK/submit.lua" /api/v1/reports
stop_server
fi

# --- 6. hostile bodies: peak RSS ----------------------------------------------------
# Eight connections at once each try to push HOSTILE_MIB MiB, chunked (no
# declared length, so the server must read to find out), at POST /status,
# POST /api/v1/status, and as one multipart part header that never ends.
cat >"$WORK/hostile.py" <<'EOF'
import socket, sys, threading
host, port, path, kind, mib = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctype = {"form": "application/x-www-form-urlencoded", "json": "application/json",
         "part": "multipart/form-data; boundary=B"}[kind]
first = {"form": b"receipt=", "json": b'{"receipt": "',
         "part": b'--B\r\nContent-Disposition: form-data; name="file"; filename="'}[kind]
chunk = b"10000\r\n" + b"a" * 65536 + b"\r\n"
answers = []
def one():
    s = socket.create_connection((host, port))
    s.settimeout(30)
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
               % (path, ctype)).encode() + b"%x\r\n%s\r\n" % (len(first), first))
    try:
        for _ in range(mib * 16):
            s.sendall(chunk)
    except OSError:
        pass
    try:
        answers.append(s.recv(64).split(b"\r\n")[0].decode())
    except OSError as e:
        answers.append("no answer: %s" % e)
    s.close()
threads = [threading.Thread(target=one) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(" / ".join(sorted(set(answers))))
EOF
if phase hostile; then
busy_check
for target in "status /status form" "api_status /api/v1/status json" "part /api/v1/reports part"; do
    read -r key path kind <<<"$target"
    hwm=() idle=()
    for run in $(seq 1 "$RUNS"); do
        rm -rf "$WORK/data-hostile"
        start_server "$WORK/data-hostile"
        idle+=("$(vm_hwm_kib)")
        hp=${BASE#http://}
        out=$(timeout 900 python3 "$WORK/hostile.py" "${hp%:*}" "${hp##*:}" "$path" "$kind" "$HOSTILE_MIB")
        hwm+=("$(vm_hwm_kib)")
        log "hostile $path run $run: answers '$out', VmHWM ${hwm[-1]} KiB (after start ${idle[-1]} KiB)"
        curl -sf -o /dev/null "$BASE/" || die "the server stopped answering after the $path attack"
        stop_server
    done
    R[hostile_$key]=$(calc "$(median "${hwm[@]}") / 1024" 1)
    R[hostile_${key}_idle]=$(calc "$(median "${idle[@]}") / 1024" 1)
done
rm -rf "$WORK/data-hostile"
fi

# --- 7. slow bodies holding every upload slot ------------------------------------------
# SLOW_UPLOADS uploads send one byte every 5 s: far below the minimum rate,
# but the first check of it is a window (60 s) away. One more upload must
# get 503; GET /, a small tip and a lookup must still answer.
cat >"$WORK/slow.py" <<'EOF'
import socket, sys, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
head = ("POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
        "Content-Length: 104857600\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"slow\"\r\n\r\n").encode()
conns = []
for _ in range(n):
    s = socket.create_connection((host, port))
    s.sendall(head)
    conns.append(s)
print("holding", flush=True)
end = time.time() + hold
while time.time() < end:
    time.sleep(5)
    for s in conns:
        try:
            s.sendall(b"x")
        except OSError:
            pass
EOF
if phase slow; then
busy_check
rm -rf "$WORK/data-slow" "$WORK/receipts.txt"
saved=("${SERVE_FLAGS[@]}")
SERVE_FLAGS+=(--max-uploads "$SLOW_UPLOADS")
start_server "$WORK/data-slow"
SERVE_FLAGS=("${saved[@]}")
collect_receipts 1
hp=${BASE#http://}
python3 "$WORK/slow.py" "${hp%:*}" "${hp##*:}" "$SLOW_UPLOADS" 50 >"$WORK/slow.out" &
slow_pid=$!
for _ in $(seq 1 100); do grep -q holding "$WORK/slow.out" 2>/dev/null && break; sleep 0.1; done
sleep 1
R[slow_refused]=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    -F "file=@$WORK/tip.json;filename=extra" "$BASE/api/v1/reports")
homes=()
for _ in $(seq 1 $((RUNS * 10))); do
    out=$(curl -s -o /dev/null --max-time 10 -w '%{time_total} %{http_code}' "$BASE/")
    [ "${out#* }" = 200 ] || die "GET / answered ${out#* } while slow uploads held every slot"
    homes+=("$(calc "${out% *} * 1000" 1)")
done
R[slow_home_p50]=$(median "${homes[@]}")
R[slow_home_max]=$(printf '%s\n' "${homes[@]}" | sort -g | tail -1)
R[slow_tip]=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$WORK/tip.json" "$BASE/api/v1/reports")
R[slow_lookup]=$(python3 - "$BASE" "$WORK/receipts.txt" <<'EOF'
import json, sys, urllib.request
receipt = open(sys.argv[2]).readline().strip()
req = urllib.request.Request(sys.argv[1] + "/api/v1/status", data=json.dumps({"receipt": receipt}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
print(urllib.request.urlopen(req, timeout=10).status)
EOF
)
log "slow uploads: one more upload ${R[slow_refused]}, GET / p50 ${R[slow_home_p50]} ms, max ${R[slow_home_max]} ms, small tip ${R[slow_tip]}, lookup ${R[slow_lookup]}"
kill "$slow_pid" 2>/dev/null || true
wait "$slow_pid" 2>/dev/null || true
stop_server
rm -rf "$WORK/data-slow" "$WORK/slow.out"
fi

# --- 8. builds taking turns (only when asked: PHASES=ab) -----------------------------
# Builds compared in separate runs differ by the machine's hour as much as by
# their code, so here AB_BINS (two or more peluit binaries) take turns on one
# data folder for AB_ROUNDS rounds, each start measured like any rate above.
# AB_KIND: status (the seeded folder and its sampled receipts) or submit (a
# scratch folder per build, AB_DATA-N, since builds may differ in the
# folder's layout; AB_DATA to choose another prefix).
if phase ab; then
read -r -a ab_bins <<<"${AB_BINS:-}"
[ "${#ab_bins[@]}" -ge 2 ] || die "PHASES=ab needs AB_BINS with two or more binaries"
case ${AB_KIND:-status} in
    status) seed_to "$STORED"; cp "$WORK/receipts-big.txt" "$WORK/receipts.txt"
        ab_data=${AB_DATA:-$WORK/data-big} ab_script=$WORK/status.lua ab_path=/api/v1/status ;;
    submit) ab_data=${AB_DATA:-$WORK/data-ab} ab_script=$WORK/submit.lua ab_path=/api/v1/reports ;;
    *) die "AB_KIND must be status or submit" ;;
esac
for round in $(seq 1 "${AB_ROUNDS:-3}"); do
    for i in "${!ab_bins[@]}"; do
        BIN=${ab_bins[$i]}
        if [ "${AB_KIND:-status}" = submit ]; then start_server "$ab_data-$i"; else start_server "$ab_data"; fi
        busy_check
        rate "ab_${round}_$i" "$ab_script" "$ab_path"
        log "ab round $round, $BIN: median ${R[ab_${round}_${i}_rps]} req/s"
        stop_server
    done
done
fi

# --- table ---------------------------------------------------------------------------
verdict() { if na "$1"; then echo n/a; else awk "BEGIN {print ($1) ? \"met\" : \"MISSED\"}"; fi; }
pct() { calc "100 * ($1 - $2) / $2" 0; }
ratio() { calc "$1 / $2"; }
cat <<EOF

peluit load test, $(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores
QUICK=$QUICK RUNS=$RUNS DURATION=${DURATION}s CONNS=$CONNS UPLOAD_MIB=$UPLOAD_MIB PARALLEL=$PARALLEL STORED=$STORED EXPORT_N=$EXPORT_N
Medians of $RUNS runs (after a ${WARMUP} s warm-up run for each rate). Server: release build, 2 recipients, 127.0.0.1, flags: ${SERVE_FLAGS[*]:-none}.

| measure | figure | target | |
| --- | --- | --- | --- |
| tips/s, empty store ($CONNS conns, ~3 KB JSON) | ${R[submit_empty_rps]} | >= 6000 | $(verdict "${R[submit_empty_rps]} >= 6000") |
| tip latency p50 / p99, empty store | ${R[submit_empty_p50]} / ${R[submit_empty_p99]} ms | p99 < 25 ms | $(verdict "${R[submit_empty_p99]} < 25") |
| status checks/s, 200 reports | ${R[status_empty_rps]} | >= 20000 | $(verdict "${R[status_empty_rps]} >= 20000") |
| status p50 / p99, 200 reports | ${R[status_empty_p50]} / ${R[status_empty_p99]} ms | | |
| upload of one $UPLOAD_MIB MiB file | ${R[upload]} MiB/s | | |
| age -R to 2 recipients + fsync, same file | ${R[age]} MiB/s | | |
| upload / age | $(ratio "${R[upload]}" "${R[age]}") | >= 0.5 | $(verdict "${R[upload]} / ${R[age]} >= 0.5") |
| peak RSS, $PARALLEL x $UPLOAD_MIB MiB uploads at once | ${R[hwm]} MiB (${R[hwm_idle]} after start) | < 64 MiB | $(verdict "${R[hwm]} < 64") |
| $PARALLEL parallel uploads together | ${R[par_rate]} MiB/s | | |
| seeding rate (library, 2 threads) | ${R[seed_rate]} per s | | |
| tips/s, $STORED stored ($du_big MiB on disk) | ${R[submit_full_rps]} ($(pct "${R[submit_full_rps]}" "${R[submit_empty_rps]}") %) | within 15 % | $(verdict "${R[submit_full_rps]} >= 0.85 * ${R[submit_empty_rps]}") |
| tip latency p50 / p99, $STORED stored | ${R[submit_full_p50]} / ${R[submit_full_p99]} ms | | |
| status checks/s, $STORED stored | ${R[status_full_rps]} ($(pct "${R[status_full_rps]}" "${R[status_empty_rps]}") %) | within 15 % | $(verdict "${R[status_full_rps]} >= 0.85 * ${R[status_empty_rps]}") |
| status p50 / p99, $STORED stored | ${R[status_full_p50]} / ${R[status_full_p99]} ms | | |
| export of $small reports: time, peak RSS | ${R[export_small_s]} s, ${R[export_small_mib]} MiB | | |
| export of $EXPORT_N reports: time, peak RSS | ${R[export_large_s]} s, ${R[export_large_mib]} MiB (bundle ${R[bundle_large]} MiB) | constant memory (< 1.25 x the small one) | $(verdict "${R[export_large_mib]} < 1.25 * ${R[export_small_mib]}") |
| decrypt of $small reports: time, peak RSS | ${R[decrypt_small_s]} s, ${R[decrypt_small_mib]} MiB | | |
| decrypt of $EXPORT_N reports: time, peak RSS | ${R[decrypt_large_s]} s, ${R[decrypt_large_mib]} MiB | constant memory (< 1.25 x the small one) | $(verdict "${R[decrypt_large_mib]} < 1.25 * ${R[decrypt_small_mib]}") |
| peak RSS, 8 x $HOSTILE_MIB MiB chunked at POST /status | ${R[hostile_status]} MiB (${R[hostile_status_idle]} after start) | < 64 MiB | $(verdict "${R[hostile_status]} < 64") |
| peak RSS, 8 x $HOSTILE_MIB MiB chunked at POST /api/v1/status | ${R[hostile_api_status]} MiB (${R[hostile_api_status_idle]} after start) | < 64 MiB | $(verdict "${R[hostile_api_status]} < 64") |
| peak RSS, 8 x $HOSTILE_MIB MiB as a multipart part header | ${R[hostile_part]} MiB (${R[hostile_part_idle]} after start) | < 64 MiB | $(verdict "${R[hostile_part]} < 64") |
| GET / p50 / max, $SLOW_UPLOADS slow uploads hold every upload slot | ${R[slow_home_p50]} / ${R[slow_home_max]} ms (one more upload: ${R[slow_refused]}, small tip: ${R[slow_tip]}, lookup: ${R[slow_lookup]}) | < 1000 ms | $(verdict "${R[slow_home_max]} < 1000") |

PHASES="$PHASES". Measurements that started while compilers, fuzzers or browsers ran: $BUSY of $PHASE_COUNT.
Errors (non-2xx answers + socket errors over all runs): tips empty ${R[submit_empty_errors]}, tips stored ${R[submit_full_errors]}, status empty ${R[status_empty_errors]}, status stored ${R[status_full_errors]}.
EOF
