"""Every model's names, in one table: its key (checkpoint files, JSON, the CLI), the name every page,
table and chart shows, and a title for sentences. The table's order is the display order after the
headline model (pages put the checkpoint's headline first)."""

from __future__ import annotations

from typing import NamedTuple


class ModelName(NamedTuple):
    key: str  # as stored: "svr_all" (checkpoints/svr_all.npz, JSON keys, --model choices)
    label: str  # as shown: "SVR, all features"
    title: str  # in a sentence: "the SVR on statistics of all three features"


MODELS = (
    # names a newcomer understands (issue 30): the headline first, the report's models named as the report's
    ModelName("pretrained", "Best model (musicnn)", "the headline model (pretrained musicnn embeddings)"),
    ModelName("cnn", "Report's CNN", "the report's CNN"),
    ModelName("crnn", "Report's CNN→RNN", "the report's proposed CNN→RNN"),
    ModelName("svr", "Report's SVR", "the report's SVR on the first three MFCCs"),
    ModelName("svr_all", "SVR, all features", "the SVR on statistics of all three features"),
)
MODEL_ORDER = tuple(m.key for m in MODELS)
MODEL_LABELS = {m.key: m.label for m in MODELS}
MODEL_TITLES = {m.key: m.title for m in MODELS}


def label(model: str) -> str:
    """The one name a model goes by on every page, table and chart ("svr_all" -> "SVR, all features")."""
    return MODEL_LABELS.get(model, model)
