"""Vectorised building of id strings and JSON snippets as Arrow arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["concat", "hex_ids", "mix64", "numbered_ids", "take"]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(values: npt.NDArray[np.uint64], salt: int) -> npt.NDArray[np.uint64]:
    """A bijective scramble of 64-bit integers (SplitMix64 finaliser): distinct in, distinct out."""
    x = values ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _fixed_width(prefix: str, body: npt.NDArray[np.uint8]) -> pa.Array:
    """Strings ``prefix + row`` for each row of the ``(n, width)`` ASCII matrix ``body``."""
    n, width = body.shape
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars = np.empty((n, len(head) + width), dtype=np.uint8)
    chars[:, : len(head)] = head
    chars[:, len(head) :] = body
    size = chars.shape[1]
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(size)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(chars.tobytes())
    )


def numbered_ids(prefix: str, numbers: npt.NDArray[np.int64], width: int) -> pa.Array:
    """``prefix`` followed by each number zero-padded to ``width`` digits, e.g. ``C0000001``."""
    values = np.asarray(numbers, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers[None, :]) % 10
    return _fixed_width(prefix, (digits + ord("0")).astype(np.uint8))


def hex_ids(prefix: str, values: npt.NDArray[np.uint64]) -> pa.Array:
    """``prefix`` followed by the 16 hex digits of each 64-bit value."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = (values[:, None] >> shifts[None, :]) & np.uint64(15)
    return _fixed_width(prefix, _HEX[nibbles.astype(np.intp)])


def take(
    values: pa.Array, indices: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """``values[indices]``; null where ``mask`` is true."""
    index = pa.array(indices, type=pa.int64(), mask=mask)
    return pc.take(values, index)


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")
