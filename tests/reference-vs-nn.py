#!/usr/bin/python3
"""The PyTorch reference (scripts/seqpipe_torch.py) against PyTorch's own
torch.nn.Transformer, through scripts/torch-to-seqpipe.py.

usage: tests/reference-vs-nn.py DIR [MODEL ...]

Builds models in the shape of PyTorch's translation tutorial
(Seq2SeqTransformer: nn.Transformer, TokenEmbedding scaled by sqrt(D),
PositionalEncoding with the paper's interleaved sinusoids, a generator
Linear) with random weights, saves their state dicts in DIR, converts them
(the CLI for one, the convert() function for the others, one torch start),
and compares on a padded batch: encoder outputs and decoder log-probs
within 1e-4, greedy outputs (nn.Transformer recomputing the whole prefix
each step, ours with its key/value cache) identical.  Also round-trips the
reference model's own state dict.  Then checks the reference against
itself on each seqpipe MODEL (from scripts/make-model.py): beam search
with k 1 gives greedy's ids, beam search with and without early stop give
the same n-best lists, and the cached decoder's log-probs equal the full
recomputation's.  Prints one line per check, "ok NAME" or
"not ok NAME: detail", and exits 1 if any failed (tests/model.bats reads
it).
"""

import argparse
import importlib.util
import math
import os
import subprocess
import sys

import torch
from torch import nn

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import seqpipe_torch as sq  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "torch_to_seqpipe", os.path.join(TOP, "scripts", "torch-to-seqpipe.py"))
t2s = importlib.util.module_from_spec(spec)
spec.loader.exec_module(t2s)

TOL = 1e-4
failed = 0


def check(name, cond, detail="", note=False):
    """Prints the result; the detail on failure, or always with note."""
    global failed
    if cond:
        print("ok %s" % name + (" (%s)" % detail if note else ""))
    else:
        print("not ok %s: %s" % (name, detail))
    failed += not cond


class TokenEmbedding(nn.Module):
    def __init__(self, vocab, d):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d)
        self.d = d

    def forward(self, tokens):
        return self.embedding(tokens) * math.sqrt(self.d)


class PositionalEncoding(nn.Module):
    def __init__(self, d, maxlen=64):
        super().__init__()
        den = torch.exp(-torch.arange(0, d, 2) * math.log(10000) / d)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pe = torch.zeros((maxlen, d))
        pe[:, 0::2] = torch.sin(pos * den)
        pe[:, 1::2] = torch.cos(pos * den)
        self.register_buffer("pos_embedding", pe)

    def forward(self, x):                   # (B, T, D), batch first
        return x + self.pos_embedding[None, :x.shape[1]]


class Seq2SeqTransformer(nn.Module):
    """The tutorial's model, batch first, with optional tying."""

    def __init__(self, layers, d, heads, ff, vs, vt, norm_first, act, tied):
        super().__init__()
        self.transformer = nn.Transformer(
            d_model=d, nhead=heads, num_encoder_layers=layers,
            num_decoder_layers=layers, dim_feedforward=ff, dropout=0.0,
            activation=act, batch_first=True, norm_first=norm_first)
        self.src_tok_emb = TokenEmbedding(vs, d)
        self.tied = tied
        if tied:
            self.tgt_tok_emb = self.src_tok_emb
        else:
            self.tgt_tok_emb = TokenEmbedding(vt, d)
            self.generator = nn.Linear(d, vt)
        self.positional_encoding = PositionalEncoding(d)

    def encode(self, src, pad):
        return self.transformer.encoder(
            self.positional_encoding(self.src_tok_emb(src)),
            src_key_padding_mask=pad)

    def decode(self, tgt, mem, pad):
        t = tgt.shape[1]
        causal = torch.triu(torch.full((t, t), float("-inf")), 1)
        out = self.transformer.decoder(
            self.positional_encoding(self.tgt_tok_emb(tgt)), mem,
            tgt_mask=causal, memory_key_padding_mask=pad)
        logits = (out @ self.tgt_tok_emb.embedding.weight.T if self.tied
                  else self.generator(out))
        return torch.log_softmax(logits, dim=-1)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * r)
            elif name.endswith("bias"):
                p.copy_(0.2 * r)
            elif "embedding" in name:
                p.copy_(r / math.sqrt(p.shape[1]))
            else:
                p.copy_(r / math.sqrt(p.shape[1]))
        # a peaky output, so that greedy outputs cannot flip on rounding
        for m in (model.transformer.decoder.norm,):
            m.weight.mul_(6)
            m.bias.mul_(6)


def nn_greedy(model, src, steps, start, eos):
    """Greedy search recomputing the whole prefix with nn.Transformer."""
    pad = torch.zeros(1, len(src), dtype=torch.bool)
    mem = model.encode(torch.tensor([src]), pad)
    out = [start]
    for _ in range(steps):
        tok = int(torch.argmax(model.decode(torch.tensor([out]), mem, pad)[0, -1]))
        if tok == eos:
            break
        out.append(tok)
    return out[1:]


