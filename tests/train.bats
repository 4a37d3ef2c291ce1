#!/usr/bin/env bats
# train: settings (command line, config files, --dump-config), bad input,
# the training against PyTorch (scripts/torch-train.py: loss, gradients,
# AdamW steps), a synthetic task learnt to exact outputs through the
# whole pipeline, determinism, kill and --resume, NaN, progress output.
load helper
load reversal
bats_require_minimum_version 1.5.0

# The reversal task of tests/reversal.bash.
setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	reversal_task "$TD"
}

@test "--dump-config reads back through --config to the same settings" {
	run -0 train --d-model 64 --heads 8 --no-pre-norm --lr 0.0003 \
	    --tsv x.tsv -o m --dump-config
	echo "$output" > "$BATS_TEST_TMPDIR/a.conf"
	assert_line "d-model 64"
	assert_line "pre-norm 0"
	run -0 train --config "$BATS_TEST_TMPDIR/a.conf" --dump-config
	[ "$output" = "$(cat "$BATS_TEST_TMPDIR/a.conf")" ]
}

@test "a JSON config works, and the command line wins over it" {
	echo '{"d_model": 48, "heads": 6, "tie-embeddings": false, "lr": 0.002}' \
	    > "$BATS_TEST_TMPDIR/c.json"
	run -0 train --config "$BATS_TEST_TMPDIR/c.json" --heads 4 --dump-config
	assert_line "d-model 48"
	assert_line "heads 4"
	assert_line "tie-embeddings 0"
	assert_line "lr 0.002"
}

@test "a bad config file: one line naming the file and line, exit 1" {
	printf 'd-model 64\n# a comment\n\nno-such-key 3\n' > "$BATS_TEST_TMPDIR/b.conf"
	run -1 --separate-stderr train --config "$BATS_TEST_TMPDIR/b.conf" --dump-config
	[ "$stderr" = "train: $BATS_TEST_TMPDIR/b.conf: line 4: unknown setting \"no-such-key\"" ]
	printf 'heads x\n' > "$BATS_TEST_TMPDIR/b.conf"
	run -1 --separate-stderr train --config "$BATS_TEST_TMPDIR/b.conf" --dump-config
	[[ "$stderr" == *"b.conf: line 1: heads: \"x\" is not an integer"* ]]
}

@test "usage errors exit 2 with one line" {
	run -2 --separate-stderr train --tsv x.tsv
	[ "${stderr_lines[0]}" = "train: no output model: give -o FILE" ]
	[[ "${stderr_lines[1]}" == "usage: train "* ]]
	run -2 --separate-stderr train --tsv x.tsv -o m --d-model 30 --heads 4
	[ "${stderr_lines[0]}" = "train: --heads 4 does not divide --d-model 30" ]
	run -2 --separate-stderr train --tsv x.tsv -o m --too-long cut
	[[ "$stderr" == *"--too-long"* ]]
	run -2 --separate-stderr train --src a -o m
	[[ "$stderr" == *"--src and --tgt"* ]]
}

@test "bad data: different lengths, empty file, a TSV line without a TAB" {
	cd "$BATS_TEST_TMPDIR"
	head -n 10 "$TD/train.src" > a.src
	head -n 9 "$TD/train.tgt" > a.tgt
	run -1 --separate-stderr train $(tiny) --src a.src --tgt a.tgt -o m
	[[ "$stderr" == *"a.src has 10 lines, a.tgt 9"* ]]
	[ "${#lines[@]}" -eq 0 ]
	: > e.src; : > e.tgt
	run -1 --separate-stderr train $(tiny) --src e.src --tgt e.tgt -o m
	[[ "$stderr" == *"e.src: empty file"* ]]
	printf 'a b\tb a\nno tab here\n' > t.tsv
	run -1 --separate-stderr train $(tiny) --tsv t.tsv -o m
	[[ "$stderr" == *"t.tsv: line 2:"* ]]
	[ ! -e m ]
}

@test "an unwritable output is refused before any training" {
	cd "$BATS_TEST_TMPDIR"
	run -1 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" -o /nonexistent/dir/m.model
	[[ "$stderr" == "train: /nonexistent/dir/m.model: "* ]]
}

