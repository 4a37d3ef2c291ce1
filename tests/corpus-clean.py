#!/usr/bin/python3
"""Runs the cleaning rules of scripts/build-corpus on hand-made entries,
for tests/corpus.bats (no network, no apt).

usage: corpus-clean.py LANG < ENTRIES        one entry a line: en TAB tgt
       corpus-clean.py --mo LANG FILE.mo     rule 1: the entries of a .mo
       corpus-clean.py --po LANG FILE.po     rule 1: the entries of a .po
       corpus-clean.py --ddtp FILE           the segments of a description

In ENTRIES, \\n is a newline and \\0 a NUL (between plural forms); an
optional third field is the msgctxt.  Prints each kept pair as
"en => tgt", or "drop: RULE" for an entry that gives none.
"""
import collections
import importlib.machinery
import importlib.util
import os
import sys

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                    "scripts", "build-corpus")
loader = importlib.machinery.SourceFileLoader("build_corpus", path)
spec = importlib.util.spec_from_loader("build_corpus", loader)
bc = importlib.util.module_from_spec(spec)
loader.exec_module(bc)

if sys.argv[1] == "--ddtp":
    with open(sys.argv[2]) as f:
        short, _, body = f.read().partition("\n")
    for segs in bc.ddtp_paragraphs(short, body):
        print(" | ".join(segs))
    sys.exit(0)
if sys.argv[1] in ("--mo", "--po"):
    read = bc.read_mo if sys.argv[1] == "--mo" else bc.read_po
    for ctxt, en, tgt in read(sys.argv[3], collections.Counter()):
        print(f"{ctxt!r} {en!r} {tgt!r}")
    sys.exit(0)
lang = sys.argv[1]
for line in sys.stdin:
    fields = line.rstrip("\n").replace("\\n", "\n").replace("\\0", "\0").split("\t")
    en, tgt, ctxt = (fields + [""])[:3]
    stats = collections.Counter()
    out = bc.clean(ctxt, en, tgt, lang, stats)
    for s, t in out:
        print(f"{s} => {t}")
    if not out:
        print("drop: " + " ".join(k for k in stats if k != "10 split"))
