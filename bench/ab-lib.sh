# Shared by bench/ab.sh and bench/access-log-ab.sh (sourced, not run): waiting for servers,
# one measured load run (req/s and the server's CPU per request), and medians.
# The caller defines load PORT SECONDS [ARGS...] printing wrk's "Requests/sec:" and
# "N requests in" lines, and the associative arrays pid (port -> server pid), rps and us.

# Waits (bounded: 20 s a port) until every port accepts a connection.
wait_ports() {
  local port
  for port in "$@"; do
    for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  done
}

# User + system CPU ticks (10 ms) of a process, every thread: past the ") " so a command name with spaces cannot shift the fields.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# "12.3" from tenths of a µs.
tenths() { echo "$(($1 / 10)).$(($1 % 10))"; }

# measure PORT LABEL SECONDS [LOAD ARGS...]: one load run against PORT; prints "LABEL req/s µs CPU/req | "
# and appends the figures to rps[PORT] and us[PORT] (tenths of a µs per request).
measure() {
  local port=$1 label=$2 secs=$3; shift 3
  local t0 t1 out r n u
  t0=$(cpu_ticks "${pid[$port]}"); out=$(load "$port" "$secs" "$@"); t1=$(cpu_ticks "${pid[$port]}")
  r=$(awk '/Requests\/sec/{print int($2)}' <<<"$out"); n=$(awk '/requests in/{print $1}' <<<"$out")
  u=$(( (t1 - t0) * 100000 / n ))  # 10 ms ticks -> tenths of a µs per request
  printf '%s %6d req/s %5s µs CPU/req | ' "$label" "$r" "$(tenths "$u")"
  rps[$port]="${rps[$port]:-} $r"; us[$port]="${us[$port]:-} $u"
}

median() { tr ' ' '\n' <<<"$*" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
