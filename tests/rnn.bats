#!/usr/bin/env bats
# arch rnn (a bidirectional GRU encoder, a GRU decoder with attention):
# train --arch rnn learns a reversal task to exact outputs through the
# pipeline, greedy and beam, its attention learns the reversed alignment;
# config errors; what acts on the Transformer alone (--dtype int8/f16,
# --monotonic, train --nat, --mrt, --guided-attention, --src-frames,
# --attention-window, --copy) refused.  (Against PyTorch's nn.GRU on a random
# rnn model: encode, decode and beamsearch in tests/encode.bats, decode.bats,
# beamsearch.bats; one batch's loss, gradients and AdamW steps, and the
# loss train computes against decode --score's, in tests/train.bats.)
load helper
load reversal
bats_require_minimum_version 1.5.0

# the reversal task of tests/reversal.bash
setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	reversal_task "$TD"
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
	[ "$(wc -l < greedy)" -eq 60 ] || fail "greedy: $(wc -l < greedy) lines"
	[ "$(wc -l < beam)" -eq 60 ] || fail "beam: $(wc -l < beam) lines"
	echo "exact: greedy $(exact greedy), beam $(exact beam) of 60"
	[ "$(exact greedy)" -ge 57 ] || fail "greedy: $(exact greedy) of 60 exact"
	[ "$(exact beam)" -ge 57 ] || fail "beam: $(exact beam) of 60 exact"
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

@test "what acts on the Transformer alone is refused for arch rnn with one line" {
	cd "$BATS_TEST_TMPDIR"
	m="$TD/rev.model"
	echo "a b c" | tokenize -m "$m" | encode -m "$m" > rev.mem
	# int8 and f16 weights: the GRU multiplies through float32 tables
	for t in int8 f16; do
		run -1 --separate-stderr bash -c "echo 'a b c' |
		    tokenize -m '$m' | encode -m '$m' --dtype $t"
		[ "$stderr" = "encode: $m: an arch rnn model runs in float32 only (--dtype f32)" ]
	done
	run -0 bash -c "echo 'a b c' | tokenize -m '$m' | encode -m '$m' --dtype f32 | decode -m '$m' --dtype f32 | detok -m '$m'"
	[ "$output" = "c b a" ]
	for p in decode beamsearch; do
		run -1 --separate-stderr $p -m "$m" --monotonic 2 rev.mem
		[ "$stderr" = "$p: $m: --monotonic acts on the Transformer's cross-attention, not an arch rnn model's" ]
	done
	for o in "--nat" "--mrt" "--guided-attention 1" "--attention-window 2" \
	    "--copy"; do
		run -2 --separate-stderr train $(tiny) --tsv x $o -o m
		[ "${stderr_lines[0]}" = "train: --arch rnn excludes --src-frames, --nat, --mrt, --guided-attention, --attention-window and --copy" ]
	done
	run -2 --separate-stderr train --arch rnn --src-frames x --tgt y -o m
	[ "${stderr_lines[0]}" = "train: --arch rnn excludes --src-frames, --nat, --mrt, --guided-attention, --attention-window and --copy" ]
	# from an rnn model, whatever --arch says
	for o in --mrt --copy; do
		run -1 --separate-stderr train --src-spm "$TD/letters.model" \
		    --tgt-spm "$TD/letters.model" --init "$m" $o \
		    --src "$TD/valid.src" --tgt "$TD/valid.tgt" --max-steps 1 -o m
		[ "${stderr_lines[0]}" = "train: $m: an arch rnn model: --src-frames, --nat, --mrt, --guided-attention and --copy do not apply" ]
	done
}
