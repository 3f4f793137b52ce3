"""Results: what the training run measured, read from checkpoints/metrics.json.

The page leads with the headline model (the best on validation) and lists the others after it.
Each section is one function in SECTIONS, in display order: add a section by adding a function.
"""

import pandas as pd
import streamlit as st

from emotionet.app import plots, webapp
from emotionet.models import label
from emotionet.training import model_card

SOURCES = {  # what metrics.json's trained_on.source means
    "4q": "the 4Q audio emotion dataset (Panda et al., 2018): 900 30-second AllMusic previews, 225 per quadrant, "
    "labelled by AllMusic's editors' mood tags",
    "musifeast": "MUSIFEAST-17 (van der Walle et al., 2025): 30-second clips of 17 genres, each rated by many "
    "listeners for the valence and the energy the music expresses (1–5)",
}

st.title("📊 Results")
try:
    metrics = webapp.metrics()
except FileNotFoundError:
    st.error("No metrics.json in the checkpoint folder: run `python train.py` to train the models.")
    st.stop()

val = metrics["validation"]
headline = metrics.get("headline", "cnn")
headline = metrics["default_cnn"] if headline == "cnn" or headline not in val else headline
names = webapp.ordered(val, headline)  # the headline model first
facts = metrics["trained_on"]


def scale_section() -> None:
    st.info(webapp.scale_note(), icon="📏")  # the scale of the shipped models (their config.json)


def adapted_section() -> None:
    """When the app uses a model adapted to the team's ratings, say so before any figure."""
    adapted = metrics.get("adapted")
    if not adapted:
        return
    before, after = adapted["candidates"]["shipped"], adapted["candidates"][adapted["chosen"]]
    st.warning(
        f"The app uses the headline adapted to the team's ratings ({adapted['n_tracks']} tracks by "
        f"{adapted['n_artists']} artists, {adapted['made_at']}): on the team's tracks, held out by artist, its mean "
        f"absolute error is {after['mae']:.3f} against the shipped model's {before['mae']:.3f}. The figures below "
        "are the shipped model's, measured before adapting.",
        icon="🧠",
    )


MOODS_SAID = ("happy", "aggressive", "sad", "calm")


def said_text(counts) -> str:
    """'happy 26% · aggressive 24% · …': how often each mood was said."""
    total = max(sum(counts), 1)
    return " · ".join(f"{m} {c / total:.0%}" for m, c in zip(MOODS_SAID, counts))


def shown_section() -> None:
    shown_4q, listener = metrics.get("shown_4q"), metrics.get("listener")
    if not shown_4q or not listener:
        return
    models = listener["models"]
    order = webapp.ordered(shown_4q, headline)
    v, a = metrics.get("mood_centre", (0.5, 0.5))
    st.subheader("What the app shows, on both kinds of truth", anchor=False)
    st.caption(
        f"Exactly what a user sees: the shown point, and the mood named around the mood centre (valence "
        f"{v:.2f}, arousal {a:.2f}). On 4Q the mood is scored against the editors' quadrants; on the "
        "listener set the point against the listeners' means, and the mood against the listeners' mood named "
        "around the same centre. Every clip was predicted by models that never saw its artist."
    )
    h4, hl = shown_4q[order[0]], models[order[0]]
    acc, f1, rv, ra = st.columns(4)
    acc.metric("Mood accuracy on 4Q", f"{h4['accuracy']:.1%}", help=f"{h4['judged_on']}; 25% is chance")
    f1.metric("Macro-F1 on 4Q", f"{h4['macro_f1']:.3f}")
    rv.metric(
        "Valence r (listeners)", f"{hl['r_valence']:.2f}", help="Pearson correlation with the listeners' mean valence"
    )
    ra.metric(
        "Arousal r (listeners)", f"{hl['r_arousal']:.2f}", help="Pearson correlation with the listeners' mean energy"
    )
    table = pd.DataFrame(
        {
            webapp.model_name(n, headline): {
                "4Q accuracy": shown_4q[n]["accuracy"],
                "4Q macro-F1": shown_4q[n]["macro_f1"],
                "moods said on 4Q": said_text(shown_4q[n]["said"]),
                "listener valence r": models[n]["r_valence"],
                "listener arousal r": models[n]["r_arousal"],
                "listener mood accuracy": models[n]["accuracy"],
                "moods said on listener clips": said_text(models[n]["said"]),
                "judged on 4Q": shown_4q[n]["judged_on"],
            }
            for n in order
            if n in models
        }
    ).T
    numbers = ["4Q accuracy", "4Q macro-F1", "listener valence r", "listener arousal r", "listener mood accuracy"]
    st.dataframe(table.style.format("{:.3f}", subset=numbers), width="stretch")


