#!/usr/bin/python3
"""make-marian.py: a tiny fake OPUS-MT release, written from
shared/marian-format.md (not from seqpipe's code), for tests/seqimport.bats.

    make-marian.py OUT SRC.model SRC.vocab TRG.model TRG.vocab [options]

OUT is a .zip (the release as downloaded) or a folder (as unpacked).  The
SentencePiece models are copied in as source.spm and target.spm; their
.vocab files (spm_train's "piece<TAB>score" lines) give the pieces.

Vocabulary forms (§1.1, §3.6):
  --vocab yml   one joint opus.spm.vocab.yml, "cat src trg | sort -u" then
                numbered in sorted order (vocab2yaml.py), written by
                PyYAML, so </s> and <unk> are not at 0 and 1; one Wemb
                (tied-embeddings-all)
  --vocab text  opus.src.vocab and opus.trg.vocab, one piece per line in
                spm order; encoder_Wemb and decoder_Wemb, the output tied
                to decoder_Wemb (tied-embeddings)
Weights are random: W [in, out], b [1, out], layer norms [1, d] (§2.1).
--bias PIECE=X sets the output bias of a target piece (to make <unk> or
a byte piece win); --decoder KEY=VALUE sets a decoder.yml key (VALUE in
YAML; empty: the key left out).
"""
import argparse
import io
import os
import shutil
import sys
import zipfile

import numpy as np
import yaml

D, H, F, ENC, DEC = 16, 2, 32, 2, 2


