"""The shipped models on disk, and back.

checkpoints/
  config.json       CNN configurations, which CNN is the default, calibrations, window settings
  normalizer.npz    per-row feature statistics of the training set
  cnn.pt, crnn.pt   CNN state dicts (torch.load(weights_only=True))
  svr.npz, svr_all.npz  SVR baselines as arrays and parameters (no pickle)
  pretrained.npz    the mood model on musicnn embeddings (arrays + JSON parameters, no pickle):
                    the headline's 4Q head (quadrant-balanced valence/arousal from editors' tags)
  listener.npz      the headline's listener head (emotionet.listener.head)
config.json's "joint" blends the two heads into what the app shows (emotionet.models.joint), and
its "mood_centre" is where the moods meet on the shown scale (the median of a balanced set of moods).
  metrics.json      training history, validation metrics and per-clip predictions (train.py)

config.json records the SHA-256 of every model file ("sha256") and of its own settings
("settings_sha256": every other key, as canonical JSON, so the numbers that decide a mood --
mood_centre, calibrations, joint weights, headline, windows -- are covered, and reformatting is not
a change). Loading checks both and refuses, naming the file, one that changed or holds NaN/infinite
numbers. After changing a file or a setting on purpose, record the new hashes:
`python -m emotionet rehash-checkpoints [--checkpoints DIR]`. Every file is written through a
temporary file (`io.files`): a full disk leaves no partial file, and config.json is written last.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..features import Normalizer
from ..io import files
from ..mood import Calibration
from .svr import SVRBaseline

if TYPE_CHECKING:  # torch is imported where models are read or written: the folder and config functions
    from .cnn import EmotionCNN  # serve pages and a cold server's first page without it (issue 31)

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "checkpoints"
HASHES = "sha256"  # the config.json key: model file name -> SHA-256 of its bytes
SETTINGS_HASH = "settings_sha256"  # the config.json key: SHA-256 of its other keys (`settings_sha256`)
REHASH = "after an intended change: python -m emotionet rehash-checkpoints"
NOT_MODEL_FILES = {"config.json", "metrics.json", "MODEL_CARD.md"}


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted (changed, damaged, unreadable), naming the file."""


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_config(directory: str | os.PathLike) -> dict:
    """A checkpoint folder's config.json; a clear error naming the file when it is missing or damaged."""
    config_file = Path(directory) / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"No trained models in {Path(directory)}: run `python train.py` first.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{config_file} is damaged (not valid JSON: {error}); restore it or re-train.") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_file} is damaged (not a JSON object); restore it or re-train.")
    return config


def settings_sha256(config: dict) -> str:
    """The SHA-256 of a config's settings: every key but the hashes, as canonical JSON (sorted
    keys, no spaces), so only a change of a value changes it."""
    settings = {k: v for k, v in config.items() if k not in (HASHES, SETTINGS_HASH)}
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def verify_settings(directory: str | os.PathLike, config: dict) -> None:
    """config.json's settings match their recorded SHA-256; else a CheckpointError naming the file.
    Folders hashed before settings were (no settings_sha256 but file hashes) pass with a warning."""
    recorded = config.get(SETTINGS_HASH)
    if recorded is None:
        if config.get(HASHES) is not None:
            logging.getLogger(__name__).warning(
                "%s records no SHA-256 of its settings: run `python -m emotionet rehash-checkpoints`",
                Path(directory) / "config.json",
            )
        return
    if recorded != settings_sha256(config):
        raise CheckpointError(
            f"{Path(directory) / 'config.json'} was changed: its settings (mood centre, calibrations, weights) "
            f"do not match their SHA-256. Restore the file or re-train ({REHASH})."
        )


def read_settings(directory: str | os.PathLike) -> dict:
    """`read_config`, with its settings checked against their hash (`verify_settings`)."""
    config = read_config(directory)
    verify_settings(directory, config)
    return config


def model_files(config: dict) -> list[str]:
    """The files a config says make up the models (what `ModelBundle.load` reads)."""
    names = [
        "normalizer.npz",
        *(f"{n}.pt" for n in config.get("cnns", {})),
        *(f"{n}.npz" for n in config.get("svrs", [])),
    ]
    return (
        names
        + (["pretrained.npz"] if config.get("pretrained") else [])
        + (["listener.npz"] if config.get("listener") else [])
    )


