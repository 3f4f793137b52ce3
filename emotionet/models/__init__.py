"""The models, a module each; this package only names them.

names          every model's key, shown name and title, in display order (MODELS, label)
cnn            EmotionCNN: the report's CNN and its proposed CNN->RNN variant (CNNConfig)
svr            SVRBaseline: the report's support vector regression, stored as arrays
pretrained     the headline mood model on musicnn embeddings (musicnn: the PyTorch port)
joint          the joint head blending the 4Q and listener heads (what the app shows)
checkpoints    the shipped models on disk (ModelBundle), hashed and verified

The names below load their module on first use, so `from emotionet.models import label` does not
import torch.
"""

from __future__ import annotations

from importlib import import_module

from .names import MODEL_LABELS, MODEL_ORDER, MODEL_TITLES, MODELS, label

_HOMES = {  # public name -> the module that defines it
    "CNNConfig": "cnn",
    "EmotionCNN": "cnn",
    "SVRBaseline": "svr",
    "KernelRegressor": "svr",
    "SVR_SETTINGS": "svr",
}

__all__ = ["MODELS", "MODEL_LABELS", "MODEL_ORDER", "MODEL_TITLES", "label", *_HOMES]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