# One batch of pairs $3 (default pairs.tsv) through model $1.sq in C
# (tests/unit/test_graph) and in PyTorch (scripts/torch-train.py): the
# loss, the guided-attention penalty with $2 (lambda; 0 none) of width 0.2,
# the gradients, and the weights after 3 AdamW steps must agree.
torch_batch() {
	local m=$1 ga=$2 p=${3:-pairs.tsv} extra=
	[ "$ga" = 0 ] || extra="--guided-attention $ga --guided-attention-width 0.2"
	LS=0.1 GA=$ga GW=0.2 "$SRCDIR/tests/unit/test_graph" $m.sq $p \
	    c.grads 3 0.001 0.9 0.98 1e-9 0.01 c.sq > c.loss
	"$PY" "$SRCDIR/scripts/torch-train.py" $m.sq $p \
	    --label-smoothing 0.1 $extra --grads t.grads --adam 3 --lr 0.001 \
	    --betas 0.9,0.98 --eps 1e-9 --weight-decay 0.01 --out t.sq
	run "$PY" - "$m" <<'PY'
import sys
sys.path.insert(0, "%s/scripts" % __import__("os").environ["SRCDIR"])
import numpy as np
import seqpipe_torch as sq
m = sys.argv[1]
loss, tok, *guide = open("c.loss").read().split()
g, meta = sq.read_safetensors("t.grads")
assert int(tok) == int(meta["tokens"]), (tok, meta["tokens"])
dl = abs(float(loss) - float(meta["loss"])) / float(meta["loss"])
assert bool(guide) == ("guide" in meta), (guide, meta)
if guide:
    dg = abs(float(guide[0]) - float(meta["guide"])) / float(meta["guide"])
    assert dg < 1e-5, ("guide penalty", guide[0], meta["guide"])
    m += " guided (penalty %s vs %s)" % (guide[0], meta["guide"])
c, _ = sq.read_safetensors("c.grads")
worst = 0.0
for k, v in g.items():
    scale = max(1e-3, float(np.abs(v).max()))
    worst = max(worst, float(np.abs(c[k] - v).max()) / scale)
w1, _ = sq.read_safetensors("c.sq")
w2, _ = sq.read_safetensors("t.sq")
# a key bias shifts every score of a query alike: its gradient is 0 but
# for rounding, which Adam's m / sqrt(v) blows up to +-lr; left out, as
# is any weight whose gradient is below 1e-6 of its tensor's largest
# (rounding decides the sign of its steps)
def adam_diff(k):
    live = np.abs(g[k]) >= 1e-6 * np.abs(g[k]).max()
    return float((np.abs(w1[k] - w2[k]) * live).max())
wd = max(adam_diff(k) for k in w2 if k in g and not k.endswith("k_proj.bias"))
print("%s: loss %s vs %s (rel %.2g), grads worst rel %.2g, weights after "
      "3 AdamW steps %.2g" % (m, loss, meta["loss"], dl, worst, wd))
assert dl < 1e-5 and worst < 1e-3 and wd < 1e-5, "too far"
PY
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "one batch against PyTorch: loss, gradients, and 3 AdamW steps" {
	cd "$BATS_TEST_TMPDIR"
	"$PY" "$SRCDIR/scripts/make-model.py" --gain 1 paper paper.sq \
	    prenorm-gelu pre.sq marian marian.sq untied untied.sq nat nat.sq \
	    rnn rnn.sq copy copy.sq
	# pairs of mixed lengths, an empty source among them (not for nat:
	# its decoder copies the source); for the copy model, half the target
	# tokens are source tokens
	"$PY" -c '
import random
for name, copy in (("pairs.tsv", 0), ("copy.pairs.tsv", 1)):
    r = random.Random(2)
    with open(name, "w") as f:
        for s, t in ((5, 3), (0, 4), (9, 1), (2, 7), (3, 0)):
            src = [r.randrange(4, 96) for _ in range(s)]
            tgt = [r.choice(src) if copy and src and r.random() < 0.5
                   else r.randrange(4, 96) for _ in range(t)]
            f.write(" ".join(map(str, src)) + "\t" +
                    " ".join(map(str, tgt)) + "\n")
'
	awk -F'\t' '$1 != ""' pairs.tsv > nat.pairs.tsv
	for m in paper pre marian untied rnn; do
		torch_batch $m 0
	done
	torch_batch nat 0 nat.pairs.tsv
	torch_batch copy 0 copy.pairs.tsv
	# the guided-attention term's gradient: strong enough to matter
	torch_batch pre 2
	torch_batch paper 2
}

@test "the reversal task is learnt: exact outputs through the pipeline" {
	cd "$BATS_TEST_TMPDIR"
	run -0 train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --valid-src "$TD/valid.src" --valid-tgt "$TD/valid.tgt" \
	    --max-steps 1500 --max-epochs 0 --valid-every 500 -o rev.model
	tokenize -m rev.model < "$TD/test.src" | encode | decode | detok > out
	[ "$(wc -l < out)" -eq 60 ]
	right=$(paste -d'\t' out "$TD/test.tgt" | awk -F'\t' '$1 == $2' | wc -l)
	echo "exact: $right of 60"
	[ "$right" -ge 57 ]
	# the curves: a header and a line per validation at least
	run -0 awk -F'\t' 'NR > 1 && $7 != ""' rev.model.log.tsv
	[ "${#lines[@]}" -ge 3 ]
}

@test "the same settings and seed give the same model, bit for bit" {
	cd "$BATS_TEST_TMPDIR"
	for r in 1 2; do
		train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
		    --max-steps 40 --dropout 0.1 --label-smoothing 0.1 \
		    -o same$r.model
	done
	cmp same1.model same2.model
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 40 --dropout 0.1 --label-smoothing 0.1 --seed 4 \
	    -o other.model
	run ! cmp -s same1.model other.model
}

@test "killed with SIGKILL and resumed: the same model as an unbroken run" {
	cd "$BATS_TEST_TMPDIR"
	set -- $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 120 --save-every 10 --dropout 0.1 \
	    --scheduled-sampling 0.3
	train "$@" -o whole.model
	train "$@" -o broken.model & pid=$!
	# until a checkpoint exists and the run is past it, then kill
	for i in $(seq 200); do
		[ -e broken.model.ckpt ] && break
		sleep 0.05
	done
	sleep 0.$((RANDOM % 5))
	kill -9 $pid 2>/dev/null || true
	wait $pid || true
	[ -e broken.model.ckpt ]
	[ ! -e broken.model ] || echo "(the run ended before the kill)"
	run -0 --separate-stderr train "$@" -o broken.model --resume
	[[ "$stderr" == *"resuming from broken.model.ckpt at step "* ]]
	cmp whole.model broken.model
}

@test "--resume with other settings is refused, naming one" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 10 --save-every 5 -o r.model
	run -1 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-steps 20 --d-model 64 -o r.model --resume
	[[ "$stderr" == *"r.model.ckpt: --resume with other settings"*"d-model"* ]]
	run -0 train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 20 -o r.model --resume
}

