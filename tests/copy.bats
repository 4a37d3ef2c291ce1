#!/usr/bin/env bats
# train --copy, the copy mechanism (man/seqpipe-model.5): a tiny task that
# only copying solves, names never seen in training carried from source
# to target, learnt by the same settings and seed with and without
# --copy; the option's rules.  (Its numerics are held to finite
# differences in tests/unit/test_graph.c and to PyTorch in train.bats,
# decode.bats and beamsearch.bats.)
load helper
load engine
bats_require_minimum_version 1.5.0

# Five templates around one or two names ("my name is X" -> "ich heisse
# X", "X meets Y today" -> "heute trifft X Y", ...); 200 names in the
# training pairs, 60 others in the test pairs only.  A word-level
# SentencePiece model knows every word and name (each one piece), so the
# test names are in the vocabulary but never in a training pair: a model
# can only produce them by copying.
setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	cd "$TD"
	"$PY" - <<'PY'
import random
r = random.Random(7)
def name():
    return "".join(r.choice("bcdfghklmnprstvz") + r.choice("aeiou")
                   for _ in range(r.randint(2, 3))).capitalize()
names = sorted({name() for _ in range(400)})
r.shuffle(names)
train_names, test_names = names[:200], names[200:260]
T = [("my name is {0}", "ich heisse {0}"),
     ("call {0} now", "ruf {0} jetzt an"),
     ("{0} is here", "{0} ist da"),
     ("{0} meets {1} today", "heute trifft {0} {1}"),
     ("tell {0} that {1} called", "sag {0} dass {1} anrief")]
def pairs(pool, n):
    out = []
    for _ in range(n):
        s, t = r.choice(T)
        a, b = r.sample(pool, 2)
        out.append((s.format(a, b), t.format(a, b)))
    return out
for nm, pool, n in (("train", train_names, 4000), ("test", test_names, 60)):
    with open(nm + ".src", "w") as f, open(nm + ".tgt", "w") as g:
        for s, t in pairs(pool, n):
            f.write(s + "\n")
            g.write(t + "\n")
seen = set(open("train.tgt").read().split())
assert not seen & set(test_names), "a test name in training"
words = {w for s, t in T for w in (s + " " + t).split() if "{" not in w}
with open("vocab.txt", "w") as f:
    f.write(" ".join(sorted(words)) + "\n" + "\n".join(names) + "\n")
PY
	spm_train --input="$TD/vocab.txt" --model_prefix="$TD/words" \
	    --model_type=word --vocab_size=500 --hard_vocab_limit=false \
	    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 \
	    --minloglevel=2 > /dev/null 2>&1
	for copy in copy no-copy; do
		train $(tiny) --$copy --src "$TD/train.src" --tgt "$TD/train.tgt" \
		    --max-steps 1500 --max-epochs 0 -o "$TD/$copy.model" \
		    2> "$TD/$copy.log" || return 1
	done
}

tiny() {	# a tiny model, as tests/train.bats's
	echo --src-spm "$TD/words.model" --tgt-spm "$TD/words.model" \
	    --d-model 32 --heads 2 --ffn 64 --layers 2 --max-positions 32 \
	    --max-tokens 400 --lr 0.005 --warmup 100 --dropout 0 \
	    --label-smoothing 0 --seed 3 -t 1 --progress log \
	    --valid-bleu-lines 0
}

# exact MODEL SEARCH...: how many test lines MODEL translates exactly
exact() {
	local m=$1
	shift
	tokenize -m "$TD/$m.model" < "$TD/test.src" | encode | "$@" | detok |
	    paste -d'\t' - "$TD/test.tgt" | awk -F'\t' '$1 == $2' | wc -l
}

@test "names never seen in training: the copy model carries them over, the same model without copy cannot" {
	local with without beam
	with=$(exact copy decode)
	without=$(exact no-copy decode)
	beam=$(exact copy beamsearch -k 4)
	echo "exact of 60: copy $with (beam $beam), no copy $without"
	[ "$with" -ge 48 ]
	[ "$beam" -ge 48 ]
	[ "$without" -le 3 ]
}

@test "--copy needs --shared-vocab" {
	run -2 --separate-stderr train --copy --no-shared-vocab \
	    --no-tie-embeddings --tsv x.tsv -o m
	[ "${stderr_lines[0]}" = "train: --copy needs --shared-vocab (a copied source piece must be a target piece)" ]
}

