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

--hf writes the same model as Hugging Face's converter makes it (§4), a
folder OUT with model.safetensors, config.json, vocab.json, source.spm,
target.spm and tokenizer_config.json (joint yml vocabulary only):
weights transposed to [out, in], biases and layer norms flattened, a
<pad> appended to the vocabulary (id V, a zero embedding row, a 0 in
final_logits_bias), which decoder_start_token_id and bad_words_ids name.
The embedding is stored once, as model.shared.weight (--hf-embed picks
another of its aliases); positions are not stored unless --hf-positions
(HF's sinusoids, or "bad" ones).
"""
import argparse
import io
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np
import yaml

import marian_ref     # its table of HF's layer names (§4.1)

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
    for name in [] if a.hf else a.drop or []:
        del w[name]
    return w


def hf_positions(n, d):
    """HF's MarianSinusoidalPositionalEmbedding (§3.2): sin half, cos
    half, frequencies 10000^(-2i/d)."""
    p = np.arange(n, dtype=np.float64)[:, None]
    i = np.arange(d // 2, dtype=np.float64)[None, :]
    a = p / np.power(10000.0, 2 * i / d)
    return np.concatenate([np.sin(a), np.cos(a)], axis=1)


def hf_state(w, a, v):
    """The npz weights w (V = v pieces) as MarianMTModel's state dict
    (§4.1): [out, in] weights, flat vectors, a zero <pad> row."""
    def pad_rows(x):
        return np.concatenate([x, np.zeros((1, x.shape[1]), x.dtype)])

    s = {}
    sub = {m: hf for hf, m in marian_ref.HF_LAYER.items()}
    for name, x in w.items():
        side, _, rest = name.partition("_l")
        if side not in ("encoder", "decoder") or not rest[:1].isdigit():
            continue
        i, _, m = rest.partition("_")
        hf = "model.%s.layers.%d.%s" % (side, int(i) - 1, sub[m])
        s[hf] = x.T.copy() if "_W" in m and "_ln_" not in m else x.reshape(-1)
    s[a.hf_embed] = pad_rows(w["Wemb"])
    if "decoder_ff_logit_out_Wt" in w:
        s["lm_head.weight"] = pad_rows(w["decoder_ff_logit_out_Wt"])
    b = w["decoder_ff_logit_out_b"]
    s["final_logits_bias"] = np.concatenate([b, np.zeros((1, 1), b.dtype)], 1)
    if a.hf_positions:
        pe = hf_positions(a.hf_max_pos, D)
        if a.hf_positions == "bad":
            pe[3, 5] += 0.5
        for side in ("encoder", "decoder"):
            s["model.%s.embed_positions.weight" % side] = pe.astype(np.float32)
    for name in a.drop or []:
        del s[name]
    return s


def safetensors_bytes(tensors, f16):
    """safetensors (§4.4): u64 header length, JSON, data; the header
    padded with spaces to a multiple of 8, as the reference writer does."""
    head, data, off = {}, b"", 0
    for name in sorted(tensors):
        x = tensors[name].astype(np.float16 if f16 else np.float32)
        raw = x.tobytes()
        head[name] = {"dtype": "F16" if f16 else "F32",
                      "shape": list(x.shape), "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    head["__metadata__"] = {"format": "pt"}
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def hf_files(a, w, joint, eos):
    """The files of a Hugging Face MarianMTModel folder."""
    v = len(joint)
    vocab = {p: i for i, p in enumerate(joint)}
    vocab["<pad>"] = v
    cfg = {"activation_function": a.act, "architectures": ["MarianMTModel"],
           "bad_words_ids": [[v]], "bos_token_id": 0, "d_model": D,
           "decoder_attention_heads": H, "decoder_ffn_dim": F,
           "decoder_layers": DEC, "decoder_start_token_id": v,
           "decoder_vocab_size": v + 1, "encoder_attention_heads": H,
           "encoder_ffn_dim": F, "encoder_layers": ENC, "eos_token_id": eos,
           "forced_eos_token_id": eos, "max_length": 512,
           "max_position_embeddings": a.hf_max_pos, "model_type": "marian",
           "normalize_embedding": False, "num_beams": 4,
           "num_hidden_layers": ENC, "pad_token_id": v,
           "scale_embedding": True, "share_encoder_decoder_embeddings": True,
           "static_position_embeddings": True,
           "transformers_version": "4.22.0.dev0", "use_cache": True,
           "vocab_size": v + 1}
    if "decoder_ff_logit_out_Wt" in w:
        cfg["tie_word_embeddings"] = False
    for kv in a.hf_config or []:
        k, _, val = kv.partition("=")
        cfg[k] = json.loads(val)
    st = safetensors_bytes(hf_state(w, a, v), a.hf_f16)
    if a.hf_bad_header:     # a tensor reaching past the end of the data
        n = struct.unpack("<Q", st[:8])[0]
        h = json.loads(st[8:8 + n])
        off = h["model.encoder.layers.0.fc1.bias"]["data_offsets"]
        end = len(st) - 8 - n + 64
        h["model.encoder.layers.0.fc1.bias"]["data_offsets"] = [end - off[1] + off[0], end]
        h = json.dumps(h).encode()
        h += b" " * (-len(h) % 8)
        st = struct.pack("<Q", len(h)) + h + st[8 + n:]
    return {"config.json": json.dumps(cfg, indent=2).encode(),
            "vocab.json": json.dumps(vocab, indent=2).encode(),
            "tokenizer_config.json": b'{"target_lang": "de", "source_lang": "en"}',
            "pytorch_model.bin" if a.hf_pytorch else "model.safetensors": st}


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
    ap.add_argument("--hf", action="store_true",
                    help="a Hugging Face MarianMTModel folder")
    ap.add_argument("--hf-f16", action="store_true", help="F16 weights")
    ap.add_argument("--hf-embed", default="model.shared.weight",
                    help="the alias the embedding is stored under")
    ap.add_argument("--hf-positions", choices=["hf", "bad"],
                    help="store embed_positions")
    ap.add_argument("--hf-max-pos", type=int, default=64,
                    help="max_position_embeddings")
    ap.add_argument("--hf-config", action="append", metavar="KEY=JSON",
                    help="set a config.json key")
    ap.add_argument("--hf-bad-header", action="store_true",
                    help="a safetensors offset past the data")
    ap.add_argument("--hf-pytorch", action="store_true",
                    help="the weights as pytorch_model.bin only")
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
    if a.hf:
        files = hf_files(a, w, joint, joint.index("</s>"))
    else:
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
    if not a.hf:
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
