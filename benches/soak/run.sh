#!/usr/bin/env bash
# The soak (issue #16 item 7): mixed traffic against `weft serve --workers 2` on loopback for
# SOAK_SECS seconds (default 600) with a `kill -9` of a worker and a SIGHUP (reload) every
# minute (every SOAK_SECS/10 seconds for runs shorter than 10 minutes), sampling every
# process's RSS and open descriptors each second. The client and judge is
# benches/src/bin/soak_client (see its module doc for the traffic and the checks). Exits
# non-zero, with the reason, if a request failed other than on a killed worker's connections,
# if RSS moved more than 5 % between the second tenth of the run and the last (per worker
# generation; runs under 180 s print the workers' RSS without judging it, see judge.rs), or if
# descriptors grew. `.ci/run` runs it for 60 s.
#
#   SOAK_SECS=180 benches/soak/run.sh        # OUT=DIR for the results (default target/soak)
#   SOAK_PROFILE=dev ...                     # the debug build of weft (what `.ci/run` has
#                                            # built already), not a release build
#
# Writes $OUT/summary.txt, $OUT/samples.csv and $OUT/soak.svg (RSS and fds over time).
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${SOAK_SECS:-600}
out=${OUT:-target/soak}
# The server as deployed (release, unless SOAK_PROFILE=dev); the client in the dev profile (it
# waits on sockets).
target=${CARGO_TARGET_DIR:-target}
case ${SOAK_PROFILE:-release} in
  release) cargo build --release -q -p weft-lab; bin=$target/release/weft ;;
  dev) cargo build -q -p weft-lab; bin=$target/debug/weft ;;
  *) echo "soak: SOAK_PROFILE is release or dev, not ${SOAK_PROFILE}" >&2; exit 2 ;;
esac
cargo build -q -p weft-benches --bin soak_client
client=$target/debug/soak_client

root=$(mktemp -d)
log=$(mktemp)
sup=""
cleanup() {
  if [[ -n $sup ]] && kill -0 "$sup" 2>/dev/null; then
    kill -TERM "$sup" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$sup" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$sup" 2>/dev/null || true
  fi
  rm -rf "$root" "$log"
}
trap cleanup EXIT
head -c 1048576 /dev/urandom >"$root/blob.bin"

"$bin" serve --host 127.0.0.1 --port 0 --workers 2 --root "$root" 2>"$log" &
sup=$!
port=""
for _ in $(seq 1 400); do
  port=$(sed -n 's|.*listening on http://[0-9.]*:\([0-9]*\).*|\1|p' "$log" | head -1)
  [[ -n $port ]] && break
  kill -0 "$sup" 2>/dev/null || break
  sleep 0.05
done
[[ -n $port ]] || { echo "soak: weft serve did not start:" >&2; cat "$log" >&2; exit 1; }
ready=""
for _ in $(seq 1 400); do
  if curl -fs "http://127.0.0.1:$port/pid" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.05
done
[[ -n $ready ]] || { echo "soak: weft serve on port $port never answered /pid" >&2; cat "$log" >&2; exit 1; }

echo "soak: ${secs} s against $bin serve --workers 2 (supervisor $sup, port $port); results in $out"
status=0
"$client" --addr "127.0.0.1:$port" --supervisor "$sup" --secs "$secs" --file "$root/blob.bin" \
  --out "$out" || status=$?
kill -0 "$sup" 2>/dev/null || { echo "soak FAILED: the supervisor died during the run" >&2; cat "$log" >&2; exit 1; }
exit $status
