#!/usr/bin/env bash
# wrk against httpd, steady, and the same with one `httpd upgrade` (SIGUSR2) 2 s in,
# interleaved; prints requests and wrk's socket errors / non-2xx lines per run.
# Usage: flock /tmp/bench.lock bench/upgrade-under-load.sh VHOSTS_DIR [REPS] [SECONDS]
set -u
VHOSTS=${1:?usage: bench/upgrade-under-load.sh VHOSTS_DIR [REPS] [SECONDS]}
REPS=${2:-3}
SECS=${3:-6}
H="$(cd "$(dirname "$0")/.." && pwd)/packages/httpd/bin/httpd.js"
RUN=$(mktemp -d)
trap 'rm -rf "$RUN"' EXIT
for rep in $(seq 1 "$REPS"); do
  for mode in steady upgrade; do
    rm -f "$RUN/pid" "$RUN/pid.upgrade"
    node "$H" "$VHOSTS" -p 0 -H 127.0.0.1 -w 1 --pid-file "$RUN/pid" 2>"$RUN/log" &
    for _ in $(seq 1 200); do [ -s "$RUN/pid" ] && break; sleep 0.05; done
    PORT=$(grep -o '"port":[0-9]*' "$RUN/log" | head -1 | cut -d: -f2)
    UP=
    if [ "$mode" = upgrade ]; then (sleep 2; timeout 30 node "$H" upgrade --pid-file "$RUN/pid" >/dev/null) & UP=$!; fi
    R=$(timeout $((SECS + 15)) wrk -t1 -c20 -d"${SECS}s" "http://127.0.0.1:$PORT/" 2>&1)
    [ -n "$UP" ] && wait "$UP"
    if echo "$R" | grep -q 'requests in'; then
      echo "$rep $mode $(echo "$R" | grep -E 'requests in' | awk '{print $1}') requests; errors: $(echo "$R" | grep -E 'Socket errors|Non-2xx' | tr '\n' ' ')"
    else
      echo "$rep $mode: no result (port '${PORT:-}'): $(echo "$R" | head -2 | tr '\n' ' ')"
    fi
    kill "$(cat "$RUN/pid")" 2>/dev/null
    sleep 1.5
    wait
  done
done
