"""Read (and, for tests, write) TensorFlow v2-format checkpoints without TensorFlow.

A checkpoint ``prefix`` is two files:

* ``prefix + ".index"``: an SSTable (LevelDB table format) mapping each tensor name to
  a ``BundleEntryProto`` (dtype, shape, shard id, offset, size, masked crc32c); the entry
  with the empty key is the ``BundleHeaderProto`` (number of shards, endianness).
* ``prefix + ".data-00000-of-00001"`` (one file per shard): the raw tensor bytes.

Protobufs are decoded by hand (varints / fixed32), so neither ``protobuf`` nor
``tensorflow`` is needed. Every tensor read is checked against its crc32c; every index
block against its block checksum.
"""

from __future__ import annotations

import functools
import os
import struct

import numpy as np

__all__ = ["CheckpointError", "read_checkpoint", "list_checkpoint", "write_checkpoint", "crc32c"]


class CheckpointError(ValueError):
    """The checkpoint files are missing, malformed, truncated or corrupted."""


# --------------------------------------------------------------------------- crc32c

_CRC_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8


def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _CRC_POLY if c & 1 else c >> 1
        table[i] = c
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]


def _crc32c_small(data: bytes, crc: int = 0) -> int:
    """Plain table-driven crc32c (for short inputs)."""
    crc ^= 0xFFFFFFFF
    t = _TABLE_LIST
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# The vectorised crc uses linearity: with a zero initial register and no final xor the crc
# ("raw" crc, f) is linear over GF(2), f(A || B) = Z_|B|(f(A)) ^ f(B), where Z_n advances
# the register through n zero bytes. We split the data into K chunks of L bytes, run the
# byte loop over all chunks at once (L numpy steps on K-vectors), then fold the chunk
# values pairwise in log2(K) vectorised steps.


def _apply_cols(cols: list[int], x: int) -> int:
    """Apply a 32x32 GF(2) operator, given by the images of the 32 unit vectors, to x."""
    out = 0
    b = 0
    while x:
        if x & 1:
            out ^= cols[b]
        x >>= 1
        b += 1
    return out


