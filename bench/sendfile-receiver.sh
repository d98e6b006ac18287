#!/usr/bin/env bash
# Where sendfile(2)'s CPU goes on loopback: the server's and the load generator's (wrk's) CPU per 20 MB
# response, WEBROOT_SENDFILE off and on, interleaved, the same build; server on CPU 0, wrk on CPU 1.
#   bench/sendfile-receiver.sh VHOSTS     (VHOSTS serving bench/.corpus's 20m.bin; run under flock /tmp/bench.lock)
set -uo pipefail
vhosts=${1:?usage: bench/sendfile-receiver.sh VHOSTS}
cd "$(dirname "$0")/../packages/httpd"
utime() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
for round in 1 2 3; do
for sf in off on; do
  WEBROOT_SENDFILE=$sf taskset -c 0 node bin/httpd.js "$vhosts" --io sync --workers 0 --port 20621 --host 127.0.0.1 --log-level warn > /dev/null 2>&1 &
  P=$!
  for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/20621) 2>/dev/null && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c4 -d1s http://127.0.0.1:20621/20m.bin > /dev/null
  t0=$(utime $P)
  out=$(bash -c 'taskset -c 1 wrk -t1 -c4 -d3s http://127.0.0.1:20621/20m.bin; times' 2>&1)
  t1=$(utime $P)
  n=$(awk '/requests in/{print $1}' <<<"$out")
  # times: second line = children user/sys like 0m0.123s 0m0.456s
  child=$(tail -1 <<<"$out" | awk '{split($1,a,"m"); split($2,b,"m"); print (a[1]*60+a[2]+0) + (b[1]*60+b[2]+0)}')
  echo "sendfile=$sf requests=$n server_cpu_ms_per_req=$(( (t1-t0)*10 / n )) wrk_cpu_ms_per_req=$(awk -v c=$child -v n=$n 'BEGIN{printf "%.1f", c*1000/n}')"
  kill $P; wait $P 2>/dev/null
done
done
