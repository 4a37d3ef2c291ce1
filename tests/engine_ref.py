#!/usr/bin/python3
"""engine_ref.py: tiny models and their PyTorch reference outputs, for
tests/encode.bats and tests/decode.bats (one invocation per suite).

usage: engine_ref.py DIR
       engine_ref.py --model MODEL SRC OUT


For each config (paper, prenorm-gelu, marian, untied, zero-start, copy,
rnn) writes into DIR:
  CONFIG.sq      a model file with seeded random weights (make-model.py)
  CONFIG.enc     encoder outputs, "M key n_src rows cols src... data..."
                 (seqcat's verbose form), sources cut to the model's
                 positions as encode cuts them
  CONFIG.greedy  greedy outputs, "T key 0 score id ... | s ...", with
                 max length 2 * source length + 10 (decode's default);
                 the empty source's is empty, score 0 (seqpipe_torch)
  CONFIG.tgt     targets as text ids, one line per source (empty for
                 the empty source)
  CONFIG.score   those targets scored: "T key 0 score id ... | s ...",
                 token scores of the ids, score the sum with EOS's (0
                 for the empty source: its empty translation)
  CONFIG.prefixed  (paper, untied, copy and rnn only) greedy outputs continuing the targets as forced
                 prefixes, as CONFIG.greedy (max length: the larger of
                 2 * source length + 10 and prefix length + 1)
and once: src.txt, the sources as text ids (an empty line, a one-token
line and one longer than any model's positions among them), unk.sq,
a paper model whose UNK (3) output row is scaled up so that greedy
search outputs it often (for --no-unk), and pad.sq, a marian model (pad
= start = 127) whose pad row is scaled up so that an unbanned greedy
search would output it, with pad.greedy (as CONFIG.greedy: the searches
never produce pad) and pad.unbanned (how many sentences the unbanned
arg-max would have given pad).

With --model: OUT.enc and OUT.greedy, as CONFIG.enc and CONFIG.greedy,
of the model file MODEL (say one whose weights seqimport stored as F16
or int8: the reference computes in float32 with the weights they stand
for) on the sources of SRC (text ids, as src.txt).

The reference is scripts/seqpipe_torch.py, an independent PyTorch
implementation of man/seqpipe-model.5: full-sequence encoder with a
padding mask, decoder over the whole prefix without a cache for scoring,
its incremental decoder for greedy search.
"""

import importlib.util
import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "scripts")
sys.path.insert(0, SCRIPTS)
import seqpipe_torch as sq  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "make_model", os.path.join(SCRIPTS, "make-model.py"))
mm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mm)

CONFIGS = ["paper", "prenorm-gelu", "marian", "untied", "zero-start", "copy",
           "rnn"]
PREFIXED = ["paper", "untied", "copy", "rnn"]
N_SENT = 40
LONG = 300          # longer than the tiny models' 256 positions


def fmt(x):
    """Shortest repr that reads back to the same float32."""
    return repr(float(torch.tensor(x, dtype=torch.float32)))


def sources(rng):
    out = []
    for i in range(N_SENT):
        n = {0: 0, 1: 1, 7: LONG}.get(i, rng.randint(2, 20))
        out.append([rng.randint(4, 100) for _ in range(n)])
    return out


def targets(rng, n):
    return [[rng.randint(4, 90) for _ in range(rng.choice([0, 1, 3, 9, 17]))]
            for _ in range(n)]


@torch.no_grad()
def forced_greedy(model, src, prefix, max_len):
    """Greedy search whose first tokens are forced to prefix; returns
    (ids, summed log-prob with EOS's if reached, token log-probs)."""
    if not src:     # the empty translation: no step (man/decode.1)
        return [], 0.0, []
    cfg = model.cfg
    mem, n, sid = sq._encode_one(model, src)
    st = model.start(mem, n, sid)
    tok, ids, lps, score = cfg.decoder_start_id, [], [], 0.0
    for step in range(sq.max_steps(cfg, max_len)):
        lp = sq.ban(cfg, st.step(torch.tensor([tok])))[0]
        tok = prefix[step] if step < len(prefix) else int(torch.argmax(lp))
        score += float(lp[tok])
        if tok == cfg.eos_id:
            break
        ids.append(tok)
        lps.append(float(lp[tok]))
    return ids, score, lps


def record(key, score, ids, lps):
    return " ".join(["T", str(key), "0", fmt(score)] + list(map(str, ids)) +
                    ["|"] + [fmt(v) for v in lps]) + "\n"


