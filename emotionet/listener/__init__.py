"""What listeners hear: the headline model's listener head and how it is judged.

cues    twelve valence cues from the features every analysis computes (key fit, loudness, brightness)
head    ListenerHead: 4Q and listener heads on a shared ridge map of embeddings + cues (what the app reports)
judge   the listener head's cross-validation; every model calibrated onto the listener scale and scored there
"""

from .head import ListenerHead

__all__ = ["ListenerHead"]