@test "--copy excludes --src-frames, --nat and --mrt, also through --init" {
	local o
	for o in --src-frames --nat --mrt; do
		[ $o = --src-frames ] || o="$o --src"
		run -2 --separate-stderr train --copy $o x.src --tgt x.tgt -o m
		[ "${stderr_lines[0]}" = "train: --copy excludes --src-frames, --nat and --mrt" ]
	done
	run ! --separate-stderr train $(tiny) --init "$TD/copy.model" --mrt \
	    --src "$TD/test.src" --tgt "$TD/test.tgt" --max-steps 1 -o m
	[ "${stderr_lines[0]}" = "train: $TD/copy.model: a copy model (config copy 1): --mrt does not train it" ]
	run ! --separate-stderr train $(tiny) --init "$TD/copy.model" --nat \
	    --src "$TD/test.src" --tgt "$TD/test.tgt" --max-steps 1 -o m
	[[ "${stderr_lines[0]}" == *"config copy = 1 needs an autoregressive model of input tokens (not frames, not nat)" ]]
	[ ! -e m ]
}

@test "a copy model in int8 and F16 (--dtype): names still carried over" {
	# How close int8 and F16 come to float32 depends on the weights this
	# tiny training gives (OpenBLAS's kernels change them); what the
	# copy model computes in each dtype is checked against PyTorch on the
	# weights they stand for in dtype.bats.  Here: it still copies.
	local d n
	for d in int8 f16; do
		n=$(exact copy decode --dtype $d)
		echo "$d: exact $n of 60"
		[ "$n" -ge 48 ] || fail "$d: $n of 60 exact"
	done
}

@test "--init MODEL --copy adds the copy gate; --init of a copy model keeps it" {
	cd "$BATS_TEST_TMPDIR"
	head -n 200 "$TD/train.src" > s
	head -n 200 "$TD/train.tgt" > t
	run -0 --separate-stderr train --init "$TD/no-copy.model" --copy \
	    --src s --tgt t --max-steps 5 --progress log -t 1 -o added.model
	[[ "$stderr" == *"adding the copy mechanism to $TD/no-copy.model"* ]]
	train --init added.model --src s --tgt t --max-steps 5 -q -t 1 \
	    -o kept.model
	run -0 "$PY" - <<'PY'
import sys
sys.path.insert(0, __import__("os").environ["SRCDIR"] + "/scripts")
import seqpipe_torch as sq
for path, copy in (("added.model", "1"), ("kept.model", "1")):
    t, meta = sq.read_safetensors(path)
    assert meta["copy"] == copy and t["decoder.p_gen.weight"].shape == (1, 96), path
t, meta = sq.read_safetensors(__import__("os").environ["TD"] + "/no-copy.model")
assert meta["copy"] == "0" and "decoder.p_gen.weight" not in t
PY
	[ "$(tokenize -m added.model < "$TD/test.src" | encode | decode --text | wc -l)" -eq 60 ]
}

@test "scripts/placeholder-copy: the share of the source's placeholders a translation keeps" {
	cd "$BATS_TEST_TMPDIR"
	# kept by the reference: %s %d; ${HOME} <b> </b> &amp;; none; %1 %2
	printf '%s\n' 'Delete %s from %d folders?' \
	    'Open ${HOME}/<b>file</b> &amp; more' 'No placeholders here' \
	    '%1 of %2 done, %s' > src
	printf '%s\n' '%d Ordnern %s löschen?' \
	    '${HOME}/<b>Datei</b> &amp; mehr öffnen' 'Keine Platzhalter' \
	    '%1 von %2 fertig' > ref
	# keeps %s (one of two), 3 of 4, -, 2 of 2; invents a %s and {x}
	printf '%s\n' '%s aus %s Ordnern löschen?' '${HOME}/<b>Datei</b> & mehr' \
	    'Keine {x} Platzhalter' '%1 von %2 fertig' > hyp
	run -0 "$SRCDIR/scripts/placeholder-copy" src ref hyp
	[ "$output" = "hyp: placeholder-copy accuracy 75.0% (6 of 8 in 3 lines; printf 1/2, qt 2/2, shell 1/1, tag 2/2, entity 0/1); lines with all kept 33.3% (1); invented 2" ]
	run -0 "$SRCDIR/scripts/placeholder-copy" -l src ref
	[ "$output" = "$(printf '1\n2\n4')" ]
	head -n 3 hyp > short
	run -2 "$SRCDIR/scripts/placeholder-copy" src ref short
	[ "$output" = "placeholder-copy: short has 3 lines, src 4" ]
}
