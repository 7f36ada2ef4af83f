#!/usr/bin/env bash
# The operator's reload test: `wrk -t1 -c32 -d10s` (keep-alive) against `weft serve`, with a
# SIGHUP (reload) of the supervisor at 3 s and 6 s, or with `--signal TERM` a graceful stop at
# 6 s (`--workers 0`: no cluster, as for the green model). Prints one line per run and exits non-zero if any run had a socket error
# or a non-2xx answer (for a stop, connect errors after the listener closed are expected and
# reported apart: once the server has exited, wrk sees its reconnects fail as connect/write
# errors, so for a stop only read errors, timeouts and non-2xx count).
#
#   benches/servers/reload.sh [--runs 5] [--workers 2] [--model async] [--duration 10] [--signal HUP]
#
# Server and wrk are pinned to different cores (taskset -c 0 / -c 1). Bounded: each run takes
# --duration seconds plus start and drain.
set -euo pipefail

runs=5 workers=2 model=async duration=10 signal=HUP bin=${WEFT_BIN:-target/release/weft}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --signal) signal=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x $bin ]] || { echo "no $bin: cargo build --release -p weft-lab" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }

failed=0
for run in $(seq 1 "$runs"); do
  log=$(mktemp) out=$(mktemp)
  args=(serve --port 0 --model "$model")
  [[ $workers -gt 0 ]] && args+=(--workers "$workers")
  taskset -c 0 "$bin" "${args[@]}" 2>"$log" &
  pid=$!
  # The start line names the port (`--port 0` picks a free one).
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's|.*listening on http://[0-9.]*:\([0-9]*\).*|\1|p' "$log" | head -1)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "run $run: server did not listen"; cat "$log"; kill -9 $pid; exit 1; }
  # Workers report ready after the start line: wait until the port answers.
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/plaintext" >/dev/null 2>&1 && break
    sleep 0.05
  done
  taskset -c 1 wrk -t1 -c32 -d"${duration}s" "http://127.0.0.1:$port/plaintext" >"$out" 2>&1 &
  wrk_pid=$!
  if [[ $signal == HUP ]]; then
    sleep 3; kill -HUP $pid
    sleep 3; kill -HUP $pid
    wait $wrk_pid
    kill -TERM $pid; wait $pid || true
  else
    sleep 6; kill -"$signal" $pid
    wait $pid || true
    wait $wrk_pid
  fi
  requests=$(awk '/requests in/ {print $1}' "$out")
  sock=$(grep -o 'Socket errors:.*' "$out" || echo "Socket errors: none")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  errors=$(grep -o 'connect [0-9]*, read [0-9]*, write [0-9]*, timeout [0-9]*' "$out" \
    | tr -d , | awk -v stop="$signal" '{print (stop == "HUP" ? $2+$6 : 0)+$4+$8}' || true)
  errors=${errors:-0}
  echo "run $run: workers=$workers model=$model signal=$signal requests=$requests non2xx=$non2xx $sock"
  if [[ $errors != 0 || $non2xx != 0 ]]; then failed=1; cat "$out"; fi
  rm -f "$log" "$out"
done
exit $failed
