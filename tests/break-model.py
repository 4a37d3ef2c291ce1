#!/usr/bin/python3
"""break-model.py: broken copies of a good model file, for tests/model.bats.

usage: tests/break-model.py GOOD DIR

Writes DIR/NAME.sq for each NAME below, each GOOD with one thing wrong.
Needs only the standard library.  The model must be the "untied" config of
scripts/make-model.py (it relies on its tensor names and d_ff).
"""

import json
import os
import struct
import sys

good, out = sys.argv[1], sys.argv[2]
with open(good, "rb") as f:
    blob = f.read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n])
data = blob[8 + n:]


def write(name, raw):
    with open(os.path.join(out, name + ".sq"), "wb") as f:
        f.write(raw)


def write_header(name, h, pad=0, body=None):
    """The file with header h (padded to 8 bytes, plus pad spaces)."""
    j = json.dumps(h).encode()
    j += b" " * ((-(8 + len(j)) % 8) + pad)
    write(name, struct.pack("<Q", len(j)) + j + (data if body is None else body))


def edit(name, fn, pad=0):
    h = json.loads(json.dumps(header))
    fn(h)
    write_header(name, h, pad)


Q = "encoder.layers.0.self_attn.q_proj.weight"
K = "encoder.layers.0.self_attn.k_proj.weight"
FC1 = "decoder.layers.1.fc1.weight"
BIAS = "decoder.layers.0.fc2.bias"

write("empty", b"")
write("truncated", blob[:-10])
write("header-past-end", struct.pack("<Q", len(blob)) + blob[8:])
write("bad-json", blob[:8] + blob[8:8 + n].replace(b":", b";", 1) + data)
write("not-object", struct.pack("<Q", 8) + b"[1,2,3] " + data)


def offsets_out(h):
    b, e = h[Q]["data_offsets"]
    h[Q]["data_offsets"] = [len(data) - 4, len(data) - 4 + (e - b)]


edit("offsets-out", offsets_out)
edit("overlap", lambda h: h[K].update(data_offsets=h[Q]["data_offsets"]))


def overlap_past_empty(h):
    """A tensor inside another, with an empty one between them in order."""
    b, e = h[Q]["data_offsets"]
    h["extra.empty"] = {"dtype": "F32", "shape": [0], "data_offsets": [b + 4, b + 4]}
    h[BIAS]["data_offsets"] = [b + 8, b + 8 + 4 * h[BIAS]["shape"][0]]


edit("overlap-past-empty", overlap_past_empty)
edit("unknown-dtype", lambda h: h[BIAS].update(dtype="F33"))
edit("wrong-dtype", lambda h: h[BIAS].update(
    dtype="I16", shape=[2 * h[BIAS]["shape"][0]]))
edit("wrong-size", lambda h: h[BIAS].update(shape=[h[BIAS]["shape"][0] + 1]))
edit("wrong-shape", lambda h: h[FC1].update(shape=h[FC1]["shape"][::-1]))
edit("missing-tensor", lambda h: h.pop(FC1))
edit("unknown-tensor", lambda h: h.update(
    {"encoder.layers.0.adapter.weight": {"dtype": "F32", "shape": [0],
                                         "data_offsets": [0, 0]}}))
edit("misaligned", lambda h: None, pad=2)
edit("bad-activation", lambda h: h["__metadata__"].update(activation="tanh"))
edit("bad-heads", lambda h: h["__metadata__"].update(n_heads="5"))
edit("bad-int", lambda h: h["__metadata__"].update(d_ff="64x"))
edit("bad-dff", lambda h: h["__metadata__"].update(d_ff="48"))
edit("huge-layers", lambda h: h["__metadata__"].update(
    encoder_layers="2000000000"))
# sizes no file could hold: refused before anything is allocated for them
edit("huge-vocab", lambda h: h["__metadata__"].update(
    src_vocab_size="2000000000", tgt_vocab_size="2000000000"))
edit("overflowing-sizes", lambda h: h["__metadata__"].update(
    d_model="2147483644", d_ff="2147483647"))
edit("control-id", lambda h: h["__metadata__"].update(model_id="a\nb"))
edit("no-format", lambda h: h["__metadata__"].pop("format"))
edit("misspelt-key", lambda h: h["__metadata__"].update(pre_nrom="1"))
edit("dotted-key", lambda h: h["__metadata__"].update({"train.steps": "100"}))
edit("no-metadata", lambda h: h.pop("__metadata__"))
edit("tie-with-tensor", lambda h: h["__metadata__"].update(
    tie_output="1"))