def record_hashes(directory: str | os.PathLike | None = None, config: dict | None = None) -> dict[str, str]:
    """Write the SHA-256 of every model file and of the settings into config.json (after training,
    or after changing a file or a setting on purpose); returns them ("config.json" for the
    settings, as "config.json settings"). `config`: write these settings (default: the folder's config.json as it is)."""
    directory = Path(directory or checkpoint_dir())
    config = dict(read_config(directory) if config is None else config)
    hashes = {}
    for name in model_files(config):
        if not (directory / name).is_file():
            raise CheckpointError(f"{directory / name} is missing: config.json names it as a model file.")
        hashes[name] = file_sha256(directory / name)
    config[HASHES] = hashes
    config[SETTINGS_HASH] = settings_sha256(config)
    files.write_text(directory / "config.json", json.dumps(config, indent=2, allow_nan=False))
    return {**hashes, "config.json settings": config[SETTINGS_HASH]}


def verify_files(directory: str | os.PathLike, config: dict) -> None:
    """The settings and every model file match their recorded SHA-256, and the files exist and
    hold finite numbers; else a CheckpointError naming the file. Folders saved before hashes were
    recorded are checked for finite numbers only (with a warning)."""
    directory = Path(directory)
    verify_settings(directory, config)
    recorded = config.get(HASHES)
    if recorded is None:
        logging.getLogger(__name__).warning(
            "%s records no SHA-256 of its model files: run `python -m emotionet rehash-checkpoints`", directory
        )
    for name in model_files(config):
        path = directory / name
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: config.json names it as a model file.")
        if recorded is not None:
            if name not in recorded:
                raise CheckpointError(f"{path} has no SHA-256 in config.json: it cannot be checked.")
            if file_sha256(path) != recorded[name]:
                raise CheckpointError(
                    f"{path} is damaged or was changed: its SHA-256 does not match the one in config.json. "
                    f"Restore the file or re-train ({REHASH})."
                )
        _check_finite_file(path)


def _check_finite_file(path: Path) -> None:
    try:
        if path.suffix == ".pt":
            import torch

            arrays = {k: v.numpy() for k, v in torch.load(path, weights_only=True).items()}
        else:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
    except Exception as error:
        raise CheckpointError(f"{path} cannot be read ({type(error).__name__}: {error}).") from None
    for key, array in arrays.items():
        if np.issubdtype(np.asarray(array).dtype, np.number) and not np.all(np.isfinite(array)):
            raise CheckpointError(f"{path} is damaged: {key} holds NaN or infinite numbers.")


ACCEPTED_FILE = "accepted_checkpoints.json"  # in the data folder: the model folder a person accepted


def checkpoint_dir() -> Path:
    """The models the app and the CLI use: EMOTIONET_CHECKPOINTS when set, else the folder a person
    accepted (`accept`, e.g. a model adapted to the team's ratings), else the shipped folder."""
    if os.environ.get("EMOTIONET_CHECKPOINTS"):
        return Path(os.environ["EMOTIONET_CHECKPOINTS"])
    chosen = accepted()
    return Path(chosen["path"]) if chosen else DEFAULT_DIR


def shipped_dir() -> Path:
    """The models a person has not chosen: EMOTIONET_CHECKPOINTS when set, else the shipped folder
    (what an adapted model is adapted from)."""
    return Path(os.environ.get("EMOTIONET_CHECKPOINTS") or DEFAULT_DIR)


def accepted() -> dict | None:
    """{"path", "accepted_by", "accepted_at"} of the accepted model folder, or None (the shipped
    models). A pointer to a folder that is gone or unreadable is ignored with a warning."""
    from ..io.paths import data_dir

    pointer = data_dir() / ACCEPTED_FILE
    if not pointer.is_file():
        return None
    try:
        chosen = json.loads(pointer.read_text(encoding="utf-8"))
        if (Path(chosen["path"]) / "config.json").is_file():
            return chosen
        problem = f"{chosen['path']} has no config.json"
    except (OSError, ValueError, KeyError, TypeError) as error:
        problem = f"{pointer} is unreadable ({error})"
    logging.getLogger(__name__).warning("using the shipped models: the accepted model folder %s", problem)
    return None