def make(config, path, seed, gain=None):
    cfg = sq.Config(**dict(mm.CONFIGS[config])).resolved()
    if config == "marian":
        cfg = sq.Config(**dict(mm.CONFIGS[config],
                               pad_id=cfg.tgt_vocab_size - 1,
                               decoder_start_id=cfg.tgt_vocab_size - 1)).resolved()
    torch.manual_seed(seed)
    model = sq.new_model(cfg)
    mm.randomize(model, seed, 8.0, 1.6)
    if gain:        # (id, factor): that output row scaled
        with torch.no_grad():
            model.decoder.table()[gain[0]].mul_(gain[1])
    sq.save(model, path, "%s-test-%d" % (config, seed), "tests/engine_ref.py")
    return sq.load(path)


def enc_greedy(model, srcs, enc, gre):
    """Writes the encoder outputs and greedy outputs of model on srcs
    (each cut to the positions) to the files enc and gre."""
    cfg = model.cfg
    limit = cfg.max_positions - cfg.position_offset
    for key, src in enumerate(srcs):
        src = src[:limit]
        mem, n, sid = sq._encode_one(model, src)
        enc.write(" ".join(["M", str(key), str(len(src)), str(len(src)),
                            str(cfg.d_model)] + list(map(str, src)) +
                           [fmt(v) for v in mem[0].reshape(-1).tolist()])
                  + "\n")
        ids, score = sq.greedy(model, src, 2 * len(src) + 10)
        tin = torch.tensor([([cfg.decoder_start_id] + ids)[:limit]])
        lp = model.decode_full(tin, mem, n, sid)[0]
        lps = [float(lp[i, t]) for i, t in enumerate(ids)]
        gre.write(record(key, score, ids, lps))


def model_outputs(path, src, out):
    with open(src) as f:
        srcs = [list(map(int, line.split())) for line in f]
    with open(out + ".enc", "w") as enc, open(out + ".greedy", "w") as gre:
        enc_greedy(sq.load(path), srcs, enc, gre)


@torch.no_grad()
def main():
    torch.set_num_threads(1)
    if sys.argv[1] == "--model":
        model_outputs(*sys.argv[2:5])
        return
    d = sys.argv[1]
    rng = random.Random(20261122)
    srcs = sources(rng)
    tgts = targets(rng, N_SENT)
    # an empty source's forced record must be empty (decode --score and
    # --prefix refuse another): its only translation is the empty one
    tgts = [t if s else [] for s, t in zip(srcs, tgts)]
    with open(os.path.join(d, "src.txt"), "w") as f:
        for s in srcs:
            f.write(" ".join(map(str, s)) + "\n")
    for ci, config in enumerate(CONFIGS):
        model = make(config, os.path.join(d, config + ".sq"), 11 + ci)
        cfg = model.cfg
        limit = cfg.max_positions - cfg.position_offset
        with open(os.path.join(d, config + ".tgt"), "w") as f:
            for t in tgts:
                f.write(" ".join(map(str, t)) + "\n")
        with open(os.path.join(d, config + ".enc"), "w") as enc, \
                open(os.path.join(d, config + ".greedy"), "w") as gre:
            enc_greedy(model, srcs, enc, gre)
        sco = open(os.path.join(d, config + ".score"), "w")
        pre = open(os.path.join(d, config + ".prefixed"), "w") \
            if config in PREFIXED else None
        for key, (src, tgt) in enumerate(zip(srcs, tgts)):
            src = src[:limit]
            mem, n, sid = sq._encode_one(model, src)
            tin = torch.tensor([[cfg.decoder_start_id] + tgt])
            lp = model.decode_full(tin, mem, n, sid)[0]
            tok = [float(lp[i, t]) for i, t in enumerate(tgt)]
            total = sum(tok) + float(lp[len(tgt), cfg.eos_id])
            if not src:     # the empty translation, its log-prob 0
                total = 0.0
            sco.write(record(key, total, tgt, tok))
            if config in PREFIXED:
                ids, score, lps = forced_greedy(
                    model, src, tgt, max(2 * len(src) + 10, len(tgt) + 1))
                pre.write(record(key, score, ids, lps))
        if pre:
            pre.close()
        sco.close()
    make("paper", os.path.join(d, "unk.sq"), 99, gain=(3, 3.0))
    model = make("marian", os.path.join(d, "pad.sq"), 98, gain=(127, 3.0))
    unbanned = 0
    with open(os.path.join(d, "pad.greedy"), "w") as f:
        for key, src in enumerate(srcs):
            src = src[:model.cfg.max_positions]
            ids, score = sq.greedy(model, src, 2 * len(src) + 10)
            f.write(" ".join(map(str, ids)) + "\n")
            mem, n, _ = sq._encode_one(model, src)
            st = model.start(mem, n)
            lp = st.step(torch.tensor([model.cfg.decoder_start_id]))[0]
            unbanned += int(torch.argmax(lp)) == 127
    with open(os.path.join(d, "pad.unbanned"), "w") as f:
        f.write("%d\n" % unbanned)


if __name__ == "__main__":
    main()
