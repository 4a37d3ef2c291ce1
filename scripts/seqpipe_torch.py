"""seqpipe_torch: the seqpipe model file and an independent PyTorch model.

The reference the C engine is tested against (issue 3, design.md §5).  It
is written from man/seqpipe-model.5 with plain torch ops, never from the C
code, and is itself tested against torch.nn.Transformer (tests/model.bats).

Contents:
  read_safetensors(path) -> (tensors, metadata)   numpy arrays, str dict
  write_safetensors(path, tensors, metadata)      aligned, no gaps
  spm_info(blob) -> (pieces, special ids)         of a SentencePiece model
  Config                                          the sq_config keys
  Seq2Seq(cfg)                                    nn.Module; its state_dict
                                                  keys are the file's names
  RNNSeq2Seq(cfg)                                 arch rnn, the same interface
  new_model(cfg)                                  the one of cfg.arch
  load(path) -> Seq2Seq ;  save(model, path, model_id, provenance, spm)
  model.encode(src, src_len)                      (B, S, D)
  model.encode_frames(frames, n_frames)           (B, S, D), positions (B,)
  model.decode_full(tgt_in, mem, src_len, src)    (B, T, Vt) log-probs
  model.start(mem, src_len, src, monotonic) -> DecoderState  incremental
  (src, the (B, S) source ids, is needed by a copy model only)
  greedy(model, src, max_len, min_len, monotonic) ids (no EOS), score
  nat_decode(model, src, lengths, ...)            non-autoregressive
  beam_search(model, src, k, alpha, max_len, min_len, nbest, ..., monotonic)

Used by scripts/make-model.py, scripts/torch-to-seqpipe.py and
scripts/torch-reference.py; import it with
    sys.path.insert(0, "scripts"); import seqpipe_torch as sq
Run with Debian's python (/usr/bin/python3, torch 1.13, numpy).
"""

import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FORMAT = "seqpipe-1"

# ---------------------------------------------------------------------------
# safetensors, in plain Python (the format: huggingface/safetensors README)

DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8,
    "BOOL": np.bool_,
}
DTYPE_NAMES = {np.dtype(v): k for k, v in DTYPES.items()}


def read_safetensors(path):
    """Returns ({name: numpy array}, {metadata key: str}) from path.

    The arrays are copies, little-endian as the file; BF16 and F8 tensors
    are not supported here (seqpipe does not use them)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[b:end], dtype=dt).reshape(
            e["shape"]).copy()
    return tensors, meta


def write_safetensors(path, tensors, metadata):
    """Writes {name: numpy array or torch tensor} and metadata to path.

    Tensors are laid out by falling element size (float32 before bytes) with
    no gaps, and the JSON header is padded with spaces to a multiple of 8,
    so every float32 tensor is 4-byte aligned in the file, as seqpipe needs
    (the safetensors reference writer does the same).  Written to a
    temporary file, then renamed."""
    arrays = {}
    for name, t in tensors.items():
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        arrays[name] = np.ascontiguousarray(t, dtype=np.asarray(t).dtype.newbyteorder("<"))
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header, off = {}, 0
    for name in order:
        a = arrays[name]
        header[name] = {"dtype": DTYPE_NAMES[a.dtype.newbyteorder("=")],
                        "shape": list(a.shape),
                        "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-(8 + len(h)) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name in order:
            f.write(arrays[name].tobytes())
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# what a serialized SentencePiece model says about its vocabulary

def proto_fields(blob):
    """(field number, value) of each top-level field of a serialized
    protobuf message: an int for varints, bytes for length-delimited."""
    def varint(i):
        v, shift = 0, 0
        while True:
            b = blob[i]
            v |= (b & 0x7F) << shift
            i += 1
            shift += 7
            if not b & 0x80:
                return v, i
    i = 0
    while i < len(blob):
        key, i = varint(i)
        wire = key & 7
        if wire == 0:
            v, i = varint(i)
        elif wire == 1:
            v, i = blob[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(i)
            v, i = blob[i:i + n], i + n
        elif wire == 5:
            v, i = blob[i:i + 4], i + 4
        else:
            raise ValueError("not a SentencePiece model (wire type %d)" % wire)
        yield key >> 3, v


def spm_info(blob):
    """(pieces, {config key: id}) of a serialized SentencePiece ModelProto:
    field 1 is a piece; field 2 the TrainerSpec, whose unk_id (40), bos_id
    (41), eos_id (42) and pad_id (43) default to 0, 1, 2, -1."""
    n, ids = 0, {"unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1}
    for field, v in proto_fields(blob):
        n += field == 1
        if field == 2:
            for f, x in proto_fields(v):
                key = {40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}.get(f)
                if key is not None:
                    ids[key] = x - (1 << 64) if x >= 1 << 63 else x
    return n, ids


# ---------------------------------------------------------------------------
# the config: struct sq_config in lib/nn/model.h, defaults as documented there

INT_KEYS = ["d_model", "n_heads", "d_ff", "encoder_layers", "decoder_layers",
            "src_vocab_size", "tgt_vocab_size", "max_positions",
            "position_offset", "bos_id", "eos_id", "pad_id", "unk_id",
            "decoder_start_id", "frame_dim", "subsample", "attention_window",
            "nat_max_offset"]
BOOL_KEYS = ["pre_norm", "encoder_final_norm", "decoder_final_norm",
             "tie_src_tgt", "tie_output", "output_bias", "shared_vocab", "nat",
             "copy"]
FLOAT_KEYS = ["embed_scale", "layer_norm_eps"]
ACTIVATIONS = ["relu", "gelu", "silu"]
POSITIONS = ["sinusoidal", "sinusoidal_half", "learned", "sinusoidal_half_hf"]
ARCHS = ["transformer", "rnn"]
INPUTS = ["tokens", "frames"]
# keys newer than the format, left out of a file at their defaults
NEWER = {"input": "tokens", "frame_dim": 0, "subsample": 1,
         "attention_window": 0, "nat": 0, "nat_max_offset": 16}
REQUIRED = ["d_model", "n_heads", "d_ff", "encoder_layers", "decoder_layers",
            "src_vocab_size", "tgt_vocab_size"]
# the keys of the Transformer alone: an rnn model's file has none of them
TRANSFORMER_ONLY = ["n_heads", "d_ff", "pre_norm", "encoder_final_norm",
                    "decoder_final_norm", "activation", "positions",
                    "position_offset", "layer_norm_eps", "copy"] + list(NEWER)


class Config:
    """The architecture; attributes are the metadata keys."""

    def __init__(self, **kw):
        self.arch = "transformer"
        self.max_positions = 1024
        self.pre_norm = self.encoder_final_norm = self.decoder_final_norm = 0
        self.activation = "relu"
        self.positions = "sinusoidal"
        self.position_offset = 0
        self.embed_scale = None          # sqrt(d_model)
        self.tie_src_tgt = self.tie_output = self.output_bias = 0
        self.shared_vocab = 0
        self.copy = 0
        self.bos_id, self.eos_id, self.pad_id, self.unk_id = 1, 2, 0, 3
        self.decoder_start_id = None     # bos_id, else eos_id
        self.layer_norm_eps = 1e-5
        for k, v in NEWER.items():
            setattr(self, k, v)
        for k in REQUIRED:
            setattr(self, k, None)
        for k, v in kw.items():
            self.set(k, v)

    def set(self, key, value):
        """Sets key from a value or its metadata string; raises ValueError."""
        if key in INT_KEYS:
            value = int(value)
        elif key in BOOL_KEYS:
            value = int(value)
            if value not in (0, 1):
                raise ValueError("%s must be 0 or 1" % key)
        elif key in FLOAT_KEYS:
            value = None if value is None else float(np.float32(value))
        elif key == "activation":
            if value not in ACTIVATIONS:
                raise ValueError("activation must be one of %s" % ACTIVATIONS)
        elif key == "positions":
            if value not in POSITIONS:
                raise ValueError("positions must be one of %s" % POSITIONS)
        elif key == "arch":
            if value not in ARCHS:
                raise ValueError("arch must be one of %s" % ARCHS)
        elif key == "input":
            if value not in INPUTS:
                raise ValueError("input must be one of %s" % INPUTS)
        else:
            raise ValueError("unknown config key %r" % key)
        setattr(self, key, value)

    def applies(self, key):
        """Whether key is one of this architecture's."""
        return self.arch == "transformer" or key not in TRANSFORMER_ONLY

    def resolved(self):
        """Fills the derived defaults; returns self."""
        for k in REQUIRED:
            if getattr(self, k) is None and self.applies(k):
                raise ValueError("config %s is required" % k)
        if self.embed_scale is None:
            self.embed_scale = float(np.sqrt(np.float32(self.d_model)))
        if self.decoder_start_id is None:   # fairseq starts with EOS
            self.decoder_start_id = self.bos_id if self.bos_id >= 0 else self.eos_id
        if self.arch == "rnn" and self.d_model % 2:
            raise ValueError("arch rnn needs an even d_model")
        if self.arch == "transformer" and self.d_model % self.n_heads:
            raise ValueError("n_heads must divide d_model")
        if self.input == "frames" and (self.frame_dim < 1 or self.subsample < 1
                                       or self.src_vocab_size != 0):
            raise ValueError("input frames needs frame_dim, subsample >= 1 "
                             "and src_vocab_size 0")
        if self.copy and not self.shared_vocab:
            raise ValueError("copy needs shared_vocab")
        if self.copy and (self.input == "frames" or self.nat):
            raise ValueError("copy needs input tokens and no nat")
        return self

    @classmethod
    def from_metadata(cls, meta):
        c = cls()
        for k, v in meta.items():
            if k in ("format", "model_id", "provenance") or "." in k:
                continue
            c.set(k, v)
        return c.resolved()

    def to_metadata(self):
        """Every key of the architecture, as strings (floats as their
        exact float32 value)."""
        self.resolved()
        m = {"arch": self.arch}
        for k in INT_KEYS + BOOL_KEYS:
            m[k] = str(getattr(self, k))
        for k in FLOAT_KEYS:
            m[k] = repr(float(np.float32(getattr(self, k))))
        m["activation"] = self.activation
        m["positions"] = self.positions
        m["input"] = self.input
        for k, v in NEWER.items():
            if getattr(self, k) == v:
                del m[k]
        return {k: v for k, v in m.items() if self.applies(k)}


