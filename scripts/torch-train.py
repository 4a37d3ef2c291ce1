#!/usr/bin/python3
"""torch-train.py: the PyTorch reference of one training batch (issue 6 §4).

    torch-train.py MODEL PAIRS --grads OUT [--label-smoothing E]
                   [--length-weight W]
                   [--guided-attention LAMBDA [--guided-attention-width G]]
                   [--adam N --lr LR --betas B1,B2 --eps E --weight-decay W
                    --out MODEL2]
    torch-train.py MODEL SETS --grads OUT --risk ALPHA
    torch-train.py MODEL PAIRS --bench STEPS [--max-tokens N] [--dropout P]
                   [--label-smoothing E] [--threads N] [--seconds S]
                   [--out MODEL2]

MODEL is a seqpipe model file, PAIRS a text file of sentence pairs, one per
line: source ids, a TAB, target ids (no BOS or EOS).  The model of
scripts/seqpipe_torch.py (plain torch ops, written from
man/seqpipe-model.5, no dropout) reads the batch teacher-forced: the decoder
reads decoder_start_id, y_1 .. y_n and is scored on y_1 .. y_n, EOS.

A non-autoregressive model (config nat) reads instead every position at
once (seqpipe_torch's decode_nat(): copied source tokens, no causal
mask) and is scored on y_1 .. y_n, no EOS; its length predictor adds W
(--length-weight, default 1) times the cross-entropy of each pair's
length class, never smoothed.

The loss is the sum over scored positions of PyTorch's cross_entropy with
label_smoothing=E.  With --guided-attention LAMBDA, the objective adds
LAMBDA times the guided-attention penalty (Tachibana et al. 2018, as
man/train.1 defines it): for each sentence of Tk source and Tq = n + 1
decoder positions, the sum over decoder positions i and source positions
j, averaged over decoder layers and heads, of the cross-attention weight
A[i,j] (before dropout) times 1 - exp(-(j/Tk - i/Tq)^2 / (2 G^2)).  OUT
gets the gradient of that sum for every tensor of the model file (tied
ones once, under their owner's name), with metadata "loss", "tokens" and,
with the guide, "guide" (the penalty, without LAMBDA).  With --adam N, it
then takes N steps of torch.optim.AdamW on the same batch, each on the
mean objective per token, and writes the resulting model to MODEL2
(--out).

--risk is minimum-risk training's objective (train --mrt, lib/train/risk.h,
Shen et al. 2016): SETS has two more columns, a set number and a cost;
consecutive lines of one number are a candidate set.  With s_k the log-
probability of candidate k (no label smoothing), Q = softmax(ALPHA s) over
its set, the loss is the sum over sets of sum_k Q_k cost_k; OUT gets its
gradient by autograd, with metadata "loss" (the risk) and "tokens".

--bench is the peer of make bench and of the equal-time quality run: the
pairs sorted by length and cut into batches of at most --max-tokens padded
tokens (train's rule), shuffled by a seeded generator, then STEPS AdamW
updates (warmup 1000 then inverse square root of the step, as train) with
dropout and label smoothing, cycling over the batches, or as many as fit
in --seconds.  The first update is an untimed warm-up.  Prints "tokens
seconds steps" (target positions, EOS included, of the timed updates);
--out writes the trained model.

Run with Debian's python (/usr/bin/python3: torch 1.13, numpy).
"""

import argparse
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seqpipe_torch as sq  # noqa: E402


