"""Write tests/data/musicnn_reference.npz: musicnn's own TensorFlow outputs on 3 synthetic clips.

Run this in a throwaway virtualenv OUTSIDE the project (TensorFlow is not a project dependency):

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 "numpy<2" librosa==0.11.0
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python tools/musicnn_reference.py

The npz holds, for clip i in 0..2:
  audio_i                  int16 PCM at 16 kHz (float audio = audio_i / 32768)
and for model m in (MSD_musicnn, MTT_musicnn):
  {m}_tags_i               (patches, 50) sigmoid tag probabilities, per 187-frame patch
  {m}_penultimate_i        (patches, 200) the penultimate embedding, per patch
  {m}_pool_i               (patches, 1506) max/mean-pooled features (interleaved, as flattened)
  {m}_extractor_tags_i     (patches, 50) musicnn.extractor's taggram (float16 mel), for information
The TF graph is musicnn's own (musicnn.models.define_model) restored from the wheel's checkpoint;
the log-mel fed to it is computed exactly like musicnn.extractor.batch_data but kept in float32.
Per-patch penultimate embeddings are fetched straight from the graph (the extractor's
per-patch 'penultimate' repeats the first patch, a known bug).
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

SR = 16000
SECONDS = 6.0
N_FRAMES = 187
MODELS = ("MSD_musicnn", "MTT_musicnn")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "musicnn_reference.npz")


def synth_clips() -> list[np.ndarray]:
    """Three deterministic clips, int16 at 16 kHz."""
    rng = np.random.default_rng(20190531)
    n = int(SR * SECONDS)
    t = np.arange(n) / SR

    # 1. an A-major chord with a few harmonics, a slow tremolo and some noise
    chord = np.zeros(n)
    for f0 in (220.0, 277.18, 329.63):
        for h in range(1, 5):
            chord += np.sin(2 * np.pi * f0 * h * t + h) / h
    chord *= 0.08 * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    chord += 0.01 * rng.standard_normal(n)

    # 2. drum-like: noise bursts (snare/hat) and a pitch-dropping kick, 120 bpm
    drums = np.zeros(n)
    beat = int(0.25 * SR)
    for k, start in enumerate(range(0, n, beat)):
        length = min(beat, n - start)
        env = np.exp(-np.arange(length) / (0.03 * SR))
        if k % 4 == 0:
            tt = np.arange(length) / SR
            drums[start : start + length] += (
                0.6 * env * np.sin(2 * np.pi * (50 * tt + 60 * (1 - np.exp(-tt / 0.05)) * 0.05))
            )
        amp = 0.4 if k % 4 == 2 else 0.12
        drums[start : start + length] += amp * env * rng.standard_normal(length)

    # 3. a logarithmic sine sweep 100 Hz -> 6 kHz
    f_lo, f_hi = 100.0, 6000.0
    k = np.log(f_hi / f_lo) / SECONDS
    sweep = 0.3 * np.sin(2 * np.pi * f_lo * (np.exp(k * t) - 1) / k)

    return [np.round(np.clip(c, -1, 1 - 1 / 32768) * 32768).astype(np.int16) for c in (chord, drums, sweep)]


def log_mel(audio: np.ndarray, float16: bool = False) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=SR, hop_length=256, n_fft=512, n_mels=96).T
    if float16:  # exactly musicnn.extractor.batch_data
        mel = mel.astype(np.float16)
        return np.log10(10000 * mel + 1)
    return np.log10(10000 * mel + 1).astype(np.float32)


def patches(rep: np.ndarray) -> np.ndarray:
    starts = range(0, rep.shape[0] - N_FRAMES + 1, N_FRAMES)
    return np.stack([rep[s : s + N_FRAMES] for s in starts])


def tf_outputs(model: str, batches: list[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    import tensorflow as tf
    from musicnn import configuration, models

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    labels = configuration.MSD_LABELS if "MSD" in model else configuration.MTT_LABELS
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, 96])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, _, _, _, _, _, mean_pool, max_pool, penultimate = models.define_model(x, is_training, model, len(labels))
        probs = tf.nn.sigmoid(y)
        # the flattened, interleaved [max, mean] vector that feeds the back-end batch norm
        pool = tf.reshape(tf.stack([max_pool, mean_pool], axis=2), [-1, 2 * int(max_pool.shape[1])])
    out = []
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, os.path.join(os.path.dirname(models.__file__), model) + "/")
        for b in batches:
            out.append(tuple(sess.run([probs, penultimate, pool], feed_dict={x: b, is_training: False})))
    return out


def extractor_tags(model: str, clips: list[np.ndarray]) -> list[np.ndarray]:
    import soundfile as sf
    from musicnn.extractor import extractor

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, c in enumerate(clips):
            path = os.path.join(tmp, f"clip{i}.wav")
            sf.write(path, c, SR, subtype="PCM_16")
            taggram, _labels = extractor(path, model=model, extract_features=False)
            out.append(np.asarray(taggram, dtype=np.float32))
    return out


def main() -> None:
    import librosa
    import tensorflow as tf

    clips = synth_clips()
    audio = [c.astype(np.float32) / 32768 for c in clips]
    batches = [patches(log_mel(a)) for a in audio]
    data: dict[str, np.ndarray] = {f"audio_{i}": c for i, c in enumerate(clips)}
    for model in MODELS:
        for i, (tags, pen, pool) in enumerate(tf_outputs(model, batches)):
            data[f"{model}_tags_{i}"] = tags.astype(np.float32)
            data[f"{model}_penultimate_{i}"] = pen.astype(np.float32)
            data[f"{model}_pool_{i}"] = pool.astype(np.float32)
        for i, tags in enumerate(extractor_tags(model, clips)):
            data[f"{model}_extractor_tags_{i}"] = tags
            diff = np.abs(tags - data[f"{model}_tags_{i}"]).max()
            print(f"{model} clip {i}: extractor (float16 mel) vs float32 mel, max |dtag| = {diff:.2e}")
    data["versions"] = np.array(
        f"tensorflow {tf.__version__}, librosa {librosa.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, **data)
    print(f"wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
