"""The song library's names in one place, for code written before it was split (issue 32):

store  its tables, the queries over them and the models' fingerprints (`library.store`)
scan   finding, hashing and analysing files into it, with one `ScanOptions` (`library.scan`)

New code imports the module it needs; a test that replaces a function patches it where it lives
(`scan.file_hash`, `store.available_models`).
"""

from __future__ import annotations

from .scan import (  # noqa: F401
    HASH_BATCH,
    Progress,
    ScanOptions,
    add_uploads,
    audio_files,
    file_hash,
    format_eta,
    not_a_file_reason,
    scan_files,
    scan_folder,
    stat_is_file,
)
from .store import (  # noqa: F401
    FAILED_BEFORE,
    NOT_MODELS,
    Fingerprint,
    FsPath,
    LibraryFailure,
    LibraryFile,
    LibrarySong,
    ScanResult,
    analysed_hashes,
    available_models,
    bundle_models,
    is_stored_copy,
    load_songs,
    model_names,
    models_fingerprint,
    read_tags,
    recorded_files,
    remember_failure,
    remember_file,
    remember_files,
    remove_song,
    settle,
    settle_known,
    settle_skipped,
    song_from_row,
    store_analysis,
    stored_rows,
    unchanged_file_hashes,
    upsert,
    with_model,
    with_shares,
)
