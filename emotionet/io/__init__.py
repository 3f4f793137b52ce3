"""Input/output helpers that sit beside `emotionet.io.audio`: decoders for formats libsndfile refuses."""
