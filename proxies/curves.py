"""Learning-curve proxies: sum of training losses (SoTL) and early-curve extrapolation.

* **SoTL** (Ru, Lyle, Schut, Fil, van der Wilk & Gal, "Speedy Performance Estimation for Neural
  Architecture Search", NeurIPS 2021): the sum of the minibatch training losses of a run. With
  ``L_t`` the sum of epoch ``t``'s minibatch losses, ``SoTL(E) = L_1 + ... + L_E`` (everything seen
  after E epochs) and ``SoTL-E`` over the most recent ``window`` epochs ending at E (the paper's
  best-working variant uses the last epoch only). Lower is better.
* **Extrapolation** (Domhan, Springenberg & Hutter, "Speeding up Automatic Hyperparameter
  Optimization of Deep Neural Networks by Extrapolation of Learning Curves", IJCAI 2015): fit a
  parametric curve to the first k points of a validation-accuracy curve with
  ``scipy.optimize.curve_fit`` and read it at a target epoch. The models are three of Domhan et al.'s
  eleven: ``pow3`` ``c - a x^-alpha``, ``exp3`` ``c - exp(-a x + b)`` and ``loglinear`` ``a log x + b``
  (two parameters, so it already extrapolates from two epochs).

Every function here is pure (arrays in, numbers out); ``benchmarks.derived`` writes the results as
records under their own protocol hash.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from spaces.registry import Registry


class CurveError(ValueError):
    """A curve proxy cannot be computed (too few points, non-finite data, a failed fit)."""


def _finite(values: Sequence[float], what: str) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.ndim != 1:
        raise CurveError(f"{what} must be a 1-d sequence, got shape {out.shape}")
    bad = np.flatnonzero(~np.isfinite(out))
    if len(bad):
        raise CurveError(f"{what} has a non-finite value at epoch {int(bad[0]) + 1}")
    return out


def sotl(loss_sums: Sequence[float], epochs: int) -> float:
    """SoTL after ``epochs`` epochs: the sum of every minibatch loss of epochs 1..E (Ru et al. 2021)."""
    return sotl_e(loss_sums, epochs, window=epochs)


def sotl_e(loss_sums: Sequence[float], epochs: int, window: int = 1) -> float:
    """SoTL-E: the sum of the minibatch losses of the ``window`` epochs ending at epoch ``epochs``."""
    sums = _finite(loss_sums, "loss sums")
    if not 1 <= epochs <= len(sums):
        raise CurveError(
            f"SoTL at epoch {epochs} needs a curve of at least that many epochs (have {len(sums)})"
        )
    if not 1 <= window <= epochs:
        raise CurveError(f"SoTL window must be in 1..{epochs}, got {window}")
    return float(math.fsum(sums[epochs - window : epochs]))


@dataclass(frozen=True)
class CurveModel:
    """A parametric learning-curve model ``f(x, *params)`` with a start guess and parameter bounds."""

    name: str
    formula: str
    function: Callable[..., np.ndarray]
    start: Callable[[np.ndarray, np.ndarray, float], tuple[float, ...]]
    bounds: Callable[[float], tuple[tuple[float, ...], tuple[float, ...]]]
    basis: Callable[[np.ndarray], np.ndarray] | None = None
    """For models linear in their parameters: the design matrix, solved exactly by least squares."""

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.bounds(math.inf)[0])


CURVE_MODELS: Registry[CurveModel] = Registry("curve model", entry_point_group="archbench.curve_models")


def _pow3(x: np.ndarray, c: float, a: float, alpha: float) -> np.ndarray:
    return c - a * np.power(x, -alpha)


def _exp3(x: np.ndarray, c: float, a: float, b: float) -> np.ndarray:
    return c - np.exp(-a * x + b)


def _loglinear(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.log(x) + b


def _gap(y: np.ndarray, ceiling: float) -> float:
    """A start guess for the asymptote: a little above the best point, below the ceiling."""
    top = float(y.max())
    return (
        min(ceiling, top + max(1.0, 0.1 * abs(top)))
        if math.isfinite(ceiling)
        else top + max(1.0, 0.1 * abs(top))
    )


CURVE_MODELS.register(
    "pow3",
    CurveModel(
        "pow3",
        "c - a * x**-alpha",
        _pow3,
        start=lambda x, y, ceiling: (_gap(y, ceiling), max(_gap(y, ceiling) - float(y[0]), 1e-3), 0.5),
        bounds=lambda ceiling: ((-np.inf, 0.0, 0.0), (ceiling, np.inf, 10.0)),
    ),
)
CURVE_MODELS.register(
    "exp3",
    CurveModel(
        "exp3",
        "c - exp(-a * x + b)",
        _exp3,
        start=lambda x, y, ceiling: (
            _gap(y, ceiling),
            0.5,
            math.log(max(_gap(y, ceiling) - float(y[0]), 1e-3)) + 0.5 * float(x[0]),
        ),
        bounds=lambda ceiling: ((-np.inf, 0.0, -np.inf), (ceiling, 10.0, np.inf)),
    ),
)
CURVE_MODELS.register(
    "loglinear",
    CurveModel(
        "loglinear",
        "a * log(x) + b",
        _loglinear,
        start=lambda x, y, ceiling: (0.0, float(y.mean())),
        bounds=lambda ceiling: ((-np.inf, -np.inf), (np.inf, np.inf)),
        basis=lambda x: np.column_stack([np.log(x), np.ones_like(x)]),
    ),
)


@dataclass(frozen=True)
class CurveFit:
    """A fitted curve: the model, its parameters and the RMS residual on the fitted points."""

    model: str
    params: tuple[float, ...]
    rmse: float
    n_points: int

    def __call__(self, x: float | np.ndarray) -> float | np.ndarray:
        """The fitted curve at ``x`` (epochs, >= 1)."""
        out = CURVE_MODELS.get(self.model).function(np.asarray(x, dtype=np.float64), *self.params)
        return float(out) if np.ndim(out) == 0 else out


def fit_curve(
    epochs: Sequence[float], values: Sequence[float], model: str = "pow3", ceiling: float = math.inf
) -> CurveFit:
    """Least-squares fit of ``model`` to ``(epochs, values)``; raises :class:`CurveError` on failure.

    ``ceiling`` bounds the asymptote of saturating models (100 for accuracies in percent). A model
    needs at least as many distinct epochs as it has parameters.
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    spec = CURVE_MODELS.get(model)
    x, y = _finite(epochs, "epochs"), _finite(values, "values")
    if x.shape != y.shape:
        raise CurveError(f"epochs and values differ in length ({len(x)} vs {len(y)})")
    if len(np.unique(x)) < spec.n_params:
        raise CurveError(
            f"{model} has {spec.n_params} parameters and needs as many epochs, got {len(np.unique(x))}"
        )
    if (x < 1).any():
        raise CurveError("epochs must be >= 1 (curves are indexed from epoch 1)")
    if float(y.max()) > ceiling:
        raise CurveError(f"values exceed the ceiling {ceiling}")
    if spec.basis is not None:
        params = np.linalg.lstsq(spec.basis(x), y, rcond=None)[0]
        return _checked(spec, x, y, params)
    lower, upper = spec.bounds(ceiling)
    start = np.clip(spec.start(x, y, ceiling), np.array(lower) + 1e-9, np.array(upper) - 1e-9)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)  # exact fits have no covariance: harmless
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                params, _ = curve_fit(spec.function, x, y, p0=start, bounds=(lower, upper), maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise CurveError(f"{model} fit failed: {' '.join(str(exc).split())}") from None
    return _checked(spec, x, y, params)


def _checked(spec: CurveModel, x: np.ndarray, y: np.ndarray, params: np.ndarray) -> CurveFit:
    model = spec.name
    fitted = spec.function(x, *params)
    if not np.isfinite(fitted).all() or not np.isfinite(params).all():
        raise CurveError(f"{model} fit is not finite on the fitted epochs")
    rmse = float(np.sqrt(np.mean((fitted - y) ** 2)))
    return CurveFit(model, tuple(float(p) for p in params), rmse, len(x))


def extrapolate(
    values: Sequence[float], target: int, model: str = "pow3", ceiling: float = math.inf
) -> tuple[float, CurveFit]:
    """Fit ``model`` to a curve's points at epochs 1..k and return its value at epoch ``target``."""
    y = _finite(values, "values")
    if target < len(y):
        raise CurveError(f"target epoch {target} lies inside the {len(y)} fitted epochs")
    fit = fit_curve(np.arange(1, len(y) + 1), y, model, ceiling)
    value = fit(target)
    if not math.isfinite(value):
        raise CurveError(f"{model} fit extrapolates to a non-finite value at epoch {target}")
    return value, fit
