#!/usr/bin/python3
"""marian_ref.py: Marian's transformer math in numpy (float64), written
from shared/marian-format.md §3 (not from seqpipe's code), over a release
folder as tests/make-marian.py writes it (post-norm, self-attention
decoder; any tying).  For tests/seqimport.bats and tests/marian-beam.bats.

A folder with config.json is a Hugging Face MarianMTModel (§4), whose
math differs (§4.3): layer norm eps 1e-5, position frequencies
10000^(-2i/d), the decoder starts from the embedding of
decoder_start_token_id (the zero <pad> row), the log-softmax runs over
the <pad> too and greedy search never takes it (bad_words_ids); the
embedding is scaled only with scale_embedding, and gelu is erf's.

    marian_ref.py DIR enc   SRC       encoder output per line, flattened
    marian_ref.py DIR step0 SRC       first-step log-probs, all Vt
    marian_ref.py DIR score SRC TGT   targets' log-probs: sum, then per token
    marian_ref.py DIR greedy SRC      greedy ids (EOS included), <= 3*len
    marian_ref.py DIR beam SRC [options]
                                      marian-decoder's beam search (§3.8),
                                      its n-best lines "KEY RANK SCORE IDS"
                                      (KEY: the line from 0; IDS without
                                      the final </s>)

SRC and TGT hold model ids, one sentence per line (the source with its
</s>, as Marian appends it, §3.6; the target with its </s>).  The beam
settings are those of the release's decoder.yml, else marian-decoder's
defaults (beam-size 12, normalize 0, word-penalty 0, max-length-factor 3,
allow-unk false; §1.2); options override them (beam --help).
"""
import argparse
import glob
import io
import json
import math
import os
import struct
import sys
import zipfile

import numpy as np
import yaml


def load(d):
    z = zipfile.ZipFile(glob.glob(d + "/*.npz")[0])
    w = {}
    for n in z.namelist():
        a = np.load(io.BytesIO(z.read(n)))
        w[n[:-4]] = a
    text = w.pop("special:model.yml").tobytes().split(b"\0")[0]
    return w, yaml.load(text, Loader=yaml.BaseLoader)


HF_LAYER = {"self_attn.q_proj.weight": "self_Wq", "self_attn.k_proj.weight": "self_Wk",
            "self_attn.v_proj.weight": "self_Wv", "self_attn.out_proj.weight": "self_Wo",
            "self_attn.q_proj.bias": "self_bq", "self_attn.k_proj.bias": "self_bk",
            "self_attn.v_proj.bias": "self_bv", "self_attn.out_proj.bias": "self_bo",
            "self_attn_layer_norm.weight": "self_Wo_ln_scale",
            "self_attn_layer_norm.bias": "self_Wo_ln_bias",
            "encoder_attn.q_proj.weight": "context_Wq", "encoder_attn.k_proj.weight": "context_Wk",
            "encoder_attn.v_proj.weight": "context_Wv", "encoder_attn.out_proj.weight": "context_Wo",
            "encoder_attn.q_proj.bias": "context_bq", "encoder_attn.k_proj.bias": "context_bk",
            "encoder_attn.v_proj.bias": "context_bv", "encoder_attn.out_proj.bias": "context_bo",
            "encoder_attn_layer_norm.weight": "context_Wo_ln_scale",
            "encoder_attn_layer_norm.bias": "context_Wo_ln_bias",
            "fc1.weight": "ffn_W1", "fc1.bias": "ffn_b1", "fc2.weight": "ffn_W2",
            "fc2.bias": "ffn_b2", "final_layer_norm.weight": "ffn_ffn_ln_scale",
            "final_layer_norm.bias": "ffn_ffn_ln_bias"}