def accept(directory: str | os.PathLike | None, accepted_by: str = "") -> None:
    """Make `directory` the models the app and the CLI use (after checking every file against its
    hash); None goes back to the shipped models."""
    from datetime import datetime, timezone

    from ..io.paths import data_dir

    pointer = data_dir() / ACCEPTED_FILE
    if directory is None:
        pointer.unlink(missing_ok=True)
        return
    directory = Path(directory).resolve()
    verify_files(directory, read_config(directory))
    pointer.parent.mkdir(parents=True, exist_ok=True)
    files.write_text(
        pointer,
        json.dumps(
            {
                "path": str(directory),
                "accepted_by": accepted_by,
                "accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
        ),
    )


def _serialised(save, value) -> bytes:
    """What `save(value, file)` writes, in memory (written out whole by `io.files`)."""
    buffer = io.BytesIO()
    save(value, buffer)
    return buffer.getvalue()


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
    listener: object | None = None  # listener.ListenerHead: the headline on the listener scale, when trained
    joint: object | None = None  # joint.JointHead: the listener and 4Q heads blended, what the app shows
    mood_centre: tuple[float, float] = (0.5, 0.5)  # where the four moods meet on the shown scale

    def save(self, directory: str | os.PathLike) -> Path:
        """Every file through a temporary one (a full disk leaves no partial file), config.json with
        the hashes last: a folder whose saving failed part way is refused on loading, never half-used."""
        directory = Path(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise files.write_error(directory, error, "create") from error
        arrays = {"normalizer.npz": self.normalizer.to_arrays()}
        arrays.update({f"{name}.npz": svr.to_arrays() for name, svr in self.svrs.items()})
        if self.pretrained is not None:
            arrays["pretrained.npz"] = self.pretrained.to_arrays()
        if self.listener is not None:
            arrays["listener.npz"] = self.listener.to_arrays()
        import torch

        for name, model in self.cnns.items():
            files.write_bytes(directory / f"{name}.pt", _serialised(torch.save, model.state_dict()))
        for name, values in arrays.items():
            files.write_bytes(directory / name, _serialised(lambda v, f: np.savez(f, **v), values))
        config = {
            "default_cnn": self.default_cnn,
            "headline": self.headline,
            "pretrained": self.pretrained is not None,
            "listener": self.listener is not None,
            "cnns": {name: asdict(model.config) for name, model in self.cnns.items()},
            "svrs": list(self.svrs),
            "calibration": {name: cal.to_dict() for name, cal in self.calibration.items()},
            "window_seconds": self.window_seconds,
            "hop_seconds": self.hop_seconds,
            "mood_centre": [float(c) for c in self.mood_centre],
            **({"joint": self.joint.to_config()} if self.joint is not None else {}),
            **{k: v for k, v in self.extra.items() if k not in (HASHES, SETTINGS_HASH)},
        }
        record_hashes(directory, config)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike | None = None) -> "ModelBundle":
        directory = Path(directory or checkpoint_dir())
        config = read_config(directory)
        verify_files(directory, config)
        try:
            return cls._from_config(directory, config)
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, CheckpointError):
                raise
            raise CheckpointError(
                f"{directory / 'config.json'} does not describe these models ({type(error).__name__}: {error}); "
                "restore it or re-train."
            ) from None

    @classmethod
    def _from_config(cls, directory: Path, config: dict) -> "ModelBundle":
        import torch

        from .cnn import CNNConfig, EmotionCNN

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
        listener = None
        if config.get("listener"):
            from ..listener import ListenerHead

            with np.load(directory / "listener.npz", allow_pickle=False) as arrays:
                listener = ListenerHead.from_arrays(arrays)
        joint = None
        if config.get("joint"):
            from .joint import JointHead

            joint = JointHead.from_config(listener, pretrained, config["joint"])
        known = {
            "default_cnn",
            "headline",
            "pretrained",
            "listener",
            "cnns",
            "svrs",
            "calibration",
            "window_seconds",
            "hop_seconds",
            "mood_centre",
            "joint",
            HASHES,
            SETTINGS_HASH,
        }
        return cls(
            normalizer,
            cnns,
            svrs,
            {name: Calibration.from_dict(values) for name, values in config["calibration"].items()},
            config["default_cnn"],
            config.get("headline", "cnn"),
            pretrained,
            config["window_seconds"],
            config["hop_seconds"],
            {k: v for k, v in config.items() if k not in known},
            listener,
            joint,
            tuple(float(c) for c in config.get("mood_centre", (0.5, 0.5))),
        )


def mood_centre(directory: str | os.PathLike | None = None) -> tuple[float, float]:
    """Where the moods meet on the shown scale, from config.json alone (no model loaded, its
    settings checked against their hash): (0.5, 0.5) for checkpoints trained before it was recorded."""
    centre = read_settings(Path(directory or checkpoint_dir())).get("mood_centre", (0.5, 0.5))
    return float(centre[0]), float(centre[1])


def load_metrics(directory: str | os.PathLike | None = None) -> dict:
    return json.loads((Path(directory or checkpoint_dir()) / "metrics.json").read_text())
