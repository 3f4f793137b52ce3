"""Test set: the team's ratings aggregated, how well the raters agree, how the models do, exports."""

from __future__ import annotations


import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from emotionet import labelling as lab
from emotionet import webapp
from emotionet.storage import AudioStore

st.header("📋 Test set")

webapp.require_team_passcode()  # nothing is shown or written without it

engine, store = webapp.engine(), AudioStore()
table = lab.aggregate(engine)
if table.empty:
    st.info("No ratings yet: rate some tracks on the 🏷️ Label page.")
    st.stop()

min_raters = int(st.number_input("Minimum raters per track (for evaluation and export)", 1, 50, 2, key="min_raters"))
eligible = table[table.n_raters >= min_raters]
st.caption(f"{len(table)} rated tracks; {len(eligible)} with at least {min_raters} raters.")

# --- Per track --------------------------------------------------------------------------------
st.subheader("Tracks")
st.dataframe(table.drop(columns=["track_hash"]).round(3), hide_index=True,
             column_config={"n_raters": st.column_config.NumberColumn("raters")})  # fmt: skip

# --- Agreement ----------------------------------------------------------------------------------
st.subheader("Agreement")
result = lab.agreement(engine)
left, right, third = st.columns(3)
fmt = lambda x: "—" if np.isnan(x) else f"{x:.2f}"  # noqa: E731
left.metric("Krippendorff's α, valence", fmt(result.alpha_valence))
right.metric("Krippendorff's α, arousal", fmt(result.alpha_arousal))
third.metric("Tracks with 2+ raters", result.n_tracks)
st.caption("α is 1 when raters agree perfectly and 0 when they agree no better than chance (interval scale). "
           "A rater's offset is their mean rating minus the team's mean, on tracks two or more people rated.")  # fmt: skip
st.dataframe(result.offsets.round(3), hide_index=True)

# --- Evaluation -----------------------------------------------------------------------------------
st.subheader("Evaluate the models")
if st.button(f"▶️ Run the models on {len(eligible)} tracks", disabled=eligible.empty):
    bar = st.progress(0.0, text="Analysing…")
    try:
        st.session_state["evaluation"] = lab.evaluate(
            engine, store, webapp.predictor(), min_raters,
            on_progress=lambda done, total: bar.progress(done / total, text=f"{done} of {total} tracks"),
        )
    except Exception as error:  # e.g. no trained models: the page keeps working
        st.error(f"The models could not be run: {error}")
    bar.empty()

evaluation = st.session_state.get("evaluation")
if evaluation is not None:
    st.caption(f"{evaluation.n} tracks with at least {evaluation.min_raters} raters.")
    for track_hash, message in evaluation.errors.items():
        st.warning(f"Skipped {track_hash[:12]}: {message}")
    if evaluation.metrics:
        st.dataframe([{"model": name, "MSE": m["mse"], "MAE": m["mae"], "R² valence": m["r2_valence"],
                       "R² arousal": m["r2_arousal"], "mood accuracy": m["accuracy"], "macro-F1": m["macro_f1"]}
                      for name, m in evaluation.metrics.items()], hide_index=True)  # fmt: skip
        model = st.selectbox("Model", list(evaluation.metrics), key="evaluation_model")
        metrics, frame = evaluation.metrics[model], evaluation.predictions
        confusion = go.Figure(go.Heatmap(z=metrics["confusion"], x=metrics["labels"], y=metrics["labels"],
                                         text=metrics["confusion"], texttemplate="%{text}", colorscale="Blues",
                                         showscale=False))  # fmt: skip
        confusion.update_layout(xaxis_title="predicted", yaxis_title="truth (mean rating)", height=360,
                                yaxis_autorange="reversed", margin={"t": 20})  # fmt: skip
        scatter = make_subplots(rows=1, cols=2, subplot_titles=("valence", "arousal"))
        for col, axis in enumerate(("valence", "arousal"), start=1):
            scatter.add_trace(go.Scatter(x=frame[axis], y=frame[f"{model}_{axis}"], mode="markers", text=frame.title,
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
        st.session_state["export_zip"] = (min_raters, lab.export_zip(engine, store, min_raters))
    except lab.LabellingError as error:
        st.error(str(error))
if "export_zip" in st.session_state:
    exported_for, archive = st.session_state["export_zip"]
    st.download_button(f"⬇️ Test set, {exported_for}+ raters (zip)", archive, "emotionet_test_set.zip",
                       "application/zip")  # fmt: skip
st.caption("The zip holds manifest.csv (path, valence, arousal, quadrant, artist, title, song_id, ...), "
           "audio/<hash>.<ext> and ratings.csv; `python -m emotionet evaluate manifest.csv` and train.py read it.")