def load_hf(d):
    """§4.1 backwards: model.safetensors in Marian's names and layout
    ([in, out] weights), the embedding (with its <pad> row) as Wemb."""
    c = json.load(open(d + "/config.json"))
    b = open(d + "/model.safetensors", "rb").read()
    n, = struct.unpack("<Q", b[:8])
    head = json.loads(b[8:8 + n])
    w = {}
    for name, e in head.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "F16": np.float16}[e["dtype"]]
        x = np.frombuffer(b[8 + n + e["data_offsets"][0]:8 + n + e["data_offsets"][1]],
                          dtype=dt).reshape(e["shape"])
        if name.startswith(("model.encoder.layers.", "model.decoder.layers.")):
            side, i, rest = name.split(".", 4)[1], name.split(".")[3], name.split(".", 4)[4]
            m = HF_LAYER[rest]
            w["%s_l%d_%s" % (side, int(i) + 1, m)] = x.T if x.ndim == 2 else x
        elif name in ("model.shared.weight", "model.encoder.embed_tokens.weight",
                      "model.decoder.embed_tokens.weight"):
            w["Wemb"] = x
        elif name == "lm_head.weight" and c.get("tie_word_embeddings", True):
            w["Wemb"] = x
        elif name == "lm_head.weight":
            w["decoder_ff_logit_out_Wt"] = x
        elif name == "final_logits_bias":
            w["decoder_ff_logit_out_b"] = x
    return w, c


def pe(n, d, hf=False):
    """§3.2: sin half, cos half, inc = ln(10000)/(d/2 - 1), from 0; HF's
    frequencies spread by d/2 instead."""
    nt = d // 2
    inc = np.log(10000.0) / (nt if hf else nt - 1)
    p = np.arange(n, dtype=np.float64)[:, None]
    i = np.arange(d)
    v = p * np.exp(-(i % nt) * inc)
    return np.where(i < nt, np.sin(v), np.cos(v))


