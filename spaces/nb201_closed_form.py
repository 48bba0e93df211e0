"""Closed-form parameter and multiply-accumulate counts of NAS-Bench-201 networks.

Derived layer by layer from the reference ``TinyNetwork`` of NAS-Bench-201 (Dong & Yang, "NAS-Bench-201:
Extending the Scope of Reproducible Neural Architecture Search", ICLR 2020): a 3x3 stem conv + BN,
N cells per stage at C, 2C, 4C channels (each conv edge is ReLU-Conv-BN, no conv biases), two residual
reduction blocks, a last BN and a linear classifier. Arithmetic only, no network is built: an
independent route to check the cost metrics a build counts on real modules (at C=16, N=5 they reproduce
the published 1,531,546 parameters and 220.1 MFLOPs of the all-3x3 CIFAR-10 cell).
"""

from __future__ import annotations

from collections.abc import Sequence


def nb201_params(ops: Sequence[str], C: int, N: int, num_classes: int, in_channels: int = 3) -> int:
    """Parameters: conv weights (no biases) + BN affine (2 per channel) + the linear head."""
    n3, n1 = ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1")
    total = in_channels * C * 9 + 2 * C  # stem: conv 3x3 + BN
    for c in (C, 2 * C, 4 * C):  # N cells per stage; each conv edge is ReLU-Conv-BN at c channels
        total += N * (n3 * (9 * c * c + 2 * c) + n1 * (c * c + 2 * c))
    for c_in in (C, 2 * C):  # residual reductions: conv_a 3x3 s2 + BN, conv_b 3x3 + BN, 1x1 shortcut
        c_out = 2 * c_in
        total += 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out + c_in * c_out
    total += 2 * 4 * C  # last BN
    total += 4 * C * num_classes + num_classes  # classifier weight + bias
    return total


def nb201_macs(
    ops: Sequence[str], C: int, N: int, resolution: int, num_classes: int, in_channels: int = 3
) -> int:
    """Conv + linear multiply-accumulates per image (linear bias counted): NB201's FLOPs convention."""
    n3, n1 = ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1")
    h = resolution
    total = h * h * in_channels * C * 9  # stem
    for stage, c in enumerate((C, 2 * C, 4 * C)):
        if stage > 0:  # reduction: output at half resolution
            c_in, h = c // 2, h // 2
            total += h * h * (9 * c_in * c + 9 * c * c + c_in * c)
        total += N * h * h * (n3 * 9 * c * c + n1 * c * c)
    total += 4 * C * num_classes + num_classes
    return total
