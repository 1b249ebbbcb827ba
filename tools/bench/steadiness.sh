#!/usr/bin/env bash
# Ten consecutive runs of a benchmark, each between two runs of `machine_probe`, to tell the
# program's spread from the machine's. Prints one line per run: the benchmark's first RESULT
# value, the probe's three figures before and after it, involuntary context switches, system
# time, and the hypervisor's stolen ticks (the `steal` column of /proc/stat).
#
# Usage (from the repository root, after `cargo build --release --examples`):
#   tools/bench/steadiness.sh [RUNS] [BENCHMARK COMMAND...]
# Default: 10 runs of target/release/examples/bench_mlp.
set -euo pipefail
runs=${1:-10}
shift || true
if [ $# -eq 0 ]; then set -- target/release/examples/bench_mlp; fi
probe=target/release/examples/machine_probe
figures() { "$probe" | awk '{split($4, v, "="); printf "%s ", v[2]}'; }
steal() { awk '/^cpu /{print $9}' /proc/stat; }
echo "run value chain_before flops_before chase_before chain_after flops_after chase_after ivcs sys_s steal_ticks"
for i in $(seq 1 "$runs"); do
  before=$(figures)
  s0=$(steal)
  out=$(/usr/bin/time -f "TIME %c %S" "$@" 2>&1)
  s1=$(steal)
  after=$(figures)
  value=$(echo "$out" | grep -m1 '^RESULT' | sed 's/.*value=\([^ ]*\).*/\1/')
  echo "$i $value $before$after$(echo "$out" | grep '^TIME' | cut -d' ' -f2-) $((s1 - s0))"
done
