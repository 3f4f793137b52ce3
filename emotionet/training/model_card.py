"""The model card, written from metrics.json so its numbers are always the training run's own."""

from __future__ import annotations

from ..models.names import label

LIMITS = """\
- **Emotion is subjective.** The 4Q quadrant comes from AllMusic editors' mood tags, and its
  valence/arousal are the mean lexicon norms of those tags (derived labels). The listener set's
  values are means over many listeners, who disagree with each other (its README gives the
  spread per clip). People disagree about music's mood; so will the models.
- **Few negative listener clips.** Only a small share of the listener-rated clips were heard as
  negative, so the listener head has seen few sad or aggressive examples rated by listeners;
  on that scale most music lands in happy or calm, as listeners hear it.
- **Western, commercial music.** The training clips are AllMusic previews (mostly Western popular
  genres) and 176 clips of 17 mostly Western genres. Expect weaker results on other traditions
  and on field recordings.
- **30-second clips.** The models learned from ~30 s excerpts and judge 10 s windows; the app
  analyses the whole song (its sections, and the length-weighted summary), so a song much longer
  or more varied than a training clip is judged window by window.
- **Valence is the hard axis.** Arousal (energy) is heard in loudness, tempo and brightness;
  valence (pleasant vs unpleasant) depends on harmony, lyrics and culture. Sad vs calm is the
  most common confusion.
- **Synthetic or speech input** (the demo clips, a voice memo) lies outside the training data."""


PRETRAINED = """
The **pretrained** model reads the 200-d penultimate embeddings and 50 tag probabilities of two
musicnn networks (Pons & Serra 2019; trained on the Million Song Dataset and MagnaTagATune,
weights from the `musicnn` package, run by our own PyTorch port), averaged over 3 s patches,
and, as its 4Q head, fits two logistic regressions (positive valence? positive arousal?) on the training split;
its point is the probabilities scaled onto the label scale, so the mood is the most likely
quadrant. Artist-grouped 5-fold cross-validation of this recipe: see `bench/results/pretrained_cv.json`.
"""


LISTENER = """
**What the app's numbers mean.** The app reports the **listener scale**: valence and arousal are
what listeners would rate — the mean of many listeners' 1–5 ratings of the valence and the energy
the music expresses, mapped to 0–1 (0 = very negative / very low energy, 0.5 = neutral, 1 = very
positive / very high energy). The mood is named around the **mood centre**, where a balanced set
of the four moods (the 4Q clips) splits evenly: most music sounds mildly positive to listeners,
so "sad" means sadder and calmer than most songs, as the report's moods were defined around its
data set's centre. Each model's outputs are mapped onto the listener scale by an affine
calibration (the listeners' spread, the model's median on a balanced set of moods on the mood
centre) fitted on held-out clips, and its **confidence** is the probability that the mood is right
given the model's held-out error on each axis (0.25 on both boundaries, near 1 far from them).

**The headline model has two heads** on the same musicnn embeddings and twelve valence cues
(major/minor key fit from chroma, loudness, brightness; `emotionet/listener/cues.py`): a 4Q head
(tag-derived labels) and a listener head, fitted together by ridge regression with a shared part
and a listener-only part (feature augmentation), so listener ratings teach what listeners hear
differently while the 748 4Q clips carry what both agree on. A second 4Q head, two logistic
regressions, decides the editors' quadrants best. What the app shows joins the two
(`emotionet/models/joint.py`): arousal is 0.9 × the listener head + 0.1 × the 4Q head's log-odds,
each standardised; valence is the listener head's, but which side of the mood centre it falls on is
decided by the 4Q head's log-odds + 3 × the listener head's value (both centred on the balanced 4Q
clips), and where the two heads disagree the point sits just across the centre, a close call
(`bench/shown_mood.py`, `bench/shown_mood_shapes.py`). The report's CNN and SVRs learn from 4Q
only and are calibrated onto the listener scale around the same mood centre.
"""


