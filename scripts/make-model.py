#!/usr/bin/python3
"""make-model.py: a seqpipe model file with seeded random weights.

usage: make-model.py [options] CONFIG OUTPUT [CONFIG OUTPUT ...]

CONFIG is one of these architectures (tiny sizes, for tests: d 32, 4
heads, FFN 64, 2+2 layers, vocabulary 128, 256 positions, unless said):
  paper         post-norm, ReLU, interleaved sinusoids, everything tied
  prenorm-gelu  pre-norm, GELU, final norms, tied output, target
                vocabulary 96, layer_norm_eps 1e-6
  marian        post-norm, SiLU, sin-half sinusoids, everything tied,
                output bias, EOS 0, UNK 1, no BOS, pad = start = last id
  zero-start    marian's, but the decoder starts from the zero vector
                (decoder_start_id -1, no pad) and the positions are
                sinusoidal_half_hf, layer_norm_eps 1e-6
  untied        vocabularies 160 and 112, nothing tied, learned positions
                starting at 2, embed_scale 1
  copy          paper's, with the copy mechanism (copy 1: a
                pointer-generator, seqpipe-model(5))
  nat           non-autoregressive (config nat, nat_max_offset 4):
                pre-norm, GELU, a final norm on the decoder, output bias,
                untied's vocabularies and positions
  base          Transformer-base: 6+6 layers, d 512, 8 heads, FFN 2048,
                shared vocabulary 32000, everything tied
  opus          OPUS-MT's shape (Marian's transformer-align as most
                releases have it): base's sizes with marian's features
                and a shared vocabulary of 58101
  rnn           arch rnn: bidirectional GRU encoder, GRU decoder with
                attention, d 32, 2+2 layers, vocabularies 128 and 96,
                nothing tied, output bias
  frames        input frames: 8-value frames stacked by 3, encoder
                self-attention within 4 positions, pre-norm, tied output,
                no source vocabulary
--d-model and the other size options override the sizes; --spm-source and
--spm-target set the vocabulary sizes and the special ids from the
SentencePiece models they embed.  The same CONFIG, options and --seed
give the same file.  Several CONFIG OUTPUT pairs make several models in
one run (torch starts slowly), all with the same options.

Random weights are made peaky on purpose: the last layer norm of the
decoder has gain --gain (default 8; arch rnn, without norms: the output
projection is multiplied by it), so the log-probs of the top tokens
differ by whole units and greedy and beam outputs cannot flip on float
rounding between implementations (a copy model's gate weight is scaled
by 2/gain, so that its logit stays within a few units and both parts of
the mixture count).  The EOS row of the output projection
is then scaled so that EOS is the most likely token in a fraction
--eos-rate (default 0.15) of the decoder states of random prefixes; in
greedy runs, random models still fall into loops, so expect a mix of
early EOS, later EOS and hypotheses that run to the maximum length.

Examples:
  scripts/make-model.py paper tiny.sq
  scripts/make-model.py base --spm-source spm.model base.sq
  scripts/make-model.py untied --d-model 48 --heads 4 --layers 2 \\
      --src-vocab 200 --tgt-vocab 150 --seed 7 untied.sq
"""

import argparse
import hashlib
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seqpipe_torch as sq  # noqa: E402

TINY = dict(d_model=32, n_heads=4, d_ff=64, encoder_layers=2,
            decoder_layers=2, src_vocab_size=128, tgt_vocab_size=128,
            max_positions=256)

