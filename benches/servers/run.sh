#!/usr/bin/env bash
# Side-by-side server benchmark: weft serve against its peers, one server at a
# time, server pinned to one CPU and wrk to another. See README.md beside this
# file for what it measures and how to read the results.
#
# Usage: benches/servers/run.sh [SERVER...]
#   SERVER: weft weft-green weft-uring weft-diag weft-tls weft-accesslog floor floor-uring tokio-hyper
#           tokio-rustls weft-hyper weft-axum tokio-axum may-minihttp monoio threads node
#           (default: all but weft-accesslog)
#
# Settings (environment variables, defaults in brackets):
#   SERVERS        servers to run, if no arguments [all but weft-accesslog]
#                  (weft-green is `weft serve --model green`: a green thread per connection;
#                  weft-uring is `weft serve --backend uring`: the io_uring backend;
#                  weft-diag is `weft serve --diag all`: every weft::diag diagnostic on;
#                  weft-tls is `weft serve --tls-cert --tls-key` (HTTPS), beside tokio-rustls,
#                  tokio-hyper over tokio-rustls: both on rustls with ring, one throw-away
#                  ECDSA P-256 certificate made with openssl; wrk speaks https to them and
#                  they skip idle10k;
#                  weft-accesslog is `weft serve --access-log FILE`, a file under OUT_DIR removed
#                  after each run: the access log's CPU per request beside weft's;
#                  weft-hyper is tokio-hyper's hyper server and service on weft's runtime;
#                  weft-axum is an axum Router on weft_http::hyper_rt::serve, beside tokio-axum,
#                  the same Router on axum::serve and tokio's current-thread runtime;
#                  may-minihttp is may_minihttp on may's coroutines, one worker;
#                  monoio is a hello-world server on monoio's io_uring runtime, one thread)
#   SCENARIOS      any of: plain pipeline conn10k idle10k sweep [the first four]
#                  (sweep: plain keep-alive load at each of SWEEP_CONNS connections, for how
#                  CPU per request and memory per connection grow; report.py charts it in
#                  OUT_DIR/sweep.svg)
#   RUNS           measured runs per server and scenario; medians reported [3]
#   DURATION       seconds of each measured wrk run of plain and pipeline [5]
#   DURATION_10K   seconds of the measured wrk run of conn10k [10]
#   WARMUP         seconds of an unmeasured wrk run before plain and pipeline, 0 for none [1]
#   CONNS          connections of plain and pipeline [256]
#   DEPTH          pipelining depth of pipeline [16]
#   CONNS_10K      connections of conn10k and idle10k [10000]
#   SWEEP_CONNS    the connection counts of sweep ["64 256 1000 10000 50000"]; a count the
#                  client side cannot reach (ephemeral ports, fds) is skipped with the reason
#   DURATION_SWEEP seconds of each measured wrk run of sweep [5]
#   IDLE_HOLD      seconds idle10k leaves its connections idle before measuring [2]
#   SERVER_CPU     CPU the server is pinned to [0]
#   CLIENT_CPU     CPU wrk (and this script) are pinned to [1]
#   QUIET_WAIT     seconds to wait, before each run, for the two CPUs to be
#                  nearly idle (other users' builds add noise); 0: don't [10]
#   QUIET_PCT      "nearly idle": at most this percent busy [10]
#   PORT           first port tried; each server start takes the next free one [18080]
#   OUT_DIR        results, logs and raw data [benches/servers/target/results]
#   BUILD          1: build before running; 0: use what is built [1]
#   PEERS_TARGET_DIR  cargo target dir of the peers [benches/servers/target]
#   WEFT_TARGET_DIR   cargo target dir of weft [$CARGO_TARGET_DIR or <repo>/target]
#   WEFT_BIN       a weft binary to use instead of building one
#   WEFT_ARGS      weft's arguments; {port} is replaced
#                  [serve --host 127.0.0.1 --port {port} --loops 1 --quiet --drain-grace 0]
#                  (no drain grace: the 5 s of 503s on /readyz that a balancer needs would outlast
#                  the script's STOP_GRACE, and the stop would end in SIGKILL)
#   HYPER_ARGS     extra arguments of tokio-hyper, e.g. --pipeline-flush []
#   FLOOR_ARGS     extra arguments of floor, e.g. --response weft (weft's bytes on the wire) []
#
# Every server runs under `timeout`, so it ends by itself even if this script
# is killed; on any exit the script stops the server and client it started.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

