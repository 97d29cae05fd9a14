# shellcheck shell=bash
# Shared by the benchmark scripts in bench/ (sourced, not run): nbdkit servers on Unix sockets
# in a scratch directory that is removed on exit, wall-clock timing, medians.

bench_work=$(mktemp -d /tmp/mk-bench-XXXXXX)
declare -A bench_server_pid=()

bench_cleanup() {
  local pid
  for pid in "${bench_server_pid[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$bench_work"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() {
  printf '%s: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

# start_server NAME [--filter=F...] PLUGIN ARGS...: serves on $bench_work/NAME.sock, and returns
# once nbdkit has written its pid file (it does so when it accepts connections).
start_server() {
  local name=$1
  shift
  local sock=$bench_work/$name.sock pidfile=$bench_work/$name.pid
  rm -f "$sock" "$pidfile"
  nbdkit -f --exit-with-parent -U "$sock" -P "$pidfile" "$@" 2>"$bench_work/$name.err" &
  bench_server_pid[$name]=$!
  until [ -s "$pidfile" ]; do
    if ! kill -0 "${bench_server_pid[$name]}" 2>/dev/null; then
      cat "$bench_work/$name.err" >&2
      die "nbdkit $name did not start"
    fi
    sleep 0.05
  done
}

stop_server() {
  local name=$1
  kill "${bench_server_pid[$name]}" 2>/dev/null || true
  wait "${bench_server_pid[$name]}" 2>/dev/null || true
  unset "bench_server_pid[$name]"
  rm -f "$bench_work/$name.sock" "$bench_work/$name.pid"
}

uri() { printf 'nbd+unix:///?socket=%s/%s.sock' "$bench_work" "$1"; }

# time_run COMMAND...: prints the wall-clock seconds the command took; stops the benchmark
# with the command's stderr if it fails.
time_run() {
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$@" >/dev/null 2>"$bench_work/run.err"; then
    cat "$bench_work/run.err" >&2
    die "failed: $*"
  fi
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

# median NUMBERS...
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
          else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B with three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b > 0 ? a / b : 0) }'; }

# json_array NUMBERS...: [n1,n2,...]
json_array() {
  local IFS=,
  printf '[%s]' "$*"
}
