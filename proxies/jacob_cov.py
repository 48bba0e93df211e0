"""Jacobian covariance (Mellor et al., "Neural Architecture Search without Training", arXiv:2006.04647v1;
as implemented by Abdelfattah et al., ICLR 2021).

J_i = d(sum_k y_ik)/dx_i per input; C = corrcoef(J); the score is -sum_j [log(l_j + k) + 1/(l_j + k)]
over the eigenvalues l_j of C, with k = 1e-5. Undefined when a Jacobian row is constant (e.g. a cell
whose output ignores its input), which is reported as status ``nan`` with the reason. The Jacobians come
from the context's shared pass (:meth:`ProxyContext.input_jacobians`, also used by epe_nas).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from proxies.base import ProxyContext, Undefined

K = 1e-5


def jacobian_rows(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Per-input gradients of the summed outputs, flattened to ``(batch, features)`` float64."""
    x = x.detach().clone().requires_grad_(True)
    y = model(x)
    y.backward(torch.ones_like(y))
    return x.grad.detach().reshape(len(x), -1).double().cpu().numpy()


def jacob_cov_score(jacobians: np.ndarray, k: float = K) -> float:
    """The score from Jacobian rows; raises :class:`Undefined` if a row has zero variance."""
    if np.any(np.std(jacobians, axis=1) == 0):
        raise Undefined("a Jacobian row is constant (the output ignores that input): correlation undefined")
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobians))
    return float(-np.sum(np.log(eigenvalues + k) + 1.0 / (eigenvalues + k)))


def jacob_cov(ctx: ProxyContext) -> float:
    """Jacobian covariance on the protocol's batch."""
    return jacob_cov_score(ctx.input_jacobians(), float(ctx.protocol.proxy_params("jacob_cov").get("k", K)))
