#!/usr/bin/env bash
# Whether a cell is the load generator's: httpd and nginx on CPU 0, wrk -t1 -c50 on CPU 1, interleaved,
# printing each round's req/s, the server's CPU per request (/proc/PID/stat, user + system) and wrk's own
# (/usr/bin/time). Where wrk's core is near full and its CPU per response is as large as the servers',
# the rate says little and CPU per request decides (issue 18).
#
#   bench/client-cpu.sh PATH [ROUNDS] [SECONDS] [-- extra wrk arguments]
#
# Serves bench/.corpus/http (pnpm bench makes it and its webroot) with packages/httpd/dist in IO mode
# IO (default sync) and with nginx as bench/run.mjs configures it. Ports 20611/20612.
set -euo pipefail
if [ $# -lt 1 ]; then sed -n '2,10p' "$0"; exit 2; fi
path=$1; rounds=${2:-5}; secs=${3:-3}
shift $(( $# < 3 ? $# : 3 )); [ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=$here/bench/.corpus/http
for tool in wrk nginx /usr/bin/time; do command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install wrk nginx-light time)" >&2; exit 1; }; done
[ -f "$corpus.webroot" ] || { echo "$corpus.webroot is missing: run pnpm bench once (it makes the corpus)" >&2; exit 1; }
tmp=$(mktemp -d); vhosts=$tmp/vhosts; mkdir "$vhosts"; ln -s "$corpus.webroot" "$vhosts/__default__"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp; uwsgi_temp_path $tmp; scgi_temp_path $tmp;
  server { listen 127.0.0.1:20612; root $corpus; }
}
EOF
taskset -c 0 node "$here/packages/httpd/bin/httpd.js" "$vhosts" --io "${IO:-sync}" --workers 0 --port 20611 --host 127.0.0.1 --log-level warn >/dev/null 2>&1 & W=$!
taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" & M=$!
trap 'kill $W $M 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
. "$here/bench/ab-lib.sh"
wait_ports 20611 20612
# nginx's worker, not its master, does the work.
N=$(pgrep -P "$M" | head -1)
hz=$(getconf CLK_TCK)
for port in 20611 20612; do taskset -c 1 wrk -t1 -c50 -d1s "$@" "http://127.0.0.1:$port$path" >/dev/null; done
for _ in $(seq "$rounds"); do
  for s in "httpd $W 20611" "nginx $N 20612"; do
    read -r name p port <<<"$s"
    t0=$(cpu_ticks "$p")
    out=$({ /usr/bin/time -f "CLIENT %U %S" taskset -c 1 wrk -t1 -c50 -d"${secs}"s "$@" "http://127.0.0.1:$port$path"; } 2>&1)
    t1=$(cpu_ticks "$p")
    awk -v name="$name" -v ticks=$((t1 - t0)) -v hz="$hz" -v secs="$secs" '
      /requests in/ {n = $1} /Requests\/sec/ {r = $2} /^CLIENT/ {c = $2 + $3}
      END {printf "%-6s %7d req/s  server %6.1f µs/req  wrk %6.1f µs/req (its core %3.0f%% busy) | ", name, r, ticks / hz * 1e6 / n, c * 1e6 / n, 100 * c / secs}' <<<"$out"
  done
  echo
done
