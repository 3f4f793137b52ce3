"""Input/output helpers that sit beside `emotionet.audio`: decoders for formats libsndfile refuses."""