def read_pairs(path):
    """The pairs, and for each its (set, cost) when the lines have them."""
    pairs, sets = [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            src, tgt, *rest = line.rstrip("\n").split("\t")
            pairs.append(([int(x) for x in src.split()],
                          [int(x) for x in tgt.split()]))
            if rest:
                sets.append((int(rest[0]), float(rest[1])))
    if not pairs:
        sys.exit("torch-train.py: %s: no pairs" % path)
    return pairs, sets


def guide_penalty(model, pairs, width):
    """The guided-attention penalty of the last forward: the decoder's
    cross-attention weights (kept by Attention.keep_probs) times the guide
    W[i,j] = 1 - exp(-(j/Tk - i/Tq)^2 / (2 width^2)) over each sentence's
    own Tq x Tk (0 on padding), summed, divided by layers x heads."""
    layers = model.decoder.layers
    probs = [l.encoder_attn.probs for l in layers]      # (n, H, T, S) each
    n, H, T, S = probs[0].shape
    w = torch.zeros(n, T, S, dtype=torch.float64)
    for b, (s, t) in enumerate(pairs):
        tq, tk = len(t) + 1, len(s)
        if tk == 0:
            continue
        i = torch.arange(tq, dtype=torch.float64)[:, None] / tq
        j = torch.arange(tk, dtype=torch.float64)[None, :] / tk
        w[b, :tq, :tk] = 1 - torch.exp(-(j - i) ** 2 / (2 * width ** 2))
    w = w.float()[:, None]
    return sum((p * w).sum() for p in probs) / (len(layers) * H)


def batch_risk(model, pairs, sets, alpha):
    """The expected risk summed over the candidate sets, and the positions
    scored."""
    loss, _, ntok = batch_loss(model, pairs, 0.0, per_pair=True)
    logp = -loss
    risk = logp.new_zeros(())
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and sets[j][0] == sets[i][0]:
            j += 1
        q = torch.softmax(alpha * logp[i:j], 0)
        cost = torch.tensor([c for _, c in sets[i:j]], dtype=logp.dtype)
        risk = risk + (q * cost).sum()
        i = j
    return risk, ntok


def nat_batch_loss(model, pairs, eps, length_weight):
    """batch_loss() of a non-autoregressive model."""
    n = len(pairs)
    S = max(len(s) for s, _ in pairs)
    T = max(1, max(len(t) for _, t in pairs))
    src = torch.zeros(n, S, dtype=torch.long)
    src_len = torch.tensor([len(s) for s, _ in pairs])
    tgt_len = torch.tensor([len(t) for _, t in pairs])
    gold = torch.full((n, T), -100, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        gold[i, :len(t)] = torch.tensor(t, dtype=torch.long)
    mem = model.encode(src, src_len)
    logp = model.decode_nat(src, src_len, tgt_len, mem)
    gold = gold[:, :logp.shape[1]]
    loss = F.cross_entropy(logp.reshape(-1, logp.shape[-1]), gold.reshape(-1),
                           ignore_index=-100, label_smoothing=eps,
                           reduction="sum")
    lp_len = model.length_logprobs(mem, src_len)
    loss_len = F.nll_loss(lp_len, model.length_class(tgt_len, src_len),
                          reduction="sum")
    return loss + length_weight * loss_len, int(tgt_len.sum())


def batch_loss(model, pairs, eps, guide=0.0, width=0.2, per_pair=False,
               length_weight=1.0):
    """The summed label-smoothed cross-entropy (per_pair: each pair's, (n))
    and the positions scored; with guide > 0 also the guided-attention
    penalty (else None), the objective being loss + guide * penalty; a
    non-autoregressive model's loss adds length_weight times its length
    cross-entropy (no penalty, no per_pair)."""
    cfg = model.cfg
    if cfg.nat:
        loss, ntok = nat_batch_loss(model, pairs, eps, length_weight)
        return loss, None, ntok
    n = len(pairs)
    S = max(1, max(len(s) for s, _ in pairs))
    T = max(len(t) for _, t in pairs) + 1
    src = torch.zeros(n, S, dtype=torch.long)
    src_len = torch.tensor([len(s) for s, _ in pairs])
    tgt_in = torch.zeros(n, T, dtype=torch.long)
    gold = torch.full((n, T), -100, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        tgt_in[i, :len(t) + 1] = torch.tensor([cfg.decoder_start_id] + t)
        gold[i, :len(t) + 1] = torch.tensor(t + [cfg.eos_id])
    # the guide acts on the Transformer's cross-attention (train refuses
    # it for arch rnn)
    for l in getattr(model.decoder, "layers", []):
        l.encoder_attn.keep_probs = guide > 0
    mem = model.encode(src, src_len)
    logp = model.decode_full(tgt_in, mem, src_len, src)
    loss = F.cross_entropy(logp.reshape(-1, logp.shape[-1]), gold.reshape(-1),
                           ignore_index=-100, label_smoothing=eps,
                           reduction="none" if per_pair else "sum")
    if per_pair:
        loss = loss.reshape(n, T).sum(1)
    penalty = guide_penalty(model, pairs, width) if guide > 0 else None
    return loss, penalty, int((gold != -100).sum())


def save_trained(model, start, out):
    """The model file start with model's weights, to out."""
    tensors, meta = sq.read_safetensors(start)
    state = model.state_dict()
    for k in tensors:
        if k in state:
            tensors[k] = state[k].detach().numpy()
    sq.write_safetensors(out, tensors, meta)


def batches(pairs, max_tokens, seed):
    """train's rule: sorted by max(source, target + 1), cut so that count x
    longest <= max_tokens, the batches shuffled."""
    order = sorted(range(len(pairs)),
                   key=lambda i: max(len(pairs[i][0]), len(pairs[i][1]) + 1))
    out, cur, longest = [], [], 0
    for i in order:
        n = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if cur and (len(cur) + 1) * max(longest, n) > max_tokens:
            out.append(cur)
            cur, longest = [], 0
        cur.append(pairs[i])
        longest = max(longest, n)
    if cur:
        out.append(cur)
    random.Random(seed).shuffle(out)
    return out


def bench(model, pairs, a):
    import time
    sq.set_dropout(model, a.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98),
                            eps=1e-9, weight_decay=0.0)
    bs = batches(pairs, a.max_tokens, 1)
    tokens, t0, step = 0, None, 0
    while step <= a.bench:
        b = bs[step % len(bs)]
        for g in opt.param_groups:
            s = step + 1
            g["lr"] = a.lr * (s / 1000 if s < 1000 else (1000 / s) ** 0.5)
        opt.zero_grad()
        loss, _, ntok = batch_loss(model, b, a.label_smoothing)
        (loss / ntok).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step == 0:
            t0 = time.perf_counter()
        else:
            tokens += ntok
        step += 1
        if a.seconds and time.perf_counter() - t0 > a.seconds:
            break
    print(tokens, "%.3f" % (time.perf_counter() - t0), step - 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("pairs")
    ap.add_argument("--grads")
    ap.add_argument("--bench", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=4096)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--length-weight", type=float, default=1.0)
    ap.add_argument("--guided-attention", type=float, default=0.0)
    ap.add_argument("--guided-attention-width", type=float, default=0.2)
    ap.add_argument("--adam", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--betas", default="0.9,0.98")
    ap.add_argument("--eps", type=float, default=1e-9)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--out")
    ap.add_argument("--risk", type=float)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    model = sq.load(a.model).train()
    pairs, sets = read_pairs(a.pairs)
    params = dict(model.named_parameters())
    if a.bench:
        bench(model, pairs, a)
        if a.out:
            save_trained(model, a.model, a.out)
        return
    if a.grads is None:
        sys.exit("torch-train.py: give --grads OUT or --bench STEPS")

    ga, gw = a.guided_attention, a.guided_attention_width
    penalty = None
    if a.risk is not None:
        if len(sets) != len(pairs):
            sys.exit("torch-train.py: --risk: %s: lines without a set and "
                     "a cost" % a.pairs)
        loss, ntok = batch_risk(model, pairs, sets, a.risk)
    else:
        loss, penalty, ntok = batch_loss(model, pairs, a.label_smoothing,
                                         ga, gw,
                                         length_weight=a.length_weight)
    meta = {"loss": "%.17g" % loss.item(), "tokens": str(ntok)}
    if penalty is not None:
        meta["guide"] = "%.17g" % penalty.item()
        loss = loss + ga * penalty
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in params.items()}
    sq.write_safetensors(a.grads, grads, meta)
    if a.adam:
        b1, b2 = (float(x) for x in a.betas.split(","))
        opt = torch.optim.AdamW(params.values(), lr=a.lr, betas=(b1, b2),
                                eps=a.eps, weight_decay=a.weight_decay)
        for _ in range(a.adam):
            opt.zero_grad()
            loss, penalty, ntok = batch_loss(model, pairs, a.label_smoothing,
                                             ga, gw,
                                             length_weight=a.length_weight)
            if penalty is not None:
                loss = loss + ga * penalty
            (loss / ntok).backward()
            opt.step()
        save_trained(model, a.model, a.out)


if __name__ == "__main__":
    main()
