#!/usr/bin/python3
"""beamref.py: the PyTorch reference beam search of scripts/seqpipe_torch.py
run over text ids, printed as seqcat's verbose form without per-token
scores ("T key rank score id ...") for tests/beamsearch.bats.

usage: beamref.py MODEL IDS [-k K] [-a ALPHA] [-n NBEST] [--gnmt]
                  [--word-penalty W] [--max-len A,B] [--min-len N]
                  [--no-repeat-ngram N]

IDS: one source per line, ids separated by spaces (line i is key i).  The
options mean what beamsearch's do (man/beamsearch.1); the maximum length is
floor(A * source tokens + B) steps, as lib/decoding computes it.
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "scripts"))
import seqpipe_torch as sq  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("ids")
    ap.add_argument("-k", type=int, default=4)
    ap.add_argument("-a", "--alpha", type=float, default=1.0)
    ap.add_argument("-n", "--nbest", type=int, default=1)
    ap.add_argument("--gnmt", action="store_true")
    ap.add_argument("--word-penalty", type=float, default=0.0)
    ap.add_argument("--max-len", default="2,10")
    ap.add_argument("--min-len", type=int, default=0)
    ap.add_argument("--no-repeat-ngram", type=int, default=0)
    args = ap.parse_args()
    a, b = (float(x) for x in args.max_len.split(","))
    model = sq.load(args.model)
    extra = {}
    if args.no_repeat_ngram:
        extra["no_repeat_ngram"] = args.no_repeat_ngram
    with open(args.ids) as f:
        for key, line in enumerate(f):
            src = [int(x) for x in line.split()]
            steps = max(0, int(math.floor(a * len(src) + b)))
            hyps = sq.beam_search(model, src, args.k, alpha=args.alpha,
                                  max_len=steps, min_len=args.min_len,
                                  nbest=args.nbest, gnmt=args.gnmt,
                                  word_penalty=args.word_penalty, **extra)
            for rank, h in enumerate(hyps):
                print(" ".join(["T", str(key), str(rank), repr(h[0])] +
                               [str(i) for i in h[2]]))


if __name__ == "__main__":
    main()
