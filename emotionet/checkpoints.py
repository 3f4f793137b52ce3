"""The shipped models on disk, and back.

checkpoints/
  config.json       CNN configurations, which CNN is the default, calibrations, window settings
  normalizer.npz    per-row feature statistics of the training set
  cnn.pt, crnn.pt   CNN state dicts (torch.load(weights_only=True))
  svr.npz, svr_all.npz  SVR baselines as arrays and parameters (no pickle)
  pretrained.npz    the mood model on musicnn embeddings (arrays + JSON parameters, no pickle)
  metrics.json      training history, validation metrics and per-clip predictions (train.py)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .features import Normalizer
from .models import CNNConfig, EmotionCNN, SVRBaseline
from .mood import Calibration

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def checkpoint_dir() -> Path:
    """EMOTIONET_CHECKPOINTS overrides the shipped folder."""
    return Path(os.environ.get("EMOTIONET_CHECKPOINTS") or DEFAULT_DIR)


@dataclass
class ModelBundle:
    normalizer: Normalizer
    cnns: dict[str, EmotionCNN]
    svrs: dict[str, SVRBaseline]
    calibration: dict[str, Calibration]
    default_cnn: str = "cnn"
    headline: str = "cnn"  # the model the app leads with: the best on validation
    pretrained: object | None = None  # pretrained.PretrainedMood, when trained
    window_seconds: float = 10.0
    hop_seconds: float = 5.0
    extra: dict = field(default_factory=dict)  # training facts shown on the Results page

    def save(self, directory: str | os.PathLike) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "normalizer.npz", **self.normalizer.to_arrays())
        for name, model in self.cnns.items():
            torch.save(model.state_dict(), directory / f"{name}.pt")
        for name, svr in self.svrs.items():
            np.savez(directory / f"{name}.npz", **svr.to_arrays())
        if self.pretrained is not None:
            self.pretrained.save(directory / "pretrained.npz")
        config = {
            "default_cnn": self.default_cnn,
            "headline": self.headline,
            "pretrained": self.pretrained is not None,
            "cnns": {name: asdict(model.config) for name, model in self.cnns.items()},
            "svrs": list(self.svrs),
            "calibration": {name: cal.to_dict() for name, cal in self.calibration.items()},
            "window_seconds": self.window_seconds,
            "hop_seconds": self.hop_seconds,
            **self.extra,
        }
        (directory / "config.json").write_text(json.dumps(config, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike | None = None) -> "ModelBundle":
        directory = Path(directory or checkpoint_dir())
        config_file = directory / "config.json"
        if not config_file.is_file():
            raise FileNotFoundError(f"No trained models in {directory}: run `python train.py` first.")
        config = json.loads(config_file.read_text())
        with np.load(directory / "normalizer.npz") as arrays:
            normalizer = Normalizer.from_arrays(arrays)
        cnns = {}
        for name, settings in config["cnns"].items():
            settings = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
            model = EmotionCNN(CNNConfig(**settings))
            model.load_state_dict(torch.load(directory / f"{name}.pt", weights_only=True))
            cnns[name] = model.eval()
        svrs = {}
        for name in config["svrs"]:
            with np.load(directory / f"{name}.npz") as arrays:
                svrs[name] = SVRBaseline.from_arrays(arrays)
        pretrained = None
        if config.get("pretrained"):
            from .pretrained import PretrainedMood

            pretrained = PretrainedMood.load(directory / "pretrained.npz")
        known = {"default_cnn", "headline", "pretrained", "cnns", "svrs", "calibration", "window_seconds",
                 "hop_seconds"}  # fmt: skip
        return cls(
            normalizer, cnns, svrs,
            {name: Calibration(**values) for name, values in config["calibration"].items()},
            config["default_cnn"], config.get("headline", "cnn"), pretrained,
            config["window_seconds"], config["hop_seconds"],
            {k: v for k, v in config.items() if k not in known},
        )  # fmt: skip


def load_metrics(directory: str | os.PathLike | None = None) -> dict:
    return json.loads((Path(directory or checkpoint_dir()) / "metrics.json").read_text())
