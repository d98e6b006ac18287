#!/usr/bin/env bash
# The json access log on vs off (issue 12: with it on, keep-alive 1 KB must keep
# >= 85% of the rate with it off), one core, interleaved, in one session.
#
#   bench/access-log-ab.sh VHOSTS PATH [ROUNDS] [SECONDS]
#
# A: httpd VHOSTS (no access log). B: the same build with a configuration file
# whose [access_log] is format = "json" to a file. Both --workers 0 --io sync on
# CPU 0; wrk -t1 -c50 on CPU 1. Prints req/s and the server's CPU (user + system,
# every thread: the log's writes run on the thread pool) per request, then medians
# and the ratio B/A. Ports 20611/20612. B_LOG=none: B without the log (calibration);
# B_LOG=combined: B (and C) with the combined format instead of json. B_PATH=/dev/null:
# B's log to /dev/null (what the line costs without the page-cache write).
# BEFORE=CHECKOUT: a third server C, B's log with CHECKOUT's build (another worktree,
# built), on port 20613, interleaved with A and B: before/after in one run.
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,16p' "$0"; exit 2; fi
vhosts=$(cd "$1" && pwd); path=$2; rounds=${3:-5}; secs=${4:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
tmp=$(mktemp -d)
# B_LOG=none: B runs from the same kind of configuration file without an access log (calibrates A against B).
if [ "${B_LOG:-json}" = none ]; then printf 'vhosts = "%s"\n' "$vhosts" > "$tmp/httpd.toml"
else printf 'vhosts = "%s"\n[access_log]\npath = "%s"\nformat = "%s"\n' "$vhosts" "${B_PATH:-$tmp/access.log}" "${B_LOG:-json}" > "$tmp/httpd.toml"; fi
bin="$here/packages/httpd/bin/httpd.js"
ports="20611 20612"
taskset -c 0 node "$bin" "$vhosts" --io sync --workers 0 --port 20611 --host 127.0.0.1 --log-level warn >/dev/null 2>&1 & A=$!
taskset -c 0 node "$bin" --config "$tmp/httpd.toml" --io sync --workers 0 --port 20612 --host 127.0.0.1 --log-level warn >/dev/null 2>&1 & B=$!
C=
if [ -n "${BEFORE:-}" ]; then
  printf 'vhosts = "%s"\n[access_log]\npath = "%s/before.log"\nformat = "%s"\n' "$vhosts" "$tmp" "${B_LOG:-json}" > "$tmp/before.toml"
  taskset -c 0 node "$BEFORE/packages/httpd/bin/httpd.js" --config "$tmp/before.toml" --io sync --workers 0 --port 20613 --host 127.0.0.1 --log-level warn >/dev/null 2>&1 & C=$!
  ports="20611 20612 20613"
fi
trap 'kill $A $B $C 2>/dev/null; rm -rf "$tmp"' EXIT
. "$here/bench/ab-lib.sh"
wait_ports $ports
# WRK_SCRIPT=FILE [WRK_SCRIPT_ARGS=...]: wrk runs that Lua script (e.g. bench/rotate.lua over
# bench/.corpus/http/many.paths: every line differs, so the line memo never applies).
load() { taskset -c 1 wrk -t1 -c50 -d"$2"s ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} "http://127.0.0.1:$1$path" ${WRK_SCRIPT:+-- ${WRK_SCRIPT_ARGS:-}}; }
for port in $ports; do load $port 2 >/dev/null; done
declare -A rps us; declare -A pid=([20611]=$A [20612]=$B [20613]=${C:-0})
declare -A name=([20611]=off [20612]=json [20613]=before)
for round in $(seq "$rounds"); do
  # Alternate which goes first, so neither always follows the other.
  order=$ports; [ $((round % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$ports" | tac | tr '\n' ' ')
  for port in $order; do measure "$port" "${name[$port]/json/${B_LOG:-json}}" "$secs"; done
  echo
done
ra=$(median ${rps[20611]}); rb=$(median ${rps[20612]}); ua=$(median ${us[20611]}); ub=$(median ${us[20612]})
echo "log off:  median $ra req/s, $(tenths "$ua") µs CPU per request"
echo "${B_LOG:-json} log: median $rb req/s, $(tenths "$ub") µs CPU per request ($(cat "$tmp/access.log" 2>/dev/null | wc -l) lines written)"
echo "${B_LOG:-json}/off: $(awk -v a="$ra" -v b="$rb" 'BEGIN{printf "%.2f", b/a}') of the rate, $(awk -v a="$ua" -v b="$ub" 'BEGIN{printf "%.2f", b/a}') x the CPU per request"

if [ -n "$C" ]; then
  rc=$(median ${rps[20613]}); uc=$(median ${us[20613]})
  echo "${B_LOG:-json} log (BEFORE=$BEFORE): median $rc req/s, $(tenths "$uc") µs CPU per request"
  echo "before/off: $(awk -v a="$ra" -v b="$rc" 'BEGIN{printf "%.2f", b/a}') of the rate, $(awk -v a="$ua" -v b="$uc" 'BEGIN{printf "%.2f", b/a}') x the CPU per request"
fi