@functools.lru_cache(maxsize=None)
def _zero_op(n_bytes: int) -> tuple[int, ...]:
    """Columns of Z_n (advance raw crc through n zero bytes); n a power of two."""
    if n_bytes == 1:
        return tuple(_TABLE_LIST[(1 << b) & 0xFF] ^ ((1 << b) >> 8) for b in range(32))
    half = list(_zero_op(n_bytes // 2))
    return tuple(_apply_cols(half, c) for c in half)


@functools.lru_cache(maxsize=None)
def _zero_op_tables(n_bytes: int) -> np.ndarray:
    """Z_n as four 256-entry byte tables (shape (4, 256)) for vectorised application."""
    cols = np.array(_zero_op(n_bytes), dtype=np.uint32)
    idx = np.arange(256)
    tables = np.zeros((4, 256), dtype=np.uint32)
    for k in range(4):
        for bit in range(8):
            tables[k, (idx >> bit) & 1 == 1] ^= cols[8 * k + bit]
    return tables


def crc32c(data) -> int:
    """CRC-32C (Castagnoli) of a bytes-like object or numpy array."""
    buf = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    n = buf.size
    if n < 4096:
        return _crc32c_small(buf.tobytes())
    chunk = 1 << max(6, (int(np.sqrt(n)) - 1).bit_length() - 1)  # L, a power of two
    n_chunks = 1 << (-(-n // chunk) - 1).bit_length()  # K, a power of two
    padded = np.zeros(n_chunks * chunk, dtype=np.uint8)
    padded[-n:] = buf  # leading zeros leave the raw crc unchanged
    padded[-n : -n + 4] ^= 0xFF  # the 0xFFFFFFFF initial register
    cols = np.ascontiguousarray(padded.reshape(n_chunks, chunk).T)
    crc = np.zeros(n_chunks, dtype=np.uint32)
    table = _TABLE
    for j in range(chunk):
        crc = table[(crc ^ cols[j]) & 0xFF] ^ (crc >> 8)
    while crc.size > 1:
        t = _zero_op_tables(chunk)
        a, b = crc[0::2], crc[1::2]
        crc = t[0][a & 0xFF] ^ t[1][(a >> 8) & 0xFF] ^ t[2][(a >> 16) & 0xFF] ^ t[3][a >> 24] ^ b
        chunk *= 2
    return int(crc[0]) ^ 0xFFFFFFFF


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


# --------------------------------------------------------------------------- varints / protobuf


def _read_varint(buf: bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    end = len(buf) if end is None else end
    result = shift = 0
    while True:
        if pos >= end:
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("malformed varint (more than 10 bytes)")


def _varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1  # protobuf encodes negative int32/int64 as 10-byte varints
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _parse_proto(buf: bytes) -> dict[int, list]:
    """Minimal protobuf wire-format decoder: field number -> list of raw values
    (ints for varint / fixed, bytes for length-delimited)."""
    fields: dict[int, list] = {}
    pos = 0
    n = len(buf)
    while pos < n:
        tag, pos = _read_varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > n:
                raise CheckpointError("truncated protobuf fixed64")
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > n:
                raise CheckpointError("truncated protobuf field")
            value = bytes(buf[pos : pos + length])
            pos += length
        elif wire == 5:
            if pos + 4 > n:
                raise CheckpointError("truncated protobuf fixed32")
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(field, []).append(value)
    return fields


def _proto_field(field: int, wire: int, value) -> bytes:
    key = _varint((field << 3) | wire)
    if wire == 0:
        return key + _varint(value)
    if wire == 2:
        return key + _varint(len(value)) + value
    if wire == 5:
        return key + struct.pack("<I", value)
    raise ValueError(wire)


# TensorFlow DataType enum -> numpy dtype (numeric types only).
_DTYPES = {
    1: np.float32,
    2: np.float64,
    3: np.int32,
    4: np.uint8,
    5: np.int16,
    6: np.int8,
    9: np.int64,
    10: np.bool_,
    17: np.uint16,
    19: np.float16,
    22: np.uint32,
    23: np.uint64,
}
_DTYPE_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


def _parse_entry(name: str, value: bytes) -> dict:
    f = _parse_proto(value)
    dtype_code = f.get(1, [0])[-1]
    if dtype_code not in _DTYPES:
        raise CheckpointError(f"tensor {name!r}: unsupported TensorFlow dtype code {dtype_code}")
    if f.get(7):
        raise CheckpointError(f"tensor {name!r}: partitioned (sliced) variables are not supported")
    shape: list[int] = []
    for shape_msg in f.get(2, []):
        sf = _parse_proto(shape_msg)
        if sf.get(3, [0])[-1]:
            raise CheckpointError(f"tensor {name!r}: unknown rank")
        shape = [_parse_proto(d).get(1, [0])[-1] for d in sf.get(2, [])]
    return {
        "dtype": np.dtype(_DTYPES[dtype_code]),
        "shape": tuple(shape),
        "shard": f.get(3, [0])[-1],
        "offset": f.get(4, [0])[-1],
        "size": f.get(5, [0])[-1],
        "crc": f.get(6, [None])[-1],
    }


# --------------------------------------------------------------------------- SSTable

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_LEN = 48
_BLOCK_TRAILER = 5  # 1 byte compression type + 4 bytes masked crc32c


def _read_block(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset + size + _BLOCK_TRAILER > len(data):
        raise CheckpointError(f"index file is truncated ({what} block runs past the end)")
    block = data[offset : offset + size]
    ctype = data[offset + size]
    stored = struct.unpack_from("<I", data, offset + size + 1)[0]
    if _mask(_crc32c_small(data[offset : offset + size + 1])) != stored:
        raise CheckpointError(f"index file is corrupted (checksum mismatch in {what} block)")
    if ctype == 1:
        block = _snappy_decompress(block)
    elif ctype != 0:
        raise CheckpointError(f"index file: unknown block compression type {ctype}")
    return block


def _block_entries(block: bytes, what: str):
    """Yield (key, value) pairs of one table block (prefix-compressed keys)."""
    if len(block) < 4:
        raise CheckpointError(f"index file: {what} block too short")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    if end < 0:
        raise CheckpointError(f"index file: {what} block has a bad restart array")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _read_varint(block, pos, end)
        non_shared, pos = _read_varint(block, pos, end)
        vlen, pos = _read_varint(block, pos, end)
        if shared > len(key) or pos + non_shared + vlen > end:
            raise CheckpointError(f"index file: malformed entry in {what} block")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + vlen]
        pos += vlen


def _snappy_decompress(src: bytes) -> bytes:
    """Raw snappy decoding (TF writes bundle indexes uncompressed; kept for completeness)."""
    n, pos = _read_varint(src, 0)
    out = bytearray()
    while pos < len(src):
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                nb = length - 59
                length = int.from_bytes(src[pos : pos + nb], "little")
                pos += nb
            length += 1
            out += src[pos : pos + length]
            pos += length
            continue
        if kind == 1:
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | src[pos]
            pos += 1
        elif kind == 2:
            length = 1 + (tag >> 2)
            offset = int.from_bytes(src[pos : pos + 2], "little")
            pos += 2
        else:
            length = 1 + (tag >> 2)
            offset = int.from_bytes(src[pos : pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise CheckpointError("index file: corrupt snappy block")
        for _ in range(length):
            out.append(out[-offset])
    if len(out) != n:
        raise CheckpointError("index file: corrupt snappy block")
    return bytes(out)


def _read_index(path: str) -> dict[bytes, bytes]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint index not found: {path}") from None
    if len(data) < _FOOTER_LEN:
        raise CheckpointError(f"{path}: too short to be a checkpoint index (truncated?)")
    magic = struct.unpack_from("<Q", data, len(data) - 8)[0]
    if magic != _TABLE_MAGIC:
        raise CheckpointError(f"{path}: bad magic number, not a TensorFlow checkpoint index (or truncated)")
    footer = data[-_FOOTER_LEN:]
    _meta_off, p = _read_varint(footer, 0)
    _meta_size, p = _read_varint(footer, p)
    idx_off, p = _read_varint(footer, p)
    idx_size, p = _read_varint(footer, p)
    entries: dict[bytes, bytes] = {}
    index_block = _read_block(data, idx_off, idx_size, "index")
    for _, handle in _block_entries(index_block, "index"):
        off, q = _read_varint(handle, 0)
        size, _ = _read_varint(handle, q)
        for key, value in _block_entries(_read_block(data, off, size, "data"), "data"):
            entries[key] = value
    return entries


# --------------------------------------------------------------------------- public API


def list_checkpoint(prefix: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Tensor name -> (shape, dtype) without reading the data shard."""
    entries = _read_index(os.fspath(prefix) + ".index")
    return {
        k.decode(): (e["shape"], e["dtype"]) for k, v in entries.items() if k for e in [_parse_entry(k.decode(), v)]
    }


def read_checkpoint(prefix, names=None, verify: bool = True) -> dict[str, np.ndarray]:
    """Read tensors from the TF checkpoint ``prefix`` (the path without ``.index``).

    ``names``: an iterable of tensor names or a predicate ``name -> bool`` selecting which
    tensors to read (default: all). ``verify``: check each tensor's crc32c (default on).
    Raises ``CheckpointError`` on a missing, malformed, truncated or corrupted checkpoint.
    """
    prefix = os.fspath(prefix)
    entries = _read_index(prefix + ".index")
    header = _parse_proto(entries.get(b"", b""))
    num_shards = header.get(1, [1])[-1]
    if header.get(2, [0])[-1] != 0:
        raise CheckpointError(f"{prefix}: big-endian checkpoints are not supported")

    if names is None:
        wanted = lambda name: True  # noqa: E731
    elif callable(names):
        wanted = names
    else:
        name_set = set(names)
        missing = name_set - {k.decode() for k in entries}
        if missing:
            raise CheckpointError(f"{prefix}: tensors not in checkpoint: {sorted(missing)}")
        wanted = name_set.__contains__

    shards: dict[int, bytes] = {}
    out: dict[str, np.ndarray] = {}
    for key, value in entries.items():
        if not key:
            continue
        name = key.decode()
        if not wanted(name):
            continue
        e = _parse_entry(name, value)
        if e["shard"] not in shards:
            path = f"{prefix}.data-{e['shard']:05d}-of-{num_shards:05d}"
            try:
                with open(path, "rb") as fh:
                    shards[e["shard"]] = fh.read()
            except FileNotFoundError:
                raise CheckpointError(f"checkpoint data shard not found: {path}") from None
        shard = shards[e["shard"]]
        n_elem = int(np.prod(e["shape"], dtype=np.int64))
        if e["size"] != n_elem * e["dtype"].itemsize:
            raise CheckpointError(f"tensor {name!r}: size {e['size']} does not match shape {e['shape']}")
        if e["offset"] + e["size"] > len(shard):
            raise CheckpointError(f"tensor {name!r}: data shard is truncated")
        raw = memoryview(shard)[e["offset"] : e["offset"] + e["size"]]
        if verify and e["crc"] is not None and _mask(crc32c(raw)) != e["crc"]:
            raise CheckpointError(f"tensor {name!r}: crc32c mismatch, the data shard is corrupted")
        out[name] = np.frombuffer(raw, dtype=e["dtype"].newbyteorder("<")).reshape(e["shape"]).copy()
    return out


def _build_block(items: list[tuple[bytes, bytes]], restart_interval: int = 16) -> bytes:
    buf = bytearray()
    restarts = []
    last = b""
    for i, (key, value) in enumerate(items):
        if i % restart_interval == 0:
            restarts.append(len(buf))
            shared = 0
        else:
            shared = 0
            while shared < min(len(last), len(key)) and last[shared] == key[shared]:
                shared += 1
        buf += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        buf += key[shared:] + value
        last = key
    if not restarts:
        restarts = [0]
    for r in restarts:
        buf += struct.pack("<I", r)
    buf += struct.pack("<I", len(restarts))
    return bytes(buf)


def write_checkpoint(prefix, tensors: dict[str, np.ndarray]) -> None:
    """Write ``tensors`` as a single-shard TF v2 checkpoint (uncompressed index)."""
    prefix = os.fspath(prefix)
    data = bytearray()
    items: list[tuple[bytes, bytes]] = []
    # header: num_shards=1, endianness=LITTLE (0, default), version {producer: 1}
    header = _proto_field(1, 0, 1) + _proto_field(3, 2, _proto_field(1, 0, 1))
    items.append((b"", header))
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])  # (np.ascontiguousarray would turn a scalar into shape (1,))
        code = _DTYPE_CODES.get(arr.dtype.newbyteorder("="))
        if code is None:
            raise ValueError(f"unsupported dtype {arr.dtype} for {name!r}")
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(order="C")
        dims = b"".join(_proto_field(2, 2, _proto_field(1, 0, d) if d else b"") for d in arr.shape)
        entry = _proto_field(1, 0, code)
        entry += _proto_field(2, 2, dims)
        if len(data):
            entry += _proto_field(4, 0, len(data))
        if raw:
            entry += _proto_field(5, 0, len(raw))
        entry += _proto_field(6, 5, _mask(crc32c(raw)))
        items.append((name.encode(), entry))
        data += raw

    index = bytearray()

    def add_block(block: bytes) -> bytes:
        off = len(index)
        index.extend(block)
        trailer_type = b"\x00"
        index.extend(trailer_type + struct.pack("<I", _mask(_crc32c_small(block + trailer_type))))
        return _varint(off) + _varint(len(block))

    data_handle = add_block(_build_block(items))
    meta_handle = add_block(_build_block([]))
    index_handle = add_block(_build_block([(items[-1][0], data_handle)]))
    footer = meta_handle + index_handle
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", _TABLE_MAGIC)
    index += footer
    with open(f"{prefix}.data-00000-of-00001", "wb") as fh:
        fh.write(data)
    with open(prefix + ".index", "wb") as fh:
        fh.write(index)