CONFIGS = {
    # Vaswani et al. 2017: post-norm, ReLU, interleaved sinusoids, one
    # shared vocabulary, all embeddings tied
    "paper": dict(TINY, tie_src_tgt=1, tie_output=1, shared_vocab=1),
    # pre-norm GELU with final norms (fairseq --*-normalize-before, T2T)
    "prenorm-gelu": dict(TINY, pre_norm=1, activation="gelu",
                         encoder_final_norm=1, decoder_final_norm=1,
                         tie_output=1, tgt_vocab_size=96,
                         layer_norm_eps=1e-6),
    # Marian: SiLU (swish), sin-half positions, everything tied, output
    # bias; Marian's ids: </s> 0, <unk> 1, decoding starts from the pad
    # (last id), as Hugging Face's Marian port does
    "marian": dict(TINY, activation="silu", positions="sinusoidal_half",
                   tie_src_tgt=1, tie_output=1, output_bias=1,
                   shared_vocab=1, eos_id=0, unk_id=1, bos_id=-1,
                   pad_id=127, decoder_start_id=127),
    # Marian as seqimport makes it: the decoder starts from a zero vector;
    # with Hugging Face's position frequencies
    "zero-start": dict(TINY, activation="silu", positions="sinusoidal_half_hf",
                       tie_src_tgt=1, tie_output=1, output_bias=1,
                       shared_vocab=1, eos_id=0, unk_id=1, bos_id=-1,
                       pad_id=-1, decoder_start_id=-1, layer_norm_eps=1e-6),
    # separate vocabularies, untied embeddings, learned positions starting
    # at 2 (fairseq's padding_idx + 1), no embedding scale
    "untied": dict(TINY, positions="learned", position_offset=2,
                   embed_scale=1.0, src_vocab_size=160, tgt_vocab_size=112),
    # the paper's with the pointer-generator's copy mechanism
    "copy": dict(TINY, tie_src_tgt=1, tie_output=1, shared_vocab=1, copy=1),
    # non-autoregressive, untied: the decoder's copies must come from
    # the source table and its positions from the decoder's
    "nat": dict(TINY, pre_norm=1, decoder_final_norm=1, activation="gelu",
                output_bias=1, positions="learned", position_offset=2,
                src_vocab_size=160, tgt_vocab_size=112, nat=1,
                nat_max_offset=4),
    # Transformer-base for benchmarks (paper sizes, 32k shared vocabulary)
    "base": dict(d_model=512, n_heads=8, d_ff=2048, encoder_layers=6,
                 decoder_layers=6, src_vocab_size=32000,
                 tgt_vocab_size=32000, max_positions=1024, tie_src_tgt=1,
                 tie_output=1, shared_vocab=1),
}
# arch rnn: a bidirectional GRU encoder, a GRU decoder with attention;
# separate vocabularies, nothing tied, an output bias
CONFIGS["rnn"] = dict(d_model=32, encoder_layers=2, decoder_layers=2,
                      src_vocab_size=128, tgt_vocab_size=96,
                      max_positions=256, arch="rnn", output_bias=1)
# a model of feature frames (speech-like input): stacked by 3, windowed
CONFIGS["frames"] = dict(TINY, input="frames", frame_dim=8, subsample=3,
                         attention_window=4, src_vocab_size=0, pre_norm=1,
                         encoder_final_norm=1, decoder_final_norm=1,
                         tie_output=1)
# OPUS-MT's shape for benchmarks (opus-mt-en-de: 6+6, d 512, 58101 pieces)
CONFIGS["opus"] = dict(CONFIGS["marian"], **{k: CONFIGS["base"][k] for k in (
    "d_model", "n_heads", "d_ff", "encoder_layers", "decoder_layers",
    "max_positions")}, src_vocab_size=58101, tgt_vocab_size=58101,
    pad_id=58100, decoder_start_id=58100)

SIZE_OPTS = [("d-model", "d_model"), ("heads", "n_heads"), ("ff", "d_ff"),
             ("encoder-layers", "encoder_layers"),
             ("decoder-layers", "decoder_layers"),
             ("src-vocab", "src_vocab_size"), ("tgt-vocab", "tgt_vocab_size"),
             ("max-positions", "max_positions")]