def listener_section() -> None:
    listener = metrics.get("listener")
    if not listener:
        return
    models = listener["models"]
    order = webapp.ordered(models, headline)
    st.subheader("On listener ratings (what the app reports)", anchor=False)
    st.caption(
        f"{listener['n_clips']} clips of 17 genres by {listener['n_artists']} artists, rated by many "
        f"listeners ({SOURCES['musifeast']}). Artist-grouped {listener['folds']}-fold cross-validation: the "
        "headline model never saw a clip's artist when predicting it (it also learns from all of 4Q); the "
        "other models learned from 4Q only, and every model's calibration onto the listener scale was "
        "fitted on the other folds."
    )
    h = models[order[0]]
    rv, ra, ccc, ece = st.columns(4)
    rv.metric("Valence r", f"{h['r_valence']:.2f}", help="Pearson correlation with the listeners' mean valence")
    ra.metric("Arousal r", f"{h['r_arousal']:.2f}", help="Pearson correlation with the listeners' mean energy")
    ccc.metric(
        "CCC valence / arousal",
        f"{h['ccc_valence']:.2f} / {h['ccc_arousal']:.2f}",
        help="concordance: correlation that also counts being on the right scale",
    )
    ece.metric("Calibration error", f"{h['ece']:.3f}", help="expected calibration error of the stated confidence")
    table = pd.DataFrame(
        {
            webapp.model_name(n, headline): {
                "valence r": models[n]["r_valence"],
                "arousal r": models[n]["r_arousal"],
                "CCC valence": models[n]["ccc_valence"],
                "CCC arousal": models[n]["ccc_arousal"],
                "MAE valence": models[n]["mae_valence"],
                "MAE arousal": models[n]["mae_arousal"],
                "mood accuracy": models[n]["accuracy"],
                "macro-F1": models[n]["macro_f1"],
                "ECE": models[n]["ece"],
            }
            for n in order
        }
    ).T
    st.dataframe(
        table.style.format("{:.3f}").highlight_max(subset=["valence r", "arousal r"], color="#d9f2dc"), width="stretch"
    )
    counts = dict(zip(("happy", "aggressive", "sad", "calm"), listener["quadrant_counts"]))
    st.caption(
        f"Mood accuracy: the shown mood against the listeners' mood, both named around the mood centre. "
        f"Around the scale's neutral point only {listener['negative_valence_share']:.0%} of these clips were "
        f"heard as negative (sad {counts['sad']}, aggressive {counts['aggressive']}); the correlations say "
        "the most."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Is the confidence honest?**")
        st.plotly_chart(
            plots.reliability_curve({n: models[n]["reliability"]["bins"] for n in order}),
            width="stretch",
            key="reliability",
        )
        st.caption(
            "Each point: clips grouped by the confidence the app stated, against how often their mood was "
            "right. On the diagonal, a stated 80% is right 80% of the time."
        )
    with right:
        model = st.selectbox("Model (listener set)", order, key="listener_model", format_func=label)
        st.plotly_chart(
            plots.predictions_vs_truth(listener["predictions"], model, webapp.mood_centre()),
            width="stretch",
            key="listener_truth",
        )


def headline_section() -> None:
    m = val[headline]
    st.subheader(f"{label(headline)}: how the headline was chosen — on 4Q (editors' mood tags)", anchor=False)
    st.caption(
        f"The app leads with it because its 4Q head scored best on {facts['n_validation']} validation clips by "
        f"{'artists' if facts.get('n_artists') else 'songs'} unseen in training. These figures are each "
        "model's own 4Q calibration (its median on 0.5), a diagnostic: what the app shows is in the first "
        "table."
    )
    accuracy, f1, mae, r2 = st.columns(4)
    accuracy.metric(
        "Mood accuracy", f"{m['accuracy']:.1%}", help="share of validation clips in the right quadrant; 25% is chance"
    )
    f1.metric("Macro-F1", f"{m['macro_f1']:.3f}")
    mae.metric("Mean absolute error", f"{m['mae']:.3f}", help="on the 0–1 valence and arousal scales")
    r2.metric("R² arousal / valence", f"{m['r2_arousal']:.2f} / {m['r2_valence']:.2f}")
    source = facts["source"]
    st.caption(
        f"Source: **{source}**, that is {SOURCES.get(source, source)}. {facts['n_train']} training clips "
        f"and {facts['n_validation']} validation clips; {facts['n_artists']} artists, none in both."
    )


def comparison_section() -> None:
    st.subheader("All models on validation (each model's own 4Q calibration)", anchor=False)
    for column, name in zip(st.columns(len(names)), names):
        column.metric(
            label(name) + (" ⭐" if name == headline else ""),
            f"{val[name]['accuracy']:.1%}",
            help="quadrant accuracy on validation",
        )
    table = pd.DataFrame(
        {
            webapp.model_name(name, headline): {
                "accuracy": m["accuracy"],
                "macro-F1": m["macro_f1"],
                "MSE": m["mse"],
                "MAE": m["mae"],
                "R² valence": m["r2_valence"],
                "R² arousal": m["r2_arousal"],
            }
            for name, m in ((n, val[n]) for n in names)
        }
    ).T
    st.dataframe(
        table.style.format("{:.3f}").highlight_max(subset=["accuracy", "macro-F1"], color="#d9f2dc"), width="stretch"
    )


def confusion_section() -> None:
    shown = metrics.get("shown_4q") or val  # what the app shows, when the run recorded it
    st.subheader(
        "Confusion matrices on 4Q" + (" (the mood the app shows)" if "shown_4q" in metrics else ""), anchor=False
    )
    st.caption(
        "Rows: the true mood; columns: the predicted one. The diagonal is right; sad ↔ calm is the usual mix-up."
    )
    for i in range(0, len(names), 2):  # two per row: readable on a projector
        for column, name in zip(st.columns(2), names[i : i + 2]):
            title = label(name) + (" (headline)" if name == headline else "")
            column.plotly_chart(
                plots.confusion_heatmap(shown[name]["confusion"], title), width="stretch", key=f"confusion_{name}"
            )


def predictions_section() -> None:
    st.subheader("Predictions against truth", anchor=False)
    model = st.selectbox("Model (4Q validation)", names, key="results_model", format_func=label)
    rows = metrics["predictions"]
    truth_col, dist_col = st.columns([3, 2])
    truth_col.plotly_chart(plots.predictions_vs_truth(rows, model, webapp.mood_centre()), width="stretch")
    with dist_col:
        st.markdown("**Predicted moods against the true distribution**")
        st.plotly_chart(plots.mood_distribution(rows, model, webapp.mood_centre()), width="stretch")
        st.caption("Each line joins a clip's prediction (filled) to its truth (open circle).")


def training_section() -> None:
    trained = [n for n in names if n in metrics.get("history", {})]
    if not trained:
        return
    st.subheader("Training curves", anchor=False)
    for name in trained:
        history = metrics["history"][name]
        loss_col, mae_col = st.columns(2)
        loss_col.plotly_chart(plots.training_curves(history, "loss", f"{label(name)}: loss"), width="stretch")
        mae_col.plotly_chart(plots.training_curves(history, "mae", f"{label(name)}: MAE"), width="stretch")


def model_card_section() -> None:
    st.markdown(model_card.render(metrics))


SECTIONS = [
    scale_section,
    adapted_section,
    shown_section,
    listener_section,
    headline_section,
    comparison_section,
    confusion_section,
    predictions_section,
    training_section,
    model_card_section,
]
for section in SECTIONS:
    section()
