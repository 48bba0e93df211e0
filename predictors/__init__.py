"""Performance predictors: the `Predictor` interface and registry, encodings, evaluation and transfer.

Importing the package is cheap: the models import lightgbm, scikit-learn and torch when they fit.
"""

from __future__ import annotations

from predictors.base import (
    PREDICTORS,
    ArtefactError,
    Prediction,
    Predictor,
    PredictorCard,
    get_predictor_class,
    list_predictors,
    load_predictor,
    make_predictor,
)

__all__ = [
    "PREDICTORS",
    "ArtefactError",
    "Prediction",
    "Predictor",
    "PredictorCard",
    "get_predictor_class",
    "list_predictors",
    "load_predictor",
    "make_predictor",
]