def randomize(model, seed, gain, eos_gain=1.0):
    """Fills model's parameters from a generator seeded with seed, in name
    order; see the module docstring for the shaping.  eos_gain scales the
    EOS output row (tests/engine_ref.py uses 1.6; make() calibrates it
    with calibrate_eos() instead)."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=g)
            if name.endswith("embed_tokens.weight"):
                p.copy_(r / cfg.embed_scale)            # unit after scaling
            elif name.endswith("embed_positions.weight"):
                p.copy_(0.5 * r)
            elif "norm" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.1 * r)
            elif name.endswith(".bias") or ".rnn.bias_" in name:
                p.copy_(0.1 * r)
            elif name == "decoder.p_gen.weight":
                p.copy_(2.0 / gain * r / p.shape[1] ** 0.5)
            else:                                       # linear (out, in)
                p.copy_(r / p.shape[1] ** 0.5)
        dec = model.decoder
        out = dec.table() if cfg.tie_output else model.output_projection.weight
        if cfg.arch == "rnn":           # no norm: the output rows instead
            out.mul_(gain)
        else:
            last = dec.layer_norm if dec.final else dec.layers[-1].final_layer_norm
            last.weight.mul_(gain)
            last.bias.mul_(gain)
        out[cfg.eos_id].mul_(eos_gain)


@torch.no_grad()
def calibrate_eos(model, seed, rate):
    """Scales the EOS output row so that EOS wins in a fraction rate of
    the decoder states of 64 random sentence pairs (its direction stays)."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed + 1)
    b, t, s = 64, min(32, sq.max_steps(cfg, 32)), 16
    src_len = torch.randint(1, s + 1, (b,), generator=g)
    if cfg.input == "frames":
        n = src_len * cfg.subsample
        f = torch.randn(b, s * cfg.subsample, cfg.frame_dim, generator=g)
        f *= (torch.arange(f.shape[1])[None, :] < n[:, None])[..., None]
        mem, src_len = model.encode_frames(f, n)
    else:
        src = torch.randint(0, cfg.src_vocab_size, (b, s), generator=g)
        mem = model.encode(src, src_len)
    tgt = torch.randint(0, cfg.tgt_vocab_size, (b, t), generator=g)
    tgt[tgt == cfg.eos_id] = (cfg.eos_id + 1) % cfg.tgt_vocab_size
    tgt[:, 0] = cfg.decoder_start_id
    x = model.decoder_hidden(tgt, mem, src_len)
    x = x.reshape(-1, cfg.d_model)
    w = model.decoder.table() if cfg.tie_output else model.output_projection.weight
    bias = getattr(model.output_projection, "bias", None)
    logits = F.linear(x, w, bias)
    logits[:, cfg.eos_id] = float("-inf")
    # EOS wins where c (x . u) + b_eos > the best other logit
    need = logits.max(-1).values - (bias[cfg.eos_id] if bias is not None else 0)
    u = w[cfg.eos_id] / w[cfg.eos_id].norm()
    a = x @ u
    c = torch.where(a > 0, need / a, torch.full_like(a, float("inf")))
    c = torch.sort(c).values[min(int(rate * len(c)), len(c) - 1)]
    if torch.isfinite(c) and c > 0:
        w[cfg.eos_id] = u * c


