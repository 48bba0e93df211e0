#!/usr/bin/env bash
# How the shipped tables in benchmarks/shipped/ were built: the exact commands, one build at a time on a
# 2-core machine (each build's journal, wall time and sessions are in the release's manifest).
# Usage: scripts/build_shipped_tables.sh WORKDIR   (then copy WORKDIR/releases/* to benchmarks/shipped/)
set -euo pipefail
work=${1:?usage: $0 WORKDIR}
ab=${ARCHBENCH:-archbench}
mkdir -p "$work/releases"

# nb201-fmnist: the demo's protocol on the embedded Fashion-MNIST task (fmnist14k), network C=8 N=1 at
# 12 px (the demo's size: 2 epochs of a cell cost ~4 s of one core, so training fits the budget).
common=(--space nb201 --task fmnist14k --batch-size 64 --resolution 12 --build-options C=8,N=1 --workers 2 --quiet)
# 1) every proxy but the three that cost > 0.2 s per cell, on all 6,466 classes
"$ab" build "${common[@]}" --all-unique --out "$work/fmnist" \
    --proxies fisher,flops,grad_norm,grasp,jacob_cov,l2_norm,linear_regions,logsynflow,meco,nwot,params,plain,snip,synflow,zen,zico
# 2) a stratified sample of classes (by live-op mix): the three slow proxies and the ground truth,
#    2 epochs (a 2-point learning curve) with seeds 0 and 1, batch 128
"$ab" build "${common[@]}" --stratified 300 --seed 0 --out "$work/fmnist" \
    --proxies ntk,epe_nas,grad_sign --train-epochs 2 --train-seeds 0,1 --train-batch-size 128
"$ab" release "$work/fmnist" --name nb201-fmnist --version 1.0.0 --out "$work/releases" --licence CC-BY-4.0
# 3) 1.1.0 grows the trained sample to 1,000 classes: the 300 stay (--keep lists them; their units are
#    done), each live-op stratum is topped up to its share of 1,000; ntk and epe_nas for the new classes
#    (grad_sign stays at the 300: the installed revision 2 must not mix with the journal's revision 1)
"$ab" build "${common[@]}" --stratified 1000 --keep scripts/releases/nb201-fmnist-trained-300.txt --seed 0 \
    --out "$work/fmnist" --proxies ntk,epe_nas --train-epochs 2 --train-seeds 0,1 --train-batch-size 128
"$ab" release "$work/fmnist" --name nb201-fmnist --version 1.1.0 --out "$work/releases" --licence CC-BY-4.0

# nb201-shapes: data-free metrics at the published size (C=16, N=5) on the three NB201 input shapes,
# one journal; input=random because these metrics never read data (no CIFAR/ImageNet files needed).
for task in cifar10 imagenet16-120 cifar100; do
    "$ab" build --space nb201 --task "$task" --all-unique --input random --build-options C=16,N=5 \
        --proxies params,flops,synflow,logsynflow,l2_norm --workers 2 --quiet --out "$work/shapes"
done
"$ab" release "$work/shapes" --name nb201-shapes --version 1.0.0 --out "$work/releases" --licence CC-BY-4.0
# 1.1.0 adds zen (about 0.7 s per class at 32 px, 0.2 s at 16 px) to the same journal and protocol; the card's
# notes say which data-free proxies are left out and why (scripts/releases/nb201-shapes-notes.md)
for task in cifar10 imagenet16-120 cifar100; do
    "$ab" build --space nb201 --task "$task" --all-unique --input random --build-options C=16,N=5 \
        --proxies zen --workers 2 --quiet --out "$work/shapes"
done
"$ab" release "$work/shapes" --name nb201-shapes --version 1.1.0 --out "$work/releases" --licence CC-BY-4.0 \
    --notes scripts/releases/nb201-shapes-notes.md

# nb201-cpu: latency on this CPU at the published size (C=16, N=5, 32 px), 500 cells stratified by
# live-op mix, batch 1 and 64, PyTorch eager and ONNX Runtime, 2 interleaved rounds (min of the rounds),
# one thread, one unit at a time on a quiet machine; then the LUT, calibrated on 100 of the eager cells
# and judged on the other 400, predicting all 15,625 cells; one release of the three. glibc keeps freed
# batch-64 buffers mapped (docs/hw_profiles.md, "The allocator"), so latencies do not depend on malloc's
# history; the device descriptors record both variables.
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
for device in cpu onnxruntime-cpu; do
    "$ab" profile --space nb201 --task cifar10 --device "$device" --batch 1,64 --stratified 500 --seed 0 \
        --rounds 2 --warmup 2 --repeats 3 --metrics latency --threads 1 --workers 1 --quiet --out "$work/cpu/$device"
done
python scripts/lut_table.py "$work/cpu/cpu/table" --fit 100 --seed 0 --out "$work/cpu/lut"
"$ab" release "$work/cpu/cpu" "$work/cpu/onnxruntime-cpu" "$work/cpu/lut/table" --name nb201-cpu --version 1.0.0 \
    --out "$work/releases" --licence CC-BY-4.0