def pieces(vocab_path):
    with open(vocab_path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t")[0] for line in f]


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def model_yml(a, vs, vt):
    """special:model.yml: sorted keys, block style (§1.3)."""
    keys = {
        "dec-depth": DEC, "dim-emb": D, "dim-vocabs": [vs, vt],
        "enc-depth": ENC, "transformer-dim-ffn": a.yml_ffn or F,
        "transformer-ffn-activation": a.act, "transformer-ffn-depth": 2,
        "transformer-heads": H, "transformer-postprocess": "dan",
        "transformer-postprocess-emb": "d", "transformer-preprocess": "",
        "transformer-decoder-autoreg": a.autoreg,
        "transformer-tied-layers": [], "type": "transformer",
        "version": "v1.11.0 fake 2021-01-01",
        "tied-embeddings": a.vocab == "text" and a.output == "tied",
        "tied-embeddings-all": a.vocab == "yml" and a.output == "tied",
        "tied-embeddings-src": a.vocab == "yml" and a.output != "tied",
    }
    if a.autoreg == "rnn":
        keys["dec-cell"] = "ssru"
    return yaml.dump(keys, default_flow_style=False, sort_keys=True)


def weights(a, vs, vt, rng):
    def r(*shape, s=0.3):
        return (rng.standard_normal(shape) * s).astype(np.float32)

    w = {}
    if a.vocab == "yml":
        w["Wemb"] = r(vs, D)
    else:
        w["encoder_Wemb"] = r(vs, D)
        w["decoder_Wemb"] = r(vt, D)

    def attn(p, name):
        for x in "qkvo":
            w[f"{p}_{name}_W{x}"] = r(D, D)
            w[f"{p}_{name}_b{x}"] = r(1, D, s=0.1)
        w[f"{p}_{name}_Wo_ln_scale"] = (1 + r(1, D, s=0.1))
        w[f"{p}_{name}_Wo_ln_bias"] = r(1, D, s=0.1)

    def ffn(p):
        w[f"{p}_ffn_W1"] = r(D, F)
        w[f"{p}_ffn_b1"] = r(1, F, s=0.1)
        w[f"{p}_ffn_W2"] = r(F, D)
        w[f"{p}_ffn_b2"] = r(1, D, s=0.1)
        w[f"{p}_ffn_ffn_ln_scale"] = (1 + r(1, D, s=0.1))
        w[f"{p}_ffn_ffn_ln_bias"] = r(1, D, s=0.1)

    for i in range(1, ENC + 1):
        attn(f"encoder_l{i}", "self")
        ffn(f"encoder_l{i}")
    for i in range(1, DEC + 1):
        p = f"decoder_l{i}"
        if a.autoreg == "self-attention":
            attn(p, "self")
        elif a.autoreg == "average-attention":
            w[f"{p}_aan_W1"] = r(D, D)
            w[f"{p}_aan_b1"] = r(1, D)
        attn(p, "context")
        ffn(p)
    if a.output == "untied":
        w["decoder_ff_logit_out_Wt"] = r(vt, D)
    elif a.output == "legacy":
        w["decoder_ff_logit_out_W"] = r(D, vt)
    w["decoder_ff_logit_out_b"] = r(1, vt, s=0.5)
    for name in a.drop or []:
        del w[name]
    return w


def npz_bytes(w, cfg, a):
    """An .npz as numpy writes it: NAME.npy members, ZIP64 extras (§5.1)."""
    b = io.BytesIO()
    items = dict(w)
    items["special:model.yml"] = np.frombuffer(cfg.encode() + b"\0",
                                               dtype=np.int8)
    if a.deflate:
        np.savez_compressed(b, **items)
    else:
        np.savez(b, **items)
    if not a.bad_npy:
        return b.getvalue()
    # rewrite one member with a broken header dict
    src = zipfile.ZipFile(io.BytesIO(b.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == a.bad_npy + ".npy":
                data = b"\x93NUMPY\x01\x00\x20\x00{'descr': '<f4', 'shape' (4,)}\n" + data[64:]
            z.writestr(info.filename, data)
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("src_model")
    ap.add_argument("src_vocab")
    ap.add_argument("trg_model")
    ap.add_argument("trg_vocab")
    ap.add_argument("--vocab", choices=["yml", "text"], default="yml")
    ap.add_argument("--output", choices=["tied", "untied", "legacy"],
                    default="tied")
    ap.add_argument("--act", default="swish")
    ap.add_argument("--autoreg", default="self-attention")
    ap.add_argument("--deflate", action="store_true",
                    help="npz by savez_compressed and a deflated zip")
    ap.add_argument("--drop", action="append", help="leave a tensor out")
    ap.add_argument("--bad-npy", help="break this tensor's npy header")
    ap.add_argument("--shortlist", action="store_true",
                    help="decoder.yml asks for a lexical shortlist")
    ap.add_argument("--yml-ffn", type=int,
                    help="model.yml claims this FFN width (a lie)")
    ap.add_argument("--bias", action="append", default=[],
                    metavar="PIECE=X", help="a target piece's output bias")
    ap.add_argument("--decoder", action="append", default=[],
                    metavar="KEY=VALUE", help="a decoder.yml key")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)

    sp, tp = pieces(a.src_vocab), pieces(a.trg_vocab)
    files = {}
    if a.vocab == "yml":
        joint = sorted(set(sp) | set(tp))
        vs = vt = len(joint)
        vfile = "opus.spm32k-spm32k.vocab.yml"
        files[vfile] = yaml.dump({p: i for i, p in enumerate(joint)},
                                 allow_unicode=True).encode()
        vocabs = [vfile, vfile]
    else:
        vs, vt = len(sp), len(tp)
        files["opus.src.vocab"] = "".join(p + "\n" for p in sp).encode()
        files["opus.trg.vocab"] = "".join(p + "\n" for p in tp).encode()
        vocabs = ["opus.src.vocab", "opus.trg.vocab"]
    npz = "opus.spm32k-spm32k.transformer-align.model1.npz.best-perplexity.npz"
    cfg = model_yml(a, vs, vt)
    w = weights(a, vs, vt, rng)
    tgt_ids = {p: i for i, p in enumerate(joint if a.vocab == "yml" else tp)}
    for b in a.bias:
        piece, x = b.rsplit("=", 1)
        w["decoder_ff_logit_out_b"][0, tgt_ids[piece]] = float(x)
    files[npz] = npz_bytes(w, cfg, a)
    dec = {"relative-paths": True, "models": [npz], "vocabs": vocabs,
           "beam-size": 4, "normalize": 1, "word-penalty": 0,
           "mini-batch": 1, "maxi-batch": 1, "maxi-batch-sort": "src"}
    if a.shortlist:
        dec["shortlist"] = ["lex.s2t.bin", "false"]
    for kv in a.decoder:
        key, v = kv.split("=", 1)
        dec.pop(key, None)
        if v:
            dec[key] = yaml.safe_load(v)
    files["decoder.yml"] = yaml.dump(dec, default_flow_style=False).encode()
    files["source.spm"] = open(a.src_model, "rb").read()
    files["target.spm"] = open(a.trg_model, "rb").read()
    files["README.md"] = b"# fake opus-mt model for tests\n"

    if a.out.endswith(".zip"):
        method = zipfile.ZIP_DEFLATED if a.deflate else zipfile.ZIP_STORED
        with zipfile.ZipFile(a.out, "w", method) as z:
            for name in sorted(files):
                z.writestr(name, files[name])
    else:
        shutil.rmtree(a.out, ignore_errors=True)
        os.makedirs(a.out)
        for name, data in files.items():
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    sys.exit(main())
