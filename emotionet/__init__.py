"""EmotioNet: the mood of music (valence, arousal, one of four quadrants) from audio."""

__version__ = "0.1.0"