class Marian:
    def __init__(self, d):
        self.hf = os.path.exists(d + "/config.json")
        if self.hf:
            w, c = load_hf(d)
            self.d, self.h = c["d_model"], c["encoder_attention_heads"]
            self.enc_n, self.dec_n = c["encoder_layers"], c["decoder_layers"]
            self.act = c["activation_function"]
            self.eps = 1e-5
            tall = True
            self.start = c["decoder_start_token_id"]
            self.ban = [ids[0] for ids in c.get("bad_words_ids", [])]
        else:
            w, c = load(d)
            self.d = int(c["dim-emb"])
            self.h = int(c["transformer-heads"])
            self.enc_n = int(c["enc-depth"])
            self.dec_n = int(c["dec-depth"])
            self.act = c.get("transformer-ffn-activation", "swish")
            self.eps = 1e-6
            tall = c.get("tied-embeddings-all") == "true" or \
                c.get("tied-embeddings-src") == "true"
            self.start, self.ban = None, []     # §3.6: the zero vector
        self.w = {k: v.astype(np.float64) for k, v in w.items()}
        self.scale = np.sqrt(self.d) if not self.hf or c["scale_embedding"] else 1.0
        self.src_e = self.w["Wemb"] if tall else self.w["encoder_Wemb"]
        self.tgt_e = self.w["Wemb"] if tall else self.w["decoder_Wemb"]
        if "decoder_ff_logit_out_Wt" in self.w:
            self.out = self.w["decoder_ff_logit_out_Wt"]
        elif "decoder_ff_logit_out_W" in self.w:
            self.out = self.w["decoder_ff_logit_out_W"].T
        else:
            self.out = self.tgt_e
        self.out_b = self.w["decoder_ff_logit_out_b"].reshape(-1)

    def ln(self, x, s, b):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return s.reshape(-1) * (x - m) / np.sqrt(v + self.eps) + b.reshape(-1)

    def attn(self, p, xq, xkv, mask):
        w, h = self.w, self.h
        q = xq @ w[p + "_Wq"] + w[p + "_bq"]
        k = xkv @ w[p + "_Wk"] + w[p + "_bk"]
        v = xkv @ w[p + "_Wv"] + w[p + "_bv"]
        dh = self.d // h
        out = np.zeros_like(q)
        for j in range(h):
            s = slice(j * dh, (j + 1) * dh)
            z = q[:, s] @ k[:, s].T / np.sqrt(dh) + mask
            a = np.exp(z - z.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            out[:, s] = a @ v[:, s]
        return out @ w[p + "_Wo"] + w[p + "_bo"]

    def ffn(self, p, x):
        w = self.w
        y = x @ w[p + "_ffn_W1"] + w[p + "_ffn_b1"]
        if self.act in ("swish", "silu"):
            y = y / (1 + np.exp(-y))
        elif self.act == "gelu":
            y = y * 0.5 * (1 + np.vectorize(math.erf)(y / math.sqrt(2)))
        else:
            y = np.maximum(y, 0)
        return y @ w[p + "_ffn_W2"] + w[p + "_ffn_b2"]

    def encode(self, ids):
        w, d = self.w, self.d
        x = self.scale * self.src_e[ids] + pe(len(ids), d, self.hf)
        for i in range(1, self.enc_n + 1):
            p = f"encoder_l{i}"
            x = self.ln(self.attn(p + "_self", x, x, 0) + x,
                   w[p + "_self_Wo_ln_scale"], w[p + "_self_Wo_ln_bias"])
            x = self.ln(self.ffn(p, x) + x, w[p + "_ffn_ffn_ln_scale"],
                   w[p + "_ffn_ffn_ln_bias"])
        return x

    def logprobs(self, mem, prev):
        """log-softmax at every step given the previous target ids."""
        w, d = self.w, self.d
        ids = ([] if self.start is None else [self.start]) + list(prev)
        emb = np.zeros((len(prev) + 1, d))	# Marian's step 0: zero
        if ids:
            emb[len(prev) + 1 - len(ids):] = self.scale * self.tgt_e[ids]
        y = emb + pe(len(prev) + 1, d, self.hf)
        n = len(y)
        causal = np.where(np.tril(np.ones((n, n))) > 0, 0.0, -99999999.0)
        for i in range(1, self.dec_n + 1):
            p = f"decoder_l{i}"
            y = self.ln(self.attn(p + "_self", y, y, causal) + y,
                   w[p + "_self_Wo_ln_scale"], w[p + "_self_Wo_ln_bias"])
            y = self.ln(self.attn(p + "_context", y, mem, 0) + y,
                   w[p + "_context_Wo_ln_scale"],
                   w[p + "_context_Wo_ln_bias"])
            y = self.ln(self.ffn(p, y) + y, w[p + "_ffn_ffn_ln_scale"],
                   w[p + "_ffn_ffn_ln_bias"])
        z = y @ self.out.T + self.out_b
        m = z.max(-1, keepdims=True)
        return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def load_vocab(path):
    """piece -> id of a *.yml vocabulary or a text one (line = id), §3.7."""
    if path.endswith((".yml", ".yaml")):
        with open(path, encoding="utf-8") as f:
            v = yaml.load(f, Loader=yaml.BaseLoader)
        return {p: int(i) for p, i in v.items()}
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


def beam_settings(d, argv):
    """decoder.yml's search keys, marian-decoder's defaults, argv's."""
    ap = argparse.ArgumentParser(prog="marian_ref.py DIR beam SRC")
    ap.add_argument("--beam-size", type=int)
    ap.add_argument("--normalize", type=float)
    ap.add_argument("--word-penalty", type=float)
    ap.add_argument("--max-length-factor", type=float)
    ap.add_argument("--allow-unk", type=int)
    ap.add_argument("--allow-special", action="store_true",
                    help="do not suppress the pieces <0x00>..<0x1F>")
    ap.add_argument("--n-best", type=int, default=1,
                    help="hypotheses printed per sentence")
    ap.add_argument("--no-config", action="store_true",
                    help="ignore decoder.yml (marian-decoder without -c)")
    a = ap.parse_args(argv)
    with open(os.path.join(d, "decoder.yml")) as f:
        cfg = yaml.load(f, Loader=yaml.BaseLoader)
    defaults = {"beam_size": 12, "normalize": 0.0, "word_penalty": 0.0,
                "max_length_factor": 3.0, "allow_unk": 0}
    for key, v in defaults.items():
        yml = cfg.get(key.replace("_", "-"))
        if getattr(a, key) is None:
            if yml is not None and not a.no_config:
                v = type(v)(float({"true": 1, "false": 0}.get(yml, yml)))
            setattr(a, key, v)
    a.vocabs = [os.path.join(d, os.path.basename(p)) for p in cfg["vocabs"]]
    return a


def beam_search(m, src, o, eos, src_eos, suppressed):
    """Marian's BeamSearch::search for a batch of one sentence (§3.8).

    Returns the finished hypotheses as (normalised score, ids with their
    final </s> if any), best first; equal scores keep finishing order.
    Equal path scores in the top-K go to the lower (row, word) index.
    """
    mem = m.encode(src)
    beam = [((), 0.0)] * o.beam_size	# beam-size copies of the start hyp
    hist = 1				# the history holds the start beam
    finished = []
    for t in range(10 ** 6):
        rows = beam[:1] if t == 0 else beam	# t 0: only one row scored
        scores = []
        for toks, path in rows:
            x = path + m.logprobs(mem, list(toks))[-1]
            x[suppressed] = -np.inf		# after the log-softmax
            scores.append(x)
        flat = np.concatenate(scores)
        v = len(scores[0])
        best = np.argsort(-flat, kind="stable")[:len(beam)]	# K = live hyps
        new = [(rows[j // v][0] + (int(j % v),), float(flat[j]))
               for j in best]
        if t == 0 and src[0] == src_eos:	# an empty line: </s>, score 0
            new = [((eos,), 0.0)] * len(beam)
        live = [h for h in new if h[0][-1] != eos]
        at_max = hist >= np.float32(o.max_length_factor) * np.float32(len(src))
        for toks, path in new:
            if toks[-1] == eos or at_max:
                length = hist		# tokens, the final </s> included
                finished.append(((path - o.word_penalty * length) /
                                 length ** o.normalize, toks))
        hist += 1
        if at_max or not live:
            break
        beam = live
    return sorted(finished, key=lambda f: -f[0])


def lines(path):
    with open(path) as f:
        return [[int(t) for t in line.split()] for line in f]


def main():
    d, cmd = sys.argv[1], sys.argv[2]
    m = Marian(d)
    fmt = lambda v: " ".join("%.6g" % x for x in v)
    src = lines(sys.argv[3])
    if cmd == "beam":
        o = beam_settings(d, sys.argv[4:])
        sv, tv = load_vocab(o.vocabs[0]), load_vocab(o.vocabs[1])
        eos = tv["</s>"]
        suppressed = [] if o.allow_unk else [tv["<unk>"]]
        if not o.allow_special:
            suppressed += [tv[p] for p in ("<0x%02X>" % b for b in range(32))
                           if p in tv]
        for key, s in enumerate(src):
            hyps = beam_search(m, s, o, eos, sv["</s>"], suppressed)
            for rank, (score, toks) in enumerate(hyps[:o.n_best]):
                ids = toks[:-1] if toks[-1] == eos else toks
                print(key, rank, "%.9g" % score, *ids)
    if cmd == "enc":
        for s in src:
            print(fmt(m.encode(s).reshape(-1)))
    elif cmd == "step0":
        for s in src:
            print(fmt(m.logprobs(m.encode(s), [])[0]))
    elif cmd == "score":
        for s, t in zip(src, lines(sys.argv[4])):
            lp = m.logprobs(m.encode(s), t[:-1])
            v = lp[np.arange(len(t)), t]
            # as decode --score --scores: the sum, then each token's but
            # the final </s>'s
            print(fmt(np.concatenate([[v.sum()], v[:-1]])))
    elif cmd == "greedy":
        eos = int(sys.argv[4])
        for s in src:
            mem, out = m.encode(s), []
            while len(out) < 3 * len(s):
                lp = m.logprobs(mem, out)[-1]
                lp[m.ban] = -np.inf     # HF's bad_words_ids
                out.append(int(lp.argmax()))
                if out[-1] == eos:
                    break
            print(" ".join(map(str, out)))


if __name__ == "__main__":
    main()
