#!/usr/bin/python3
"""torch-reference.py: PyTorch reference outputs of a seqpipe model.

usage: torch-reference.py [options] MODEL SOURCE

SOURCE holds text ids, one sentence per line ("-": stdin), as
spm_encode --output_format=id prints them; line i (0-based) is key i.  The
ids are fed to the encoder as given.  For a model with input frames it
holds frames instead, one utterance per line, frame_dim floats a frame
(what seqcat -t prints of a frames stream).  Each output option names a file to
write; ask for everything a test needs in one call (torch starts slowly).
Floats are printed with 9 significant digits (exact for float32); compare
with scripts/numdiff.py.  The forms follow seqcat (seqpipe-stream(5)):

  --encoder FILE    M key n_src rows cols src... data...   (rows = n_src,
                    cols = D, data row-major: the memory encode writes;
                    for frames n_src 0 and rows = ceil(frames / subsample))
  --logprobs FILE   L key t v_0 ... v_{Vt-1}   for t = 0 .. len(target):
                    log-probs of the token after decoder_start_id and the
                    first t target ids (needs --targets)
  --score FILE      T key 0 score ids... | s... : forced scoring of each
                    target followed by EOS (needs --targets; an empty
                    source's target must be empty, and scores 0)
  --greedy FILE     T key 0 score ids... | s...   greedy search (ids without
                    EOS; none, score 0, for an empty source)
  --greedy-ids FILE the greedy ids alone, one line per sentence (what
                    decode --text prints)
  --beam FILE       T key rank score ids... | s...   beam search n-best
                    (score: the normalised score)
  --beam-ids FILE   the ids alone, one line per hypothesis
  --nat FILE        T key 0 score ids... | s...   a non-autoregressive
                    model's decode --nat (seqpipe_torch.nat_decode():
                    --nat-lengths, --max-len, --min-len, --no-unk); for
                    such a model --score is its scoring, with no EOS

As in the stream's records, the per-token log-probs s are those of the
ids, one each; a score that sums log-probs (greedy, --score) includes the
EOS's, and so does L below.

Search follows lib/search/beam.h and beamsearch(1): -k, --alpha (score / L^alpha,
L = generated tokens with EOS), --gnmt, --word-penalty, --nbest,
--max-len [A,]B (at most floor(A * S + B) tokens, S the source positions, EOS included, capped
at max_positions - position_offset), --min-len N (no EOS before N tokens),
--no-repeat-ngram N (beam only), --monotonic W (monotonic attention, as
decode(1) and beamsearch(1) have it).

Example (a parity test's setup_file):
  scripts/make-model.py paper m.sq
  torch-reference.py m.sq src.txt --encoder enc.ref --greedy greedy.ref \\
      --beam beam.ref -k 4 --nbest 2 --max-len 2,10
  encode -m m.sq src.txt | seqcat > enc.got
  scripts/numdiff.py --tol 1e-4 enc.got enc.ref
"""

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seqpipe_torch as sq  # noqa: E402


def read_ids(path):
    f = sys.stdin if path == "-" else open(path)
    with f:
        return [[int(x) for x in line.split()] for line in f]


def read_frames(path, dim):
    """Utterances as lists of frames of dim floats, one a line."""
    f = sys.stdin if path == "-" else open(path)
    out = []
    with f:
        for n, line in enumerate(f, 1):
            v = [float(x) for x in line.split()]
            if len(v) % dim:
                sys.exit("torch-reference.py: %s: line %d: %d values, not "
                         "frames of %d" % (path, n, len(v), dim))
            out.append([v[i:i + dim] for i in range(0, len(v), dim)])
    return out


def fmt(x):
    return "%.9g" % x


def hyp_line(key, rank, score, ids, token_lp):
    """seqcat's form of a tokens record with per-token scores; token_lp may
    go on with the EOS's, which is left out."""
    parts = ["T", str(key), str(rank), fmt(score)] + [str(i) for i in ids]
    return " ".join(parts + ["|"] + [fmt(s) for s in token_lp[:len(ids)]]) + "\n"


def max_len_of(spec, n_src):
    a, b = spec
    return int(a * n_src + b)


