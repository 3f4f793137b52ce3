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
