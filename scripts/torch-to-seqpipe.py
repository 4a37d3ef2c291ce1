#!/usr/bin/python3
"""torch-to-seqpipe.py: converts a PyTorch state dict into a seqpipe model.

usage: torch-to-seqpipe.py [options] --n-heads N INPUT OUTPUT

INPUT is a file written by torch.save(): a state dict, a dict holding one
under "state_dict" or "model", or a whole nn.Module.  Two naming schemes
are understood:

1. A torch.nn.Transformer-based model, as in PyTorch's translation
   tutorial (Seq2SeqTransformer).  The nn.Transformer's keys are found
   under --prefix (default: found by looking for
   "encoder.layers.0.self_attn.in_proj_weight") and mapped:
     encoder.layers.I.self_attn.in_proj_{weight,bias}   split in three:
        -> encoder.layers.I.self_attn.{q,k,v}_proj.{weight,bias}
     encoder.layers.I.self_attn.out_proj.*  -> ...self_attn.out_proj.*
     encoder.layers.I.linear1.*, linear2.*  -> ...fc1.*, fc2.*
     encoder.layers.I.norm1.*, norm2.*      -> ...self_attn_layer_norm.*,
                                               ...final_layer_norm.*
     decoder.layers.I.self_attn.*           -> ...self_attn.* (split alike)
     decoder.layers.I.multihead_attn.*      -> ...encoder_attn.*
     decoder.layers.I.norm1, norm2, norm3   -> ...self_attn_layer_norm,
                                      encoder_attn_layer_norm, final_layer_norm
     encoder.norm.*, decoder.norm.*         -> {encoder,decoder}.layer_norm.*
                                               (sets *_final_norm)
   and the parts nn.Transformer lacks come from --src-embed
   (default src_tok_emb.embedding.weight), --tgt-embed (default
   tgt_tok_emb.embedding.weight; the same name as --src-embed, or "none",
   ties them), --output (default generator: its .weight and .bias; "tied"
   uses the target embeddings), --src-positions/--tgt-positions (learned
   position tables, else sinusoids are recomputed and any buffer such as
   positional_encoding.pos_embedding is ignored with a note).  norm_first
   is not in a state dict: say --pre-norm.  The tutorial's model is
   --positions sinusoidal with the default embed_scale sqrt(D).

2. seqpipe's own names (the state_dict() of scripts/seqpipe_torch.py's
   Seq2Seq, the model file's tensor names): copied as they are.

Sizes, layer counts, ties, output bias, learned positions and final norms
come from the tensors, the special ids from the SentencePiece models if
given; everything else (and any of those) from the options (--set KEY=VALUE
for any config key of seqpipe-model(5)).  The result is loaded back into
the reference model (strict) before it is written.

Example:
  torch-to-seqpipe.py --n-heads 8 --activation relu \\
      --spm-source src.model --spm-target tgt.model model.pt model.sq
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seqpipe_torch as sq  # noqa: E402

NN_LAYER = {  # nn.Transformer layer part -> seqpipe part, per stack
    "encoder": {"self_attn": "self_attn", "linear1": "fc1", "linear2": "fc2",
                "norm1": "self_attn_layer_norm", "norm2": "final_layer_norm"},
    "decoder": {"self_attn": "self_attn", "multihead_attn": "encoder_attn",
                "linear1": "fc1", "linear2": "fc2",
                "norm1": "self_attn_layer_norm",
                "norm2": "encoder_attn_layer_norm",
                "norm3": "final_layer_norm"},
}


def load_state(path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    for k in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(k), dict):
            return obj[k]
    if not isinstance(obj, dict):
        raise ValueError("not a state dict")
    return obj


def find_prefix(state):
    for k in state:
        if k.endswith("encoder.layers.0.self_attn.in_proj_weight"):
            return k[:-len("encoder.layers.0.self_attn.in_proj_weight")]
    return None


def map_nn_transformer(state, prefix, opts, notes):
    """{seqpipe name: tensor} from an nn.Transformer-based state dict."""
    out, used = {}, set()
    for k, v in state.items():
        if not k.startswith(prefix):
            continue
        parts = k[len(prefix):].split(".")
        side = parts[0]
        if side not in NN_LAYER:
            continue
        if parts[1] == "norm":                       # the stack's final norm
            out["%s.layer_norm.%s" % (side, parts[2])] = v
        elif parts[1] == "layers":
            i, part, rest = parts[2], parts[3], parts[4:]
            name = NN_LAYER[side].get(part)
            if name is None:
                raise ValueError("unknown nn.Transformer key %s" % k)
            base = "%s.layers.%s.%s" % (side, i, name)
            if rest[0] in ("in_proj_weight", "in_proj_bias"):
                kind = "weight" if rest[0] == "in_proj_weight" else "bias"
                for proj, chunk in zip(("q_proj", "k_proj", "v_proj"),
                                       torch.chunk(v, 3, dim=0)):
                    out["%s.%s.%s" % (base, proj, kind)] = chunk
            else:
                out["%s.%s" % (base, ".".join(rest))] = v
        else:
            raise ValueError("unknown nn.Transformer key %s" % k)
        used.add(k)

    def take(name, to):
        if name not in state:
            raise ValueError("no tensor %s in the input (see --help)" % name)
        out[to] = state[name]
        used.add(name)

    take(opts.src_embed, "encoder.embed_tokens.weight")
    if opts.tgt_embed not in ("none", opts.src_embed):
        take(opts.tgt_embed, "decoder.embed_tokens.weight")
    if opts.output_layer != "tied":
        take(opts.output_layer + ".weight", "output_projection.weight")
    if opts.output_layer + ".bias" in state:
        take(opts.output_layer + ".bias", "output_projection.bias")
    if opts.src_positions:
        take(opts.src_positions, "encoder.embed_positions.weight")
        take(opts.tgt_positions or opts.src_positions,
             "decoder.embed_positions.weight")
    for k in state:
        if k not in used:
            notes.append("ignored %s%s" % (k, " (sinusoids are recomputed)"
                                           if "pos" in k else ""))
    return out


def derive_config(t, opts, spm=(None, None)):
    """The config the tensors imply, completed by the special ids of the
    SentencePiece models spm (source, target; bytes or None, the target's
    ids winning) and then by the options."""
    c = {}
    emb = t["encoder.embed_tokens.weight"]
    c["d_model"] = emb.shape[1]
    c["src_vocab_size"] = emb.shape[0]
    c["tie_src_tgt"] = int("decoder.embed_tokens.weight" not in t)
    tgt = t.get("decoder.embed_tokens.weight", t.get("output_projection.weight", emb))
    c["tgt_vocab_size"] = tgt.shape[0]
    c["tie_output"] = int("output_projection.weight" not in t)
    c["output_bias"] = int("output_projection.bias" in t)
    c["d_ff"] = t["encoder.layers.0.fc1.weight"].shape[0]
    for side in ("encoder", "decoder"):
        c[side + "_layers"] = 1 + max(int(k.split(".")[2]) for k in t
                                      if k.startswith(side + ".layers."))
        c[side + "_final_norm"] = int(side + ".layer_norm.weight" in t)
    if "encoder.embed_positions.weight" in t:
        c["positions"] = "learned"
        c["max_positions"] = t["encoder.embed_positions.weight"].shape[0]
    elif opts.positions:
        c["positions"] = opts.positions
    c["n_heads"] = opts.n_heads
    for blob, side in zip(spm, ("src", "tgt")):
        if blob is None:
            continue
        n, ids = sq.spm_info(blob)
        if n != c[side + "_vocab_size"]:
            raise ValueError("the %s SentencePiece model has %d pieces, the "
                             "model's %s vocabulary %d" % (
                                 "source" if side == "src" else "target", n,
                                 side, c[side + "_vocab_size"]))
        c.update(ids)
    for key in ("pre_norm", "activation", "position_offset", "embed_scale",
                "layer_norm_eps", "max_positions", "bos_id", "eos_id",
                "pad_id", "unk_id", "decoder_start_id", "shared_vocab"):
        v = getattr(opts, key)
        if v is not None and v is not False:
            c[key] = int(v) if v is True else v
    for kv in opts.set:
        k, _, v = kv.partition("=")
        c[k] = v
    return sq.Config(**c).resolved()


def convert(state, opts, spm=(None, None)):
    """(Seq2Seq with the weights loaded, notes) from a state dict; spm as
    derive_config() takes it."""
    notes = []
    if "encoder.embed_tokens.weight" in state:
        t = {k: v for k, v in state.items()}
    else:
        prefix = opts.prefix if opts.prefix is not None else find_prefix(state)
        if prefix is None:
            raise ValueError("neither seqpipe names nor an nn.Transformer "
                             "(no ...encoder.layers.0.self_attn.in_proj_weight)")
        t = map_nn_transformer(state, prefix, opts, notes)
    t = {k: torch.as_tensor(v).float() for k, v in t.items()}
    if opts.n_heads is None and not any(s.startswith("n_heads=") for s in opts.set):
        raise ValueError("--n-heads is required (a state dict does not say)")
    cfg = derive_config(t, opts, spm)
    if cfg.shared_vocab and spm[1] is not None:
        raise ValueError("--spm-target with a shared vocabulary")
    model = sq.Seq2Seq(cfg)
    missing, unexpected = model.load_state_dict(t, strict=False)
    if missing or unexpected:
        raise ValueError("tensors do not fit the config: missing %s, "
                         "unexpected %s" % (missing, unexpected))
    return model.eval(), notes


def add_options(ap):
    ap.add_argument("--n-heads", type=int, metavar="N",
                    help="attention heads (required)")
    ap.add_argument("--prefix", help="where the nn.Transformer's keys start "
                    "[found]")
    ap.add_argument("--src-embed", default="src_tok_emb.embedding.weight",
                    metavar="NAME", help="source embeddings "
                    "[src_tok_emb.embedding.weight]")
    ap.add_argument("--tgt-embed", default="tgt_tok_emb.embedding.weight",
                    metavar="NAME", help="target embeddings, or 'none': "
                    "tied [tgt_tok_emb.embedding.weight]")
    ap.add_argument("--output", default="generator", metavar="NAME",
                    dest="output_layer",
                    help="output Linear (NAME.weight, NAME.bias) or 'tied' "
                    "[generator]")
    ap.add_argument("--src-positions", metavar="NAME",
                    help="learned source positions (P, D)")
    ap.add_argument("--tgt-positions", metavar="NAME",
                    help="learned target positions [--src-positions]")
    ap.add_argument("--positions", choices=sq.POSITIONS[:2],
                    help="sinusoid layout without learned positions "
                         "[sinusoidal]")
    ap.add_argument("--pre-norm", action="store_true",
                    help="the model was built with norm_first=True")
    ap.add_argument("--activation", choices=sq.ACTIVATIONS)
    ap.add_argument("--position-offset", type=int, metavar="N")
    ap.add_argument("--embed-scale", type=float, metavar="X",
                    help="[sqrt(d_model)]")
    ap.add_argument("--layer-norm-eps", type=float, metavar="X", help="[1e-5]")
    ap.add_argument("--max-positions", type=int, metavar="N", help="[1024]")
    for k, d in (("bos", 1), ("eos", 2), ("pad", 0), ("unk", 3)):
        ap.add_argument("--%s-id" % k, type=int, metavar="ID", help="[%d]" % d)
    ap.add_argument("--decoder-start-id", type=int, metavar="ID",
                    help="[bos id]")
    ap.add_argument("--shared-vocab", action="store_true",
                    help="one SentencePiece model for both sides")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="any config key")


def main():
    ap = argparse.ArgumentParser(
        prog="torch-to-seqpipe.py",
        usage="%(prog)s [options] --n-heads N INPUT OUTPUT",
        description="Converts a PyTorch state dict into a seqpipe model file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    ap.add_argument("input", metavar="INPUT")
    ap.add_argument("output", metavar="OUTPUT")
    add_options(ap)
    ap.add_argument("--spm-source", metavar="FILE",
                    help="SentencePiece model to embed; its size must be the "
                    "source vocabulary's, and its special ids are taken "
                    "unless given")
    ap.add_argument("--spm-target", metavar="FILE",
                    help="the same for the target side (its ids win)")
    ap.add_argument("--model-id", help="[converted-<hash of the weights>]")
    ap.add_argument("--provenance", default="",
                    help="how the model was trained (prepended to ours)")
    a = ap.parse_args()
    try:
        spm = []
        for path in (a.spm_source, a.spm_target):
            if path:
                with open(path, "rb") as f:
                    spm.append(f.read())
            else:
                spm.append(None)
        model, notes = convert(load_state(a.input), a, spm)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        sys.exit("torch-to-seqpipe.py: %s: %s" % (a.input, e))
    for n in notes:
        print("torch-to-seqpipe.py: note: %s" % n, file=sys.stderr)
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(np.ascontiguousarray(v.numpy()).tobytes())
    mid = a.model_id or "converted-" + h.hexdigest()[:16]
    prov = ((a.provenance + "; ") if a.provenance else "") + \
        "converted from %s by scripts/torch-to-seqpipe.py %s" % (
            os.path.basename(a.input), " ".join(sys.argv[1:]))
    sq.save(model, a.output, mid, prov, spm[0], spm[1])
    print("torch-to-seqpipe.py: wrote %s (%s)" % (a.output, mid), file=sys.stderr)


if __name__ == "__main__":
    main()
