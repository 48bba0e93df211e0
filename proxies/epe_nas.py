"""EPE-NAS: Lopes et al., "EPE-NAS: Efficient Performance Estimation Without Training for Neural
Architecture Search", ICANN 2021 (arXiv:2102.08099), following the authors' code (as vendored in NASLib).

The input Jacobians J_i = d(sum_k y_ik)/dx_i (the context's shared pass, :meth:`ProxyContext.input_jacobians`,
also used by jacob_cov) are grouped by the images' labels. For each class c with Jacobian rows J_c,

    s_c = sum_{i,j} log(|corrcoef(J_c)_ij| + k),   k = 1e-5,

and the score is sum_c |s_c| when the task has at most 100 classes. With more than 100 classes each
s_c is divided by the size of its correlation matrix and the score is
sum_{c, c'} |s_c - s_c'| / (number of classes scored), as in the reference. A class seen once has the
1x1 correlation matrix [[1]] (s_c = log(1 + k)); in the many-class form the reference skips such a class
(its ``len()`` of a scalar correlation raises and is caught), and so do we. Higher is better (less
correlated Jacobians within a class).

Where the reference prints an exception and skips, or returns NaN: a constant Jacobian row (e.g. a cell
whose output ignores its input) makes the correlation undefined and raises :class:`Undefined`.
"""

from __future__ import annotations

import numpy as np

from proxies.base import ProxyContext, Undefined

K = 1e-5
MANY_CLASSES = 100
"""Above this many classes the reference switches to the pairwise-difference form."""


def class_scores(
    jacobians: np.ndarray, labels: np.ndarray, k: float = K, normalise: bool = False
) -> dict[int, float]:
    """s_c for every class present in ``labels`` (divided by the class size, and classes seen once
    skipped, when ``normalise``)."""
    if np.any(np.std(jacobians, axis=1) == 0):
        raise Undefined("a Jacobian row is constant (the output ignores that input): correlation undefined")
    scores = {}
    for c in np.unique(labels):
        rows = jacobians[labels == c]
        if normalise and len(rows) == 1:
            continue
        corr = np.atleast_2d(np.corrcoef(rows))
        s = float(np.sum(np.log(np.abs(corr) + k)))
        scores[int(c)] = s / len(corr) if normalise else s
    return scores


def epe_nas_score(jacobians: np.ndarray, labels: np.ndarray, num_classes: int, k: float = K) -> float:
    """The EPE-NAS score of Jacobian rows with their labels for a ``num_classes``-way task."""
    labels = np.asarray(labels)
    if len(labels) != len(jacobians):
        raise ValueError(f"epe_nas: {len(labels)} labels for {len(jacobians)} Jacobian rows")
    many = num_classes > MANY_CLASSES
    scores = np.array(list(class_scores(jacobians, labels, k, normalise=many).values()), dtype=np.float64)
    if not many:
        return float(np.sum(np.abs(scores)))
    if len(scores) == 0:
        raise Undefined("epe_nas: no class has two images in the batch, nothing to correlate")
    return float(np.sum(np.abs(scores[:, None] - scores[None, :])) / len(scores))


def epe_nas(ctx: ProxyContext) -> float:
    """EPE-NAS on the protocol's batch and labels."""
    _, y = ctx.batch()
    k = float(ctx.protocol.proxy_params("epe_nas").get("k", K))
    return epe_nas_score(ctx.input_jacobians(), y.cpu().numpy(), ctx.task.num_classes, k)
