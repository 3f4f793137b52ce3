"""Test set: the team's ratings aggregated, how well the raters agree, how the models do, exports.

Blind rating holds here too: a rater sees the team's values only for tracks they have rated
themselves; the evaluation and the exports (which hold everyone's ratings) are for a coordinator
who is not rating.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from emotionet.app import plots, webapp
from emotionet.team import labelling as lab
from emotionet.team.storage import AudioStore

COORDINATOR = ""  # the viewer option of someone who does not rate
FEW_TRACKS = 20  # below this, Krippendorff's alpha is too uncertain to read much into

st.header("📋 Test set")

webapp.require_team_passcode()  # nothing is shown or written without it

engine, store = webapp.engine(), AudioStore()
table = lab.aggregate(engine, centre=webapp.mood_centre())  # moods named as the app names them
if table.empty:
    st.info("No ratings yet: rate some tracks on the 🏷️ Label page.")
    st.stop()

# --- Who is looking: a rater sees only what they have already rated --------------------------
viewer = st.session_state.get("rater")
if viewer:
    st.caption(f"Viewing as {webapp.plain(viewer)} (the rater of the 🏷️ Label page): the team's values of a "
               "track stay hidden until you have rated it.")  # fmt: skip
else:
    viewer = st.selectbox(
        "Who is looking?", [COORDINATOR, *lab.list_raters(engine)], key="test_set_viewer",
        format_func=lambda name: name or "A coordinator, not rating these tracks",
        help="Raters see the team's values only for tracks they have rated, so that their own ratings stay blind.",
    )  # fmt: skip
rated = lab.rated_by(engine, viewer) if viewer else set(table.track_hash)
coordinator = not viewer

min_raters = int(st.number_input("Minimum raters per track (for evaluation and export)", 1, 50, 2, key="min_raters"))
eligible = table[table.n_raters >= min_raters]
st.caption(f"{len(table)} rated tracks; {len(eligible)} with at least {min_raters} raters.")

# --- Per track --------------------------------------------------------------------------------
st.subheader("Tracks")
NUMBERS = ["valence_mean", "valence_std", "arousal_mean", "arousal_std"]
shown = table.drop(columns=["track_hash"])
shown[NUMBERS] = table[NUMBERS].map(lambda x: "—" if pd.isna(x) else f"{x:.3f}")  # one rater has no spread
hidden = ~table.track_hash.isin(rated)
shown.loc[hidden, [*NUMBERS, "mood", "quadrant"]] = "🙈 rate it first"
st.dataframe(shown, hide_index=True, column_config={"n_raters": st.column_config.NumberColumn("raters")})
if hidden.any():
    st.caption(f"{int(hidden.sum())} track(s) you have not rated yet: their values are hidden.")

# --- Agreement ----------------------------------------------------------------------------------
st.subheader("Agreement")
result = lab.agreement(engine)
left, right, third = st.columns(3)
fmt = lambda x: "—" if np.isnan(x) else f"{x:.2f}"  # noqa: E731
left.metric("Krippendorff's α, valence", fmt(result.alpha_valence))
right.metric("Krippendorff's α, arousal", fmt(result.alpha_arousal))
third.metric("Tracks with 2+ raters", result.n_tracks)
if result.n_tracks < FEW_TRACKS:
    st.warning(f"α from {result.n_tracks} track(s) is a rough guess: with so few tracks one disagreement can swing "
               f"it from near 1 to below 0. Read it once {FEW_TRACKS} or more tracks have two or more raters.")  # fmt: skip
st.caption("α is 1 when raters agree perfectly and 0 when they agree no better than chance (interval scale). "
           "A rater's offset is their mean rating minus the team's mean, on tracks two or more people rated.")  # fmt: skip
st.dataframe(result.offsets.round(3), hide_index=True)

if not coordinator:
    st.info("The models' evaluation and the exports hold every rater's values: a coordinator who is not rating "
            "opens them (choose “A coordinator” above, from a session that has not picked a rater).")  # fmt: skip
    st.stop()

# --- Evaluation -----------------------------------------------------------------------------------
st.subheader("Evaluate the models")
st.caption("Keep this tab open while the models run: closing it stops the evaluation, and it starts again from "
           "the first track next time.")  # fmt: skip
if st.button(f"▶️ Run the models on {len(eligible)} tracks", disabled=eligible.empty):
    bar = st.progress(0.0, text="Analysing…")
    try:
        st.session_state["evaluation"] = lab.evaluate(
            engine, store, webapp.predictor(), min_raters,
            on_progress=lambda done, total: bar.progress(done / total, text=f"{done} of {total} tracks"),
        )
    except Exception as error:  # e.g. no trained models: the page keeps working
        st.error(f"The models could not be run: {webapp.plain(error)}")
    bar.empty()

evaluation = st.session_state.get("evaluation")
if evaluation is not None and evaluation.min_raters != min_raters:
    st.info(f"The last evaluation used tracks with {evaluation.min_raters}+ raters: run it again for {min_raters}+.")
elif evaluation is not None:
    st.caption(f"{evaluation.n} tracks with at least {evaluation.min_raters} raters.")
    for track_hash, message in evaluation.errors.items():
        st.warning(f"Skipped {track_hash[:12]}: {webapp.plain(message)}")
    if evaluation.metrics:
        names = webapp.ordered(evaluation.metrics)
        headline = webapp.headline()
        st.dataframe([{"model": plots.label(name) + (" ⭐ headline" if name == headline else ""),
                       "MSE": m["mse"], "MAE": m["mae"], "R² valence": m["r2_valence"], "R² arousal": m["r2_arousal"],
                       "mood accuracy": m["accuracy"], "macro-F1": m["macro_f1"]}
                      for name, m in ((n, evaluation.metrics[n]) for n in names)], hide_index=True)  # fmt: skip
        if evaluation.n < FEW_TRACKS:
            st.warning(f"{evaluation.n} track(s): each one moves the accuracy by {1 / max(evaluation.n, 1):.0%}. "
                       "Compare models on more tracks before drawing conclusions.")  # fmt: skip
        model = st.selectbox("Model", names, key="evaluation_model", format_func=plots.label)
        metrics, frame = evaluation.metrics[model], evaluation.predictions
        confusion = go.Figure(go.Heatmap(z=metrics["confusion"], x=metrics["labels"], y=metrics["labels"],
                                         text=metrics["confusion"], texttemplate="%{text}", colorscale="Blues",
                                         showscale=False))  # fmt: skip
        confusion.update_layout(xaxis_title="predicted", yaxis_title="truth (mean rating)", height=360,
                                yaxis_autorange="reversed", margin={"t": 20})  # fmt: skip
        scatter = make_subplots(rows=1, cols=2, subplot_titles=("valence", "arousal"))
        titles = [webapp.plain_html(t) for t in frame.title]
        for col, axis in enumerate(("valence", "arousal"), start=1):
            scatter.add_trace(go.Scatter(x=frame[axis], y=frame[f"{model}_{axis}"], mode="markers", text=titles,
                                         showlegend=False), row=1, col=col)  # fmt: skip
            scatter.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "gray"},
                                         showlegend=False), row=1, col=col)  # fmt: skip
            scatter.update_xaxes(title="truth (mean rating)", range=[0, 1], row=1, col=col)
            scatter.update_yaxes(title="predicted", range=[0, 1], row=1, col=col)
        scatter.update_layout(height=380, margin={"t": 40})
        left, right = st.columns([2, 3])
        left.plotly_chart(confusion, key="confusion")
        right.plotly_chart(scatter, key="scatter")

# --- Export ----------------------------------------------------------------------------------------
st.subheader("Export")
st.download_button("⬇️ Ratings (CSV)", lab.export_ratings_csv(engine), "ratings.csv", "text/csv")
st.download_button("⬇️ Rating history (CSV)", lab.export_ratings_csv(engine, history=True),
                   "ratings_history.csv", "text/csv")  # fmt: skip
if st.button(f"📦 Prepare the test set ({len(eligible)} tracks, manifest + audio)", disabled=eligible.empty):
    try:
        st.session_state["export_zip"] = (min_raters, lab.export_zip(engine, store, min_raters, webapp.mood_centre()))
    except lab.LabellingError as error:
        st.error(str(error))
if "export_zip" in st.session_state:
    exported_for, archive = st.session_state["export_zip"]
    if exported_for == min_raters:
        st.download_button(f"⬇️ Test set, {exported_for}+ raters (zip)", archive, "emotionet_test_set.zip",
                           "application/zip")  # fmt: skip
    else:  # a zip for another minimum would not be what the page now says
        st.caption(f"The prepared zip was for {exported_for}+ raters: prepare it again for {min_raters}+.")
st.caption("The zip holds manifest.csv (path, valence, arousal, quadrant, artist, title, song_id, ...), "
           "audio/<hash>.<ext> and ratings.csv; `python -m emotionet evaluate manifest.csv` and train.py read it.")