def compare(name, nn_model, ours, g):
    vs = nn_model.src_tok_emb.embedding.weight.shape[0]
    vt = ours.cfg.tgt_vocab_size
    lens = torch.tensor([7, 3, 5, 1])
    src = torch.randint(4, vs, (4, 7), generator=g)
    pad = torch.arange(7)[None, :] >= lens[:, None]
    src = src.masked_fill(pad, 0)
    tgt = torch.randint(4, vt, (4, 6), generator=g)
    tgt[:, 0] = ours.cfg.decoder_start_id
    with torch.no_grad():
        want = nn_model.encode(src, pad)
        got = ours.encode(src, lens)
        d = (want - got)[~pad].abs().max().item()
        check("%s: encoder outputs equal nn.Transformer's" % name, d < TOL,
              "max abs difference %g" % d, True)
        want_lp = nn_model.decode(tgt, want, pad)
        got_lp = ours.decode_full(tgt, got, lens)
        d = (want_lp - got_lp).abs().max().item()
        check("%s: decoder log-probs equal nn.Transformer's" % name, d < TOL,
              "max abs difference %g" % d, True)
        same = True
        for i in range(4):
            s = src[i, :lens[i]].tolist()
            a = nn_greedy(nn_model, s, 12, ours.cfg.decoder_start_id,
                          ours.cfg.eos_id)
            b, _ = sq.greedy(ours, s, 12)
            same &= a == b
        check("%s: greedy (cached) equals nn.Transformer's (recomputed)" % name,
              same, "outputs differ")


def self_check(name, model, g):
    """The reference's search and cache against itself on model."""
    cfg = model.cfg
    srcs = [torch.randint(0, cfg.src_vocab_size, (n,), generator=g).tolist()
            for n in (0, 1, 3, 5, 8, 12)]
    same = all(sq.greedy(model, s, 20)[0] ==
               sq.beam_search(model, s, 1, max_len=20)[0][2] for s in srcs)
    check("%s: beam search with k 1 gives greedy's ids" % name, same,
          "outputs differ")
    same = all(sq.beam_search(model, s, 4, 1.0, 20, 0, 3) ==
               sq.beam_search(model, s, 4, 1.0, 20, 0, 3, early_stop=False)
               for s in srcs)
    check("%s: early stop does not change the 3-best of k 4" % name, same,
          "outputs differ")
    d = 0.0
    with torch.no_grad():
        for s in srcs:
            ids, _ = sq.greedy(model, s, 12)
            mem, n, _ = sq._encode_one(model, s)
            t = torch.tensor([[cfg.decoder_start_id] + ids])
            full = model.decode_full(t, mem, n)[0]
            st = model.start(mem, n)
            inc = torch.stack([st.step(t[:, i])[0] for i in range(t.shape[1])])
            d = max(d, (full - inc).abs().max().item())
    check("%s: cached decoder equals full recomputation" % name, d < TOL,
          "max abs difference %g" % d, True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(3)

    cases = [
        # name, norm_first, activation, tied, converter options
        ("post-norm relu", False, "relu", False, []),
        ("pre-norm gelu tied", True, "gelu", True,
         ["--pre-norm", "--activation", "gelu", "--tgt-embed", "none",
          "--output", "tied", "--shared-vocab"]),
    ]
    for i, (name, nf, act, tied, opts) in enumerate(cases):
        nn_model = Seq2SeqTransformer(2, 32, 4, 64, 50, 50 if tied else 40,
                                      nf, act, tied)
        randomize(nn_model, 10 + i)
        nn_model.eval()
        pt = os.path.join(a.dir, "nn-%d.pt" % i)
        sqf = os.path.join(a.dir, "nn-%d.sq" % i)
        torch.save(nn_model.state_dict(), pt)
        if i == 0:      # the command line, once
            r = subprocess.run([os.path.join(TOP, "scripts", "torch-to-seqpipe.py"),
                                "--n-heads", "4", pt, sqf],
                               capture_output=True, text=True)
            check("torch-to-seqpipe.py converts an nn.Transformer state dict",
                  r.returncode == 0, r.stderr.strip())
            if r.returncode:
                continue
        else:
            p = argparse.ArgumentParser()
            t2s.add_options(p)
            model, _ = t2s.convert(torch.load(pt), p.parse_args(["--n-heads", "4"] + opts))
            sq.save(model, sqf, "nn-%d" % i, "test")
        compare(name, nn_model, sq.load(sqf), g)

    # the reference model's own state dict converts to the same tensors
    cfg = sq.Config(d_model=16, n_heads=2, d_ff=24, encoder_layers=1,
                    decoder_layers=2, src_vocab_size=30, tgt_vocab_size=20,
                    positions="learned", max_positions=40, output_bias=1,
                    decoder_final_norm=1, pre_norm=1, activation="silu")
    ref = sq.Seq2Seq(cfg)
    pt = os.path.join(a.dir, "own.pt")
    torch.save(ref.state_dict(), pt)
    p = argparse.ArgumentParser()
    t2s.add_options(p)
    back, _ = t2s.convert(torch.load(pt), p.parse_args(
        ["--n-heads", "2", "--pre-norm", "--activation", "silu"]))
    sd1, sd2 = ref.state_dict(), back.state_dict()
    check("the reference's own state dict converts unchanged",
          sd1.keys() == sd2.keys() and all(torch.equal(sd1[k], sd2[k]) for k in sd1)
          and back.cfg.to_metadata() == ref.cfg.to_metadata(),
          "tensors or config differ")
    for path in a.models:
        self_check(os.path.basename(path), sq.load(path), g)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
