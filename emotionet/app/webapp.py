"""What the Streamlit pages share, by one name (`from emotionet.app import webapp`), gathered from
the modules that hold it, one concern each:

resources  the models (loading in the background, analysed in the server's queue), the database
           engine, recent analyses and clips, the checkpoint folder's settings and metrics
markdown   user text made safe in Markdown and in Plotly labels (`plain`, `plain_html`)
naming     the models in display order, by their shown names
text       what the pages say in words on the one scale (moods, numbers against the centre, notes)
previews   team audio played inside the page

Sign-in (`signin`) and uploads (`uploads`) are their own modules. Importing this loads no torch.
"""

from __future__ import annotations

from .markdown import NO_LINK, plain, plain_html  # noqa: F401
from .naming import disagreement, model_name, model_rows, ordered  # noqa: F401
from .previews import AUDIO_EMBED_MB, private_audio  # noqa: F401
from .resources import (  # noqa: F401
    ANALYSIS_CACHE_ENTRIES,
    CLIP_MEMORY_MB,
    _analyses,
    _predictor,
    analysis_queue,
    analyze_bytes,
    checkpoint_config,
    checkpoint_dir,
    engine,
    headline,
    metrics,
    models_key,
    models_loading,
    mood_centre,
    predictor,
    predictor_for,
    recall_clip,
    remember_clip,
    stop_for_models,
)
from .text import (  # noqa: F401
    SCALE_NOTES,
    arrow,
    centre_text,
    rating_mood_line,
    said,
    said_short,
    scale_note,
    scale_sentence,
    va_text,
)
