#!/usr/bin/env bash
# Runs two benchmark commands alternately and reports the ratio of their
# figures: each command prints one JSON line, and FIELD (default
# `process_per_s`) is read from it. Order alternates every round (A B, B A,
# ...) so drift in the machine's load falls on both sides alike.
#
#   benches/alternate.sh ROUNDS 'command A' 'command B' [FIELD]
#
# Prints every round's figures, then min and median of A/B and the
# one-minute load average before and after. With ALTERNATE_LOG=FILE, every
# JSON line is also appended to FILE (other figures of the same runs).
set -euo pipefail
rounds=${1:?rounds}
a=${2:?command A}
b=${3:?command B}
field=${4:-process_per_s}

figure() {
  local line
  line=$(bash -c "$1" | tail -n 1)
  if [ -n "${ALTERNATE_LOG:-}" ]; then echo "$line" >>"$ALTERNATE_LOG"; fi
  jq -e ".${field}" <<<"$line" >/dev/null || { echo "no ${field} in: $line" >&2; exit 1; }
  jq ".${field}" <<<"$line"
}

load() { cut -d' ' -f1 /proc/loadavg; }

echo "load before: $(load)"
ratios=()
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then
    fa=$(figure "$a"); fb=$(figure "$b")
  else
    fb=$(figure "$b"); fa=$(figure "$a")
  fi
  ratio=$(jq -n "$fa / $fb * 1000 | round / 1000")
  ratios+=("$ratio")
  echo "round $r: A $fa  B $fb  A/B $ratio"
done
sorted=$(printf '%s\n' "${ratios[@]}" | sort -g)
min=$(head -n 1 <<<"$sorted")
median=$(printf '%s\n' "${ratios[@]}" | jq -s 'sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end')
echo "A/B min $min median $median over $rounds rounds; load after: $(load)"
