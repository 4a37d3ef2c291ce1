#!/usr/bin/env bats
# Non-autoregressive models (train --nat, decode --nat; seqpipe-model(5)):
# decode --nat and its scoring against the PyTorch reference
# (scripts/torch-reference.py --nat, seqpipe_torch.nat_decode()) on a
# tiny seeded model, also in int8 and F16 (--dtype); batching and threads
# change no token; a reversal task learnt to exact outputs through the
# pipeline, at lengths the predictor chooses or the user forces; --init
# from an autoregressive model; scripts/nat-distill and scripts/bench-nat;
# and the refusals.  (The gradients against finite differences and the
# loss against the engine are tests/unit/test_graph's; one batch against
# PyTorch is train.bats's.)
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	cd "$TD"
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 3 nat nat.sq paper ar.sq \
	    2> /dev/null || return 1
	# 40 sources of 0 to 40 ids (one empty), targets of their length
	# +-6: a batch of 32 at 5 lengths needs several passes of the decoder
	"$PY" - <<'PY'
import random
r = random.Random(11)
with open("src.ids", "w") as s, open("tgt.ids", "w") as t:
    for i in range(40):
        n = 0 if i == 4 else r.randint(1, 40)
        m = 0 if n == 0 else max(0, n + r.randint(-6, 6))
        s.write(" ".join(str(r.randrange(4, 160)) for _ in range(n)) + "\n")
        t.write(" ".join(str(r.randrange(4, 112)) for _ in range(m)) + "\n")
PY
	encode -m nat.sq src.ids > nat.mem || return 1
	# the reversal task of train.bats: 3 to 7 letters, reversed
	"$PY" - <<'PY'
import random
r = random.Random(5)
for name, n in (("train", 3000), ("valid", 40), ("test", 60)):
    pairs = []
    for _ in range(n):
        w = [r.choice("abcdefgh") for _ in range(r.randint(3, 7))]
        pairs.append((" ".join(w), " ".join(reversed(w))))
    with open(name + ".src", "w") as f:
        f.write("".join(s + "\n" for s, _ in pairs))
    with open(name + ".tgt", "w") as f:
        f.write("".join(t + "\n" for _, t in pairs))
PY
	spm_train --input=train.src --model_prefix=letters --model_type=word \
	    --vocab_size=12 --hard_vocab_limit=false --pad_id=0 --bos_id=1 \
	    --eos_id=2 --unk_id=3 --minloglevel=2 > /dev/null 2>&1
	train $(tiny) --src train.src --tgt train.tgt --valid-src valid.src \
	    --valid-tgt valid.tgt --max-steps 1500 --max-epochs 0 \
	    --valid-every 500 --nat -o rev.model 2> rev.log
}

setup() {
	cd "$TD"
}

tiny() {	# train.bats's tiny model, which learns the task fast
	echo --src-spm "$TD/letters.model" --tgt-spm "$TD/letters.model" \
	    --d-model 32 --heads 2 --ffn 64 --layers 2 --max-positions 32 \
	    --max-tokens 400 --lr 0.005 --warmup 100 --dropout 0 \
	    --label-smoothing 0 --seed 3 -t 1 --progress log
}

# same GOT WANT: the same records, ids exact, scores within 1e-4
same() {
	"$PY" "$SRCDIR/scripts/numdiff.py" --tol 1e-4 "$1" "$2"
}

@test "decode --nat equals PyTorch: 1, 3 and 5 lengths, length limits, --no-unk" {
	local opts
	for opts in "--nat-lengths 1" "--nat-lengths 3" \
	    "--nat-lengths 5 --min-len 4 --max-len 1,3 --no-unk"; do
		decode --nat $opts --scores nat.mem | seqcat > got
		"$PY" "$SRCDIR/scripts/torch-reference.py" nat.sq src.ids \
		    --nat want $opts
		run same got want
		[ "$status" -eq 0 ] || fail "$opts: $output"
	done
	# the empty source: no token, score 0
	sed -n 5p got | grep -qx 'T 4 0 0 |'
}