def parse_max_len(s):
    """"A,B" or "B" (A = 0)."""
    try:
        a, comma, b = s.partition(",")
        return (float(a), float(b)) if comma else (0.0, float(a))
    except ValueError:
        raise argparse.ArgumentTypeError("expected [A,]B: %r" % s)


def main():
    ap = argparse.ArgumentParser(
        prog="torch-reference.py", usage="%(prog)s [options] MODEL SOURCE",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    ap.add_argument("model", metavar="MODEL")
    ap.add_argument("source", metavar="SOURCE")
    ap.add_argument("--targets", metavar="FILE",
                    help="target ids, one line per source line")
    for o in ("encoder", "logprobs", "score", "greedy", "greedy-ids", "beam",
              "beam-ids", "nat"):
        ap.add_argument("--" + o, metavar="FILE")
    ap.add_argument("--nat-lengths", type=int, default=3, metavar="L",
                    help="--nat: length candidates; default 3")
    ap.add_argument("--no-unk", action="store_true",
                    help="--nat: never UNK")
    ap.add_argument("-k", "--beam-size", type=int, default=4, metavar="K",
                    help="default 4")
    ap.add_argument("--nbest", type=int, default=1, metavar="N",
                    help="hypotheses per sentence, 1..K; default 1")
    ap.add_argument("--alpha", type=float, default=1.0, metavar="A",
                    help="length normalisation exponent; default 1")
    ap.add_argument("--gnmt", action="store_true",
                    help="lp(L) = ((5 + L) / 6)^alpha")
    ap.add_argument("--word-penalty", type=float, default=0.0, metavar="W",
                    help="(score - W L) / lp(L); default 0")
    ap.add_argument("--max-len", type=parse_max_len, default=(2.0, 10.0),
                    metavar="[A,]B", help="default 2,10")
    ap.add_argument("--no-repeat-ngram", type=int, default=0, metavar="N",
                    help="beam: no n-gram twice in a hypothesis; default 0 (off)")
    ap.add_argument("--min-len", type=int, default=0, metavar="N",
                    help="no EOS before N tokens; default 0")
    ap.add_argument("--monotonic", type=int, default=None, metavar="W",
                    help="monotonic attention with window W; default off")
    a = ap.parse_args()
    if not 1 <= a.nbest <= a.beam_size:
        ap.error("--nbest must be 1..k")

    torch.set_num_threads(1)
    try:
        model = sq.load(a.model)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        sys.exit("torch-reference.py: %s: %s" % (a.model, e))
    cfg = model.cfg
    frames = cfg.input == "frames"
    src = read_frames(a.source, cfg.frame_dim) if frames else read_ids(a.source)
    tgt = read_ids(a.targets) if a.targets else None
    if tgt is not None and len(tgt) != len(src):
        sys.exit("torch-reference.py: %d targets for %d sources"
                 % (len(tgt), len(src)))
    if (a.logprobs or a.score) and tgt is None:
        sys.exit("torch-reference.py: --logprobs and --score need --targets")
    for key, ids in enumerate(src):
        bad = [] if frames else [i for i in ids if not 0 <= i < cfg.src_vocab_size]
        if bad or sq.source_len(cfg, ids) + cfg.position_offset > cfg.max_positions:
            sys.exit("torch-reference.py: %s: line %d: %s" % (
                a.source, key + 1, "id %d outside the vocabulary" % bad[0]
                if bad else "longer than the model's positions"))

    out = {o: open(getattr(a, o.replace("-", "_")), "w")
           for o in ("encoder", "logprobs", "score", "greedy", "greedy-ids",
                     "beam", "beam-ids", "nat") if getattr(a, o.replace("-", "_"))}
    with torch.no_grad():
        for key, ids in enumerate(src):
            ml = max_len_of(a.max_len, sq.source_len(cfg, ids))
            if "encoder" in out:
                mem, _, _ = sq._encode_one(model, ids)
                n_src = [] if frames else ids
                out["encoder"].write(" ".join(
                    ["M", str(key), str(len(n_src)),
                     str(sq.source_len(cfg, ids)), str(cfg.d_model)] +
                    [str(i) for i in n_src] +
                    [fmt(v) for v in mem[0].reshape(-1).tolist()]) + "\n")
            if "nat" in out:
                n_ids, n_score, n_lp = sq.nat_decode(
                    model, ids, a.nat_lengths, ml, a.min_len, a.no_unk)
                out["nat"].write(hyp_line(key, 0, n_score, n_ids, n_lp))
            if "score" in out and cfg.nat:
                if not ids and tgt[key]:
                    sys.exit("torch-reference.py: line %d: a target "
                             "for an empty source" % (key + 1))
                n_ids, n_score, n_lp = sq.nat_decode(model, ids,
                                                     target=tgt[key])
                out["score"].write(hyp_line(key, 0, n_score, n_ids, n_lp))
            elif "logprobs" in out or "score" in out:
                mem, n, sid = sq._encode_one(model, ids)
                t = [cfg.decoder_start_id] + tgt[key]
                lp = model.decode_full(torch.tensor([t]), mem, n, sid)[0]
                if "logprobs" in out:
                    for i, row in enumerate(lp.tolist()):
                        out["logprobs"].write(" ".join(
                            ["L", str(key), str(i)] + [fmt(v) for v in row]) + "\n")
                if "score" in out and not ids:
                    # the empty translation is the only one (decode(1))
                    if tgt[key]:
                        sys.exit("torch-reference.py: line %d: a target "
                                 "for an empty source" % (key + 1))
                    out["score"].write(hyp_line(key, 0, 0.0, [], []))
                elif "score" in out:
                    seq = tgt[key] + [cfg.eos_id]
                    s = [float(lp[i, tok]) for i, tok in enumerate(seq)]
                    out["score"].write(hyp_line(key, 0, sum(s), tgt[key], s))
            if "greedy" in out or "greedy-ids" in out:
                g_ids, g_lp = greedy_with_scores(model, ids, ml, a.min_len,
                                                 a.monotonic)
                if "greedy" in out:
                    out["greedy"].write(hyp_line(key, 0, sum(g_lp), g_ids, g_lp))
                if "greedy-ids" in out:
                    out["greedy-ids"].write(" ".join(map(str, g_ids)) + "\n")
            if "beam" in out or "beam-ids" in out:
                hyps = sq.beam_search(model, ids, a.beam_size, a.alpha, ml,
                                      a.min_len, a.nbest, a.gnmt,
                                      a.word_penalty,
                                      no_repeat_ngram=a.no_repeat_ngram,
                                      monotonic=a.monotonic)
                for rank, (score, _, h_ids, h_lp) in enumerate(hyps):
                    if "beam" in out:
                        out["beam"].write(hyp_line(key, rank, score, h_ids, h_lp))
                    if "beam-ids" in out:
                        out["beam-ids"].write(" ".join(map(str, h_ids)) + "\n")
    for f in out.values():
        f.close()


def greedy_with_scores(model, ids, max_len, min_len, monotonic=None):
    """greedy()'s ids, and the per-token log-probs (EOS's last if any),
    recomputed by forced scoring of its output over the full prefix (an
    independent check of the incremental path), or with monotonic
    attention (which the full prefix does not have) greedy()'s own."""
    cfg = model.cfg
    if not ids:         # the empty translation: no step, no EOS
        return [], []
    if monotonic is not None:
        lps = []
        g_ids, _ = sq.greedy(model, ids, max_len, min_len, monotonic, lps)
        return g_ids, lps
    g_ids, total = sq.greedy(model, ids, max_len, min_len)
    steps = sq.max_steps(cfg, max_len)
    seq = g_ids + ([cfg.eos_id] if len(g_ids) < steps else [])
    if not seq:
        return g_ids, []
    mem, n, sid = sq._encode_one(model, ids)
    lp = model.decode_full(torch.tensor([[cfg.decoder_start_id] + seq[:-1]]),
                           mem, n, sid)[0]
    tlp = [float(lp[i, tok]) for i, tok in enumerate(seq)]
    if abs(sum(tlp) - total) > 1e-3 * max(1.0, abs(total)):
        sys.exit("torch-reference.py: incremental and full decoders disagree "
                 "(%g, %g)" % (sum(tlp), total))
    return g_ids, tlp


if __name__ == "__main__":
    main()
