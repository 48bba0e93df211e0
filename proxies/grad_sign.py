"""GradSign: Zhang & Jia, "GradSign: Model Performance Inference with Theoretical Insights", ICLR 2022.

Every image of the protocol's batch is scored alone (forward and cross-entropy backward on a batch of one,
as the authors' code and NASLib's port do, so train-mode BatchNorm normalises with that image's own
statistics). With g_i the per-image gradient of every Conv2d/Linear weight,

    GradSign = sum_theta | sum_i sign(g_i(theta)) | ,

which is large when the images' gradients agree in sign (their loss landscapes share a local optimum
direction). sign(0) = 0, so a weight no image can move contributes nothing: on a cell whose output
ignores its input every weight gradient is zero and the score is exactly 0. The counts are integers,
accumulated exactly in float64. Train-mode BatchNorm needs more than one value per channel, so a network
whose last feature map is 1x1 cannot be scored in ``bn_mode="train"`` (reported as an error by torch).

Revision 2 (archbench 0.x, issue 21): the per-image gradients come from one batched pass,
``torch.func.vmap`` over ``grad`` of the batch-of-one loss, :data:`CHUNK` images at a time, instead of one
forward and backward per image (:func:`sign_agreement_per_image`, revision 1, kept as the tests'
independent route). Both compute the same per-image gradients; only the convolution kernels' rounding
differs (batched kernels sum in another order), so a weight whose true gradient is zero or within
rounding of it can change sign: on published-size NB201 cells the count moves by about 1e-5 to 1e-4 of
its value. 1.7x to 20x faster on a CPU (slowest on conv-heavy cells, where batch-of-one kernels are poor).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn as nn
from torch.func import functional_call, grad, vmap

from proxies.base import ProxyContext
from proxies.losses import flat_cross_entropy

CHUNK = 16
"""Images per vmapped chunk: bounds the per-image gradients held at once to CHUNK copies of the weights."""


def _scored_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every Conv2d/Linear weight by its parameter name, in module order."""
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(m.weight)]: m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)}


def _batch_statistics_only(model: nn.Module) -> None:
    """Train-mode norm layers stop tracking running statistics: their outputs read only the batch (as
    before), and nothing is written in place, which a vmapped function must not do. Eval-mode layers
    read their running statistics, unchanged."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training:
            m.track_running_stats = False
            m.running_mean = m.running_var = m.num_batches_tracked = None


def per_image_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> Iterator[dict[str, torch.Tensor]]:
    """``{weight name: (images, *weight.shape)}`` gradients of each image's own loss, CHUNK images at a
    time; the model's train-mode norm layers stop tracking running statistics."""
    weights = _scored_weights(model)
    _batch_statistics_only(model)
    rest = {n: p.detach() for n, p in model.named_parameters() if n not in weights}
    rest.update(dict(model.named_buffers()))

    def loss(w: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return flat_cross_entropy(functional_call(model, {**rest, **w}, (xi[None],)), yi[None])

    per_image = vmap(grad(loss), in_dims=(None, 0, 0), randomness="different")
    detached = {n: w.detach() for n, w in weights.items()}
    for lo in range(0, len(x), CHUNK):
        yield per_image(detached, x[lo : lo + CHUNK], y[lo : lo + CHUNK])


def _score(counts: list[torch.Tensor]) -> float:
    total = float(sum(c.abs().sum() for c in counts))
    if not math.isfinite(total):
        raise OverflowError(f"grad_sign overflowed (value {total})")
    return total


def sign_agreement(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """sum over Conv2d/Linear weights of |sum over images of sign(per-image gradient)|, batched.

    A forward that vmap cannot batch (data-dependent Python control flow, as in transformers' BERT
    attention-mask checks) falls back to :func:`sign_agreement_per_image`.
    """
    try:
        return _batched_sign_agreement(model, x, y)
    except RuntimeError as exc:
        if not str(exc).startswith("vmap"):
            raise
        return sign_agreement_per_image(model, x, y)


def _batched_sign_agreement(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    counts: dict[str, torch.Tensor] = {}
    for grads in per_image_gradients(model, x, y):
        for name, g in grads.items():
            if not torch.isfinite(g).all():
                raise OverflowError("grad_sign: a per-image gradient is not finite")
            signs = torch.sign(g).double().sum(dim=0)
            counts[name] = signs if name not in counts else counts[name] + signs
    return _score(list(counts.values()))


def sign_agreement_per_image(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Revision 1: the same sum from one forward and backward per image (the authors' loop)."""
    weights = list(_scored_weights(model).values())
    counts = [torch.zeros(w.shape, dtype=torch.float64, device=w.device) for w in weights]
    for i in range(len(x)):
        model.zero_grad(set_to_none=True)
        flat_cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        for c, w in zip(counts, weights):
            if w.grad is not None:
                if not torch.isfinite(w.grad).all():
                    raise OverflowError("grad_sign: a per-image gradient is not finite")
                c += torch.sign(w.grad.detach()).double()
    return _score(counts)


def grad_sign(ctx: ProxyContext) -> float:
    """GradSign on the protocol's batch, each image alone (batched per-image gradients)."""
    x, y = ctx.batch()
    return sign_agreement(ctx.fresh_model(), x, y)