def _listener_rows(listener: dict, headline: str) -> str:
    rows = []
    for name, m in listener["models"].items():
        rows.append(
            f"| {label(name)}{' — headline' if name == headline else ''} | {m['r_valence']:.3f} "
            f"| {m['r_arousal']:.3f} | {m['ccc_valence']:.3f} | {m['ccc_arousal']:.3f} "
            f"| {m['mae_valence']:.3f} | {m['mae_arousal']:.3f} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} "
            f"| {m['ece']:.3f} ({m.get('ece_if_calibrated', float('nan')):.3f}) |"
        )
    counts = ", ".join(f"{m} {n}" for m, n in zip(("happy", "aggressive", "sad", "calm"), listener["quadrant_counts"]))
    return f"""
**On listener ratings** ({listener["n_clips"]} MUSIFEAST-17 clips of 17 genres, {listener["n_artists"]}
artists; {counts} at the neutral point, so only {listener["negative_valence_share"]:.0%} negative):
artist-grouped {listener["folds"]}-fold cross-validation. The headline's listener head never saw
a clip's artist when predicting it; the other models never saw these clips at all. Every model's
calibration was fitted on the other folds. ECE: expected calibration error of the confidence (10
bins); in brackets, the ECE that sampling noise alone gives a perfectly calibrated model on these
clips.

| model | valence r | arousal r | CCC valence | CCC arousal | MAE valence | MAE arousal | mood accuracy | macro-F1 | ECE |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def _said(counts) -> str:
    total = max(sum(counts), 1)
    return ", ".join(f"{m} {c / total:.0%}" for m, c in zip(("happy", "aggressive", "sad", "calm"), counts))


def _shown_rows(metrics: dict, headline: str) -> str:
    shown, listener = metrics.get("shown_4q"), metrics.get("listener")
    if not shown or not listener:
        return ""
    v, a = metrics["mood_centre"]
    rows = []
    for name, m in shown.items():
        lm = listener["models"][name]
        rows.append(
            f"| {label(name)}{' — headline' if name == headline else ''} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} "
            f"| {_said(m['said'])} | {lm['r_valence']:.3f} | {lm['r_arousal']:.3f} | {lm['ccc_valence']:.3f} "
            f"| {lm['ccc_arousal']:.3f} | {lm['accuracy']:.3f} | {_said(lm['said'])} | {m['judged_on']} |"
        )
    return f"""
**What the app shows, on both kinds of truth** (the shown point; the mood named around the mood
centre, valence {v:.3f}, arousal {a:.3f}). On 4Q the shown mood is scored against the editors'
quadrants; on the listener clips the point against the listeners' means (artist-grouped CV, as
below) and the mood against the listeners' mood named around the same centre.

| model | 4Q accuracy | 4Q macro-F1 | moods said on 4Q | listener valence r | listener arousal r | CCC valence | CCC arousal | listener mood accuracy | moods said on listener clips | 4Q judged on |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


SHOWN_RULE_ROWS = (  # metrics["shown_rule"] keys, in words
    ("accuracy_4q", "the mood shown agrees with editors' moods (4Q)"),
    ("accuracy_listener", "the mood shown agrees with listeners' mood"),
    ("r_valence", "valence follows listeners (Pearson r)"),
    ("r_arousal", "arousal follows listeners (Pearson r)"),
    ("close_share_4q", "moods said as a close call (“calm, close to sad”), 4Q clips"),
    ("accuracy_sure_4q", "… agreement with editors when not a close call"),
    ("accuracy_close_4q", "… agreement with editors on close calls"),
    ("either_close_4q", "… on close calls, the editors' mood is one of the two named"),
)


