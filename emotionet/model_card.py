"""The model card, written from metrics.json so its numbers are always the training run's own."""

from __future__ import annotations

from .plots import label

LIMITS = """\
- **Emotion is subjective.** The labels are one reading of each song: the 4Q quadrant comes from
  AllMusic editors' mood tags, and valence/arousal are the mean lexicon norms of those tags
  (derived labels, not listener ratings). People disagree about music's mood; so will the models.
- **Western, commercial music.** The training clips are AllMusic previews, mostly Western popular
  genres. Expect weaker results on other traditions, on classical music and on field recordings.
- **30-second clips.** The models learned from ~30 s excerpts and judge 10 s windows; the app
  analyses the middle 45 s of longer files. A song whose mood changes shows it in the timeline,
  not in the single answer.
- **Valence is the hard axis.** Arousal (energy) is heard in loudness, tempo and brightness;
  valence (pleasant vs unpleasant) depends on harmony, lyrics and culture. Sad vs calm is the
  most common confusion.
- **Synthetic or speech input** (the demo clips, a voice memo) lies outside the training data."""


PRETRAINED = """
The **pretrained** model reads the 200-d penultimate embeddings and 50 tag probabilities of two
musicnn networks (Pons & Serra 2019; trained on the Million Song Dataset and MagnaTagATune,
weights from the `musicnn` package, run by our own PyTorch port), averaged over 3 s patches,
and fits two logistic regressions (positive valence? positive arousal?) on the training split;
its point is the probabilities scaled onto the label scale, so the mood is the most likely
quadrant. Artist-grouped 5-fold cross-validation of this recipe: see `bench/results/pretrained_cv.json`.
"""


def render(metrics: dict) -> str:
    facts = metrics["trained_on"]
    val = metrics["validation"]
    default = metrics["default_cnn"]
    headline = metrics.get("headline", "cnn")
    headline_model = default if headline == "cnn" else headline
    counts = ", ".join(f"{m} {n}" for m, n in zip(("happy", "aggressive", "sad", "calm"), facts["quadrant_counts"]))
    rows = "\n".join(
        f"| {label(name)}{' (shipped CNN)' if name == default else ''}{' — headline' if name == headline_model else ''} "
        f"| {m['accuracy']:.3f} | {m['macro_f1']:.3f} "
        f"| {m['mse']:.4f} | {m['mae']:.4f} | {m['r2_valence']:.2f} | {m['r2_arousal']:.2f} |"
        for name, m in val.items()
    )
    return f"""\
## Model card

**Trained on** {facts['n_tracks']} clips ({counts}) from {facts['n_artists']} artists of the
`{facts['source']}` set: 30 s previews from the 4Q audio emotion dataset (Panda, Malheiro & Paiva,
2018). Targets: valence and arousal on 0-1, the mean Warriner et al. lexicon norms of each song's
AllMusic mood tags; the quadrant (happy, aggressive, sad, calm) is the dataset's own class label.

**Validated** on {facts['n_validation']} clips from artists the models never saw in training
({facts['n_train']} training clips; artist-disjoint split, stratified by quadrant, seed
{metrics['train_config']['seed']}). Each model's outputs are shifted so its median validation
prediction sits on 0.5 (regressors shrink toward the mean and would otherwise over-predict one
mood). Early stopping picked the CNN epoch with the lowest validation MSE; the better of the CNN
and the CNN→RNN on validation accuracy ships as the app's CNN (**{label(default)}**).
{PRETRAINED if 'pretrained' in val else ''}
The app leads with the model that scored best on validation: **{label(headline_model)}**.

| model | accuracy | macro-F1 | MSE | MAE | R² valence | R² arousal |
|---|---|---|---|---|---|---|
{rows}

Accuracy is quadrant accuracy against the dataset's class; MSE and MAE are on the 0-1 scale.
Training took {metrics['train_seconds'] / 60:.1f} minutes on this machine's CPU.

### Known limits
{LIMITS}
"""