@test "a NaN loss stops at the step it happens, no model written" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 2 -o ok.model
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import seqpipe_torch as sq
t, meta = sq.read_safetensors("ok.model")
t["decoder.layers.0.fc1.weight"][0, 0] = float("nan")
sq.write_safetensors("nan.model", t, meta)
PY
	run -1 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-steps 5 --init nan.model -o n.model
	# ReLU turns the NaN of one unit into 0: the gradient shows it
	[[ "${stderr_lines[-1]}" == "train: step 1: the gradient norm is NaN: stopped"* ]]
	[ ! -e n.model ]
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-steps 3 --init nan.model --on-nan skip \
	    -o n.model
	[[ "$stderr" == *"step 1: non-finite loss or gradient: batch skipped"* ]]
}

@test "progress: a bar on a terminal, log lines otherwise" {
	cd "$BATS_TEST_TMPDIR"
	set -- $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 30 --log-every 10
	run -0 --separate-stderr train "$@" --progress auto -o p.model
	[[ "$stderr" == *"train: step 10/30 epoch 1 loss "*"tok/s"* ]]
	[[ "$stderr" != *$'\r'* ]]
	script -qec "train $* --progress auto -o q.model" /dev/null > tty.out
	grep -q $'\r.*step 30/30 \[#' tty.out
}

