#!/usr/bin/python3
"""torch-peer: the PyTorch side of make bench (issue 3 §4).  It times the
model of scripts/seqpipe_torch.py (plain torch ops, incremental key/value
cache) on a seqpipe model file: encoding, greedy search and beam search,
batched, with a fixed output length.

usage: torch-peer.py --model FILE --src FILE [options] < requests
       torch-peer.py --model FILE --translate [--beam K] [--min-len N]
                     [--max-len A,B] < ids

It loads the model and the sentences of --src (ids, one sentence per line,
all of one length), then answers each request line "KIND BATCH N" on stdin
(KIND encode, greedy or beam) by one timed run over the first N sentences
in batches of BATCH, printing "KIND BATCH TOKENS SECONDS" on stdout at
once, so that a driver can interleave these runs with another program's.
The first request of a figure prepares its inputs and does an untimed
warm-up on one batch.  TOKENS are the source tokens read (encode) or the
target tokens produced (greedy, beam: --out-len per sentence, EOS masked
so that every sentence has exactly that length).  Only the computation is
timed: the model is loaded and the inputs are tensors before the clock
starts; greedy and beam get the memory from an untimed encode, and their
time includes the cross-attention keys and values (computed once per
sentence).  With --outputs DIR, the ids greedy and beam found go to
DIR/KIND-bBATCH.txt, one sentence per line, for comparison.

Beam search here is the batched textbook one: k rows per sentence, the
best k of k x V extensions by summed log-probability, the self-attention
cache reordered by parent each step.  The cross-attention keys/values are
not reordered: the k rows of a sentence share them (as fairseq skips it).

--translate is the start-up measure: reads one line of ids on stdin,
loads the model, beam-searches (seqpipe_torch.beam_search: no EOS before
N tokens, stops at EOS or after A*len+B tokens, defaults 0 and 2,10 as
beamsearch's) and prints the ids; time it from outside.

OMP_WAIT_POLICY=PASSIVE is set here unless the environment says otherwise
(idle OpenMP threads then block instead of spinning: design.md §5).
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seqpipe_torch as sq  # noqa: E402


def reorder_self_cache(st, index):
    """Keeps rows index of the self-attention cache of DecoderState st."""
    st.cache = [[k[index], v[index]] for k, v in st.cache]


def run_encode(model, batches, out_len, k):
    for src, n in batches:
        model.encode(src, n)
    return []


def run_greedy(model, mems, out_len, k):
    eos, start = model.cfg.eos_id, model.cfg.decoder_start_id
    out = []
    for mem, n in mems:
        st = model.start(mem, n)
        tok = torch.full((mem.shape[0],), start, dtype=torch.long)
        toks = []
        for _ in range(out_len):
            lp = st.step(tok)
            lp[:, eos] = float("-inf")
            tok = torch.argmax(lp, dim=-1)
            toks.append(tok)
        out += torch.stack(toks, dim=1).tolist()
    return out


def run_beam(model, mems, out_len, k):
    eos, start = model.cfg.eos_id, model.cfg.decoder_start_id
    out = []
    for mem, n in mems:
        b = mem.shape[0]
        st = model.start(mem, n)
        # step 0 has one row per sentence; its best k start the k rows
        lp = st.step(torch.full((b,), start, dtype=torch.long))
        lp[:, eos] = float("-inf")
        scores, tok = torch.topk(lp, k, dim=1)
        parent = torch.arange(b).repeat_interleave(k)
        tok = tok.view(-1)
        history = [(parent, tok)]
        st.reorder(parent)  # the cross-attention keys/values too, once
        base = (torch.arange(b) * k)[:, None]
        for _ in range(out_len - 1):
            lp = st.step(tok)
            lp[:, eos] = float("-inf")
            v = lp.shape[1]
            cand = (scores.view(-1, 1) + lp).view(b, k * v)
            scores, idx = torch.topk(cand, k, dim=1)
            parent = (base + idx // v).view(-1)
            tok = (idx % v).view(-1)
            history.append((parent, tok))
            reorder_self_cache(st, parent)
        # back-track the best hypothesis of each sentence (row 0 of its k)
        row, toks = base[:, 0], []
        for parent, tok in reversed(history):
            toks.append(tok[row])
            row = parent[row]
        out += torch.stack(toks[::-1], dim=1).tolist()
    return out


RUNNERS = {"encode": run_encode, "greedy": run_greedy, "beam": run_beam}


def batches(sents, size):
    out = []
    for i in range(0, len(sents), size):
        src = torch.tensor(sents[i:i + size], dtype=torch.long)
        out.append((src, torch.full((src.shape[0],), src.shape[1], dtype=torch.long)))
    return out


class Figures:
    """The prepared inputs of each figure, made on first use."""

    def __init__(self, model, sents, a):
        self.model, self.sents, self.a = model, sents, a
        self.ready = {}

    def run(self, kind, batch, n):
        """One timed run; the first of a figure is preceded by an untimed
        warm-up on its first batch.  Returns (tokens, seconds, outputs)."""
        model, a = self.model, self.a
        if (kind, batch, n) not in self.ready:
            data = batches(self.sents[:n], batch)
            if kind != "encode":
                data = [(model.encode(src, len_), len_) for src, len_ in data]
            RUNNERS[kind](model, data[:1], a.out_len, a.beam)
            self.ready[kind, batch, n] = data
        data = self.ready[kind, batch, n]
        t = time.perf_counter()
        out = RUNNERS[kind](model, data, a.out_len, a.beam)
        t = time.perf_counter() - t
        tokens = sum(len(s) for s in self.sents[:n]) if kind == "encode" else n * a.out_len
        return tokens, t, out


def serve(model, sents, a):
    """Answers lines "KIND BATCH N" on stdin with "KIND BATCH TOKENS SECONDS"."""
    figs = Figures(model, sents, a)
    for line in sys.stdin:
        try:
            kind, batch, n = line.split()
            batch, n = int(batch), int(n)
            if kind not in RUNNERS or batch < 1 or not 1 <= n <= len(sents):
                raise ValueError
        except ValueError:
            sys.exit("torch-peer: bad request %r" % line.rstrip("\n"))
        tokens, sec, out = figs.run(kind, batch, n)
        if a.outputs and out:
            with open(os.path.join(a.outputs, "%s-b%d.txt" % (kind, batch)), "w") as f:
                f.writelines(" ".join(map(str, ids)) + "\n" for ids in out)
        print("%s %d %d %.6f" % (kind, batch, tokens, sec), flush=True)


def translate(a):
    ids = [int(x) for x in sys.stdin.readline().split()]
    model = sq.load(a.model)
    x, y = (float(v) for v in a.max_len.split(","))
    hyps = sq.beam_search(model, ids, a.beam, max_len=int(x * len(ids) + y),
                          min_len=a.min_len)
    print(" ".join(str(i) for i in hyps[0][2]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--src")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out-len", type=int, default=25)
    p.add_argument("--beam", type=int, default=4)
    p.add_argument("--translate", action="store_true")
    p.add_argument("--max-len", default="2,10")
    p.add_argument("--min-len", type=int, default=0)
    p.add_argument("--outputs", metavar="DIR",
                   help="write the ids found by greedy and beam to DIR/KIND-bBATCH.txt")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    with torch.inference_mode():
        if a.translate:
            return translate(a)
        if not a.src:
            p.error("--src is required")
        model = sq.load(a.model)
        with open(a.src) as f:
            sents = [[int(x) for x in line.split()] for line in f]
        serve(model, sents, a)

if __name__ == "__main__":
    main()
