#!/usr/bin/python3
"""Builds seqpipe streams byte by byte from man/seqpipe-stream.5 alone,
independently of lib/io/stream.c, for tests/stream.bats.

usage: streamgen.py EXPR ...
Each EXPR is a Python expression over the functions below that gives bytes;
their concatenation goes to stdout.  E.g.
    streamgen.py 'H(1, "m", "/p")' 'T(0, [5, 7])' 'T(1, [], z=True)'
"""
import math
import struct
import sys
import zlib

NAN = math.nan


def H(kind=1, model_id="", path="", major=1, minor=0, extra=b"", crc=None):
    """A section header; crc=N stores N instead of the right CRC."""
    idb, pb = model_id.encode(), path.encode()
    body = struct.pack("<H", len(idb)) + idb + struct.pack("<H", len(pb)) + pb + extra
    return Hraw(body, kind, major, minor, crc)


def Hraw(body, kind=1, major=1, minor=0, crc=None):
    """A section header around the bytes from offset 16 up to the CRC."""
    head = b"\0SQS" + struct.pack("<HHII", major, minor, kind, len(body)) + body
    return head + struct.pack("<I", zlib.crc32(head) if crc is None else crc)


def R(kind, key, payload, flags=0, reserved=0):
    """A record: 20-byte head, CRC over head[0:16] then the payload."""
    head = struct.pack("<BBHIQ", kind, flags, reserved, len(payload), key)
    return head + struct.pack("<I", zlib.crc32(head + payload)) + payload


def _store(kind, key, raw, z):
    if not z:
        return R(kind, key, raw)
    return R(kind, key, struct.pack("<I", len(raw)) + zlib.compress(raw), flags=1)


def T(key, ids, rank=0, score=NAN, scores=None, z=False):
    """A tokens record."""
    n = len(ids)
    raw = struct.pack("<IfII", rank, score, n, 1 if scores is not None else 0)
    raw += struct.pack("<%di" % n, *ids)
    if scores is not None:
        raw += struct.pack("<%df" % n, *scores)
    return _store(1, key, raw, z)


def M(key, src, rows, cols, data, z=False):
    """A memory record of float32 data, row-major."""
    raw = struct.pack("<IIII", len(src), rows, cols, 0)
    raw += struct.pack("<%di" % len(src), *src)
    raw += struct.pack("<%df" % len(data), *data)
    return _store(2, key, raw, z)


def F(key, rows, cols, data, z=False, dtype=0):
    """A frames record: rows frames of cols float32 values, row-major."""
    raw = struct.pack("<III", rows, cols, dtype)
    raw += struct.pack("<%df" % len(data), *data)
    return _store(5, key, raw, z)


def A(key, rank, rows, cols, data):
    """An alignment record."""
    raw = struct.pack("<III", rank, rows, cols) + struct.pack("<%df" % len(data), *data)
    return R(3, key, raw)


if __name__ == "__main__":
    sys.stdout.buffer.write(b"".join(eval(e) for e in sys.argv[1:]))
