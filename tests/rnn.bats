#!/usr/bin/env bats
# arch rnn (a bidirectional GRU encoder, a GRU decoder with attention):
# train --arch rnn learns a reversal task to exact outputs through the
# pipeline, greedy and beam, its attention learns the reversed alignment;
# the loss train computes is decode --score's; one batch's loss,
# gradients and AdamW steps equal PyTorch's (nn.GRU); config errors.
# (encode, decode and beamsearch against PyTorch on a random rnn model:
# tests/encode.bats, decode.bats, beamsearch.bats, config rnn.)
load helper
bats_require_minimum_version 1.5.0

# the reversal task of tests/train.bats: 3 to 7 letters of a-h, reversed
setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	"$PY" - "$TD" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(5)
def lines(n):
    out = []
    for _ in range(n):
        w = [r.choice("abcdefgh") for _ in range(r.randint(3, 7))]
        out.append((" ".join(w), " ".join(reversed(w))))
    return out
for name, n in (("train", 3000), ("valid", 40), ("test", 60)):
    pairs = lines(n)
    with open("%s/%s.src" % (d, name), "w") as f:
        f.write("".join(s + "\n" for s, _ in pairs))
    with open("%s/%s.tgt" % (d, name), "w") as f:
        f.write("".join(t + "\n" for _, t in pairs))
PY
	spm_train --input="$TD/train.src" --model_prefix="$TD/letters" \
	    --model_type=word --vocab_size=12 --hard_vocab_limit=false \
	    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 \
	    --minloglevel=2 > /dev/null 2>&1
	# the model of the task, shared by the tests that read it
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --valid-src "$TD/valid.src" --valid-tgt "$TD/valid.tgt" \
	    --max-steps 1000 --max-epochs 0 --valid-every 500 \
	    -o "$TD/rev.model" 2> "$TD/train.err"
}

tiny() {	# a small GRU model that learns the task in a few seconds
	echo --arch rnn --src-spm "$TD/letters.model" \
	    --tgt-spm "$TD/letters.model" --d-model 48 --layers 2 \
	    --max-positions 32 --max-tokens 400 --lr 0.005 --warmup 100 \
	    --dropout 0 --label-smoothing 0 --seed 3 -t 1 --progress log
}

# how many lines of $1 equal the test targets
exact() {
	paste -d'\t' "$1" "$TD/test.tgt" | awk -F'\t' '$1 == $2' | wc -l
}

@test "--arch rnn learns the reversal task: exact outputs, greedy and beam" {
	cd "$BATS_TEST_TMPDIR"
	[ -e "$TD/rev.model" ] || fail "$(cat "$TD/train.err")"
	tokenize -m "$TD/rev.model" < "$TD/test.src" | encode > mem
	decode mem | detok > greedy
	beamsearch -k 4 mem | detok > beam
	[ "$(wc -l < greedy)" -eq 60 ] && [ "$(wc -l < beam)" -eq 60 ]
	echo "exact: greedy $(exact greedy), beam $(exact beam) of 60"
	[ "$(exact greedy)" -ge 57 ] && [ "$(exact beam)" -ge 57 ]
	# the model file says what it is, and has no Transformer key
	"$PY" - "$TD/rev.model" <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import seqpipe_torch as sq
t, meta = sq.read_safetensors(sys.argv[1])
assert meta["arch"] == "rnn", meta
assert not set(meta) & set(sq.TRANSFORMER_ONLY), meta
assert "decoder.rnn.weight_hh_l1" in t and "encoder.rnn.bias_ih_l1_reverse" in t
PY
}

# (repeated letters let a few rows look at the twin: most, not all)
@test "the attention of the reversal model aligns output r with source n-1-r" {
	cd "$BATS_TEST_TMPDIR"
	tokenize -m "$TD/rev.model" < "$TD/test.src" | encode |
	    decode --alignment | seqcat -a > al
	# each A line: pairs s-t of the arg-max source of output token t
	run -0 awk '$1 == "T" { n = NF - 4 } $1 == "A" {
		for (i = 4; i <= NF; i++) { split($i, p, "-"); all++;
			if (p[1] + p[2] == n - 1) good++ } }
		END { print good, all; exit !(all > 200 && good >= 0.85 * all) }' al
	echo "$output"
}

@test "the loss train optimises equals what decode --score gives" {
	cd "$BATS_TEST_TMPDIR"
	head -n 5 "$TD/valid.src" > v.src
	head -n 5 "$TD/valid.tgt" > v.tgt
	# a model halfway, whose scores are not all near 0
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 30 -o s.model 2> /dev/null
	tokenize -m s.model --text < v.src > v.src.ids
	tokenize -m s.model --text < v.tgt > v.tgt.ids
	paste v.src.ids v.tgt.ids > v.pairs
	scores=$(tokenize -m s.model < v.src | encode | decode --score v.tgt.ids |
	    seqcat | awk '$1 == "T" { s += $4 } END { printf "%.6f", -s }')
	LS=0 "$SRCDIR/tests/unit/test_graph" s.model v.pairs g.sq > loss
	run -0 awk -v s="$scores" '{ d = $1 - s; if (d < 0) d = -d;
	    print $1, s, d; exit !(d < 1e-4 && $1 > 1) }' loss
	echo "$output"
}