# int8 products quantize the activations (lib/nn/i8gemm.h), and a
# last-bit difference upstream may round one the other way; in a
# non-autoregressive decoder every position of the sentence then moves,
# and may change an id: measured, 35 of 40 sentences the same ids within
# 1e-4, the others' log-probs up to 0.22 apart or one id changed (against
# a reference without int8 activations: 9 sentences' ids differ, 14% of
# the log-probs within 1e-4).  So: 32 of the 40 sentences (keys, ids,
# log-probs) the same to 1e-4.
@test "decode --nat --dtype int8 and f16: PyTorch's outputs on the weights they stand for" {
	local d
	for d in int8 f16; do
		seqimport -q --dtype $d -o nat.$d nat.sq
		encode -m nat.$d --dtype $d src.ids |
		    decode --nat --dtype $d --scores | seqcat > got
		"$PY" "$SRCDIR/scripts/torch-reference.py" nat.$d src.ids \
		    --nat want --nat-lengths 3
		if [ $d = int8 ]; then
			run lines_close 32 1e-4 any want got
		else
			run same got want
		fi
		[ "$status" -eq 0 ] || fail "$d: $output"
		# the reference tells them apart from float32's
		decode --nat --scores nat.mem | seqcat > f32
		run ! same f32 want
	done
}

@test "decode --nat --score equals PyTorch's log p(T) + sum log p(y_i)" {
	decode --nat --score tgt.ids --scores nat.mem | seqcat > got
	"$PY" "$SRCDIR/scripts/torch-reference.py" nat.sq src.ids \
	    --targets tgt.ids --score want
	run same got want
	[ "$status" -eq 0 ] || fail "$output"
}

@test "threads and batch sizes change no token" {
	decode --nat --nat-lengths 4 -t 1 --batch-size 1 --text nat.mem > a
	decode --nat --nat-lengths 4 -t 2 --batch-size 32 --text nat.mem > b
	decode --nat --nat-lengths 4 -t 2 --batch-size 7 --text nat.mem > c
	[ "$(wc -l < a)" -eq 40 ]
	cmp a b
	cmp a c
}

@test "the reversal task is learnt: exact outputs through the pipeline" {
	grep -q "bleu 100.00" rev.log	# the validation decodes --nat too
	local l right
	for l in 1 3; do
		tokenize -m rev.model < test.src | encode |
		    decode --nat --nat-lengths $l | detok > out
		[ "$(wc -l < out)" -eq 60 ]
		right=$(paste -d'\t' out test.tgt | awk -F'\t' '$1 == $2' | wc -l)
		echo "--nat-lengths $l: exact $right of 60"
		[ "$right" -ge 57 ]
	done
}

@test "the length is the user's to set: --min-len N --max-len N gives N" {
	local n
	for n in 2 9; do
		run -0 bash -c "tokenize -m rev.model < test.src | encode |
		    decode --nat --min-len $n --max-len $n --text |
		    awk '{ print NF }' | sort -u"
		[ "$output" = "$n" ]
	done
}

@test "refusals: the wrong decoder for the model, options --nat excludes" {
	tokenize -m rev.model < test.src | encode > rev.mem
	run -1 --separate-stderr decode --text rev.mem
	[ "$stderr" = "decode: $TD/rev.model: a non-autoregressive model (config nat 1): decode it with --nat" ]
	run -1 --separate-stderr beamsearch --text rev.mem
	[[ "$stderr" == "beamsearch: "*"non-autoregressive model (config nat 1)"* ]]
	echo "5 6 7" | encode -m ar.sq > ar.mem
	run -1 --separate-stderr decode --nat --text ar.mem
	[ "$stderr" = "decode: $TD/ar.sq: an autoregressive model (config nat 0): --nat needs a model of train --nat" ]
	for o in "--temperature 1" "--prefix tgt.ids" --alignment "--monotonic 2"; do
		run -2 --separate-stderr decode --nat $o nat.mem
		[[ "${stderr_lines[0]}" == "decode: --nat excludes sampling, --alignment, --monotonic and --prefix" ]]
	done
	run -2 --separate-stderr decode --nat-lengths 0 nat.mem
	run -2 --separate-stderr train $(tiny) --src train.src --tgt train.tgt \
	    --nat --scheduled-sampling 0.5 -o x.model
	[ "${stderr_lines[0]}" = "train: --scheduled-sampling: a --nat model reads no tokens of its own" ]
	run -1 --separate-stderr train $(tiny) --src train.src --tgt train.tgt \
	    --init rev.model --max-steps 1 -o x.model
	[ "$stderr" = "train: rev.model: a non-autoregressive model (config nat 1): give --nat to train it further" ]
}