ALL_SERVERS="weft weft-green weft-uring weft-diag weft-tls weft-accesslog floor floor-uring tokio-hyper tokio-rustls weft-hyper weft-axum tokio-axum may-minihttp monoio threads node"
DEFAULT_SERVERS="weft weft-green weft-uring weft-diag weft-tls floor floor-uring tokio-hyper tokio-rustls weft-hyper weft-axum tokio-axum may-minihttp monoio threads node"
# The HTTPS servers (wrk and the check speak TLS to them).
TLS_SERVERS="weft-tls tokio-rustls"
ALL_SCENARIOS="plain pipeline conn10k idle10k sweep"
DEFAULT_SCENARIOS="plain pipeline conn10k idle10k"
if (($# > 0)); then SERVERS="$*"; fi
SERVERS=${SERVERS:-$DEFAULT_SERVERS}
SCENARIOS=${SCENARIOS:-$DEFAULT_SCENARIOS}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
DURATION_10K=${DURATION_10K:-10}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-256}
DEPTH=${DEPTH:-16}
CONNS_10K=${CONNS_10K:-10000}
SWEEP_CONNS=${SWEEP_CONNS:-64 256 1000 10000 50000}
DURATION_SWEEP=${DURATION_SWEEP:-5}
IDLE_HOLD=${IDLE_HOLD:-2}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${PORT:-18080}
QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_PCT=${QUIET_PCT:-10}
OUT_DIR=${OUT_DIR:-$HERE/target/results}
BUILD=${BUILD:-1}
PEERS_TARGET_DIR=${PEERS_TARGET_DIR:-$HERE/target}
WEFT_TARGET_DIR=${WEFT_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}}
DEFAULT_WEFT_ARGS='serve --host 127.0.0.1 --port {port} --loops 1 --quiet --drain-grace 0'
WEFT_ARGS=${WEFT_ARGS:-$DEFAULT_WEFT_ARGS}
HYPER_ARGS=${HYPER_ARGS:-}
FLOOR_ARGS=${FLOOR_ARGS:-}
HOST=127.0.0.1 # loopback only, by design

# Seconds a server may live beyond its scenario's own length before `timeout`
# ends it: covers start-up, the readiness check and a slow 10k connect.
SERVER_SLACK=90
# Seconds a stopping server gets between SIGTERM and SIGKILL.
STOP_GRACE=5
# Seconds between two samples of the server's threads, RSS and open fds: often
# enough to see a 10k peak, rarely enough to cost the client CPU little.
SAMPLE_EVERY=0.25

tsv_row() { local IFS=$'\t'; echo "$*"; }
say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

for name in $SERVERS; do
    [[ " $ALL_SERVERS " == *" $name "* ]] || die "unknown server '$name' (known: $ALL_SERVERS)"
done
for sc in $SCENARIOS; do
    [[ " $ALL_SCENARIOS " == *" $sc "* ]] || die "unknown scenario '$sc' (known: $ALL_SCENARIOS)"
done
for v in RUNS DURATION DURATION_10K DURATION_SWEEP WARMUP CONNS DEPTH CONNS_10K IDLE_HOLD SERVER_CPU CLIENT_CPU PORT QUIET_WAIT QUIET_PCT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
for n in $SWEEP_CONNS; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "SWEEP_CONNS must be whole numbers, got '$n'"
done
wants_scenario() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# ---- tools ------------------------------------------------------------------

is_tls() { [[ " $TLS_SERVERS " == *" $1 "* ]]; }

command -v wrk >/dev/null ||
    die "wrk not found. Install it: sudo apt-get install -y wrk   (Debian/Ubuntu package 'wrk')"
