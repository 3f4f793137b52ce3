"""io.files: the one writer every layer uses (playlists, tables, caches, models, Parquet, folders)."""

from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest

from emotionet.io import files


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(files.TEMP_SUFFIX))


def test_a_rewrite_keeps_the_old_files_mode_and_a_new_file_is_readable(tmp_path):
    private = tmp_path / "private.m3u8"
    private.write_text("old")
    private.chmod(0o600)
    files.write_text(private, "new")
    assert private.read_text() == "new" and stat.S_IMODE(private.stat().st_mode) == 0o600
    fresh = tmp_path / "fresh.csv"
    files.write_text(fresh, "a,b\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644 and leftovers(tmp_path) == []


def test_a_link_to_a_file_is_written_through_and_stays_a_link(tmp_path):
    target = tmp_path / "real.m3u8"
    target.write_text("old")
    link = tmp_path / "link.m3u8"
    link.symlink_to(target)
    files.write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_text() == "new"


def test_a_failure_midway_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "library.csv"
    path.write_text("the old table")

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(files.WriteError) as caught:
        with files.replacing(path, "w") as handle:
            handle.write("half")
            monkeypatch.setattr(os, "replace", full)
    assert str(caught.value) == f"Could not write {path}: the disk is full." and caught.value.errno == errno.ENOSPC
    assert path.read_text() == "the old table" and leftovers(tmp_path) == []


def test_a_device_is_written_as_it_is(tmp_path):
    files.write_text("/dev/null", "anything")  # not replaced by a file (which would need root anyway)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        files.write_text(fifo, "through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_arrays_are_written_whole_with_numpy_through_the_writer(tmp_path):
    path = tmp_path / "cache.npz"
    with files.replacing(path) as handle:
        np.savez(handle, x=np.arange(3))
    with np.load(path) as data:
        assert data["x"].tolist() == [0, 1, 2]
    assert leftovers(tmp_path) == []


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "models" / "adapted"
    with files.replacing_folder(out) as work:
        (work / "a.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["a.json"] and stat.S_IMODE(out.stat().st_mode) == 0o755
    broken = tmp_path / "models" / "broken"
    with pytest.raises(files.WriteError, match=r"^Could not save the adapted models in .*broken: the disk is full\.$"):
        with files.replacing_folder(broken, "save the adapted models in") as work:
            (work / "a.json").write_text("{}")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not broken.exists() and os.listdir(tmp_path / "models") == ["adapted"]
