#!/usr/bin/env bash
# Instructions per publish, POSTD against plain reqwest, counted by callgrind
# (valgrind): a figure the machine's load does not move.
#
#   cargo build --release --example publish_overhead
#   benches/publish_instructions.sh
#
# For each scenario (Instagram image, LinkedIn text, LinkedIn image) it runs
# `publish_overhead` three times under callgrind: with only POSTD's side,
# with only the plain side, and with neither (the canned server's answers
# and the harness). A side's cost is its run minus the run with neither,
# over the publishes it made:
# - sequential: `publish_overhead 1 300 1`, 351 publishes a side (50 warm-up,
#   300 one after another, 1 alone);
# - a burst: `publish_overhead 1 0 1000`, 1,050 publishes a side (50 warm-up,
#   then 1,000 at once on a cold pool: the connections each client opens are
#   counted in).
# Callgrind counts the client process only (the server is a child it does
# not follow). Prints one line per scenario and mode, and the ratio
# POSTD/plain (below 1 is POSTD cheaper).
set -euo pipefail
bin=${PUBLISH_BIN:-target/release/examples/publish_overhead}
[ -x "$bin" ] || { echo "build it first: cargo build --release --example publish_overhead" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Total instructions of one run.
count() {
  local scenario=$1 side=$2 args=$3
  PUBLISH_SCENARIO=$scenario PUBLISH_SIDE=$side valgrind --tool=callgrind \
    --callgrind-out-file="$out/cg.out" "$bin" $args >/dev/null 2>"$out/err"
  awk '/Collected/ {print $4}' "$out/err"
}

for mode in sequential burst; do
  if [ "$mode" = sequential ]; then args="1 300 1" publishes=351; else args="1 0 1000" publishes=1050; fi
  for scenario in instagram_image linkedin_text linkedin_image; do
    postd=$(count "$scenario" postd "$args")
    plain=$(count "$scenario" plain "$args")
    none=$(count "$scenario" none "$args")
    awk -v s="$scenario" -v m="$mode" -v p="$postd" -v q="$plain" -v n="$none" -v k="$publishes" 'BEGIN {
      printf "%s %s: POSTD %.1fk, plain %.1fk instructions per publish, POSTD/plain %.3f\n",
        s, m, (p - n) / k / 1000, (q - n) / k / 1000, (p - n) / (q - n)
    }'
  done
done
