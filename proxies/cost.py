"""Cost proxies: parameter count and FLOPs in NAS-Bench-201's convention.

NB201's FLOPs (Dong & Yang, ICLR 2020, ``get_model_infos``) are multiply-accumulates of Conv2d and
Linear layers per image, in millions, with bias additions counted (one per output element); BN,
ReLU, pooling and additions are not counted. ``torch.utils.flop_counter`` reports 2 x MACs and no
bias, so NB201 MFLOPs = torch FLOPs / 2 + bias elements (tested as an independent route).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from proxies.base import ProxyContext


def count_params(model: nn.Module) -> int:
    """Number of parameters (weights, biases and BN affine parameters)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_shape: tuple[int, ...], input_dtype: torch.dtype | None = None) -> int:
    """Conv2d + Linear multiply-accumulates (biases included) for one input of ``input_shape[1:]``.

    The input is zeros of ``input_dtype`` (default: the model's parameter dtype; token networks pass
    ``torch.int64``, so the zeros are token id 0).
    """
    total = 0

    def conv_hook(m: nn.Conv2d, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        positions = out.numel() // out.shape[1]
        per_position = m.in_channels // m.groups * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        total += positions * per_position + (out.numel() if m.bias is not None else 0)

    def linear_hook(m: nn.Linear, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        rows = out.numel() // m.out_features
        total += rows * m.in_features * m.out_features + (out.numel() if m.bias is not None else 0)

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters())
        with torch.no_grad():
            dtype = param.dtype if input_dtype is None else input_dtype
            model(torch.zeros((1, *input_shape[1:]), dtype=dtype, device=param.device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total


def params(ctx: ProxyContext) -> float:
    """Parameters of the built network, in millions (NB201's "params (MB)")."""
    return count_params(ctx.fresh_model()) / 1e6


def flops(ctx: ProxyContext) -> float:
    """Multiply-accumulates per input at the protocol's resolution, in millions (NB201's MFLOPs).

    Embedding lookups are not multiply-accumulates and count nothing; a language model's per-position
    Linear layers (attention projections, MLPs, LM head) count at every position of the sequence.
    """
    probe = ctx.input.noise(1, torch.Generator().manual_seed(0), ctx.dtype)
    return count_macs(ctx.fresh_model(), ctx.input_shape(1), probe.dtype) / 1e6


def count_decoder_params(model: nn.Module) -> int:
    """Parameters outside the embeddings: every parameter except those of ``nn.Embedding`` modules and of
    the model's output embedding (``get_output_embeddings()``, the LM head, tied or not).

    Raises :class:`~proxies.base.Undefined` for a network without a token embedding (images).
    """
    from proxies.base import Undefined

    embeddings = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    if not embeddings:
        raise Undefined("no token embedding: decoder parameters are defined for token-input networks")
    skip = {id(p) for m in embeddings for p in m.parameters()}
    getter = getattr(model, "get_output_embeddings", None)
    head = getter() if callable(getter) else None
    if head is not None:
        skip |= {id(p) for p in head.parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in skip)


def decoder_params(ctx: ProxyContext) -> float:
    """Non-embedding parameters in millions (LiteTransformerSearch's zero-cost proxy)."""
    return count_decoder_params(ctx.fresh_model()) / 1e6


def count_model_bytes(model: nn.Module) -> int:
    """Bytes of the network's parameters at each layer's numeric format (FLIQS's model-size cost).

    Conv2d/Linear weights take their layer's format width (fp32 4, bf16 2, int8 1 byte, plus one fp32
    scale per int8 output channel); biases, norm-layer parameters and every other parameter stay fp32.
    """
    from spaces.precision import WEIGHT_BYTES, layer_format

    total = 0.0
    counted: set[int] = set()
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            fmt = layer_format(m)
            total += m.weight.numel() * WEIGHT_BYTES[fmt] + (4 * m.weight.shape[0] if fmt == "int8" else 0)
            counted.add(id(m.weight))
    total += 4 * sum(p.numel() for p in model.parameters() if id(p) not in counted)
    return int(total)


def model_bytes(ctx: ProxyContext) -> float:
    """Parameter storage at the layers' numeric formats, in megabytes (10^6 bytes)."""
    return count_model_bytes(ctx.fresh_model()) / 1e6