command -v taskset >/dev/null || die "taskset not found (package util-linux)"
command -v timeout >/dev/null || die "timeout not found (package coreutils)"
command -v python3 >/dev/null || die "python3 not found (it runs probe.py and report.py)"
CPUS=$(nproc)
((SERVER_CPU < CPUS && CLIENT_CPU < CPUS && SERVER_CPU != CLIENT_CPU)) ||
    die "need two distinct CPUs below $CPUS: SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU"

# wrk and the idle client hold CONNS_10K sockets each (the sweep its largest count), the
# server as many.
most_conns=$CONNS_10K
if wants_scenario sweep; then
    for n in $SWEEP_CONNS; do ((n <= most_conns)) || most_conns=$n; done
fi
need_fds=$((most_conns + 256))
hard_fds=$(ulimit -Hn)
if [[ $hard_fds != unlimited ]] && ((hard_fds < need_fds)); then
    say "run.sh: warning: hard fd limit $hard_fds < $need_fds; the 10k scenarios will hit EMFILE"
    ulimit -n "$hard_fds"
else
    ulimit -n "$need_fds"
fi
FD_LIMIT=$(ulimit -n)

# The sweep's client side: every connection to the one server address needs an ephemeral port.
sweep_reason() { # conns -> why the client side cannot hold that many (empty: it can)
    local n=$1 lo hi
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    if ((n > hi - lo + 1 - 256)); then
        echo "the client side is bounded by the ephemeral ports: $n connections to one address need $n of the $((hi - lo + 1)) in $lo-$hi (widen it: sudo sysctl -w net.ipv4.ip_local_port_range='1024 65535')"
    elif [[ $FD_LIMIT != unlimited ]] && ((n + 256 > FD_LIMIT)); then
        echo "the fd limit $FD_LIMIT is below $n connections (raise the hard limit: ulimit -Hn)"
    fi
}

mkdir -p "$OUT_DIR"
RAW="$OUT_DIR/raw.tsv"
# weft-accesslog's log (removed after each run: a plain run writes ~100 MB).
ACCESS_LOG="$OUT_DIR/access.log"
LOGS="$OUT_DIR/logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"

# ---- cleanup ----------------------------------------------------------------

WRAP_PID=""   # the `timeout` wrapping the current server
SERVER_PID="" # the server itself
CLIENT_PID="" # wrk or probe.py
SAMPLER_PID=""

