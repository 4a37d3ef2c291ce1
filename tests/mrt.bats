#!/usr/bin/env bats
# train --mrt, minimum-risk training (lib/train/risk, lib/train/mrt): the
# risk's gradient against PyTorch's autograd (scripts/torch-train.py
# --risk), fine-tuning an imperfect model of the reversal task
# (tests/reversal.bash) raises its BLEU and lowers the risk, determinism
# and --resume, what the options do, and their usage errors.  The risk's
# finite-difference checks are tests/unit/test_graph's.
load helper
bats_require_minimum_version 1.5.0

load reversal

# An imperfect model of the reversal task: 200 updates of cross-entropy
# (about a third of the test lines right, BLEU about 65).
setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	reversal_task "$TD"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 200 --max-epochs 0 -q -o "$TD/base.model"
}

# Fine-tuning settings over the base model (its architecture comes with it).
ft() {
	echo --init "$TD/base.model" --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-tokens 100 --lr 0.0005 --warmup 0 --dropout 0 --seed 3 \
	    -t 1 --progress log --max-epochs 0
}

# BLEU of a model's greedy translations of the test lines.
test_bleu() {
	tokenize -m "$1" < "$TD/test.src" | encode | decode | detok |
	    bleu -b "$TD/test.tgt"
}

# The weights of two model files, as "max |a - b|" over every tensor.
weight_diff() {
	"$PY" - "$1" "$2" <<'PY'
import sys
sys.path.insert(0, "%s/scripts" % __import__("os").environ["SRCDIR"])
import numpy as np
import seqpipe_torch as sq
a, _ = sq.read_safetensors(sys.argv[1])
b, _ = sq.read_safetensors(sys.argv[2])
assert a.keys() == b.keys()
print(max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in a))
PY
}

@test "the risk of candidate sets and its gradient as PyTorch's autograd" {
	cd "$BATS_TEST_TMPDIR"
	"$PY" "$SRCDIR/scripts/make-model.py" --gain 1 paper paper.sq \
	    prenorm-gelu pre.sq marian marian.sq untied untied.sq
	# sets of 3, 1, 4 and 2 candidates, an empty source and an empty
	# candidate among them; costs in [0, 1)
	"$PY" -c '
import random
r = random.Random(4)
ids = lambda n: " ".join(str(r.randrange(4, 96)) for _ in range(n))
for k, (s, n) in enumerate(((5, 3), (0, 1), (7, 4), (2, 2))):
    src = ids(s)
    for _ in range(n):
        print("%s\t%s\t%d\t%r" % (src, ids(r.randrange(0, 6)), k, r.random()))
' > sets.tsv
	for run in "paper 0.5" "pre 0.5" "marian 0.5" "untied 0.5" "pre 0.005"; do
		set -- $run
		ALPHA=$2 "$SRCDIR/tests/unit/test_graph" $1.sq sets.tsv \
		    c.grads > c.risk
		"$PY" "$SRCDIR/scripts/torch-train.py" $1.sq sets.tsv \
		    --risk $2 --grads t.grads
		run -0 "$PY" - "$run" <<'PY'
import sys
sys.path.insert(0, "%s/scripts" % __import__("os").environ["SRCDIR"])
import numpy as np
import seqpipe_torch as sq
risk, tok = open("c.risk").read().split()
g, meta = sq.read_safetensors("t.grads")
assert int(tok) == int(meta["tokens"]), (tok, meta["tokens"])
dr = abs(float(risk) - float(meta["loss"])) / float(meta["loss"])
c, _ = sq.read_safetensors("c.grads")
# each tensor against its own largest, or a thousandth of the largest of
# all when its own is smaller (alpha scales every gradient alike)
top = max(float(np.abs(v).max()) for v in g.values())
worst = max(float(np.abs(c[k] - v).max()) /
            max(float(np.abs(v).max()), 1e-3 * top) for k, v in g.items())
print("%s: risk %s vs %s (rel %.2g), grads (largest %.2g) worst rel %.2g"
      % (sys.argv[1], risk, meta["loss"], dr, top, worst))
assert top > 0 and dr < 1e-5 and worst < 1e-3, "too far"
PY
		echo "$output"
	done
}

@test "--mrt raises the BLEU of an imperfect model and lowers its risk" {
	cd "$BATS_TEST_TMPDIR"
	run -0 --separate-stderr train $(ft) --mrt --max-steps 200 \
	    --log-every 50 -o mrt.model
	before=$(test_bleu "$TD/base.model")
	after=$(test_bleu mrt.model)
	# the risk per pair of the first and the last 50 updates
	first=$(awk -F'\t' 'NR == 2 { print $3 }' mrt.model.log.tsv)
	last=$(awk -F'\t' 'END { print $3 }' mrt.model.log.tsv)
	echo "BLEU $before -> $after, risk $first -> $last"
	awk -v b="$before" -v a="$after" -v f="$first" -v l="$last" \
	    'BEGIN { exit !(a >= b + 5 && l < f - 0.05) }'
}

