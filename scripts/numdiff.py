#!/usr/bin/python3
"""numdiff.py: compares two text files of numbers within a tolerance.

usage: numdiff.py [--tol X] [--rel] GOT WANT

Line by line, field by field (split on blanks): fields that both read as
integers must be equal, fields that both read as numbers may differ by at
most X in absolute value (default 1e-4; "nan" equals "nan", "inf" equals
"inf"), or with --rel by at most X times max(1, |WANT's number|),
anything else must be equal as text.  Exits 0 if the files agree,
1 with the first difference ("GOT:LINE: field N: A vs WANT B") and the
largest difference seen otherwise, 2 on a usage error.  For tests that
compare seqcat output with scripts/torch-reference.py's; needs no torch.
"""

import argparse
import math
import sys


def as_int(s):
    try:
        return int(s)
    except ValueError:
        return None


def as_float(s):
    try:
        return float(s)
    except ValueError:
        return None


def main():
    ap = argparse.ArgumentParser(prog="numdiff.py",
                                 usage="%(prog)s [--tol X] [--rel] GOT WANT",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="largest absolute difference allowed (default 1e-4)")
    ap.add_argument("--rel", action="store_true",
                    help="the tolerance scales with max(1, |WANT|)")
    ap.add_argument("got", metavar="GOT")
    ap.add_argument("want", metavar="WANT")
    a = ap.parse_args()
    with open(a.got) as f:
        got = f.read().splitlines()
    with open(a.want) as f:
        want = f.read().splitlines()
    worst, first = 0.0, None
    if len(got) != len(want):
        first = "%d lines, %s has %d" % (len(got), a.want, len(want))
    for n, (g, w) in enumerate(zip(got, want), 1):
        gf, wf = g.split(), w.split()
        if len(gf) != len(wf) and first is None:
            first = "%d: %d fields, %s has %d" % (n, len(gf), a.want, len(wf))
        for i, (x, y) in enumerate(zip(gf, wf), 1):
            if x == y:
                continue
            xi, yi = as_int(x), as_int(y)
            xf, yf = as_float(x), as_float(y)
            if xi is not None and yi is not None or xf is None or yf is None:
                bad, d = True, None
            elif math.isnan(xf) or math.isnan(yf) or math.isinf(xf) or math.isinf(yf):
                bad, d = not (math.isnan(xf) and math.isnan(yf) or xf == yf), None
            else:
                d = abs(xf - yf) / (max(1.0, abs(yf)) if a.rel else 1.0)
                worst = max(worst, d)
                bad = d > a.tol
            if bad and first is None:
                first = "%d: field %d: %s vs %s %s" % (n, i, x, a.want, y)
    if first is not None:
        sys.exit("numdiff.py: %s:%s (largest difference %.3g, tolerance %g)"
                 % (a.got, first, worst, a.tol))
    print("numdiff.py: %s and %s agree (largest difference %.3g)"
          % (a.got, a.want, worst))


if __name__ == "__main__":
    main()
