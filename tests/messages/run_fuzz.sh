#!/bin/sh
# fuzz.decode: runs the decoder's libFuzzer binary ($1) for MK_FUZZ_SECONDS seconds, else $2,
# read when the test runs, so a longer run needs no new configure:
#   MK_FUZZ_SECONDS=3600 ctest --test-dir build -R fuzz.decode --timeout 3700
set -eu
seconds=${MK_FUZZ_SECONDS:-$2}
case $seconds in
  '' | *[!0-9]*) echo "MK_FUZZ_SECONDS: a whole number of seconds expected, got '$seconds'" >&2; exit 2 ;;
esac
exec "$1" -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=4096 -print_final_stats=1