def main():
    ap = argparse.ArgumentParser(
        prog="make-model.py",
        usage="%(prog)s [options] CONFIG OUTPUT [CONFIG OUTPUT ...]",
        description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", nargs="+", metavar="CONFIG OUTPUT",
                    help="architecture (%s) and the model file to write"
                    % ", ".join(CONFIGS))
    for opt, key in SIZE_OPTS:
        ap.add_argument("--" + opt, type=int, dest=key, metavar="N",
                        help="the config's %s" % key)
    ap.add_argument("--layers", type=int, metavar="N",
                    help="encoder and decoder layers")
    ap.add_argument("--vocab", type=int, metavar="N",
                    help="source and target vocabulary size")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="set any config key (see seqpipe-model(5))")
    ap.add_argument("--seed", type=int, default=1, metavar="N",
                    help="random seed [1]")
    ap.add_argument("--gain", type=float, default=8.0, metavar="X",
                    help="gain of the decoder's last layer norm [8]")
    ap.add_argument("--eos-rate", type=float, default=0.15, metavar="X",
                    help="how often EOS wins in random decoder states [0.15]")
    ap.add_argument("--spm-source", metavar="FILE",
                    help="SentencePiece model to embed as spm.source; sets "
                         "the source vocabulary size and the special ids")
    ap.add_argument("--spm-target", metavar="FILE",
                    help="SentencePiece model to embed as spm.target; sets "
                         "the target vocabulary size and the special ids")
    ap.add_argument("--model-id", help="model id [CONFIG-<hash of config, "
                                       "seed and options>]")
    a = ap.parse_intermixed_args()     # options may follow CONFIG
    if len(a.pairs) % 2:
        ap.error("CONFIG and OUTPUT come in pairs")
    for name, output in zip(a.pairs[0::2], a.pairs[1::2]):
        if name not in CONFIGS:
            ap.error("unknown config %r (valid: %s)" % (name, ", ".join(CONFIGS)))
        make(a, name, output)


def make(a, name, output):
    """Writes the model CONFIG name with the options a to output."""
    c = dict(CONFIGS[name])
    if a.layers is not None:
        c["encoder_layers"] = c["decoder_layers"] = a.layers
    if a.vocab is not None:
        c["src_vocab_size"] = c["tgt_vocab_size"] = a.vocab
    for _, key in SIZE_OPTS:
        if getattr(a, key) is not None:
            c[key] = getattr(a, key)
    spm = {}
    for side, path in (("source", a.spm_source), ("target", a.spm_target)):
        if path:
            with open(path, "rb") as f:
                spm[side] = f.read()
            n, ids = sq.spm_info(spm[side])
            c["src_vocab_size" if side == "source" else "tgt_vocab_size"] = n
            c.update(ids)   # the special ids are the SentencePiece model's
            c.pop("decoder_start_id", None)
    if c.get("shared_vocab") and "source" in spm:
        c["tgt_vocab_size"] = c["src_vocab_size"]
    if name == "marian" and not spm:    # pad and start at the last id
        c["pad_id"] = c["decoder_start_id"] = c["tgt_vocab_size"] - 1
    for kv in a.set:
        k, _, v = kv.partition("=")
        c[k] = v
    try:
        cfg = sq.Config(**c).resolved()
        if cfg.shared_vocab and "target" in spm:
            raise ValueError("--spm-target with a shared vocabulary")
    except ValueError as e:
        sys.exit("make-model.py: %s: %s" % (name, e))

    torch.manual_seed(a.seed)
    model = sq.new_model(cfg)
    randomize(model, a.seed, a.gain)
    if not cfg.nat:     # a nat model's outputs never hold EOS
        calibrate_eos(model.eval(), a.seed, a.eos_rate)
    desc = json.dumps([cfg.to_metadata(), a.seed, a.gain, a.eos_rate,
                       [hashlib.sha256(b).hexdigest() for b in spm.values()]],
                      sort_keys=True)
    mid = a.model_id or "%s-%s" % (name,
                                   hashlib.sha256(desc.encode()).hexdigest()[:16])
    # not the command line: the same model made into another path must
    # be the same bytes; sizes and variants are in the config keys
    prov = "random weights: scripts/make-model.py %s (seed %d, gain %g, " \
           "eos-rate %g, torch %s%s)" % (
               name, a.seed, a.gain, a.eos_rate, torch.__version__,
               "".join(", %s %s" % (k, os.path.basename(v)) for k, v in
                       (("spm-source", a.spm_source),
                        ("spm-target", a.spm_target)) if v))
    sq.save(model, output, mid, prov, spm.get("source"), spm.get("target"))
    print("make-model.py: wrote %s (%s, %d parameters)" % (
        output, mid, sum(p.numel() for p in model.parameters())),
        file=sys.stderr)


if __name__ == "__main__":
    main()
