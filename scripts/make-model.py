#!/usr/bin/python3
"""make-model.py: a seqpipe model file with seeded random weights.

usage: make-model.py [options] CONFIG OUTPUT

CONFIG is one of the named architectures below; --d-model and the other
size options override its sizes (tests use tiny ones: the default for all
but "base").  The same CONFIG, options and --seed give the same file.

Random weights are made peaky on purpose: the last layer norm of the
decoder has gain --gain (default 8), so the log-probs of the top tokens
differ by whole units and greedy and beam outputs cannot flip on float
rounding between implementations; the EOS row of the output projection is
scaled by --eos-gain (default 1.6) so that hypotheses end at varied
lengths instead of running to the maximum.

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
    # separate vocabularies, untied embeddings, learned positions starting
    # at 2 (fairseq's padding_idx + 1), no embedding scale
    "untied": dict(TINY, positions="learned", position_offset=2,
                   embed_scale=1.0, src_vocab_size=160, tgt_vocab_size=112),
    # Transformer-base for benchmarks (paper sizes, 32k shared vocabulary)
    "base": dict(d_model=512, n_heads=8, d_ff=2048, encoder_layers=6,
                 decoder_layers=6, src_vocab_size=32000,
                 tgt_vocab_size=32000, max_positions=1024, tie_src_tgt=1,
                 tie_output=1, shared_vocab=1),
}

SIZE_OPTS = [("d-model", "d_model"), ("heads", "n_heads"), ("ff", "d_ff"),
             ("encoder-layers", "encoder_layers"),
             ("decoder-layers", "decoder_layers"),
             ("src-vocab", "src_vocab_size"), ("tgt-vocab", "tgt_vocab_size"),
             ("max-positions", "max_positions")]


def spm_pieces(blob):
    """Number of pieces in a serialized SentencePiece ModelProto: the
    top-level occurrences of field 1 (repeated SentencePiece pieces)."""
    def varint(i):
        v, shift = 0, 0
        while True:
            b = blob[i]
            v |= (b & 0x7F) << shift
            i += 1
            shift += 7
            if not b & 0x80:
                return v, i
    n, i = 0, 0
    while i < len(blob):
        key, i = varint(i)
        wire = key & 7
        if wire == 0:
            _, i = varint(i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            ln, i = varint(i)
            i += ln
        elif wire == 5:
            i += 4
        else:
            raise ValueError("not a SentencePiece model (wire type %d)" % wire)
        n += (key >> 3) == 1
    return n


def randomize(model, seed, gain, eos_gain):
    """Fills model's parameters from a generator seeded with seed, in name
    order; see the module docstring for the shaping."""
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
            elif name.endswith(".bias"):
                p.copy_(0.1 * r)
            else:                                       # linear (out, in)
                p.copy_(r / p.shape[1] ** 0.5)
        dec = model.decoder
        last = dec.layer_norm if dec.final else dec.layers[-1].final_layer_norm
        last.weight.mul_(gain)
        last.bias.mul_(gain)
        out = dec.table() if cfg.tie_output else model.output_projection.weight
        out[cfg.eos_id].mul_(eos_gain)


def main():
    ap = argparse.ArgumentParser(
        prog="make-model.py",
        usage="%(prog)s [options] CONFIG OUTPUT",
        description="Writes a seqpipe model file with seeded random weights "
                    "for a named configuration.",
        epilog="configs: " + ", ".join(CONFIGS),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("config", metavar="CONFIG", choices=sorted(CONFIGS),
                    help="architecture: " + ", ".join(CONFIGS))
    ap.add_argument("output", metavar="OUTPUT", help="model file to write")
    for opt, key in SIZE_OPTS:
        ap.add_argument("--" + opt, type=int, dest=key, metavar="N",
                        help="override the config's %s" % key)
    ap.add_argument("--layers", type=int, metavar="N",
                    help="encoder and decoder layers")
    ap.add_argument("--vocab", type=int, metavar="N",
                    help="source and target vocabulary size")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="set any config key (see seqpipe-model(5))")
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument("--gain", type=float, default=8.0,
                    help="gain of the decoder's last layer norm (peakiness)")
    ap.add_argument("--eos-gain", type=float, default=1.6,
                    help="scale of the EOS output row (how soon outputs end)")
    ap.add_argument("--spm-source", metavar="FILE",
                    help="SentencePiece model to embed as spm.source; sets "
                         "the source vocabulary size")
    ap.add_argument("--spm-target", metavar="FILE",
                    help="SentencePiece model to embed as spm.target; sets "
                         "the target vocabulary size")
    ap.add_argument("--model-id", help="model id [CONFIG-<hash of config, "
                                       "seed and options>]")
    a = ap.parse_args()

    c = dict(CONFIGS[a.config])
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
            c["src_vocab_size" if side == "source" else "tgt_vocab_size"] = \
                spm_pieces(spm[side])
    if c.get("shared_vocab") and "source" in spm:
        c["tgt_vocab_size"] = c["src_vocab_size"]
    if a.config == "marian":        # pad and start at the last id
        c["pad_id"] = c["decoder_start_id"] = c["tgt_vocab_size"] - 1
    for kv in a.set:
        k, _, v = kv.partition("=")
        c[k] = v
    try:
        cfg = sq.Config(**c).resolved()
        if cfg.shared_vocab and "target" in spm:
            raise ValueError("--spm-target with a shared vocabulary")
    except ValueError as e:
        sys.exit("make-model.py: %s" % e)

    torch.manual_seed(a.seed)
    model = sq.Seq2Seq(cfg)
    randomize(model, a.seed, a.gain, a.eos_gain)
    desc = json.dumps([cfg.to_metadata(), a.seed, a.gain, a.eos_gain,
                       [hashlib.sha256(b).hexdigest() for b in spm.values()]],
                      sort_keys=True)
    mid = a.model_id or "%s-%s" % (a.config,
                                   hashlib.sha256(desc.encode()).hexdigest()[:16])
    prov = "random weights: scripts/make-model.py %s (seed %d, gain %g, " \
           "eos-gain %g, torch %s)" % (" ".join(sys.argv[1:]), a.seed, a.gain,
                                       a.eos_gain, torch.__version__)
    sq.save(model, a.output, mid, prov, spm.get("source"), spm.get("target"))
    print("make-model.py: wrote %s (%s, %d parameters)" % (
        a.output, mid, sum(p.numel() for p in model.parameters())),
        file=sys.stderr)


if __name__ == "__main__":
    main()