@test "--mrt: the same seed and threads give the same model; --resume continues it" {
	cd "$BATS_TEST_TMPDIR"
	for r in 1 2; do
		train $(ft) --mrt --dropout 0.1 --max-steps 20 -t 2 -q \
		    -o same$r.model
	done
	cmp same1.model same2.model
	train $(ft) --mrt --dropout 0.1 --max-steps 20 -t 2 --seed 4 -q \
	    -o other.model
	run ! cmp -s same1.model other.model
	train $(ft) --mrt --dropout 0.1 --max-steps 10 -t 2 -q -o same3.model
	train $(ft) --mrt --dropout 0.1 --max-steps 20 -t 2 -q --resume \
	    -o same3.model
	cmp same1.model same3.model
}

@test "--mrt-samples 1 has no risk gradient: with --mrt-ce-weight 1 it is cross-entropy" {
	cd "$BATS_TEST_TMPDIR"
	train $(ft) --max-steps 20 -q -o ce.model
	train $(ft) --mrt --mrt-samples 1 --mrt-ce-weight 1 --max-steps 20 -q \
	    -o one.model
	run -0 weight_diff ce.model one.model
	[ "$output" = "0.0" ]
	# and the risk does move the weights
	train $(ft) --mrt --max-steps 20 -q -o risk.model
	run -0 weight_diff ce.model risk.model
	[ "$output" != "0.0" ]
}

@test "--mrt-reference: the reference (cost 0) joins each set and lowers the risk" {
	cd "$BATS_TEST_TMPDIR"
	# one update: the same draws from the same model, with and without it
	train $(ft) --mrt --max-steps 1 --log-every 1 -q -o a.model
	train $(ft) --mrt --mrt-reference --max-steps 1 --log-every 1 -q \
	    -o b.model
	without=$(awk -F'\t' 'NR == 2 { print $3 }' a.model.log.tsv)
	with=$(awk -F'\t' 'NR == 2 { print $3 }' b.model.log.tsv)
	echo "risk $without without, $with with the reference"
	awk -v a="$without" -v b="$with" 'BEGIN { exit !(b < a && b > 0) }'
}

@test "--mrt with validation: the model written is the one of the best validation BLEU" {
	cd "$BATS_TEST_TMPDIR"
	# at this rate the best BLEU (step 20) is not at the best loss (35)
	run -0 --separate-stderr train $(ft) --mrt --lr 0.001 --max-steps 40 \
	    --valid-src "$TD/valid.src" --valid-tgt "$TD/valid.tgt" \
	    --valid-every 5 -o v.model
	awk -F'\t' 'NR > 1 && $9 != "" { print $1, $7, $9 }' v.model.log.tsv
	# step and BLEU of the best validation BLEU, step of the best loss
	set -- $(awk -F'\t' 'NR > 1 && $9 != "" {
	    if (b == "" || $9 > b) { b = $9; bs = $1 }
	    if (l == "" || $7 < l) { l = $7; ls = $1 } } END { print bs, b, ls }' \
	    v.model.log.tsv)
	[ "$1" != "$3" ] || skip "the best BLEU and the best loss coincide"
	got=$(tokenize -m v.model < "$TD/valid.src" | encode | decode | detok |
	    bleu -b -w 2 "$TD/valid.tgt")
	echo "best validation BLEU $2 (step $1), best loss at step $3; the model written: $got"
	[ "$got" = "$2" ]
}

@test "--mrt usage errors: alpha 0, with scheduled sampling, bad numbers" {
	run -2 --separate-stderr train --tsv x.tsv -o m --mrt --mrt-alpha 0
	[ "${stderr_lines[0]}" = "train: --mrt-alpha 0: the risk would have no gradient" ]
	run -2 --separate-stderr train --tsv x.tsv -o m --mrt \
	    --scheduled-sampling 0.2
	[ "${stderr_lines[0]}" = "train: --mrt and --scheduled-sampling exclude each other" ]
	run -2 --separate-stderr train --tsv x.tsv -o m --mrt-samples 0
	[[ "${stderr_lines[0]}" == *"mrt-samples: \"0\" is not an integer in [1, 1024]"* ]]
	run -0 train --mrt --mrt-samples 4 --mrt-alpha 1 --dump-config
	assert_line "mrt 1"
	assert_line "mrt-samples 4"
	assert_line "mrt-alpha 1"
}
