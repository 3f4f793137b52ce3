"""emotionet.models.tf_checkpoint: round-trip through our writer, and corruption is reported."""

from __future__ import annotations

import numpy as np
import pytest

from emotionet.models.tf_checkpoint import (
    CheckpointError,
    _crc32c_small,
    crc32c,
    list_checkpoint,
    read_checkpoint,
    write_checkpoint,
)


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "scalar": np.array(3.5, dtype=np.float32),
        "conv/kernel": rng.standard_normal((7, 38, 1, 4)).astype(np.float32),
        "conv/bias": rng.standard_normal(4).astype(np.float32),
        "counts": np.arange(-5, 7, dtype=np.int64).reshape(3, 4),
        "doubles": rng.standard_normal((2, 3)).astype(np.float64),
        "half": rng.standard_normal(5).astype(np.float16),
        "ints": np.array([1, -2, 3], dtype=np.int32),
        "bytes": np.arange(10, dtype=np.uint8),
        "flags": np.array([True, False, True]),
        "empty": np.zeros((0, 3), dtype=np.float32),
        # > 4 kB, so the vectorised crc path is used; many names share prefixes (key compression)
        **{f"layer_{i}/w": rng.standard_normal((64, 33)).astype(np.float32) for i in range(20)},
    }


def test_crc32c_known_values():
    assert crc32c(b"") == 0
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 test vector
    rng = np.random.default_rng(1)
    for n in (4095, 4096, 4099, 100_003):  # the vectorised path (>= 4 kB) against the plain loop
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c(data) == _crc32c_small(data), n


def test_round_trip(tmp_path):
    tensors = _tensors()
    prefix = str(tmp_path / "model.ckpt")
    write_checkpoint(prefix, tensors)
    back = read_checkpoint(prefix)
    assert set(back) == set(tensors)
    for name, arr in tensors.items():
        assert back[name].dtype == arr.dtype, name
        assert back[name].shape == arr.shape, name
        np.testing.assert_array_equal(back[name], arr)
    listing = list_checkpoint(prefix)
    assert listing["scalar"] == ((), np.dtype(np.float32))
    assert listing["conv/kernel"][0] == (7, 38, 1, 4)


def test_select_names(tmp_path):
    prefix = str(tmp_path / "ck")
    write_checkpoint(prefix, _tensors())
    assert set(read_checkpoint(prefix, names=["scalar", "ints"])) == {"scalar", "ints"}
    assert set(read_checkpoint(prefix, names=lambda n: n.startswith("conv/"))) == {"conv/kernel", "conv/bias"}
    with pytest.raises(CheckpointError, match="not in checkpoint"):
        read_checkpoint(prefix, names=["nope"])


def test_flipped_data_byte_is_a_crc_mismatch(tmp_path):
    prefix = str(tmp_path / "ck")
    tensors = _tensors()
    write_checkpoint(prefix, tensors)
    data_path = prefix + ".data-00000-of-00001"
    raw = bytearray(open(data_path, "rb").read())
    raw[len(raw) // 2] ^= 0x10
    open(data_path, "wb").write(bytes(raw))
    with pytest.raises(CheckpointError, match="crc32c mismatch"):
        read_checkpoint(prefix)
    read_checkpoint(prefix, verify=False)  # reading without verification still works


@pytest.mark.parametrize("keep", [0, 10, 47, 200, -1])
def test_truncated_index(tmp_path, keep):
    prefix = str(tmp_path / "ck")
    write_checkpoint(prefix, _tensors())
    index = open(prefix + ".index", "rb").read()
    open(prefix + ".index", "wb").write(index[:keep] if keep >= 0 else index[:-1])
    with pytest.raises(CheckpointError):
        read_checkpoint(prefix)


def test_bad_magic_and_corrupt_index(tmp_path):
    prefix = str(tmp_path / "ck")
    write_checkpoint(prefix, _tensors())
    index = bytearray(open(prefix + ".index", "rb").read())
    bad = bytearray(index)
    bad[-1] ^= 0xFF
    open(prefix + ".index", "wb").write(bytes(bad))
    with pytest.raises(CheckpointError, match="bad magic"):
        read_checkpoint(prefix)
    bad = bytearray(index)
    bad[5] ^= 0x01  # inside the data block: its block checksum no longer matches
    open(prefix + ".index", "wb").write(bytes(bad))
    with pytest.raises(CheckpointError, match="checksum"):
        read_checkpoint(prefix)


def test_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(str(tmp_path / "absent"))
    prefix = str(tmp_path / "ck")
    write_checkpoint(prefix, {"a": np.ones(3, np.float32)})
    (tmp_path / "ck.data-00000-of-00001").unlink()
    with pytest.raises(CheckpointError, match="shard not found"):
        read_checkpoint(prefix)
    assert issubclass(CheckpointError, ValueError)