@test "train --init fine-tunes an existing model on new data" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 20 -o base.model
	run -0 train $(tiny) --init base.model --src "$TD/valid.src" \
	    --tgt "$TD/valid.tgt" --max-steps 5 -o tuned.model
	# the same architecture and vocabularies, other weights
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import numpy as np
import seqpipe_torch as sq
a, ma = sq.read_safetensors("base.model")
b, mb = sq.read_safetensors("tuned.model")
assert sorted(a) == sorted(b)
assert (a["spm.source"] == b["spm.source"]).all()
assert any(not np.array_equal(a[k], b[k]) for k in a if not k.startswith("spm"))
PY
}

@test "the loss train optimises equals what decode --score gives (both archs, --nat and --copy too)" {
	cd "$BATS_TEST_TMPDIR"
	head -n 3 "$TD/valid.src" > v.src
	head -n 3 "$TD/valid.tgt" > v.tgt
	# the Transformer autoregressive and non-autoregressive (its length
	# weight 1), with the copy mechanism, and the GRU model
	for kind in transformer transformer,--nat transformer,--copy rnn; do
		arch=${kind%%,*} opt= nat=
		[ "$arch" = "$kind" ] || opt=${kind#*,}
		[ "$opt" != --nat ] || nat=--nat
		train $(tiny) --arch $arch --src "$TD/train.src" \
		    --tgt "$TD/train.tgt" --max-steps 30 $opt -o s.model
		tokenize -m s.model --text < v.src > v.src.ids
		tokenize -m s.model --text < v.tgt > v.tgt.ids
		paste v.src.ids v.tgt.ids > v.pairs
		scores=$(tokenize -m s.model < v.src | encode |
		    decode $nat --score v.tgt.ids | seqcat |
		    awk '$1 == "T" { s += $4 } END { printf "%.6f", -s }')
		LS=0 "$SRCDIR/tests/unit/test_graph" s.model v.pairs g.sq > loss
		run -0 awk -v s="$scores" '{ d = $1 - s; if (d < 0) d = -d;
		    print $1, s, d; exit !(d < 1e-4 && $1 > 1) }' loss
		echo "$kind: $output"
	done
}

@test "--f16 writes the weights as F16, and the programs run the model" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 20 --f16 -o h.model
	"$PY" - <<'PY'
import json, struct
with open("h.model", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
w = [v["dtype"] for k, v in h.items() if k.endswith((".weight", ".bias"))]
assert w and all(d == "F16" for d in w), set(w)
PY
	run -0 bash -c "tokenize -m h.model < '$TD/test.src' | encode | decode | detok | wc -l"
	[ "$output" -eq 60 ]
}

@test "--average 2: the model is the mean of the last two checkpoints" {
	cd "$BATS_TEST_TMPDIR"
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-steps 10 --save-every 5 --average 2 \
	    -o a.model
	[[ "$stderr" == *"the mean of the last 2 checkpoints"* ]]
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import numpy as np
import seqpipe_torch as sq
m, _ = sq.read_safetensors("a.model")
s = [sq.read_safetensors("a.model.ckpt.avg%d" % k) for k in (0, 1)]
assert sorted(x[1]["train.step"] for x in s) == ["10", "5"]
worst = max(float(np.abs(m[k] - (s[0][0][k] + s[1][0][k]) / 2).max())
            for k in m if k.endswith("weight"))
assert worst < 1e-6, worst
assert any(not np.array_equal(s[0][0][k], s[1][0][k]) for k in m if k.endswith("weight"))
PY
}

@test "--patience stops after that many validations without progress" {
	cd "$BATS_TEST_TMPDIR"
	# a learning rate of 0: the validation loss never gets better
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --valid-src "$TD/valid.src" \
	    --valid-tgt "$TD/valid.tgt" --lr 0 --valid-every 5 --patience 2 \
	    --valid-bleu-lines 0 --max-steps 100 -o p.model
	[[ "$stderr" == *"step 15: no better validation loss in 2 validations: stopping"* ]]
}