def shown_rule_rows(rule: dict | None) -> str:
    """The shipped rule over several fold seeds (issue 25): each figure with its spread and the range
    it may read on a set of 150 clips; "" when the metrics have no such block (older checkpoints)."""
    if not isinstance(rule, dict) or not rule.get("fold_seeds"):
        return ""
    n = rule.get("interval_for", 150)
    rows = []
    for key, words in SHOWN_RULE_ROWS:
        m = rule.get(key)
        if not isinstance(m, dict) or not {"mean", "sd"} <= set(m):  # an older or partial block
            continue
        interval = m.get(f"ci95_{n}")
        rows.append(
            f"| {words} | {m['mean']:.3f} ± {m['sd']:.3f} | "
            + (f"{interval[0]:.2f}–{interval[1]:.2f}" if interval else "")
            + " |"
        )
    return f"""
**How sure these figures are.** The headline as the app shows it, judged by artist-grouped 5-fold
cross-validation for each of {len(rule["fold_seeds"])} fold seeds ({", ".join(map(str, rule["fold_seeds"]))}):
the mean, ± its spread over the seeds (standard deviation), and the 95% range a figure may read on a
set of {n} clips of music from artists it never heard (Wilson's interval; Fisher's for r). The
deciding rule was chosen by `{rule.get("chosen_by", "bench/shown_rule.py")}` on both truths at once.

| figure | mean ± sd over seeds | 95% range on {n} clips |
|---|---|---|
{chr(10).join(rows)}
"""


def render(metrics: dict) -> str:
    facts = metrics["trained_on"]
    val = metrics["validation"]
    default = metrics["default_cnn"]
    headline = metrics.get("headline", "cnn")
    headline_model = default if headline == "cnn" else headline
    listener = metrics.get("listener")
    listener_facts = (
        f"The headline model also learned from {listener['n_clips']} listener-rated clips of 17 genres "
        "(MUSIFEAST-17, van der Walle et al., 2025: mean ratings of many UK and US listeners, CC0)."
        if listener
        else ""
    )
    counts = ", ".join(f"{m} {n}" for m, n in zip(("happy", "aggressive", "sad", "calm"), facts["quadrant_counts"]))
    rows = "\n".join(
        f"| {label(name)}{' (shipped CNN)' if name == default else ''}{' — headline' if name == headline_model else ''} "
        f"| {m['accuracy']:.3f} | {m['macro_f1']:.3f} "
        f"| {m['mse']:.4f} | {m['mae']:.4f} | {m['r2_valence']:.2f} | {m['r2_arousal']:.2f} |"
        for name, m in val.items()
    )
    return f"""\
## Model card

**Trained on** {facts["n_tracks"]} clips ({counts}) from {facts["n_artists"]} artists of the
`{facts["source"]}` set: 30 s previews from the 4Q audio emotion dataset (Panda, Malheiro & Paiva,
2018). Targets: valence and arousal on 0-1, the mean Warriner et al. lexicon norms of each song's
AllMusic mood tags; the quadrant (happy, aggressive, sad, calm) is the dataset's own class label.
{listener_facts}
{LISTENER if listener else ""}{_shown_rows(metrics, headline_model)}{shown_rule_rows(metrics.get("shown_rule"))}{_listener_rows(listener, headline_model) if listener else ""}

**On 4Q (editors' tags), each model's own 4Q calibration** (a diagnostic, and how the headline was chosen; validated) on {facts["n_validation"]} clips from artists the models never saw in training
({facts["n_train"]} training clips; artist-disjoint split, stratified by quadrant, seed
{metrics["train_config"]["seed"]}). Each model's outputs are shifted so its median validation
prediction sits on 0.5 (regressors shrink toward the mean and would otherwise over-predict one
mood). Early stopping picked the CNN epoch with the lowest validation MSE; the report's CNN ships
as the app's CNN (**{label(default)}**), the CNN→RNN (the report's proposal) is reported beside it.
{PRETRAINED if "pretrained" in val else ""}
The app leads with the model that scored best on validation: **{label(headline_model)}**.

| model | accuracy | macro-F1 | MSE | MAE | R² valence | R² arousal |
|---|---|---|---|---|---|---|
{rows}

Accuracy is quadrant accuracy against the dataset's class; MSE and MAE are on the 0-1 scale.
Training took {metrics["train_seconds"] / 60:.1f} minutes on this machine's CPU.

### Known limits
{LIMITS}
"""