# ---------------------------------------------------------------------------
# the model, as man/seqpipe-model.5 defines it

def sinusoids(n_pos, d, layout):
    """(n_pos, d) float32 table, computed in float64 and rounded.

    "sinusoidal" (Vaswani et al. 2017, 3.5): PE[p, 2i] = sin(p w_i),
    PE[p, 2i+1] = cos(p w_i), w_i = 10000^(-2i/d).  "sinusoidal_half"
    (tensor2tensor, Marian, fairseq): PE[p, i] = sin(p v_i),
    PE[p, d/2 + i] = cos(p v_i), v_i = exp(-i ln(10000) / (d/2 - 1)).
    "sinusoidal_half_hf" (Hugging Face's Marian): that layout with w_i."""
    p = np.arange(n_pos, dtype=np.float64)[:, None]
    i = np.arange(d // 2, dtype=np.float64)[None, :]
    pe = np.zeros((n_pos, d), dtype=np.float64)
    if layout == "sinusoidal":
        a = p * np.power(10000.0, -2.0 * i / d)
        pe[:, 0::2] = np.sin(a)
        pe[:, 1::2] = np.cos(a)
    else:
        spread = d // 2 if layout == "sinusoidal_half_hf" else d // 2 - 1
        a = p * np.exp(-i * math.log(10000.0) / spread)
        pe[:, :d // 2] = np.sin(a)
        pe[:, d // 2:] = np.cos(a)
    return torch.from_numpy(pe.astype(np.float32))


def drop(x, module):
    """Dropout at module.p (0 unless set_dropout() said otherwise) while
    training: the training benchmark's peer; the reference runs without."""
    return F.dropout(x, module.p, module.training) if module.p > 0 else x


class Attention(nn.Module):
    """Multi-head attention: softmax(q k^T / sqrt(dh) + mask) v per head,
    heads concatenated, then out_proj.  With no keys the context is 0.
    With keep_probs set, the last call's weights (B, H, T, S), before
    dropout, stay in .probs (for a loss on them: guided attention).
    keep = True keeps the last call's weights (B, H, T, S), before
    dropout, and context (B, T, D), before out_proj: what copy reads."""
    p = 0.0
    keep = False
    keep_probs = False

    def __init__(self, d, h):
        super().__init__()
        self.h, self.dh = h, d // h
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def heads(self, x):
        """(B, T, D) -> (B, H, T, dh)"""
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.dh).transpose(1, 2)

    def kv(self, x):
        return self.heads(self.k_proj(x)), self.heads(self.v_proj(x))

    def forward(self, x, k, v, mask):
        """x (B, T, D); k, v (B, H, S, dh); mask (B or 1, 1, T or 1, S)
        bool, True where a key is hidden.  Returns (B, T, D)."""
        q = self.heads(self.q_proj(x))
        b, _, t, _ = q.shape
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.dh)
        s = s.masked_fill(mask, float("-inf"))
        # a query with every key hidden (an empty source) gets context 0
        w = torch.softmax(s, dim=-1).masked_fill(mask.all(-1, keepdim=True), 0.0)
        kept = w
        if self.keep_probs:
            self.probs = w
        w = drop(w, self)
        ctx = torch.matmul(w, v).transpose(1, 2).reshape(b, t, self.h * self.dh)
        if self.keep:
            self.weights, self.context = kept, ctx
        return self.out_proj(ctx)


def activation(name):
    return {"relu": F.relu,
            "gelu": lambda x: F.gelu(x),          # erf form (approximate="none")
            "silu": F.silu}[name]


class Layer(nn.Module):
    """An encoder layer, or with cross=True a decoder layer."""
    p = 0.0

    def __init__(self, cfg, cross):
        super().__init__()
        d, eps = cfg.d_model, cfg.layer_norm_eps
        self.pre_norm = cfg.pre_norm
        self.act = activation(cfg.activation)
        self.self_attn = Attention(d, cfg.n_heads)
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=eps)
        if cross:
            self.encoder_attn = Attention(d, cfg.n_heads)
            self.encoder_attn_layer_norm = nn.LayerNorm(d, eps=eps)
        self.fc1 = nn.Linear(d, cfg.d_ff)
        self.fc2 = nn.Linear(cfg.d_ff, d)
        self.final_layer_norm = nn.LayerNorm(d, eps=eps)

    def sublayer(self, x, norm, f):
        if self.pre_norm:
            return x + drop(f(norm(x)), self)
        return norm(x + drop(f(x), self))

    def forward(self, x, self_mask, cache=None, cross_kv=None, cross_mask=None):
        """x (B, T, D).  cache: None (keys are x itself) or a [k, v] list
        the new keys are appended to.  cross_kv: the memory's (k, v)."""
        def sa(y):
            k, v = self.self_attn.kv(y)
            if cache is not None:
                if cache[0] is not None:
                    k = torch.cat([cache[0], k], dim=2)
                    v = torch.cat([cache[1], v], dim=2)
                cache[0], cache[1] = k, v
            return self.self_attn(y, k, v, self_mask)

        x = self.sublayer(x, self.self_attn_layer_norm, sa)
        if cross_kv is not None:
            x = self.sublayer(x, self.encoder_attn_layer_norm,
                              lambda y: self.encoder_attn(y, *cross_kv, cross_mask))
        return self.sublayer(x, self.final_layer_norm,
                             lambda y: self.fc2(drop(self.act(self.fc1(y)), self)))