stop_pid() { # pid: TERM, wait up to STOP_GRACE, then KILL
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < STOP_GRACE * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_server() {
    stop_pid "$SAMPLER_PID"
    stop_pid "$WRAP_PID"   # timeout passes the TERM on to the server
    stop_pid "$SERVER_PID" # in case it did not
    [[ -z $WRAP_PID ]] || wait "$WRAP_PID" 2>/dev/null || true
    WRAP_PID="" SERVER_PID="" SAMPLER_PID=""
}

cleanup() {
    stop_pid "$CLIENT_PID"
    CLIENT_PID=""
    stop_server
}
trap cleanup EXIT
trap 'say "run.sh: interrupted"; exit 130' INT TERM

# ---- build ------------------------------------------------------------------

# One throw-away certificate for the HTTPS servers (the same key type for both: ECDSA P-256).
TLS_DIR="$OUT_DIR/tls"
make_cert() {
    command -v openssl >/dev/null || die "openssl not found. Install it: sudo apt-get install -y openssl"
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" >"$OUT_DIR/openssl.log" 2>&1 ||
        die "openssl could not make the benchmark's certificate (see $OUT_DIR/openssl.log)"
}

declare -A BIN SKIP

build_peers() {
    say "building the peers (release) into $PEERS_TARGET_DIR ..."
    if CARGO_TARGET_DIR="$PEERS_TARGET_DIR" cargo build --release \
        --manifest-path "$HERE/Cargo.toml" >"$OUT_DIR/build-peers.log" 2>&1; then
        return 0
    fi
    say "run.sh: building the peers failed (see $OUT_DIR/build-peers.log); skipping floor, tokio-hyper, tokio-rustls, weft-hyper, weft-axum, tokio-axum, may-minihttp, monoio, threads"
    return 1
}

build_weft() {
    if [[ -n ${WEFT_BIN:-} ]]; then
        [[ -x $WEFT_BIN ]] || { SKIP[weft]="WEFT_BIN=$WEFT_BIN is not an executable"; return; }
        BIN[weft]=$WEFT_BIN
        return
    fi
    BIN[weft]="$WEFT_TARGET_DIR/release/weft"
    if ((BUILD)); then
        say "building weft (cargo build --release -p weft-lab) into $WEFT_TARGET_DIR ..."
        if ! CARGO_TARGET_DIR="$WEFT_TARGET_DIR" cargo build --release -p weft-lab \
            --manifest-path "$ROOT/Cargo.toml" >"$OUT_DIR/build-weft.log" 2>&1; then
            SKIP[weft]="build failed (cargo build --release -p weft-lab; log: $OUT_DIR/build-weft.log)"
            return
        fi
    fi
    [[ -x ${BIN[weft]} ]] || SKIP[weft]="no binary at ${BIN[weft]}"
}

# weft-green, weft-uring, weft-diag, weft-tls and weft-accesslog are the same binary with
# `--model green`, `--backend uring`, `--diag all`, `--tls-cert/--tls-key` and `--access-log FILE`.
share_weft_with_green() {
    local other
    for other in weft-green weft-uring weft-diag weft-tls weft-accesslog; do
        BIN[$other]=${BIN[weft]:-}
        [[ -z ${SKIP[weft]:-} ]] || SKIP[$other]=${SKIP[weft]}
    done
}

wants() { [[ " $SERVERS " == *" $1 "* ]]; }

PEERS="floor tokio-hyper tokio-rustls weft-hyper weft-axum tokio-axum may-minihttp monoio threads"
wants_peer() { local p; for p in $PEERS; do wants "$p" && return 0; done; return 1; }
if wants_peer; then
    command -v cargo >/dev/null || die "cargo not found"
    peers_ok=1
    if ((BUILD)); then build_peers || peers_ok=0; fi
    for p in $PEERS; do
        BIN[$p]="$PEERS_TARGET_DIR/release/$p"
        if ((!peers_ok)); then
            SKIP[$p]="peer build failed (log: $OUT_DIR/build-peers.log)"
        elif [[ ! -x ${BIN[$p]} ]]; then
            SKIP[$p]="no binary at ${BIN[$p]}"
        fi
    done
fi
# floor-uring is C on liburing, built with cc beside the peers' target dir.
if wants floor-uring; then
    BIN[floor-uring]="$PEERS_TARGET_DIR/release/floor-uring"
    if ((BUILD)); then
        mkdir -p "$PEERS_TARGET_DIR/release"
        if ! command -v cc >/dev/null; then
            SKIP[floor-uring]="cc not found (sudo apt-get install -y gcc)"
        elif ! cc -O2 -Wall -o "${BIN[floor-uring]}" "$HERE/floor-uring/floor-uring.c" -luring \
            >"$OUT_DIR/build-floor-uring.log" 2>&1; then
            SKIP[floor-uring]="cc failed (needs liburing: sudo apt-get install -y liburing-dev; log: $OUT_DIR/build-floor-uring.log)"
        fi
    fi
    [[ -n ${SKIP[floor-uring]:-} || -x ${BIN[floor-uring]} ]] || SKIP[floor-uring]="no binary at ${BIN[floor-uring]}"
fi
if wants weft-tls || wants tokio-rustls; then make_cert; fi
if wants weft || wants weft-green || wants weft-uring || wants weft-diag || wants weft-tls ||
    wants weft-accesslog; then
    build_weft
    share_weft_with_green
fi
if wants node && ! command -v node >/dev/null; then
    SKIP[node]="node not found (install Node.js, e.g. sudo apt-get install -y nodejs)"
fi
for name in $SERVERS; do
    [[ -z ${SKIP[$name]:-} ]] || say "run.sh: skipping $name: ${SKIP[$name]}"
done

# From here on, this script (and so wrk, probe.py, the sampler) stays off the
# server's CPU. Builds above ran unpinned.
taskset -cp "$CLIENT_CPU" $$ >/dev/null

# ---- one server -------------------------------------------------------------

server_cmd() { # name port -> CMD array
    local name=$1 port=$2
    case $name in
    weft)
        local args=${WEFT_ARGS//\{port\}/$port}
        # shellcheck disable=SC2206 # word splitting of WEFT_ARGS is intended
        CMD=("${BIN[weft]}" $args)
        ;;
    weft-green)
        local args=${WEFT_ARGS//\{port\}/$port}
        # shellcheck disable=SC2206
        CMD=("${BIN[weft]}" $args --model green)
        ;;
    weft-diag)
        local args=${WEFT_ARGS//\{port\}/$port}
        # shellcheck disable=SC2206
        CMD=("${BIN[weft]}" $args --diag all)
        ;;
    weft-tls)
        local args=${WEFT_ARGS//\{port\}/$port}
        # shellcheck disable=SC2206
        CMD=("${BIN[weft]}" $args --tls-cert "$TLS_DIR/cert.pem" --tls-key "$TLS_DIR/key.pem")
        ;;
    tokio-rustls)
        CMD=("${BIN[tokio-rustls]}" --host "$HOST" --port "$port" --cert "$TLS_DIR/cert.pem" --key "$TLS_DIR/key.pem")
        ;;
    weft-accesslog)
        local args=${WEFT_ARGS//\{port\}/$port}
        rm -f "$ACCESS_LOG"
        # shellcheck disable=SC2206
        # WEFT_ARGS's --drain-grace 0 matters here too: the stop (SIGTERM, KILL after
        # STOP_GRACE) must let it flush every line.
        CMD=("${BIN[weft]}" $args --access-log "$ACCESS_LOG")
        ;;
    weft-uring)
        local args=${WEFT_ARGS//\{port\}/$port}
        # shellcheck disable=SC2206
        CMD=("${BIN[weft]}" $args --backend uring)
        ;;
    floor)
        # shellcheck disable=SC2206
        CMD=("${BIN[floor]}" --host "$HOST" --port "$port" $FLOOR_ARGS)
        ;;
    floor-uring | threads | weft-hyper | weft-axum | tokio-axum | may-minihttp | monoio) CMD=("${BIN[$name]}" --host "$HOST" --port "$port") ;;
    tokio-hyper)
        # shellcheck disable=SC2206
        CMD=("${BIN[tokio-hyper]}" --host "$HOST" --port "$port" $HYPER_ARGS)
        ;;
    node) CMD=(node "$HERE/node/server.js" --host "$HOST" --port "$port") ;;
    esac
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