@test "overlong pairs: counted in the data summary, or truncated; invalid UTF-8: one warning" {
	cd "$BATS_TEST_TMPDIR"
	head -n 200 "$TD/train.src" > w.src
	head -n 200 "$TD/train.tgt" > w.tgt
	printf 'a b c d e f g h a b c d e f g h a b c d e f g h a b c d e f g h a b\n' >> w.src
	printf 'a\n' >> w.tgt
	printf 'a \377 b\n' >> w.src
	printf 'b a\n' >> w.tgt
	run -0 --separate-stderr train $(tiny) --src w.src --tgt w.tgt \
	    --max-steps 2 -o w.model
	[[ "$stderr" == *"training data: 201 pairs (1 longer than 32 positions left out"* ]]
	[[ "$stderr" == *"training data: 1 lines had invalid UTF-8"* ]]
	run -0 --separate-stderr train $(tiny) --src w.src --tgt w.tgt \
	    --max-steps 2 --too-long truncate -o w.model
	[[ "$stderr" == *"training data: 202 pairs (1 longer than 32 positions truncated)"* ]]
}

@test "--update-freq 2 accumulates two batches per update" {
	cd "$BATS_TEST_TMPDIR"
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-epochs 1 --update-freq 2 --log-every 1 \
	    -o u.model
	one=$(grep -c '^[0-9]' u.model.log.tsv)
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-epochs 1 --log-every 1 -o v.model
	two=$(grep -c '^[0-9]' v.model.log.tsv)
	echo "updates in an epoch: $one with --update-freq 2, $two without"
	[ $(( (two + 1) / 2 )) -eq "$one" ]
}

@test "scripts/plot-train draws the log to a PNG" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --valid-src "$TD/valid.src" --valid-tgt "$TD/valid.tgt" \
	    --max-steps 20 --valid-every 10 --log-every 5 -o g.model
	run -0 "$SRCDIR/scripts/plot-train" g.model.log.tsv g.png
	[ "$(head -c 8 g.png | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	run -1 "$SRCDIR/scripts/plot-train" no-such.tsv g.png
	[[ "$output" == *"no-such.tsv: cannot read"* ]]
}

@test "the last step is validated too: a candidate for the best model" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --valid-src "$TD/valid.src" --valid-tgt "$TD/valid.tgt" \
	    --max-steps 12 --valid-every 5 --log-every 100 -o e.model
	# rows with a validation loss (column 7): after steps 5, 10 and 12
	run -0 awk -F '\t' 'NR > 1 && $7 != "" { print $1 }' e.model.log.tsv
	[ "$(echo $output)" = "5 10 12" ]
}

@test "--resume goes on counting the seconds of training in the log" {
	cd "$BATS_TEST_TMPDIR"
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 40 --save-every 40 --log-every 10 -o s.model
	train $(tiny) --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 50 --save-every 40 --log-every 10 -o s.model --resume
	# column 6, seconds: never smaller than on the row before
	run -0 awk -F '\t' 'NR > 2 && $6 + 0 < prev { print "row " NR }
	    NR > 1 { prev = $6 + 0 }' s.model.log.tsv
	[ -z "$output" ]
	[ "$(grep -c '^[0-9]' s.model.log.tsv)" -eq 5 ]
}

@test "--max-seconds stops at the first update past the limit, and may change on --resume" {
	cd "$BATS_TEST_TMPDIR"
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-epochs 0 --max-steps 0 --max-seconds 1 \
	    --log-every 1 --save-every 1000000 -o t.model
	[[ "$stderr" == *"s of training: --max-seconds reached"* ]] || fail "$stderr"
	# no step count ends this run: "step 12", not "step 12/0"
	[[ "$stderr" =~ "train: step "[0-9]+" epoch " ]] || fail "$stderr"
	# the elapsed column (to 0.1 s): the last update reached 1 s, the one
	# before not
	awk -F'\t' 'NR > 1 { prev = last; last = $6 }
	    END { exit !(last >= 1 && prev <= 1) }' t.model.log.tsv ||
		fail "$(tail -n 3 t.model.log.tsv)"
	steps=$(tail -n 1 t.model.log.tsv | cut -f1)
	echo 'a b' | tokenize -m t.model | encode -m t.model | decode -m t.model > /dev/null
	# a longer limit goes on from the checkpoint the stop wrote
	run -0 --separate-stderr train $(tiny) --src "$TD/train.src" \
	    --tgt "$TD/train.tgt" --max-epochs 0 --max-steps 0 --max-seconds 2 \
	    --log-every 1 --save-every 1000000 -o t.model --resume
	[ "$(tail -n 1 t.model.log.tsv | cut -f1)" -gt "$steps" ]
	awk -F'\t' 'END { exit !($6 >= 2) }' t.model.log.tsv
}
