#!/usr/bin/env bash
# Whole-space NB201 build of the first proxy set on the embedded MNIST-5k task, timed.
#
#   scripts/whole_space.sh [OUT] [more archbench build options...]
#
# Every one of the 15,625 cells gets params and flops (cost metrics, per concrete cell); the 6,466
# equivalence classes get synflow, snip, grad_norm, jacob_cov and nwot once, on their representative
# (the lowest published index), answered for every member. Published network size (C=16, N=5), proxy
# batch 64, the task's own resolution (mnist5k: 28 px). The journal OUT/journal.sqlite is the
# checkpoint: run the same command again after an interruption (even kill -9) and it resumes. At the
# end it prints `archbench status` (every run's wall time, the total) and runs check_whole_space.py.
#
# Environment: CELLS=N builds N sampled classes instead of the whole space (to estimate the cost),
# ARCHBENCH=path picks the archbench executable (default: .venv/bin/archbench, else on PATH).
set -euo pipefail

OUT=${1:-runs/whole_space}
shift || true
if [[ -n "${ARCHBENCH:-}" ]]; then
    exe=$ARCHBENCH
elif [[ -x .venv/bin/archbench ]]; then
    exe=.venv/bin/archbench
else
    exe=$(command -v archbench) || { echo "whole_space.sh: archbench is not installed" >&2; exit 2; }
fi
if [[ -n "${CELLS:-}" ]]; then
    select=(--sample "$CELLS")
else
    select=(--all)
fi

start=$(date +%s.%N)
"$exe" build --space nb201 --task mnist5k "${select[@]}" \
    --proxies params,flops,synflow,snip,grad_norm,jacob_cov,nwot \
    --batch-size 64 --build-options C=16,N=5 --out "$OUT" "$@"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v o="$OUT" \
    'BEGIN { printf "whole_space.sh: this run %.1f s (%.2f h); table: %s/table\n", e - s, (e - s) / 3600, o }'
# Every run of the build (also the interrupted ones) is a journal session: the total is their sum.
"$exe" status "$OUT"
if [[ -z "${CELLS:-}" ]]; then
    py="$(dirname "$exe")/python"
    [[ -x "$py" ]] || py=python3
    "$py" "$(dirname "$0")/check_whole_space.py" "$OUT/table"
fi