NEXT_PORT=$PORT
pick_port() { # -> PICKED; rotates through 100 ports so no start meets an old TIME_WAIT
    local i p
    for ((i = 0; i < 100; i++)); do
        p=$((PORT + (NEXT_PORT - PORT + i) % 100))
        if ! port_busy "$p"; then
            PICKED=$p
            NEXT_PORT=$((p + 1))
            return 0
        fi
    done
    die "no free port in $PORT..$((PORT + 99))"
}

start_server() { # name lifetime_s log -> WRAP_PID SERVER_PID PICKED
    local name=$1 life=$2 log=$3 i children
    pick_port
    server_cmd "$name" "$PICKED"
    echo "+ taskset -c $SERVER_CPU ${CMD[*]}" >"$log"
    timeout -k "$STOP_GRACE" "$life" taskset -c "$SERVER_CPU" "${CMD[@]}" >>"$log" 2>&1 &
    WRAP_PID=$!
    SERVER_PID=""
    for ((i = 0; i < 100; i++)); do
        children=$(cat "/proc/$WRAP_PID/task/$WRAP_PID/children" 2>/dev/null || true)
        if [[ -n ${children// /} ]]; then
            SERVER_PID=${children%% *}
            return 0
        fi
        kill -0 "$WRAP_PID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}

cpu_times() { # cpu -> "busy total": that CPU's user+nice+system and all ticks so far
    local name user nice sys idle iowait irq softirq steal _
    while read -r name user nice sys idle iowait irq softirq steal _; do
        if [[ $name == "cpu$1" ]]; then
            echo "$((user + nice + sys)) $((user + nice + sys + idle + iowait + irq + softirq + steal))"
            return 0
        fi
    done </proc/stat
    return 1
}

wait_for_quiet() { # waits up to QUIET_WAIT s for both CPUs to be at most QUIET_PCT % busy
    local deadline=$((SECONDS + QUIET_WAIT)) sb0 sa0 sb1 sa1 cb0 ca0 cb1 ca1 s c
    while ((SECONDS < deadline)); do
        read -r sb0 sa0 <<<"$(cpu_times "$SERVER_CPU")"
        read -r cb0 ca0 <<<"$(cpu_times "$CLIENT_CPU")"
        sleep 0.5
        read -r sb1 sa1 <<<"$(cpu_times "$SERVER_CPU")"
        read -r cb1 ca1 <<<"$(cpu_times "$CLIENT_CPU")"
        s=$(((100 * (sb1 - sb0)) / (sa1 - sa0 > 0 ? sa1 - sa0 : 1)))
        c=$(((100 * (cb1 - cb0)) / (ca1 - ca0 > 0 ? ca1 - ca0 : 1)))
        ((s <= QUIET_PCT && c <= QUIET_PCT)) && return 0
    done
    say "    (CPUs still busy with other work: server CPU $s%, client CPU $c%; running anyway)"
}

cpu_ticks() { # pid -> utime+stime of the whole process, in clock ticks
    local stat rest
    stat=$(<"/proc/$1/stat") || return 1
    rest=${stat##*) } # fields after "(comm)": state is [0], utime [11], stime [12]
    read -ra f <<<"$rest"
    echo $((f[11] + f[12]))
}

ctx_switches() { # pid -> voluntary + involuntary context switches of all its threads so far
    awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }' \
        /proc/"$1"/task/*/status 2>/dev/null || echo 0
}

# Writes the server's context switches per second to out, counted from 10% to
# 80% of a run of secs seconds: while the load runs, because a thread's count
# ends with the thread (a thread-per-connection server's threads end when wrk
# closes its connections).
count_switches() { # pid secs out
    local n0 n1 t0 t1
    sleep "$(awk -v s="$2" 'BEGIN { print s * 0.1 }')"
    n0=$(ctx_switches "$1") t0=$EPOCHREALTIME
    sleep "$(awk -v s="$2" 'BEGIN { print s * 0.7 }')"
    n1=$(ctx_switches "$1") t1=$EPOCHREALTIME
    awk -v n="$((n1 - n0))" -v a="$t0" -v b="$t1" 'BEGIN { if (b > a) printf "%.0f\n", n / (b - a) }' >"$3"
}

status_kb() { # pid key -> value of that /proc/<pid>/status line
    local k v _
    while read -r k v _; do
        [[ $k == "$2:" ]] && { echo "$v"; return 0; }
    done <"/proc/$1/status"
    return 1
}

sample_peaks() { # pid out: appends "Threads VmRSS open-fds" to out every SAMPLE_EVERY s
    local pid=$1 out=$2 thr=0 rss=0 fds k v _
    while [[ -r /proc/$pid/status ]]; do
        while read -r k v _; do
            case $k in
            Threads:) thr=$v ;;
            VmRSS:) rss=$v ;;
            esac
        done <"/proc/$pid/status" 2>/dev/null || break
        # ls -f: no sorting; the count includes "." and "..". fd names are
        # plain numbers, so counting ls lines is exact.
        # shellcheck disable=SC2012
        fds=$(ls -f "/proc/$pid/fd" 2>/dev/null | wc -l) || fds=2
        # One line per sample, appended: a sampler stopped mid-write loses at
        # most its last line.
        echo "$thr $rss $((fds - 2))" >>"$out"
        sleep "$SAMPLE_EVERY"
    done
}

run_client() { # log cmd...: runs the client pinned, in the background, and waits
    local log=$1
    shift
    taskset -c "$CLIENT_CPU" "$@" >"$log" 2>&1 &
    CLIENT_PID=$!
    local rc=0
    wait "$CLIENT_PID" || rc=$?
    CLIENT_PID=""
    return $rc
}

wrk_cmd() { # scenario port seconds name -> WRK array
    local sc=$1 port=$2 secs=$3 scheme=http
    ! is_tls "$4" || scheme=https
    local url="$scheme://$HOST:$port/plaintext"
    case $sc in
    plain) WRK=(wrk -t1 "-c$CONNS" "-d${secs}s" --timeout 5s --latency "$url") ;;
    pipeline) WRK=(wrk -t1 "-c$CONNS" "-d${secs}s" --timeout 5s --latency -s "$HERE/pipeline.lua" "$url" -- "$DEPTH") ;;
    conn10k) WRK=(wrk -t1 "-c$CONNS_10K" "-d${secs}s" --timeout 10s --latency "$url") ;;
    sweep-*) WRK=(wrk -t1 "-c${sc#sweep-}" "-d${secs}s" --timeout 10s --latency "$url") ;;
    esac
}

