"""The two TE-NAS indicators: Chen et al., "Neural Architecture Search on ImageNet in Four GPU Hours: A
Theoretically Inspired Perspective", ICLR 2021, following the authors' code (VITA-Group/TENAS,
``lib/procedures/ntk.py`` and ``linear_region_counter.py``).

* ``ntk`` — the condition number lambda_max / lambda_min of the empirical neural tangent kernel
  K = G G^T on the protocol's batch, where row i of G is the gradient of image i's summed logits
  with respect to every parameter named ``weight`` (convolutions, BatchNorm scales and the classifier;
  biases excluded, as in the reference). G comes from one forward of the whole batch (so train-mode
  BatchNorm couples the images, as in the reference) and one backward per image. Lower is better.
  K is formed and diagonalised in float64 from the exact gradient values. Its eigenvalues are only
  known to about lambda_max * n * eps of the gradients' dtype, so a smallest eigenvalue at or below
  that is reported as :class:`Undefined` (singular to working precision) rather than as a huge number
  made of rounding noise; a zero kernel (no weight moves any logit, e.g. a cell whose output ignores
  its input) is undefined too.
* ``linear_regions`` — the number of distinct ReLU activation patterns (unit output > 0) over a set of
  inputs, i.e. of linear regions of the network that the inputs fall in. Higher is better. As in the
  reference the inputs go through the network in one train-mode batch; here they are Gaussian, drawn
  from a torch.Generator seeded with the context's seed, so the proxy needs no data. The reference hooks
  the ``nn.ReLU`` modules that see 4-D feature maps; we hook every ``nn.ReLU`` module (the same set on
  convolutional networks, and the only sensible one on a plain MLP); functional ReLUs are not seen.
  Proxy parameters: ``samples`` (default: the protocol's batch size), ``resolution`` (default: the
  protocol's) and ``build`` (build options replacing the protocol's). TE-NAS counts on a thin
  network (NB201: C=1, N=1, no stem) fed 3000 single-channel 3x3 crops; on a network of published width
  nearly every input has a pattern of its own and the count saturates at ``samples``, so a protocol
  meant to rank by regions should set a thin ``build`` and more ``samples``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from proxies.activations import for_each_relu_code
from proxies.base import ProxyContext, Undefined

_COLUMNS = 1 << 20
"""Parameters per chunk when forming G G^T in float64 (bounds the float64 copy of G)."""


def weight_parameters(model: nn.Module) -> list[torch.Tensor]:
    """Every trainable parameter whose own name is ``weight``, in ``named_parameters`` order (TE-NAS's
    selection: the reference keeps ``weight`` parameters that receive a gradient)."""
    return [
        p for name, p in model.named_parameters() if name.rsplit(".", 1)[-1] == "weight" and p.requires_grad
    ]


def per_image_gradients(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """G: row i is d(sum_k logit_ik)/d(weights), flattened, after one forward of the whole batch."""
    weights = weight_parameters(model)
    if not weights:
        raise Undefined("ntk: the network has no trainable weights, the NTK is empty")
    out = model(x)
    # One preallocated matrix, each row written in place (a list of rows then a stack held G twice).
    grads = torch.empty((len(x), sum(w.numel() for w in weights)), dtype=weights[0].dtype, device=x.device)
    for i in range(len(x)):
        model.zero_grad(set_to_none=True)
        out[i].sum().backward(retain_graph=i < len(x) - 1, inputs=weights)
        lo = 0
        for w in weights:
            hi = lo + w.numel()
            grads[i, lo:hi] = 0.0 if w.grad is None else w.grad.reshape(-1)
            lo = hi
    model.zero_grad(set_to_none=True)
    return grads


def ntk_matrix(grads: torch.Tensor) -> np.ndarray:
    """K = G G^T in float64, accumulated over column chunks."""
    n = grads.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=grads.device)
    for lo in range(0, grads.shape[1], _COLUMNS):
        block = grads[:, lo : lo + _COLUMNS].double()
        kernel += block @ block.T
    return kernel.cpu().numpy()


def condition_number(kernel: np.ndarray, eps: float) -> float:
    """lambda_max / lambda_min of the symmetric PSD ``kernel`` whose entries carry relative error ``eps``."""
    eigenvalues = np.linalg.eigvalsh(kernel)
    low, high = float(eigenvalues[0]), float(eigenvalues[-1])
    if not np.all(np.isfinite(eigenvalues)):
        raise OverflowError("ntk: the kernel is not finite")
    if high <= 0.0:
        raise Undefined("ntk: every per-image gradient is zero, the NTK is zero")
    if low <= high * len(kernel) * eps:
        raise Undefined(
            f"ntk: the NTK is singular to working precision (lambda_min/lambda_max = {low / high:.3g})"
        )
    return high / low


def ntk_condition_number(model: nn.Module, x: torch.Tensor) -> float:
    """The TE-NAS NTK condition number of ``model`` on the batch ``x``."""
    grads = per_image_gradients(model, x)
    return condition_number(ntk_matrix(grads), float(torch.finfo(grads.dtype).eps))


def ntk(ctx: ProxyContext) -> float:
    """Condition number of the NTK on the protocol's batch (lower is better)."""
    x, _ = ctx.batch()
    return ntk_condition_number(ctx.fresh_model(), x)


def activation_codes(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """``(inputs, units)`` booleans: unit > 0 at the output of every ``nn.ReLU``, in call order."""
    codes: list[torch.Tensor] = []
    for_each_relu_code(model, x, codes.append)
    if not codes:
        return np.zeros((len(x), 0), dtype=bool)
    return torch.cat(codes, dim=1).numpy()


def count_patterns(codes: np.ndarray) -> int:
    """Number of distinct rows of a boolean ``(inputs, units)`` array."""
    packed = np.packbits(np.asarray(codes, dtype=bool), axis=1)
    return len({row.tobytes() for row in packed})


def linear_regions_count(model: nn.Module, x: torch.Tensor) -> int:
    """Distinct ReLU activation patterns of ``model`` over the inputs ``x``."""
    return count_patterns(activation_codes(model, x))


def linear_regions(ctx: ProxyContext) -> float:
    """Distinct ReLU patterns over Gaussian inputs (no data)."""
    params = ctx.protocol.proxy_params("linear_regions")
    samples = int(params.get("samples", ctx.protocol.batch_size))
    resolution = params.get("resolution", ctx.resolution)
    if samples < 1:
        raise ValueError(f"linear_regions needs samples >= 1, got {samples}")
    spec = ctx.input_at(None if resolution is None else int(resolution))
    x = spec.noise(samples, torch.Generator().manual_seed(ctx.seed), torch.float32)
    model = ctx.fresh_model(build=params.get("build"))
    return float(linear_regions_count(model, x.to(device=ctx.device, dtype=ctx.dtype)))
