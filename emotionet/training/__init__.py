"""Training: every model on one artist-disjoint split (what `train.py` runs); this package only names it.

loop        the CNN training loop (TrainConfig, train_cnn, Recipe, window_predictions)
run         run_training: every model trained, calibrated, scored and saved with its metrics
listeners   the listener-rated clips: the joint head, the listener scale, the shown rule over seeds
dataset     manifests, artist-disjoint splits, the feature and embedding caches
model_card  the model card, written from metrics.json

The names below load their module on first use: `from emotionet.training import model_card`
imports neither torch nor the predictor.
"""

from __future__ import annotations

from importlib import import_module

_HOMES = {  # public name -> the module that defines it
    "TrainConfig": "loop",
    "Recipe": "loop",
    "train_cnn": "loop",
    "window_predictions": "loop",
    "SVR_VARIANTS": "run",
    "run_training": "run",
    "train_pretrained": "run",
    "train_on_listeners": "listeners",
    "shown_rule_over_seeds": "listeners",
    "clip_cues": "listeners",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