# One measurement: fresh server, readiness check, optional warm-up, measured
# client run bracketed by /proc reads. Appends one row to raw.tsv.
measure() { # run scenario name   (scenario sweep-N: the sweep at N connections)
    local run=$1 sc=$2 name=$3
    local tag="$sc.$name.$run"
    ((QUIET_WAIT == 0)) || wait_for_quiet
    local slog="$LOGS/$tag.server.log" clog="$LOGS/$tag.client.log" peaks="$LOGS/$tag.peaks"
    local state=ok t0 t1 hwm threads rss fds rss0 c0 c1 b0 b1 a0 a1 other secs=$DURATION csw="" csw_pid
    local tls_flag=()
    if is_tls "$name"; then
        # probe.py idle speaks plain HTTP: the idle scenario is not run over TLS.
        [[ $sc != idle10k ]] || return 0
        tls_flag=(--tls)
    fi
    if ! start_server "$name" $((WARMUP + DURATION + DURATION_10K + DURATION_SWEEP + IDLE_HOLD + SERVER_SLACK)) "$slog"; then
        SKIP[$name]="did not start (log: $slog)"
        say "run.sh: $name ${SKIP[$name]}"
        stop_server
        return
    fi
    if ! python3 "$HERE/probe.py" check --host "$HOST" --port "$PICKED" --wait 10 "${tls_flag[@]}" >>"$slog" 2>&1; then
        SKIP[$name]="failed the HTTP check: $(tail -n1 "$slog")"
        say "run.sh: $name ${SKIP[$name]} (log: $slog)"
        stop_server
        return
    fi
    [[ $sc != conn10k ]] || secs=$DURATION_10K
    [[ $sc != sweep-* ]] || secs=$DURATION_SWEEP
    # No warm-up for the 10k scenarios and the sweep: their connection set-up is part of them.
    if [[ $sc != *10k && $sc != sweep-* ]] && ((WARMUP > 0)); then
        wrk_cmd "$sc" "$PICKED" "$WARMUP" "$name"
        run_client "$LOGS/$tag.warmup.log" "${WRK[@]}" || true
    fi
    sample_peaks "$SERVER_PID" "$peaks" &
    SAMPLER_PID=$!
    t0=$(cpu_ticks "$SERVER_PID") || state=crashed
    c0=$(cpu_times "$SERVER_CPU")
    rss0=$(status_kb "$SERVER_PID" VmRSS) || rss0=0
    if [[ $sc == idle10k ]]; then
        run_client "$clog" python3 "$HERE/probe.py" idle --host "$HOST" --port "$PICKED" \
            --pid "$SERVER_PID" --conns "$CONNS_10K" --hold "$IDLE_HOLD" || state=client-failed
    else
        wrk_cmd "$sc" "$PICKED" "$secs" "$name"
        count_switches "$SERVER_PID" "$secs" "$LOGS/$tag.csw" &
        csw_pid=$!
        run_client "$clog" "${WRK[@]}" || state=client-failed
        wait "$csw_pid" 2>/dev/null || true
        csw=$(cat "$LOGS/$tag.csw" 2>/dev/null) || csw=""
    fi
    if t1=$(cpu_ticks "$SERVER_PID" 2>/dev/null) && hwm=$(status_kb "$SERVER_PID" VmHWM 2>/dev/null); then
        :
    else
        state=crashed t1=0 hwm=0
    fi
    c1=$(cpu_times "$SERVER_CPU")
    # Other work on the server's CPU during the run: its user+system ticks not
    # spent by the server, in percent of the run. (Softirq time is in neither.)
    read -r b0 a0 <<<"$c0"
    read -r b1 a1 <<<"$c1"
    other=$(((100 * ((b1 - b0) - (t1 - t0))) / (a1 - a0 > 0 ? a1 - a0 : 1)))
    ((other >= 0)) || other=0
    stop_pid "$SAMPLER_PID"
    SAMPLER_PID=""
    read -r threads rss fds < <(awk 'NF == 3 {
            if ($1 > t) t = $1; if ($2 > r) r = $2; if ($3 > f) f = $3
        } END { print t + 0, r + 0, f + 0 }' "$peaks" 2>/dev/null || echo 0 0 0)
    stop_server
    if [[ $name == weft-accesslog ]]; then
        say "    access log: $(wc -l <"$ACCESS_LOG" 2>/dev/null || echo 0) lines"
        rm -f "$ACCESS_LOG"
    fi
    tsv_row "$run" "$sc" "$name" "$state" "$((t1 - t0))" "$(getconf CLK_TCK)" \
        "$rss0" "$hwm" "$rss" "$threads" "$fds" "$other" "$clog" "$csw" >>"$RAW"
    say "  $sc  $name  run $run: $state"
}

