#!/usr/bin/python3
"""train_kernels.py: lib/train/grad.c's AdamW and cross-entropy against torch.

    train_kernels.py TEST_GRAD DIR adamw-exact|adamw|xent

Writes random inputs (seeded) to DIR, runs TEST_GRAD (tests/unit/test_grad
in its dump mode) on them, computes the same with torch 1.13 (Debian's
/usr/bin/python3) and prints one line "max-err VALUE" after checking:

  adamw-exact  5 steps of torch.optim.AdamW (foreach=False: the
               _single_tensor_adamw the C code follows) with
               hyperparameters that are exact floats (lr 2^-10, betas
               0.875 and 0.984375, weight decay 2^-7): the same bits.
  adamw        the same with the usual ones (lr 1e-3, betas 0.9 and 0.98,
               eps 1e-8, weight decay 0.01): the same bits too.
  xent         F.cross_entropy(reduction="sum", label_smoothing=0.1,
               ignore_index=-1) and its gradient by autograd, in float64:
               loss within 1e-6 relative, gradient within 1e-6 absolute;
               against torch's float32 (itself 1.7e-6 off its float64: it
               exponentiates the log-softmax), within 5e-6.

Exits 1 with a message when a check fails.
"""

import subprocess
import sys

import torch
import torch.nn.functional as F


def run(binary, mode, path):
    out = subprocess.run([binary, mode, path], check=True,
                         capture_output=True, text=True).stdout
    return out.split("\n")


def fmt(t):
    return "\n".join(repr(float(x)) for x in t.flatten().tolist())


def adamw(binary, d, lr, b1, b2, eps, wd):
    torch.manual_seed(1)
    n, steps = 4099, 5
    p0 = torch.randn(n)
    grads = [torch.randn(n) * (1e-4 if s == 2 else 0.5) for s in range(steps)]
    path = f"{d}/adamw.in"
    with open(path, "w") as f:
        f.write(f"{n} {steps} {lr!r} {b1!r} {b2!r} {eps!r} {wd!r}\n")
        f.write(fmt(p0) + "\n")
        for g in grads:
            f.write(fmt(g) + "\n")
    lines = [l for l in run(binary, "adamw", path) if l]
    c = torch.tensor([[float(x) for x in l.split()] for l in lines])
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps,
                            weight_decay=wd, foreach=False)
    for g in grads:
        p.grad = g.clone()
        opt.step()
    st = opt.state[p]
    ref = torch.stack([p.detach(), st["exp_avg"], st["exp_avg_sq"]], 1)
    err = ((c - ref).abs() / ref.abs().clamp(min=1e-30)).max().item()
    if not torch.equal(c, ref):
        diff = (c != ref).sum().item()
        sys.exit(f"adamw: {diff} numbers differ (max rel err {err:.3g})")
    return err


def xent(binary, d):
    torch.manual_seed(2)
    M, V, eps = 23, 1009, 0.1
    z = torch.randn(M, V) * 4
    y = torch.randint(0, V, (M,))
    y[5] = y[17] = -1
    path = f"{d}/xent.in"
    with open(path, "w") as f:
        f.write(f"{M} {V} {eps!r}\n")
        f.write(fmt(z) + "\n")
        f.write(" ".join(str(int(t)) for t in y) + "\n")
    lines = [l for l in run(binary, "xent", path) if l]
    loss, count = float(lines[0].split()[0]), int(lines[0].split()[1])
    dz = torch.tensor([float(x) for x in lines[1:]]).view(M, V)
    if count != M - 2:
        sys.exit(f"xent: {count} rows counted, not {M - 2}")
    errs = []
    for dtype, tol in ((torch.float64, 1e-6), (torch.float32, 5e-6)):
        zz = z.clone().to(dtype).requires_grad_()
        ref = F.cross_entropy(zz, y, ignore_index=-1, label_smoothing=eps,
                              reduction="sum")
        ref.backward()
        lerr = abs(loss - ref.item()) / abs(ref.item())
        gerr = (dz.to(dtype) - zz.grad).abs().max().item()
        if lerr >= tol or gerr >= tol:
            sys.exit(f"xent against {dtype}: loss rel err {lerr:.3g}, "
                     f"gradient abs err {gerr:.3g}")
        errs.append(max(lerr, gerr))
    return errs[0]


def main():
    binary, d, what = sys.argv[1:4]
    if what == "adamw-exact":
        e = adamw(binary, d, 2.0 ** -10, 0.875, 0.984375, 2.0 ** -20,
                  2.0 ** -7)
    elif what == "adamw":
        e = adamw(binary, d, 1e-3, 0.9, 0.98, 1e-8, 0.01)
    elif what == "xent":
        e = xent(binary, d)
    else:
        sys.exit(f"unknown test {what}")
    print(f"max-err {e:.3g}")


if __name__ == "__main__":
    main()
