#!/usr/bin/env bash
# A/B of two builds of httpd on one core, interleaved, in one session (this VM's
# throughput moves by ±30% between minutes; only interleaved runs compare).
#
#   bench/ab.sh OLD_DIST VHOSTS PATH [ROUNDS] [SECONDS] [-- extra wrk arguments]
#
# OLD_DIST is a copy of an earlier packages/httpd/dist (e.g. cp -r
# packages/httpd/dist packages/httpd/dist-old before a change); the current
# packages/httpd/dist is B. Both serve VHOSTS in sync mode on CPU 0, wrk -t1 -c50
# runs on CPU 1. Prints req/s and the server's CPU per request (from
# /proc/PID/stat, user + system), the steadier of the two figures here, then medians.
# Ports 20601/20602: below the ephemeral range, which wrk's own sockets use.
# WRK_SCRIPT_ARGS: arguments for a wrk script, passed after the URL (after "--").
# LOAD=ab: ab -c 25 (a new connection per request; extra arguments go to ab, e.g. -k) instead of wrk.
# IO=stream|async: the IO mode of both servers (default sync).
# CERTS=DIR: both servers listen with TLS on their ports (--tls-port, --certs DIR) and the load is https.
# LOAD=h2: h2load -c50 -m10 over HTTP/2 (needs CERTS; bounded by -n, 15,000 requests a second of SECONDS;
#   extra arguments go to h2load, e.g. -H 'if-none-match: "..."').
set -euo pipefail
if [ $# -lt 3 ]; then sed -n '2,16p' "$0"; exit 2; fi
old=$(cd "$1" && pwd); vhosts=$2; path=$3; rounds=${4:-5}; secs=${5:-3}
shift $(( $# < 5 ? $# : 5 )); [ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
scheme=http; [ -n "${CERTS:-}" ] && scheme=https
# With CERTS the plain listener is on a port of the OS's choosing and the measured one is the TLS port.
listen() { if [ -n "${CERTS:-}" ]; then echo --port 0 --tls-port "$1" --certs "$CERTS"; else echo --port "$1"; fi; }
start() { taskset -c 0 node -e "import('$1/cli.js').then(m=>m.main(process.argv))" x "$vhosts" --io "${IO:-sync}" --workers 0 $(listen "$2") --host 127.0.0.1 --log-level warn >/dev/null 2>&1 & echo $!; }
A=$(start "$old" 20601); B=$(start "$here/packages/httpd/dist" 20602)
trap 'kill $A $B 2>/dev/null' EXIT
. "$here/bench/ab-lib.sh"
# Until both accept connections (a loaded machine takes more than a second or two to start them).
wait_ports 20601 20602
kill -0 "$A" "$B" 2>/dev/null || { echo "a server did not start (is another one on port 20601 or 20602?)" >&2; exit 1; }
load() {
  if [ "${LOAD:-wrk}" = ab ]; then
    # Printed in wrk's words, so one parser reads both.
    taskset -c 1 ab -q -r -c 25 -t "$2" -n 5000000 "${@:3}" "http://127.0.0.1:$1$path" | awk '/Requests per second/{print "Requests/sec: " $4} /Complete requests/{print $3 " requests in"}'
  elif [ "${LOAD:-wrk}" = h2 ]; then
    # h2load's duration mode never ends if the server closes connections: bounded by -n and a timeout.
    timeout 60 taskset -c 1 h2load -n $(( 15000 * $2 )) -c 50 -m 10 "${@:3}" "https://127.0.0.1:$1$path" | awk '/^finished in/{gsub(",", ""); print "Requests/sec: " $4} /^requests:/{print $6 " requests in"}'
  else
    taskset -c 1 wrk -t1 -c50 -d"$2"s "${@:3}" "$scheme://127.0.0.1:$1$path" ${WRK_SCRIPT_ARGS:+-- $WRK_SCRIPT_ARGS}
  fi
}
load 20601 2 "$@" >/dev/null; load 20602 2 "$@" >/dev/null
# user + system (cpu_ticks): a new connection costs as much in the kernel as in JavaScript
declare -A rps us; declare -A pid=([20601]=$A [20602]=$B)
for _ in $(seq "$rounds"); do
  measure 20601 A "$secs" "$@"; measure 20602 B "$secs" "$@"
  echo
done
for port in 20601 20602; do
  echo "$([ $port = 20601 ] && echo "A ($old)" || echo "B (dist)"): median $(median ${rps[$port]}) req/s, $(tenths "$(median ${us[$port]})") µs CPU (user + system) per request"
done