# ---- main -------------------------------------------------------------------

tsv_row run scenario server state cpu_ticks clk_tck start_rss_kb hwm_kb max_rss_kb \
    max_threads max_fds other_pct client_log ctx_switches_per_s >"$RAW"
cat >"$OUT_DIR/settings.env" <<EOF
SERVERS="$SERVERS"
SCENARIOS="$SCENARIOS"
RUNS=$RUNS DURATION=$DURATION DURATION_10K=$DURATION_10K WARMUP=$WARMUP CONNS=$CONNS DEPTH=$DEPTH
CONNS_10K=$CONNS_10K IDLE_HOLD=$IDLE_HOLD SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU
SWEEP_CONNS="$SWEEP_CONNS" DURATION_SWEEP=$DURATION_SWEEP
WEFT_ARGS="$WEFT_ARGS" HYPER_ARGS="$HYPER_ARGS" FLOOR_ARGS="$FLOOR_ARGS"
EOF

say "servers: $SERVERS | scenarios: $SCENARIOS | runs: $RUNS x ${DURATION}s (+${WARMUP}s warm-up)"
SWEEP_SKIPPED=""
for ((run = 1; run <= RUNS; run++)); do
    for sc in $SCENARIOS; do
        steps=$sc
        if [[ $sc == sweep ]]; then
            steps=""
            for n in $SWEEP_CONNS; do
                why=$(sweep_reason "$n")
                if [[ -z $why ]]; then
                    steps+=" sweep-$n"
                elif ((run == 1)); then
                    say "run.sh: sweep: not measuring $n connections: $why"
                    SWEEP_SKIPPED+="sweep at $n connections: $why"$'\n'
                fi
            done
        fi
        for step in $steps; do
            # Servers interleave within a round so slow drift in the machine's
            # load spreads over all of them instead of landing on one.
            for name in $SERVERS; do
                [[ -z ${SKIP[$name]:-} ]] || continue
                measure "$run" "$step" "$name"
            done
        done
    done
done

python3 "$HERE/report.py" "$OUT_DIR" "$SERVERS" "$SCENARIOS" \
    "$(for n in $SERVERS; do [[ -z ${SKIP[$n]:-} ]] || printf '%s: %s\n' "$n" "${SKIP[$n]}"; done
       printf '%s' "$SWEEP_SKIPPED")"
say "results: $OUT_DIR/results.md (raw: $RAW, logs: $LOGS)"