@test "train --nat --init: the autoregressive model's weights, a new length predictor" {
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 4 --spm-source letters.model \
	    --spm-target letters.model \
	    untied teacher.sq 2> /dev/null
	train $(tiny) --src train.src --tgt train.tgt --init teacher.sq --nat \
	    --nat-max-offset 3 --lr 0 --max-steps 1 --max-epochs 0 \
	    -o student.model 2> /dev/null
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import numpy as np
import seqpipe_torch as sq
a, ma = sq.read_safetensors("teacher.sq")
b, mb = sq.read_safetensors("student.model")
assert mb["nat"] == "1" and mb["nat_max_offset"] == "3", mb
assert b["length_predictor.weight"].shape == (7, 32)
# lr 0: every tensor they share is the teacher's; the target table,
# which only an autoregressive decoder reads, is gone
assert set(b) - {"spm.source", "spm.target"} == \
    set(a) - {"spm.source", "spm.target", "decoder.embed_tokens.weight"} | \
    {"length_predictor.weight", "length_predictor.bias"}, sorted(b)
for k in a:
    if k in b and not k.startswith("spm."):
        assert np.array_equal(a[k], b[k]), k
PY
}

@test "scripts/nat-distill: beam search in chunks, resumed, then train --nat" {
	head -n 25 train.src > d.src
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 5 --spm-source letters.model \
	    paper t.sq 2> /dev/null
	run -0 "$SRCDIR/scripts/nat-distill" -m t.sq --src d.src -o d.model \
	    -k 3 --chunk 10 -t 1 --distill-only
	[ ! -e d.model ]
	# chunks of 10 decode as the whole file does
	tokenize -m t.sq < d.src | encode | beamsearch -k 3 | detok > whole
	cmp whole d.model.distilled
	# a chunk already decoded is kept: a stopped run goes on from it
	rm d.model.distilled
	mkdir d.model.distilled.parts
	sed 's/^/kept /' whole | head -n 10 > d.model.distilled.parts/0
	run -0 "$SRCDIR/scripts/nat-distill" -m t.sq --src d.src -o d.model \
	    -k 3 --chunk 10 -t 1 --distill-only
	[ "$(grep -c '^kept ' d.model.distilled)" -eq 10 ]
	[ "$(wc -l < d.model.distilled)" -eq 25 ]
	[ ! -e d.model.distilled.parts ]
	# then the training, options after --
	run -0 --separate-stderr "$SRCDIR/scripts/nat-distill" -m t.sq \
	    --src d.src -o d.model -k 3 -t 1 -- --max-steps 2 --max-epochs 0 \
	    --progress log
	[[ "$stderr" == *"there already (25 lines)"*"wrote d.model"* ]]
	run -0 bash -c "tokenize -m d.model < d.src | encode | decode --nat |
	    detok | wc -l"
	[ "$output" -eq 25 ]
	run -2 "$SRCDIR/scripts/nat-distill" -m t.sq -o d.model
}

@test "scripts/bench-nat: BLEU, chrF and speed of each search, one line each" {
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 5 --spm-source letters.model \
	    paper letters-ar.sq 2> /dev/null
	run -0 "$SRCDIR/scripts/bench-nat" -s test.src -r test.tgt \
	    -n rev.model -a letters-ar.sq -l "1 2" -t 1 -d bench
	echo "$output"
	[ "${lines[0]}" = "$(printf 'model\tsearch\tBLEU\tchrF\tsent/s\ttok/s\tcpu s')" ]
	[[ "${lines[1]}" == "letters-ar.sq	beam-k4	"* ]]
	[[ "${lines[2]}" == "letters-ar.sq	greedy	"* ]]
	[[ "${lines[3]}" == "rev.model	nat-l1	100.0	100.0	"* ]]
	[[ "${lines[4]}" == "rev.model	nat-l2	100.0	100.0	"* ]]
	[ "${#lines[@]}" -eq 5 ]
	cmp bench/rev.model.nat-l1.out test.tgt
	run -2 "$SRCDIR/scripts/bench-nat" -s test.src -n rev.model
}
