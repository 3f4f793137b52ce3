"""Resources the Streamlit pages share, created once per server process."""

from __future__ import annotations

import streamlit as st

from . import storage
from .checkpoints import checkpoint_dir
from .predict import Predictor


@st.cache_resource(show_spinner="Loading the models…")
def _predictor(directory: str) -> Predictor:
    predictor = Predictor.load(directory)
    predictor.warm_up()
    return predictor


def predictor() -> Predictor:
    """The shipped models (EMOTIONET_CHECKPOINTS overrides the folder), loaded and warmed once."""
    return _predictor(str(checkpoint_dir()))


@st.cache_resource
def _engine(url: str):
    return storage.make_engine(url)


def engine():
    """The database engine for the current EMOTIONET_DB_URL / data folder."""
    return _engine(storage.database_url())


@st.cache_data(show_spinner=False, max_entries=64)
def analyze_bytes(data: bytes, name: str):
    """The analysis of one uploaded clip, cached by its content (and name, shown in results)."""
    return predictor().analyze(data, name=name)


@st.cache_data(show_spinner=False)
def _metrics(directory: str, modified: float) -> dict:
    from .checkpoints import load_metrics

    return load_metrics(directory)


def metrics() -> dict:
    """metrics.json of the current checkpoint folder; re-read when the file changes."""
    path = checkpoint_dir() / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"No metrics.json in {path.parent}: run `python train.py`.")
    return _metrics(str(path.parent), path.stat().st_mtime)


MODEL_ORDER = ("pretrained", "cnn", "svr", "svr_all")


def ordered(predictions: dict, headline: str = "cnn") -> list[str]:
    """Model names in display order: the headline model first, then the report's CNN and SVRs."""
    rank = {name: i for i, name in enumerate(MODEL_ORDER)}
    return sorted(predictions, key=lambda n: (n != headline, rank.get(n, len(rank))))


def disagreement(predictions: dict, headline: str = "cnn") -> str | None:
    """A sentence naming which models hear which mood, or None when they all agree."""
    moods = {}
    for name in ordered(predictions, headline):
        moods.setdefault(predictions[name].mood, []).append(name)
    if len(moods) == 1:
        return None
    from .plots import label

    parts = [f"{' and '.join(label(n) for n in names)} {'hear' if len(names) > 1 else 'hears'} **{mood}**"
             for mood, names in moods.items()]  # fmt: skip
    return "The models disagree: " + "; ".join(parts) + "."


def require_team_passcode() -> None:
    """When EMOTIONET_TEAM_PASSCODE is set, show nothing of the page until it is given."""
    from . import labelling

    if not labelling.passcode_required() or labelling.check_passcode(st.session_state.get("team_passcode")):
        return
    given = st.text_input("Team passcode", type="password", key="team_passcode_input")
    if given:
        if labelling.check_passcode(given):
            st.session_state["team_passcode"] = given
            st.rerun()
        st.error("That passcode is not right.")
    st.stop()
