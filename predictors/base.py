"""The `Predictor` interface, its card, saved artefacts (no pickle) and the predictor registry.

A predictor maps encoded architectures (a float matrix, one row per architecture, see
:mod:`predictors.encodings`) to a predicted target. :meth:`Predictor.fit` and :meth:`Predictor.predict`
validate their inputs (one-line ValueErrors) and call the model's ``_fit`` / ``_predict``; a model with
an uncertainty returns a standard deviation beside the mean. :meth:`Predictor.save` writes a folder
``predictor.json`` (name, hyper-parameters, seed, input width, SHA-256 of every state file) plus the
model's own state files (LightGBM's text model, ``torch.save`` state dicts, ``.npz`` arrays written and
read with ``allow_pickle=False``), to a temporary sibling renamed into place; :func:`load_predictor`
refuses a folder whose files do not match their recorded hashes. Built-in models register lazily as
``"module:Class"`` strings, third parties through the entry-point group ``archbench.predictors``.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from benchmarks.store import atomic_folder
from spaces.jsonio import JSONInputError, load_bounded
from spaces.registry import Registry

ARTEFACT_FORMAT = 1
"""Version of the saved-predictor layout (``predictor.json`` ``format``)."""
MANIFEST = "predictor.json"
MAX_MANIFEST_BYTES = 64 << 20
"""A predictor manifest over this size is refused unread (it holds hyper-parameters and file hashes)."""


class ArtefactError(ValueError):
    """A saved predictor that cannot be trusted: missing, tampered with or of another format."""


@dataclass(frozen=True)
class PredictorCard:
    """What a predictor is: its family, input kind, whether it gives a std, and where it comes from."""

    name: str
    summary: str
    paper: str
    input: Literal["vector", "graph"] = "vector"
    """``graph``: rows are flattened op graphs (:func:`predictors.encodings.unflatten_graph`)."""
    has_std: bool = False
    defaults: tuple[tuple[str, Any], ...] = ()
    """Default hyper-parameters (JSON values), as sorted pairs."""
    grid: tuple[tuple[tuple[str, Any], ...], ...] = ()
    """Hyper-parameter candidates chosen among by cross-validation inside a training split."""
    cv_params: tuple[tuple[str, Any], ...] = ()
    """Settings applied to the cross-validation fits only, to keep the search cheap (e.g. one ensemble
    member instead of five: the members differ only in their seed, so one ranks the candidates)."""


@dataclass(frozen=True)
class Prediction:
    """Predicted means and, where the model has one, standard deviations (both shape ``(n,)``)."""

    mean: np.ndarray
    std: np.ndarray | None = field(default=None)


def _as_matrix(X: Any, what: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty 2-d array (architectures x features), got {X.shape}")
    if np.isinf(X).any():
        raise ValueError(f"{what} has inf entries (NaN marks a missing feature; inf is refused)")
    return X


class Predictor(ABC):
    """A performance predictor: ``fit(X, y)`` then ``predict(X) -> Prediction``.

    Subclasses set ``card`` and implement ``_fit``, ``_predict``, ``_state`` (arrays and text to save)
    and ``_restore`` (their inverse). Hyper-parameters are plain JSON values in ``self.params``; the
    seed makes fitting deterministic (CPU bit-identical), and global RNG state is never touched.
    """

    card: ClassVar[PredictorCard]
    allows_nan_features: ClassVar[bool] = False

    def __init__(self, seed: int = 0, **params: Any) -> None:
        unknown = sorted(set(params) - {k for k, _ in self.card.defaults})
        if unknown:
            valid = ", ".join(k for k, _ in self.card.defaults) or "(none)"
            raise ValueError(
                f"unknown hyper-parameters {unknown} for predictor {self.card.name!r} (valid: {valid})"
            )
        self.seed = int(seed)
        self.params: dict[str, Any] = {**dict(self.card.defaults), **params}
        self.n_features: int | None = None
        self.meta: dict[str, Any] = {}

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.params.items() if dict(self.card.defaults).get(k) != v}
        return f"{type(self).__name__}(seed={self.seed}, {changed})"

    @property
    def fitted(self) -> bool:
        """True once :meth:`fit` (or :func:`load_predictor`) has run."""
        return self.n_features is not None

    # ---- public API ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> Predictor:
        """Fit on ``X`` (n x d) and finite targets ``y`` (n,); refits from scratch; returns ``self``."""
        X = _as_matrix(X, "training features")
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (X.shape[0],):
            raise ValueError(f"targets must have shape ({X.shape[0]},) to match the features, got {y.shape}")
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            rows = ", ".join(str(i) for i in bad[:5]) + (" ..." if len(bad) > 5 else "")
            raise ValueError(f"targets have {len(bad)} NaN/inf values (rows {rows}); drop failed rows first")
        if X.shape[0] < 2:
            raise ValueError(f"a predictor needs at least 2 training architectures, got {X.shape[0]}")
        if np.isnan(X).any() and not self.allows_nan_features:
            raise ValueError(f"predictor {self.card.name!r} cannot take NaN features; impute them first")
        self._fit(X, y)
        self.n_features = X.shape[1]
        return self

    def predict(self, X: Any) -> Prediction:
        """Predictions for the rows of ``X``; each row's prediction depends on that row alone.

        Vector input must have the fitted width; graph input may be padded to any node count.
        """
        if not self.fitted:
            raise ValueError(f"predictor {self.card.name!r} is not fitted; call fit() first")
        X = _as_matrix(X, "features")
        if self.card.input == "vector" and X.shape[1] != self.n_features:
            raise ValueError(
                f"features have {X.shape[1]} columns, the predictor was fitted on {self.n_features}"
            )
        if np.isnan(X).any() and not self.allows_nan_features:
            raise ValueError(f"predictor {self.card.name!r} cannot take NaN features; impute them first")
        mean, std = self._predict(X)
        mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        if not np.isfinite(mean).all():
            raise ValueError(f"predictor {self.card.name!r} produced non-finite predictions")
        return Prediction(mean, None if std is None else np.asarray(std, dtype=np.float64).reshape(-1))

    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Write the fitted predictor to the new folder ``path`` (all files or none).

        ``meta`` (JSON) travels in ``predictor.json``: e.g. the encoding, space, target and protocol hash.
        """
        if not self.fitted:
            raise ValueError(f"predictor {self.card.name!r} is not fitted; nothing to save")
        path = Path(path)
        if path.exists():
            raise ValueError(f"{path} already exists; save into a new folder")
        with atomic_folder(path) as tmp:
            files = self._write_state(tmp)
            manifest = {
                "format": ARTEFACT_FORMAT,
                "predictor": self.card.name,
                "seed": self.seed,
                "params": self.params,
                "n_features": self.n_features,
                "meta": dict(meta or {}),
                "files": {name: _sha256(tmp / name) for name in sorted(files)},
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return path

    # ---- state files -----------------------------------------------------------------------------------
    def _write_state(self, folder: Path) -> list[str]:
        """Write :meth:`_state` into ``folder``: arrays to ``state.npz``, texts to their own files."""
        arrays, texts = self._state()
        names = []
        if arrays:
            np.savez(folder / "state.npz", **{k: np.asarray(v) for k, v in arrays.items()})
            names.append("state.npz")
        for name, text in texts.items():
            (folder / name).write_text(text)
            names.append(name)
        return names

    def _read_state(self, folder: Path, files: list[str]) -> None:
        arrays: dict[str, np.ndarray] = {}
        if "state.npz" in files:
            with np.load(folder / "state.npz", allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        texts = {name: (folder / name).read_text() for name in files if name != "state.npz"}
        self._restore(arrays, texts)

    # ---- model hooks -----------------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit on validated inputs."""

    @abstractmethod
    def _predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean and std (or None) for validated inputs."""

    @abstractmethod
    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """The fitted state as arrays (saved in ``state.npz``) and named text files."""

    @abstractmethod
    def _restore(self, arrays: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        """Rebuild the fitted model from :meth:`_state`'s output."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


PREDICTORS: Registry[type[Predictor]] = Registry("predictor", entry_point_group="archbench.predictors")
for _name, _target in {
    "lightgbm": "predictors.lgbm:LightGBMPredictor",
    "random_forest": "predictors.forest:RandomForestPredictor",
    "gp": "predictors.gp:GPPredictor",
    "mlp_ensemble": "predictors.mlp:MLPEnsemblePredictor",
    "gnn": "predictors.gnn:GNNPredictor",
    "best_feature": "predictors.baselines:BestFeaturePredictor",
    "vote": "predictors.baselines:VotePredictor",
}.items():
    PREDICTORS.register(_name, _target)


def get_predictor_class(name: str) -> type[Predictor]:
    """The predictor class registered as ``name`` (KeyError with suggestions if unknown)."""
    cls = PREDICTORS.get(name)
    if not (isinstance(cls, type) and issubclass(cls, Predictor)):
        raise TypeError(
            f"entry point for predictor {name!r} gave {cls!r}, not a predictors.Predictor subclass"
        )
    if cls.card.name != name:
        raise TypeError(f"predictor registered as {name!r} has a card named {cls.card.name!r}")
    return cls


def make_predictor(name: str, seed: int = 0, **params: Any) -> Predictor:
    """A fresh, unfitted predictor ``name`` with hyper-parameters ``params`` (others at their defaults)."""
    return get_predictor_class(name)(seed=seed, **params)


def list_predictors(filter: str | None = None) -> list[str]:
    """Registered predictor names, optionally filtered by an fnmatch pattern."""
    return PREDICTORS.names(filter)


def load_predictor(path: str | Path) -> Predictor:
    """A predictor saved by :meth:`Predictor.save`; refuses missing, extra-format or tampered files."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtefactError(f"{path}: not a saved predictor (no {MANIFEST})")
    try:
        manifest = load_bounded(manifest_path, MAX_MANIFEST_BYTES)
        fmt, name, files = manifest["format"], manifest["predictor"], manifest["files"]
        seed, params, n_features = manifest["seed"], manifest["params"], manifest["n_features"]
    except JSONInputError as exc:
        raise ArtefactError(str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise ArtefactError(f"{manifest_path}: malformed predictor manifest ({exc})") from None
    if fmt != ARTEFACT_FORMAT:
        raise ArtefactError(f"{manifest_path}: format {fmt!r}, this archbench reads {ARTEFACT_FORMAT}")
    for file, digest in files.items():
        if Path(file).name != file or not (path / file).is_file():
            raise ArtefactError(f"{path}: state file {file!r} is missing")
        if _sha256(path / file) != digest:
            raise ArtefactError(f"{path / file}: SHA-256 differs from {MANIFEST}; the artefact was modified")
    predictor = make_predictor(name, seed=seed, **params)
    try:
        predictor._read_state(path, list(files))
    except (KeyError, ValueError, RuntimeError) as exc:
        raise ArtefactError(
            f"{path}: cannot restore predictor {name!r} ({' '.join(str(exc).split())})"
        ) from None
    predictor.n_features = int(n_features)
    predictor.meta = dict(manifest.get("meta") or {})
    return predictor
