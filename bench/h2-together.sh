#!/usr/bin/env bash
# HTTP/2 servers measured at the same time: every server on CPU 0, one `h2load -c50 -m10` per server on
# CPU 1, all started together each round, so the host's noise (which moves one 2 s run by ±20% here) falls
# on all of them alike. The figure is each server's CPU per stream (user + system from /proc, over its own
# -n requests); req/s mean little here (the servers share one core). Interleaved runs (bench/ab.sh) could not
# tell 2-5% apart on this VM; this ranks builds in most rounds.
#
#   bench/h2-together.sh CERTS_DIR VHOSTS FILE SCENARIO ROUNDS N SERVER...
#
# SCENARIO: get (GET /1k.bin) or 304 (the same with If-None-Match: the server's own ETag, asked with nghttp).
# SERVER: an httpd dist directory (packages/httpd/dist, a copy in packages/httpd/dist-old), VAR=VALUE:DIST for
# one with an environment variable, or `peer` (bench/peers/h2-peer.mjs answering FILE from memory with
# CERTS_DIR/__default__.crt). VHOSTS must serve FILE as /1k.bin. Ports 20811 onwards. Needs h2load and nghttp.
set -uo pipefail
if [ $# -lt 7 ]; then sed -n '2,15p' "$0"; exit 2; fi
certs=$(cd "$1" && pwd); vhosts=$2; file=$3; scen=$4; rounds=$5; n=$6; shift 6
here=$(cd "$(dirname "$0")/.." && pwd)
for tool in h2load nghttp taskset; do command -v $tool >/dev/null || { echo "bench/h2-together.sh needs $tool (apt-get install nghttp2-client util-linux)" >&2; exit 1; }; done
. "$here/bench/ab-lib.sh"
pids=(); ports=(); names=()
for s in "$@"; do
  port=$((20811 + ${#ports[@]}))
  if [ "$s" = peer ]; then
    taskset -c 0 node "$here/bench/peers/h2-peer.mjs" "$certs/__default__.crt" "$certs/__default__.key" "$file" "$port" >/dev/null 2>&1 &
  else
    envs=(); dist=$s
    case "$s" in *=*:*) envs=("${s%%:*}"); dist=${s#*:};; esac
    dist=$(cd "$dist" && pwd)
    env "${envs[@]}" taskset -c 0 node -e "import('$dist/cli.js').then(m=>m.main(process.argv))" x "$vhosts" --io sync --workers 0 --port 0 --tls-port "$port" --certs "$certs" --host 127.0.0.1 --log-level warn >/dev/null 2>&1 &
  fi
  pids+=($!); ports+=("$port"); names+=("$s")
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
wait_ports "${ports[@]}"
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a server did not start (is a port from 20811 on in use?)" >&2; exit 1; }; done
headers=()
for port in "${ports[@]}"; do
  etag=$(timeout 10 nghttp -v -n "https://127.0.0.1:$port/1k.bin" 2>/dev/null | sed -n 's/.*etag: \(".*"\).*/\1/p' | head -1)
  headers+=("$( [ "$scen" = 304 ] && echo "if-none-match: $etag" || echo "x-scenario: get")")
done
# One server's run: "<tenths of a µs per stream> <streams that got the expected status>".
one() {
  local i=$1 count=$2 t0 t1 out ok
  t0=$(cpu_ticks "${pids[$i]}")
  out=$(timeout 120 taskset -c 1 h2load -n "$count" -c 50 -m 10 -H "${headers[$i]}" "https://127.0.0.1:${ports[$i]}/1k.bin" 2>/dev/null)
  t1=$(cpu_ticks "${pids[$i]}")
  if [ "$scen" = 304 ]; then ok=$(sed -n 's/.*status codes: [0-9]* 2xx, \([0-9]*\) 3xx.*/\1/p' <<<"$out"); else ok=$(sed -n 's/.*status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out"); fi
  echo "$(( ok > 0 ? (t1 - t0) * 100000 / ok : 0 )) ${ok:-0}"
}
for i in "${!pids[@]}"; do one "$i" 10000 >/dev/null; done
declare -A us
work=$(mktemp -d); trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  jobs=(); for i in "${!pids[@]}"; do one "$i" "$n" >"$work/$i" & jobs+=($!); done
  wait "${jobs[@]}"
  line="round $r:"
  for i in "${!pids[@]}"; do
    read -r u ok <"$work/$i"
    [ "$ok" = "$n" ] || line+=" (${names[$i]}: only $ok of $n as expected)"
    us[$i]="${us[$i]:-} $u"; line+="  [$i] $(tenths "$u") µs"
  done
  echo "$line"
done
for i in "${!pids[@]}"; do
  m=$(tr ' ' '\n' <<<"${us[$i]}" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  echo "[$i] ${names[$i]}: median $(tenths "$m") µs of CPU per stream"
done