@test "one batch against PyTorch's nn.GRU: loss, gradients, 3 AdamW steps" {
	cd "$BATS_TEST_TMPDIR"
	# untied with an output bias (make-model.py rnn), and tied (train's)
	"$PY" "$SRCDIR/scripts/make-model.py" --gain 1 rnn untied.sq 2> /dev/null
	cp "$TD/rev.model" tied.sq
	# pairs of mixed lengths, an empty source among them
	"$PY" -c '
import random
r = random.Random(2)
for s, t in ((5, 3), (0, 4), (9, 1), (2, 7), (3, 0), (1, 1)):
    print(" ".join(str(r.randrange(4, 12)) for _ in range(s)) + "\t" +
          " ".join(str(r.randrange(4, 12)) for _ in range(t)))
' > pairs.tsv
	for m in untied tied; do
		LS=0.1 "$SRCDIR/tests/unit/test_graph" $m.sq pairs.tsv c.grads \
		    3 0.001 0.9 0.98 1e-9 0.01 c.sq > c.loss
		"$PY" "$SRCDIR/scripts/torch-train.py" $m.sq pairs.tsv \
		    --label-smoothing 0.1 --grads t.grads --adam 3 --lr 0.001 \
		    --betas 0.9,0.98 --eps 1e-9 --weight-decay 0.01 --out t.sq
		run -0 "$PY" - "$m" <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import numpy as np
import seqpipe_torch as sq
loss, tok = open("c.loss").read().split()
g, meta = sq.read_safetensors("t.grads")
assert int(tok) == int(meta["tokens"]), (tok, meta["tokens"])
dl = abs(float(loss) - float(meta["loss"])) / float(meta["loss"])
c, _ = sq.read_safetensors("c.grads")
worst = max(float(np.abs(c[k] - v).max()) / max(1e-3, float(np.abs(v).max()))
            for k, v in g.items())
w1, _ = sq.read_safetensors("c.sq")
w2, _ = sq.read_safetensors("t.sq")
# Adam's m / sqrt(v) moves a weight by about lr whatever the size of its
# gradient: where that is rounding noise (the trained model has many),
# the two sides move apart; held only where the gradient is 1e-3 of its
# tensor's largest
wd = max(float((np.abs(w1[k] - w2[k]) * (np.abs(g[k]) >= 1e-3 *
         np.abs(g[k]).max())).max()) for k in w2 if k in g)
print("%s: loss %s vs %s (rel %.2g), grads worst rel %.2g, weights after "
      "3 AdamW steps %.2g" % (sys.argv[1], loss, meta["loss"], dl, worst, wd))
assert dl < 1e-5 and worst < 1e-3 and wd < 1e-5, "too far"
PY
		echo "$output"
	done
}

@test "a Transformer key in an rnn model, or a bad arch, is refused with one line" {
	cd "$BATS_TEST_TMPDIR"
	"$PY" "$SRCDIR/scripts/make-model.py" rnn r.sq 2> /dev/null
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import seqpipe_torch as sq
t, meta = sq.read_safetensors("r.sq")
sq.write_safetensors("heads.sq", t, dict(meta, n_heads="4"))
sq.write_safetensors("arch.sq", t, dict(meta, arch="lstm"))
sq.write_safetensors("odd.sq", t, dict(meta, d_model="33"))
del t["decoder.bridge.bias"]
sq.write_safetensors("nobridge.sq", t, meta)
PY
	echo 5 6 7 > src.ids
	run -1 --separate-stderr encode -m heads.sq src.ids
	[ "$stderr" = "encode: heads.sq: config n_heads does not apply to arch rnn" ]
	run -1 --separate-stderr encode -m arch.sq src.ids
	[ "$stderr" = "encode: arch.sq: config arch = \"lstm\": expected transformer or rnn" ]
	run -1 --separate-stderr encode -m odd.sq src.ids
	[[ "$stderr" == "encode: odd.sq: config d_model = 33: arch rnn needs an even positive width" ]]
	run -1 --separate-stderr encode -m nobridge.sq src.ids
	[ "$stderr" = "encode: nobridge.sq: missing (tensor decoder.bridge.bias)" ]
	run -2 --separate-stderr train --arch lstm --tsv x -o m
	[ "${stderr_lines[0]}" = 'train: --arch: "lstm" is not transformer or rnn' ]
	run -2 --separate-stderr train --arch rnn --d-model 33 --tsv x -o m
	[[ "${stderr_lines[0]}" == "train: --d-model 33: --arch rnn needs an even width"* ]]
}