class Stack(nn.Module):
    """Embeddings, positions, layers, optional final norm of one side."""
    p = 0.0

    def __init__(self, cfg, vocab, cross, embed_tokens):
        super().__init__()
        self.cfg = cfg
        if not cross and cfg.input == "frames":
            # k stacked frames, projected: W [f_kt; ..; f_kt+k-1] + b
            self.frame_proj = nn.Linear(cfg.subsample * cfg.frame_dim,
                                        cfg.d_model)
        # a nat decoder reads source tokens: its table only as the output
        elif embed_tokens is None and not (cross and cfg.nat and
                                           not cfg.tie_output):
            self.embed_tokens = nn.Embedding(vocab, cfg.d_model)
        self._shared = [embed_tokens]    # a list: not a submodule
        if cfg.positions == "learned":
            self.embed_positions = nn.Embedding(cfg.max_positions, cfg.d_model)
        else:
            self.register_buffer("pe", sinusoids(cfg.max_positions, cfg.d_model,
                                                  cfg.positions), persistent=False)
        n = cfg.decoder_layers if cross else cfg.encoder_layers
        self.layers = nn.ModuleList(Layer(cfg, cross) for _ in range(n))
        if (cfg.decoder_final_norm if cross else cfg.encoder_final_norm):
            self.layer_norm = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.final = hasattr(self, "layer_norm")

    def table(self):
        return (self._shared[0] or self).embed_tokens.weight

    def positions(self, n, first_pos):
        """(n, D): PE[t + first_pos + offset] for t < n."""
        cfg = self.cfg
        p = torch.arange(n) + first_pos + cfg.position_offset
        if n and int(p[-1]) >= cfg.max_positions:
            raise ValueError("position %d past max_positions %d"
                             % (int(p[-1]), cfg.max_positions))
        return (self.embed_positions.weight if cfg.positions == "learned" else self.pe)[p]

    def embed_frames(self, frames):
        """frames (B, N, frame_dim), zero past each utterance's end ->
        (B, S, D), S = ceil(N / subsample): W [f_kt; ..; f_kt+k-1] + b +
        PE[t + offset], the last group padded with zero frames."""
        b, n, dim = frames.shape
        k = self.cfg.subsample
        s = -(-n // k)
        x = F.pad(frames, (0, 0, 0, s * k - n)).reshape(b, s, k * dim)
        return drop(self.frame_proj(x) + self.positions(s, 0)[None], self)

    def embed(self, ids, first_pos, table=None):
        """ids (B, T) -> (B, T, D): embed_scale E[id] + PE[t + offset], E
        this side's table unless given (a non-autoregressive decoder reads
        the source's)."""
        cfg = self.cfg
        pe = self.positions(ids.shape[1], first_pos)
        scale = torch.tensor(cfg.embed_scale, dtype=torch.float32)
        # id -1 (decoder_start_id -1): the zero vector, no gradient
        e = F.embedding(ids.clamp(min=0), self.table() if table is None else
                        table) * (ids >= 0)[..., None]
        return drop(e * scale + pe[None], self)

    def finish(self, x):
        return self.layer_norm(x) if self.final else x


def key_mask(lengths, s):
    """(B, 1, 1, S) bool: True at padding keys."""
    return (torch.arange(s)[None, :] >= lengths[:, None])[:, None, None, :]


def encoder_mask(cfg, lengths, s):
    """key_mask, and with attention_window N the keys j farther than N
    from the query i: (B, 1, S or 1, S)."""
    mask = key_mask(lengths, s)
    if cfg.attention_window > 0:
        i = torch.arange(s)
        far = (i[:, None] - i[None, :]).abs() > cfg.attention_window
        mask = mask | far[None, None]
    return mask


class DecoderState:
    """The incremental decoder of one batch: self-attention key/value cache
    per layer, cross-attention keys/values computed once from the memory;
    a copy model also keeps the source ids src (B, S).

    monotonic W (None: off), decode(1)'s --monotonic: each step's
    cross-attention hides the source positions before focus - W, focus
    being the arg-max (the first) of the previous step's last-layer
    cross-attention averaged over heads, 0 at first."""

    def __init__(self, model, mem, src_len, src=None, monotonic=None):
        dec = model.decoder
        self.model, self.t = model, 0
        self.cross = [l.encoder_attn.kv(mem) for l in dec.layers]
        self.cross_mask = key_mask(src_len, mem.shape[1])
        self.cache = [[None, None] for _ in dec.layers]
        self.src, self.src_len = src, src_len
        self.window = monotonic
        self.focus = torch.zeros(mem.shape[0], dtype=torch.long)

    def step(self, tokens):
        """tokens (B,) at position self.t -> (B, Vt) log-probs."""
        dec = self.model.decoder
        x0 = x = dec.embed(tokens[:, None], self.t)
        none = torch.zeros(1, 1, 1, self.t + 1, dtype=torch.bool)
        mask, s = self.cross_mask, self.cross_mask.shape[-1]
        mono = self.window is not None and s > 0
        if mono:
            # the focus never hides every key: at most up to the last one
            lo = (self.focus - self.window).clamp(max=s - 1)
            mask = mask | (torch.arange(s)[None, :] < lo[:, None])[:, None, None, :]
            dec.layers[-1].encoder_attn.keep_probs = True
        for l, c, kv in zip(dec.layers, self.cache, self.cross):
            x = l(x, none, cache=c, cross_kv=kv, cross_mask=mask)
        if mono:
            last = dec.layers[-1].encoder_attn
            last.keep_probs = False
            self.focus = torch.argmax(last.probs[:, :, 0].mean(1), dim=-1)
        self.t += 1
        return self.model.output(dec.finish(x), x0, self.src,
                                 self.src_len)[:, 0]

    def reorder(self, index):
        """Keeps rows index (LongTensor) of the batch, in that order."""
        self.cross = [(k[index], v[index]) for k, v in self.cross]
        self.cross_mask = self.cross_mask[index]
        self.cache = [[k[index], v[index]] for k, v in self.cache]
        self.src_len = self.src_len[index]
        if self.src is not None:
            self.src = self.src[index]
        self.focus = self.focus[index]


class OutputProjection(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if not cfg.tie_output:
            self.weight = nn.Parameter(
                torch.randn(cfg.tgt_vocab_size, cfg.d_model) / cfg.d_model ** 0.5)
        if cfg.output_bias:
            self.bias = nn.Parameter(torch.zeros(cfg.tgt_vocab_size))


class Seq2Seq(nn.Module):
    """The seqpipe Transformer; state_dict() keys are the model file's
    tensor names (tied tensors appear once, under their owner's name)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg.resolved()
        self.encoder = Stack(cfg, cfg.src_vocab_size, False, None)
        self.decoder = Stack(cfg, cfg.tgt_vocab_size, True,
                             self.encoder if cfg.tie_src_tgt else None)
        self.output_projection = OutputProjection(cfg)
        if cfg.copy:
            self.decoder.p_gen = nn.Linear(3 * cfg.d_model, 1)
            self.decoder.layers[-1].encoder_attn.keep = True
        if cfg.nat:
            self.length_predictor = nn.Linear(cfg.d_model,
                                              2 * cfg.nat_max_offset + 1)

    def output(self, h, x0, src, src_len):
        """The log-probs (B, T, Vt) of decoder states h (B, T, D) whose
        inputs were embedded as x0 (B, T, D): logprobs(h), or for a copy
        model the pointer-generator's mixture (See et al. 2017; nn/copy.h)
            p = s softmax(logits) + (1 - s) sum_j a_j onehot(src_j)
            s = sigmoid(p_gen([h; c; x0]))
        with a the last layer's cross-attention weights averaged over
        heads and c its context.  src (B, S) holds the source ids; a row
        of an empty source copies nothing (s = 1)."""
        if not self.cfg.copy:
            return self.logprobs(h)
        if src is None:
            raise ValueError("a copy model needs the source ids")
        attn = self.decoder.layers[-1].encoder_attn
        a = attn.weights.mean(1)                                # (B, T, S)
        s = torch.sigmoid(self.decoder.p_gen(
            torch.cat([h, attn.context, x0], -1))).squeeze(-1)  # (B, T)
        s = torch.where((src_len == 0)[:, None], torch.ones_like(s), s)
        b, t, n = a.shape
        copied = torch.zeros(b, t, self.cfg.tgt_vocab_size).scatter_add(
            2, src[:, None, :n].expand(b, t, n), a)
        p = s[..., None] * self.logprobs(h).exp() + (1 - s[..., None]) * copied
        return torch.log(p)

    int8_output = None     # (int8s, scales): W stored as int8 (run_in_int8)

    def output_weight_name(self):
        """The tensor name of W in logprobs (tied tensors: the owner's)."""
        if not self.cfg.tie_output:
            return "output_projection.weight"
        if self.cfg.tie_src_tgt:
            return "encoder.embed_tokens.weight"
        return "decoder.embed_tokens.weight"

    def logprobs(self, x):
        """x (B, T, D) -> (B, T, Vt) log_softmax(x W^T + b)."""
        op = self.output_projection
        bias = getattr(op, "bias", None)
        if self.int8_output is not None:
            return torch.log_softmax(int8_linear(x, *self.int8_output, bias),
                                     dim=-1)
        w = self.decoder.table() if self.cfg.tie_output else op.weight
        return torch.log_softmax(F.linear(x, w, bias), dim=-1)

    def encode(self, src, src_len):
        """src (B, S) long, src_len (B,) -> memory (B, S, D)."""
        return self.encoder_stack(self.encoder.embed(src, 0), src_len)

    def encode_frames(self, frames, n_frames):
        """frames (B, N, frame_dim) float, zero past each n_frames (B,) ->
        (memory (B, S, D), positions (B,)), positions ceil(n / subsample)."""
        rows = -(-n_frames // self.cfg.subsample)
        return self.encoder_stack(self.encoder.embed_frames(frames), rows), rows

    def encoder_stack(self, x, lengths):
        mask = encoder_mask(self.cfg, lengths, x.shape[1])
        for l in self.encoder.layers:
            x = l(x, mask)
        return self.encoder.finish(x)

    def decode_full(self, tgt_in, mem, src_len, src=None):
        """tgt_in (B, T): decoder_start_id then the prefix; src (B, S) the
        source ids (a copy model's).  Recomputes the whole prefix (no
        cache).  Returns (B, T, Vt) log-probs, row t the distribution of
        the token after tgt_in[:, :t+1]."""
        h, x0 = self.decoder_states(tgt_in, mem, src_len)
        return self.output(h, x0, src, src_len)

    def decoder_hidden(self, tgt_in, mem, src_len):
        """As decode_full, but the (B, T, D) states before the output
        projection."""
        return self.decoder_states(tgt_in, mem, src_len)[0]

    def decoder_states(self, tgt_in, mem, src_len):
        """(decoder_hidden's states, the input embeddings), (B, T, D) each."""
        t = tgt_in.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)[None, None]
        x0 = x = self.decoder.embed(tgt_in, 0)
        cmask = key_mask(src_len, mem.shape[1])
        for l in self.decoder.layers:
            x = l(x, causal, cross_kv=l.encoder_attn.kv(mem), cross_mask=cmask)
        return self.decoder.finish(x), x0

    def start(self, mem, src_len, src=None, monotonic=None):
        return DecoderState(self, mem, src_len, src, monotonic)

    # the non-autoregressive decoder (config nat), man/seqpipe-model.5

    def length_logprobs(self, mem, src_len):
        """(B, 2K+1) log-probs of the length classes: log_softmax of the
        length predictor over the mean of each memory's src_len rows."""
        keep = (torch.arange(mem.shape[1])[None, :] < src_len[:, None])
        pooled = (mem * keep[..., None]).sum(1) / src_len[:, None]
        return torch.log_softmax(self.length_predictor(pooled), dim=-1)

    def length_class(self, tgt_len, src_len):
        """The class of target length T: clamp(T - S, -K, K) + K."""
        k = self.cfg.nat_max_offset
        return (tgt_len - src_len).clamp(-k, k) + k

    def decode_nat(self, src, src_len, tgt_len, mem):
        """All positions at once: src (B, S), tgt_len (B,) -> (B, T, Vt)
        log-probs, T = max(tgt_len); position i of sentence b reads the
        source token src[b, floor(i S_b / T_b)] (uniform copy) with the
        decoder's position i, and attends to every position < T_b."""
        t = int(tgt_len.max()) if len(tgt_len) else 0
        i = torch.arange(t)[None, :]
        j = (i * src_len[:, None]) // tgt_len.clamp(min=1)[:, None]
        ids = src.gather(1, j.clamp(max=src.shape[1] - 1))
        x = self.decoder.embed(ids, 0, table=self.encoder.table())
        self_mask = key_mask(tgt_len, t)
        cmask = key_mask(src_len, mem.shape[1])
        for l in self.decoder.layers:
            x = l(x, self_mask, cross_kv=l.encoder_attn.kv(mem), cross_mask=cmask)
        return self.logprobs(self.decoder.finish(x))


# ---------------------------------------------------------------------------
# arch rnn: a bidirectional GRU encoder, a GRU decoder with attention
# (man/seqpipe-model.5, "The rnn architecture"); the recurrences are
# torch.nn.GRU itself, whose tensors the file stores under its own names

class RNNEncoder(nn.Module):
    """Embeddings, then encoder_layers bidirectional GRU layers of D/2
    units per direction; the memory is the last layer's [forward, reverse]
    states."""
    p = 0.0

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed_tokens = nn.Embedding(cfg.src_vocab_size, d)
        self.rnn = nn.GRU(d, d // 2, cfg.encoder_layers, batch_first=True,
                          bidirectional=True)

    def forward(self, src, src_len):
        """src (B, S) long, src_len (B,) -> (B, S, D), 0 past the lengths."""
        b, s = src.shape
        d = self.cfg.d_model
        if s == 0:
            return torch.zeros(b, 0, d)
        scale = torch.tensor(self.cfg.embed_scale, dtype=torch.float32)
        x = drop(self.embed_tokens(src) * scale, self)
        # an empty source runs one padding step, then is zeroed
        packed = nn.utils.rnn.pack_padded_sequence(
            x, src_len.clamp(min=1), batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                  total_length=s)
        return out * (torch.arange(s)[None, :] < src_len[:, None])[..., None]


class RNNDecoder(nn.Module):
    """A GRU stack started by the bridge, Luong's general attention from
    its top state (scaled by 1/sqrt(D)), and the combined output
    tanh(W_c [context; top] + b_c)."""
    p = 0.0

    def __init__(self, cfg, shared):
        super().__init__()
        self.cfg = cfg
        d, layers = cfg.d_model, cfg.decoder_layers
        if shared is None:
            self.embed_tokens = nn.Embedding(cfg.tgt_vocab_size, d)
        self._shared = [shared]          # a list: not a submodule
        self.rnn = nn.GRU(d, d, layers, batch_first=True)
        self.bridge = nn.Linear(d, layers * d)
        self.attn_key = nn.Linear(d, d, bias=False)
        self.attn_out = nn.Linear(2 * d, d)

    def table(self):
        return (self._shared[0] or self).embed_tokens.weight

    def embed(self, ids):
        """ids (B, T) -> (B, T, D): embed_scale E[id], -1 the zero vector."""
        scale = torch.tensor(self.cfg.embed_scale, dtype=torch.float32)
        e = F.embedding(ids.clamp(min=0), self.table()) * (ids >= 0)[..., None]
        return drop(e * scale, self)

    def first_state(self, mem, src_len):
        """(L, B, D): tanh(bridge(mean of the memory rows)), the mean of
        an empty source being 0."""
        mean = mem.sum(1) / src_len.clamp(min=1)[:, None].to(mem.dtype)
        h = torch.tanh(self.bridge(mean))
        return h.view(-1, self.cfg.decoder_layers,
                      self.cfg.d_model).transpose(0, 1).contiguous()

    def attend(self, top, mem, keys, src_len):
        """top (B, T, D) -> (B, T, D) the combined outputs."""
        s = torch.matmul(top, keys.transpose(1, 2)) / math.sqrt(self.cfg.d_model)
        mask = key_mask(src_len, mem.shape[1])[:, 0]      # (B, 1, S)
        s = s.masked_fill(mask, float("-inf"))
        w = torch.softmax(s, dim=-1).masked_fill(mask.all(-1, keepdim=True), 0.0)
        ctx = torch.matmul(w, mem)
        return drop(torch.tanh(self.attn_out(torch.cat([ctx, top], -1))), self)


class RNNDecoderState:
    """The incremental decoder of one batch: the GRU states per row."""

    def __init__(self, model, mem, src_len):
        dec = model.decoder
        self.model, self.mem, self.src_len = model, mem, src_len
        self.keys = dec.attn_key(mem)
        self.h = dec.first_state(mem, src_len)

    def step(self, tokens):
        """tokens (B,) -> (B, Vt) log-probs."""
        dec = self.model.decoder
        out, self.h = dec.rnn(dec.embed(tokens[:, None]), self.h)
        o = dec.attend(out, self.mem, self.keys, self.src_len)
        return self.model.logprobs(o)[:, 0]

    def reorder(self, index):
        """Keeps rows index (LongTensor) of the batch, in that order."""
        self.mem, self.keys = self.mem[index], self.keys[index]
        self.src_len, self.h = self.src_len[index], self.h[:, index]


class RNNSeq2Seq(Seq2Seq):
    """arch rnn with Seq2Seq's interface; state_dict() keys are the model
    file's tensor names."""

    def __init__(self, cfg):
        nn.Module.__init__(self)
        self.cfg = cfg.resolved()
        self.encoder = RNNEncoder(cfg)
        self.decoder = RNNDecoder(cfg, self.encoder if cfg.tie_src_tgt else None)
        self.output_projection = OutputProjection(cfg)

    def encode(self, src, src_len):
        return self.encoder(src, src_len)

    def decoder_states(self, tgt_in, mem, src_len):
        """(the states before the output projection, None): no copy
        mixture reads the input embeddings of an rnn model."""
        dec = self.decoder
        out, _ = dec.rnn(dec.embed(tgt_in), dec.first_state(mem, src_len))
        return dec.attend(out, mem, dec.attn_key(mem), src_len), None

    def start(self, mem, src_len, src=None, monotonic=None):
        # monotonic attention masks the Transformer's cross-attention;
        # decode(1) refuses it for arch rnn, and so does this
        if monotonic is not None:
            raise ValueError("monotonic attention: not for arch rnn")
        return RNNDecoderState(self, mem, src_len)


def new_model(cfg):
    """The model of cfg's architecture: Seq2Seq or RNNSeq2Seq."""
    return (RNNSeq2Seq if cfg.arch == "rnn" else Seq2Seq)(cfg)


def set_dropout(model, p):
    """Dropout p on the embeddings, attention weights, sublayer outputs and
    the FFN's hidden layer (where seqpipe's train applies it), in training
    mode only; for arch rnn on the embeddings, between the GRU layers and
    on the combined outputs."""
    for m in model.modules():
        if isinstance(m, (Attention, Layer, Stack, RNNEncoder, RNNDecoder)):
            m.p = p
        if isinstance(m, nn.GRU):       # between the layers of a stack
            m.dropout = p


def unpack_int8(packed, rows, cols):
    """The (rows, cols) int8 matrix stored in the packed layout of
    man/seqpipe-model.5, shape (Np / 16, Kp / 4, 16, 4): block b, group g
    of 4 columns, row 16 b + i of the block, column 4 g + j."""
    nb, ng, block, four = packed.shape
    full = packed.transpose(0, 2, 1, 3).reshape(nb * block, ng * four)
    return np.ascontiguousarray(full[:rows, :cols])


def unpanel(tensors, shapes):
    """Replaces each float32 matrix stored in panels (man/seqpipe-model.5,
    shape (ceil(N / 64), K, 64): element [b, k, i] is row 64 b + i,
    column k) by the (N, K) matrix shapes[NAME] it holds."""
    for name in [k for k, v in tensors.items()
                 if v.dtype == np.float32 and v.ndim == 3]:
        nb, cols, width = tensors[name].shape
        full = tensors[name].transpose(0, 2, 1).reshape(nb * width, cols)
        tensors[name] = np.ascontiguousarray(full[:shapes[name][0]])


def dequantize(tensors, shapes):
    """Replaces each I8 weight matrix NAME and its NAME_scale (one float32
    per row; man/seqpipe-model.5) by the float32 matrix it stands for,
    scale times int8, rounded as float32 (as seqpipe computes it); a
    matrix stored packed is unpacked to shapes[NAME] first.  Returns
    {NAME: (int8s, scales)} of those matrices, as tensors."""
    int8 = {}
    for name in [k for k, v in tensors.items() if v.dtype == np.int8]:
        scale = tensors.pop(name + "_scale")
        if tensors[name].ndim == 4:
            tensors[name] = unpack_int8(tensors[name], *shapes[name])
        int8[name] = (torch.from_numpy(tensors[name].copy()),
                      torch.from_numpy(scale.copy()))
        tensors[name] = scale[:, None] * tensors[name].astype(np.float32)
    return int8


def quantize_rows(x):
    """x (..., K) float32 -> (q, scale): each row in int8 as seqpipe
    quantizes weight rows and, for int8 products, activation rows: scale
    = max |x| / 127, q = x (127 / max |x|) rounded to nearest, ties to
    even, within [-127, 127] (as float32 values); a row of zeros has
    scale 0, a row with a non-finite value the scale NaN."""
    amax = x.abs().amax(-1, keepdim=True)
    # tensor by tensor: a scalar divisor may become a product by its
    # reciprocal, which rounds differently
    c127 = torch.full_like(amax, 127.0)
    inv = torch.where(amax > 0, torch.div(c127, amax), torch.zeros_like(amax))
    q = torch.clamp(torch.round(x * inv), -127, 127)
    scale = torch.where(torch.isfinite(x).all(-1, keepdim=True),
                        torch.div(amax, c127), torch.full_like(amax, float("nan")))
    return torch.nan_to_num(q, nan=0.0), scale


def int8_linear(x, q, scale, bias):
    """x (..., K) times an int8 matrix q (N, K) with a scale per row
    (N), transposed, plus bias (N) or None, as seqpipe's int8 products
    compute it (lib/nn/i8gemm.h): x's rows quantized (quantize_rows),
    the sums exact (float64 holds them: |sum| < 2^53), then
        y = float32(sum) * scale_x * scale_w + bias
    rounded to float32 at each step, in that order."""
    qx, sx = quantize_rows(x)
    acc = torch.matmul(qx.double(), q.double().t()).float()
    y = acc * sx
    y = y * scale
    return y + bias if bias is not None else y


def run_in_int8(model, int8):
    """Makes the linear layers of model whose weights a file stored as
    int8 (int8, from dequantize()) compute as seqpipe's int8 products
    do, and the output projection too when its matrix is one of them."""
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear) and name + ".weight" in int8:
            q, scale = int8[name + ".weight"]
            mod.forward = (lambda x, q=q, scale=scale, mod=mod:
                           int8_linear(x, q, scale, mod.bias))
    model.int8_output = None
    for name in ("output_projection.weight", "decoder.embed_tokens.weight",
                 "encoder.embed_tokens.weight"):
        if name in int8 and model.output_weight_name() == name:
            model.int8_output = int8[name]


def load(path):
    """The model in path, in eval mode.  Raises ValueError on a file that
    is not a seqpipe model or whose tensors do not fit its config."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT:
        raise ValueError("%s: not a %s model" % (path, FORMAT))
    model = new_model(Config.from_metadata(meta))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    unpanel(tensors, shapes)
    int8 = dequantize(tensors, shapes)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()
             if not k.startswith(("spm.", "vocab.", "extra."))}
    model.load_state_dict(state, strict=True)
    run_in_int8(model, int8)
    model.model_id = meta.get("model_id", "")
    return model.eval()


def save(model, path, model_id, provenance, spm_source=None, spm_target=None):
    """Writes model as a seqpipe model file; spm_* are serialized
    SentencePiece models (bytes) or None."""
    tensors = {k: v.detach().float() for k, v in model.state_dict().items()}
    if spm_source is not None:
        tensors["spm.source"] = np.frombuffer(spm_source, dtype=np.uint8)
    if spm_target is not None and not model.cfg.shared_vocab:
        tensors["spm.target"] = np.frombuffer(spm_target, dtype=np.uint8)
    meta = {"format": FORMAT, "model_id": model_id, "provenance": provenance}
    meta.update(model.cfg.to_metadata())
    write_safetensors(path, tensors, meta)


# ---------------------------------------------------------------------------
# search, one sentence at a time (the reference, not the fast path)

# The empty translation: a source of no token has one hypothesis, empty
# (no id, not even an EOS step), with log-prob and score 0, whatever the
# search and its options (man/decode.1).  Decoding it would attend over
# no key at all, and a model that never saw an empty source makes a
# sentence up.  greedy() and beam_search() return it before any step.

def max_steps(cfg, max_len):
    """Decoding steps allowed: max_len, capped by the positions the
    decoder can embed (step t reads position t + position_offset)."""
    return max(0, min(max_len, cfg.max_positions - cfg.position_offset))


def source_len(cfg, src):
    """The encoder positions of a source: its ids, or its frames'
    groups of subsample."""
    return -(-len(src) // cfg.subsample) if cfg.input == "frames" else len(src)


def _encode_one(model, src):
    """src: a list of ids, or with input frames a list of frames (lists
    of frame_dim floats).  Returns (memory (1, S, D), positions (1,),
    ids (1, S) or None with frames)."""
    if model.cfg.input == "frames":
        f = torch.tensor(src, dtype=torch.float32).view(1, len(src),
                                                        model.cfg.frame_dim)
        return model.encode_frames(f, torch.tensor([len(src)])) + (None,)
    ids = torch.tensor([src], dtype=torch.long).view(1, len(src))
    n = torch.tensor([len(src)])
    return model.encode(ids, n), n, ids


@torch.no_grad()
def ban(cfg, lp):
    """The searches never produce pad (man/decode.1): lp (rows, Vt)."""
    if cfg.pad_id >= 0 and cfg.pad_id != cfg.eos_id:
        lp[:, cfg.pad_id] = float("-inf")
    return lp


def greedy(model, src, max_len, min_len=0, monotonic=None, token_lp=None):
    """src: list of ids.  Up to max_len steps, each emitting the arg-max
    token (EOS forbidden before step min_len); stops after EOS; monotonic
    attention with window monotonic (None: off).  Returns (ids without
    EOS, summed log-prob including EOS's); token_lp, a list, gets each
    step's log-prob."""
    if not src:                         # the empty translation (above)
        return [], 0.0
    cfg = model.cfg
    mem, n, ids = _encode_one(model, src)
    st = model.start(mem, n, ids, monotonic)
    tok, out, score = cfg.decoder_start_id, [], 0.0
    for step in range(max_steps(cfg, max_len)):
        lp = ban(cfg, st.step(torch.tensor([tok])))[0]
        if step < min_len:
            lp[cfg.eos_id] = float("-inf")
        tok = int(torch.argmax(lp))
        score += float(lp[tok])
        if token_lp is not None:
            token_lp.append(float(lp[tok]))
        if tok == cfg.eos_id:
            break
        out.append(tok)
    return out, score


@torch.no_grad()
def nat_decode(model, src, lengths=1, max_len=100, min_len=0, no_unk=False,
               target=None):
    """decode --nat: the lengths T in [max(1, min_len), max_len] (capped by
    the positions) ranked by the length predictor (log-prob of their
    class, then |T - S|, then T), the first `lengths` of them each decoded
    in one pass (per position the arg-max token, never pad, BOS, EOS, nor
    UNK with no_unk), and the candidate of the best (log p(T) + sum of the
    token log-probs) / T kept (the first on ties).  With target (a list of ids), that target is
    scored instead.  Returns (ids, log p(T) + sum of the token log-probs,
    token log-probs); an empty source gives ([], 0.0, [])."""
    if not src:
        return [], 0.0, []
    cfg = model.cfg
    mem, n, _ = _encode_one(model, src)
    lp_len = model.length_logprobs(mem, n)[0]
    s = len(src)

    def len_lp(t):
        return float(lp_len[int(model.length_class(torch.tensor(t), s))])

    if target is not None:
        cands = [min(len(target), max_steps(cfg, len(target)))]
    else:
        hi = max_steps(cfg, max_len)
        if hi < 1:                      # no position allowed
            return [], 0.0, []
        lo = min(max(1, min_len), hi)
        cands = sorted(range(lo, hi + 1),
                       key=lambda t: (-len_lp(t), abs(t - s), t))[:lengths]
    best = None
    for t in cands:
        lp = model.decode_nat(torch.tensor([src]), n, torch.tensor([t]), mem)[0]
        if target is not None:
            ids = target[:t]
        else:
            pick = lp.clone()
            for b in (cfg.pad_id, cfg.bos_id, cfg.eos_id,
                      cfg.unk_id if no_unk else -1):
                if b >= 0:
                    pick[:, b] = float("-inf")
            ids = [int(x) for x in torch.argmax(pick, dim=-1)]
        tok = [float(lp[i, y]) for i, y in enumerate(ids)]
        score = len_lp(t) + sum(tok)
        if best is None or score / max(t, 1) > best[0]:
            best = (score / max(t, 1), ids, score, tok)
    return best[1], best[2], best[3]


def length_penalty(length, alpha, gnmt=False):
    """lp(L) = L^alpha, or ((5 + L) / 6)^alpha in the GNMT form (Wu et al.
    2016); 1 for alpha 0."""
    if not alpha:
        return 1.0
    return ((5.0 + length) / 6.0) ** alpha if gnmt else max(length, 1) ** alpha


def normalize(score, length, alpha, gnmt=False, word_penalty=0.0):
    """(score - word_penalty L) / lp(L), L the generated tokens with EOS."""
    return (score - word_penalty * length) / length_penalty(length, alpha, gnmt)


def repeats(ids, n):
    """The tokens that would complete an n-gram ids already has."""
    tail = ids[len(ids) - n + 1:] if n > 1 else []
    return {ids[i + n - 1] for i in range(len(ids) - n + 1)
            if ids[i:i + n - 1] == tail}


@torch.no_grad()
def beam_search(model, src, k, alpha=1.0, max_len=100, min_len=0, nbest=1,
                gnmt=False, word_penalty=0.0, early_stop=True,
                no_repeat_ngram=0, monotonic=None):
    """A straightforward beam search with lib/search/beam.h's rules.  Each step
    extends every live hypothesis by every token and keeps the best
    k - (finished so far) extensions by summed log-prob (Marian's shrinking
    beam); one ending in EOS is finished with the score
    normalize(S, L, ...), L the generated tokens including EOS.  The
    search ends when k are finished or after max_len steps (the kept
    extensions of the last step are then finished as they stand), or
    early, once nbest are finished and no live hypothesis can end above the
    nbest-th best (its bound: the best normalized score over the lengths
    it can still reach, log-probs being <= 0), which never changes the
    result.  Returns up to nbest (score, log-prob, ids without EOS,
    per-token log-probs with EOS's), best first, ties in finishing order.
    no_repeat_ngram n > 0 forbids tokens that repeat an n-gram of the
    hypothesis; a hypothesis left with no allowed token is finished as it
    stands.  Equal sums go to the earlier row, then the smaller id (a
    stable sort), so k = 1 gives greedy()'s ids.  monotonic: the window
    of monotonic attention (DecoderState), None off.  An empty source
    gives the empty translation alone, score 0 (above)."""
    if not src:
        return [(0.0, 0.0, [], [])]
    cfg = model.cfg
    steps = max_steps(cfg, max_len)
    mem, n, ids = _encode_one(model, src)
    st = model.start(mem, n, ids, monotonic)
    live = [([], [], 0.0)]              # ids, token log-probs, sum
    last = torch.tensor([cfg.decoder_start_id])
    finished = []
    for step in range(steps):
        lp = ban(cfg, st.step(last))
        if step < min_len:
            lp[:, cfg.eos_id] = float("-inf")
        for r, h in enumerate(live):
            for tok in repeats(h[0], no_repeat_ngram) if no_repeat_ngram else ():
                lp[r, tok] = float("-inf")
            if bool(torch.isinf(lp[r]).all()):     # stuck: finished as is
                finished.append((normalize(h[2], len(h[0]), alpha, gnmt,
                                           word_penalty), h[2], h[0], h[1]))
        sums = torch.tensor([h[2] for h in live], dtype=torch.float64)
        cand = (sums[:, None] + lp.double()).view(-1)
        values, indices = torch.sort(cand, descending=True, stable=True)
        m = max(0, min(k - len(finished), cand.numel()))
        nxt, parents, toks = [], [], []
        for s, idx in zip(values[:m].tolist(), indices[:m].tolist()):
            if s == float("-inf"):
                continue
            p, tok = divmod(idx, lp.shape[1])
            ids, tlp = live[p][0], live[p][1] + [float(lp[p, tok])]
            if tok == cfg.eos_id:
                finished.append((normalize(s, len(ids) + 1, alpha, gnmt,
                                           word_penalty), s, ids, tlp))
            elif step == steps - 1:
                finished.append((normalize(s, len(ids) + 1, alpha, gnmt,
                                           word_penalty), s, ids + [tok], tlp))
            else:
                nxt.append((ids + [tok], tlp, s))
                parents.append(p)
                toks.append(tok)
        live = nxt
        if not live:
            break
        st.reorder(torch.tensor(parents))
        last = torch.tensor(toks)
        if early_stop and len(finished) >= nbest:
            bar = sorted((f[0] for f in finished), reverse=True)[nbest - 1]
            bound = max(normalize(max(h[2] for h in live), n_tok, alpha, gnmt,
                                  word_penalty)
                        for n_tok in range(step + 2, steps + 1))
            if bound <= bar:
                break
    if steps == 0:
        finished = [(0.0, 0.0, [], [])]
    finished.sort(key=lambda f: -f[0])  # stable: ties in finishing order
    return finished[:nbest]
