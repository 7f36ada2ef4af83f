#!/usr/bin/env bash
# A bounded soak: keep-alive load (wrk) against `weft serve --workers 2` for N minutes, with a
# SIGHUP (reload) every minute, sampling the RSS and open descriptors of the supervisor and of
# every worker once a second. At the end it prints, per process generation, the RSS of the
# second minute against the last minute's, and says whether memory and descriptors stayed flat
# (last minute within 5 % of the second's; no descriptor growth).
#
#   benches/servers/soak.sh [--minutes 3] [--workers 2]
#
# Needs wrk; server and wrk run on different cores (taskset -c 0 / -c 1). Samples go to
# $OUT (default: a temporary file), one line per process per second: `t pid role rss_kb fds`.
set -euo pipefail

minutes=3 workers=2 bin=${WEFT_BIN:-target/release/weft}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -x $bin ]] || { echo "no $bin: cargo build --release -p weft-lab" >&2; exit 2; }
(( minutes >= 3 )) || { echo "--minutes must be at least 3 (the second minute is the reference)" >&2; exit 2; }
out=${OUT:-$(mktemp)}
log=$(mktemp)

taskset -c 0 "$bin" serve --port 0 --workers "$workers" 2>"$log" &
sup=$!
trap 'kill -TERM $sup 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's|.*listening on http://[0-9.]*:\([0-9]*\).*|\1|p' "$log" | head -1)
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || { echo "server did not start"; cat "$log"; exit 1; }
until curl -fs "http://127.0.0.1:$port/plaintext" >/dev/null; do sleep 0.05; done

seconds=$(( minutes * 60 ))
taskset -c 1 wrk -t1 -c32 -d"${seconds}s" "http://127.0.0.1:$port/plaintext" >"$out.wrk" 2>&1 &
wrk_pid=$!

sample() { # t pid role
  local status=/proc/$2/status
  [[ -r $status ]] || return 0
  local rss fds
  rss=$(awk '/^VmRSS:/ {print $2}' "$status" 2>/dev/null || echo 0)
  fds=$(ls /proc/"$2"/fd 2>/dev/null | wc -l)
  echo "$1 $2 $3 ${rss:-0} $fds" >>"$out"
}
: >"$out"
for t in $(seq 1 "$seconds"); do
  sample "$t" "$sup" supervisor
  for w in $(pgrep -P "$sup" || true); do sample "$t" "$w" worker; done
  if (( t % 60 == 0 && t < seconds )); then kill -HUP "$sup"; fi
  sleep 1
done
wait $wrk_pid || true
grep -E 'requests in|Socket errors|Non-2xx' "$out.wrk" || true

# Per process: RSS of its samples in the second minute vs the last minute it lived through.
# Workers live one minute each (a reload a minute), so for them the comparison is across
# generations: the mean RSS of the workers alive in minute 2 vs those alive in the last minute.
awk -v last="$minutes" '
  { m = int(($1 - 1) / 60) + 1; key = $3 "," m; rss[key] += $4; n[key]++; fd[key] += $5 }
  END {
    flat = 1
    split("supervisor worker", rs, " ")
    for (i in rs) {
      r = rs[i]; a = r "," 2; b = r "," last
      if (!n[a] || !n[b]) continue
      ra = rss[a] / n[a]; rb = rss[b] / n[b]; fa = fd[a] / n[a]; fb = fd[b] / n[b]
      change = (rb - ra) / ra * 100
      printf "%s: RSS minute 2 %.0f KiB, minute %d %.0f KiB (%+.1f %%); fds %.1f -> %.1f\n", r, ra, last, rb, change, fa, fb
      if (change > 5 || fb > fa + 1) flat = 0
    }
    print (flat ? "memory and descriptors stayed flat" : "memory or descriptors GREW")
    exit (flat ? 0 : 1)
  }' "$out"
