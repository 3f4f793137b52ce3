"""Whole-song analysis building blocks (issue 12), each a module of pure functions on arrays:

sections  split a song into sections from its own structure; per-section and song-level mood;
          the mood-arc sentence ("calm intro, aggressive from 1:12")
explain   what the model hears: musicnn's top tags and four measurements with their pull on
          valence and arousal
export    an analysis as JSON, CSV (timeline and sections) and the valence-arousal plane as PNG
song      the orchestration: one decode, one feature pass, one embedding, all of the above

Nothing heavy is imported here: import the module you need.
"""
