#!/usr/bin/env bats
# Inputs that are not text (issue 10 §6): models with input frames.  The
# engine against PyTorch (scripts/seqpipe_torch.py) on a random model of
# frames with a subsampler and an attention window; train learning a tiny
# synthetic spoken-digit task (scripts/synth-digits) and the pipeline
# decoding it, scored against the labels; the wrong stream for a model,
# and bad frames, as one-line errors.
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# a random model: 8-value frames stacked by 3, window 4 (make-model.py)
	"$PY" "$SRCDIR/scripts/make-model.py" frames f.sq paper tok.sq > /dev/null
	# the same weights without the window
	"$PY" "$SRCDIR/scripts/make-model.py" --set attention_window=0 \
	    frames nowin.sq > /dev/null
	# utterances of 0 to 61 frames: 0 to 21 positions, past the window
	"$PY" -c 'import numpy as np
r = np.random.default_rng(3)
for n in [0, 1, 2, 3, 5, 7, 12, 30, 61]:
    print(" ".join("%.6g" % x for x in r.standard_normal(n * 8)))' > src.txt
	seqcat -F 8 -b src.txt > src.frames
	"$PY" "$SRCDIR/scripts/torch-reference.py" f.sq src.txt \
	    --encoder enc.ref --greedy-ids greedy.ref --beam-ids beam.ref -k 3
	"$PY" "$SRCDIR/scripts/torch-reference.py" nowin.sq src.txt \
	    --encoder nowin.ref
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

@test "encode: a model of frames computes what PyTorch does, window and all" {
	encode -m f.sq src.frames | seqcat > enc.got
	numcmp 1e-4 enc.ref enc.got
	# n_src 0, rows = ceil(frames / 3): 0 0 1 1 2 3 4 10 21
	[ "$(cut -d' ' -f3,4 enc.got | tr '\n' ' ')" = \
	    "0 0 0 1 0 1 0 1 0 2 0 3 0 4 0 10 0 21 " ]
	# the window changes the long utterances only (> 5 positions)
	encode -m nowin.sq src.frames | seqcat > nowin.got
	numcmp 1e-4 nowin.ref nowin.got
	run ! numcmp 1e-4 enc.ref nowin.got
	[[ "$output" == "line 8 "* ]]
	# batches and threads change the last bits only (as for tokens)
	encode -m f.sq --batch-size 2 --batch-tokens 5 -t 2 src.frames |
	    seqcat > batched.got
	numcmp 1e-5 enc.got batched.got
}

@test "encode --dtype int8: a model of frames in int8 computes what PyTorch does" {
	# the frame projection too is an int8 product (it crashed once:
	# encode read its float32 weights, which int8 models do not have)
	seqimport -q --dtype int8 -o f.int8 f.sq
	"$PY" "$SRCDIR/scripts/torch-reference.py" f.int8 src.txt \
	    --encoder enc8.ref
	encode -m f.int8 src.frames | seqcat > enc8.got
	numcmp 1e-4 enc8.ref enc8.got
	encode -m f.sq --dtype int8 src.frames | seqcat > enc8b.got
	cmp enc8.got enc8b.got
	run ! numcmp 1e-4 enc.ref enc8.got
}

@test "decode and beamsearch after encode: PyTorch's ids" {
	encode -m f.sq src.frames | decode --text > greedy.got
	cmp greedy.got greedy.ref
	encode -m f.sq src.frames | beamsearch -k 3 --text > beam.got
	cmp beam.got beam.ref
	# the stream names the model: -m once, upstream of everything
	seqcat -F 8 -b --model-path f.sq src.txt | encode | decode --text |
	    cmp - greedy.ref
}

@test "train learns a tiny spoken-digit task; encode | decode | detok scores it" {
	local dig="$SRCDIR/scripts/synth-digits --dim 16 --digits 4 --max 3"
	cd "$BATS_TEST_TMPDIR"
	$dig -n 400 --seed 1 train.txt | seqcat -F 16 -b > train.frames
	$dig -n 60 --seed 2 test.txt | seqcat -F 16 -b > test.frames
	run -0 --separate-stderr train --src-frames train.frames --tgt train.txt \
	    --valid-src-frames test.frames --valid-tgt test.txt \
	    --vocab-size 265 --subsample 3 --attention-window 3 --layers 2 \
	    --d-model 32 --heads 2 --ffn 64 --max-steps 400 --max-epochs 0 \
	    --warmup 50 --lr 0.003 --max-tokens 1000 --valid-every 400 \
	    -t 1 -o digits.sq
	[[ "$stderr" == *"training data: 400 pairs"* ]]
	[[ "$stderr" == *"wrote digits.sq (step 400)"* ]]
	encode test.frames -m digits.sq | decode | detok > hyp.txt
	# scored against synth-digits' labels: 117 digits; an empty or a
	# random answer errs on most of them
	run -0 "$SRCDIR/scripts/error-rate" test.txt hyp.txt
	echo "$output"
	local ter=${output#TER }
	ter=${ter%%.*}
	[ "$ter" -lt 20 ] || fail "digit error rate $output"
	# the model is what its config says
	"$PY" -c 'import sys; sys.path.insert(0, sys.argv[1])
import seqpipe_torch as sq
_, m = sq.read_safetensors(sys.argv[2])
assert (m["input"], m["frame_dim"], m["subsample"], m["attention_window"],
        m["src_vocab_size"]) == ("frames", "16", "3", "3", "0"), m' \
	    "$SRCDIR/scripts" digits.sq
}

@test "train on frames: --resume continues bit for bit, --init starts from the model" {
	local dig="$SRCDIR/scripts/synth-digits --dim 16 --digits 3 --max 2"
	cd "$BATS_TEST_TMPDIR"
	$dig -n 60 --seed 4 t.txt | seqcat -F 16 -b > t.frames
	local a="--src-frames t.frames --tgt t.txt --valid-src-frames t.frames
	    --valid-tgt t.txt --vocab-size 264 --subsample 3
	    --attention-window 2 --layers 1 --d-model 16 --heads 2 --ffn 32
	    --max-epochs 0 --warmup 5 --max-tokens 300 --valid-every 4
	    --save-every 4 --valid-bleu-lines 8 -t 1 -q"
	train $a --max-steps 10 -o straight.sq
	train $a --max-steps 6 -o resumed.sq
	train $a --max-steps 10 --resume -o resumed.sq
	cmp straight.sq resumed.sq
	train $a --max-steps 2 --init straight.sq -o init.sq
	encode -m init.sq t.frames | decode > /dev/null
}

@test "the wrong stream for a model is a one-line error" {
	echo "5 6 7" > ids
	run -1 --separate-stderr encode -m f.sq ids
	[ "$stderr" = "encode: ids: header: text ids, but the model f.sq reads frames (config input frames)" ]
	seqcat -b ids > ids.tok
	run -1 --separate-stderr encode -m f.sq ids.tok
	[ "$stderr" = "encode: ids.tok: header: a tokens stream, but the model f.sq reads frames (config input frames)" ]
	run -1 --separate-stderr encode -m tok.sq src.frames
	[ "$stderr" = "encode: src.frames: header: a frames stream, but the model tok.sq reads tokens (config input tokens)" ]
	# a second operand of the other kind, after records of the first
	run -1 --separate-stderr encode -m tok.sq ids src.frames
	[ "$stderr" = "encode: src.frames: header: a frames stream, but the model tok.sq reads tokens (config input tokens)" ]
	encode -m tok.sq ids > tok.mem
	run -1 --separate-stderr encode -m f.sq tok.mem
	[ "$stderr" = "encode: tok.mem: header: a memory stream, expected tokens or frames" ]
	run -1 --separate-stderr tokenize -m f.sq <<<"hello"
	[ "$stderr" = "tokenize: f.sq: the model reads frames (config input frames), not text: it has no source SentencePiece model" ]
	# memory with source ids for a model of frames, read by decode
	"$PY" "$SRCDIR/tests/streamgen.py" 'H(2)' \
	    'M(0, [4], 1, 32, [0.5] * 32)' > ids.mem
	run -1 --separate-stderr decode -m f.sq ids.mem
	[ "$stderr" = "decode: ids.mem: record 0 (key 0): memory of 1 x 32 with 1 source ids, the model reads frames: rows of 32, no ids" ]
}

@test "bad frames: another width, not finite, too many" {
	printf '1 2 3 4\n' | seqcat -F 4 -b > w4
	run -1 --separate-stderr encode -m f.sq w4
	[ "$stderr" = "encode: w4: record 0 (key 0): frames of 4 values, the model reads 8 (config frame_dim)" ]
	"$PY" "$SRCDIR/tests/streamgen.py" 'H(3)' 'F(0, 1, 8, [0] * 8)' \
	    'F(1, 1, 8, [0, 0, float("nan"), 0, 0, 0, 0, 0])' > nan
	run -1 --separate-stderr encode -m f.sq --text nan
	[[ "${lines[0]}" == "M 0 0 1 32 "* ]]
	[ "$stderr" = "encode: nan: record 1 (key 1): a frame holds nan" ]
	# 256 positions of 3 frames: 800 frames are cut to 768, with a note
	"$PY" -c 'print(" ".join(["0.5"] * 6400))' | seqcat -F 8 -b > long
	run -0 --separate-stderr encode -m f.sq --text long
	[[ "$output" == "M 0 0 256 32 "* ]]
	[ "$stderr" = "encode: long: record 0 (key 0): 800 frames, the model takes 768: encoding the first 768" ]
}

@test "train: frames that do not fit the target lines are errors" {
	cd "$BATS_TEST_TMPDIR"
	# (-q: no notes; 264 pieces: the bytes and 1 2 3 and the specials)
	local v="-q --vocab-size 264"
	printf '1 2\n3\n' > tgt
	printf '1 2 3 4\n5 6 7 8\n' | seqcat -F 4 -b > two
	printf '1 2 3 4\n' | seqcat -F 4 -b > one
	run -1 --separate-stderr train --src-frames one --tgt tgt $v -o m
	[ "$stderr" = "train: one: no record for line 2 of tgt (it has 1 records)" ]
	printf '1 2 3\n' > tgt1
	run -1 --separate-stderr train --src-frames two --tgt tgt1 $v -o m
	[ "$stderr" = "train: two: record 1 (key 1): no line for it in tgt1 (it has 1 lines)" ]
	"$PY" "$SRCDIR/tests/streamgen.py" 'H(3)' 'F(0, 1, 2, [1, 2])' \
	    'F(5, 1, 2, [1, 2])' > gap
	run -1 --separate-stderr train --src-frames gap --tgt tgt $v -o m
	[ "$stderr" = "train: gap: record 1 (key 5): keys must count the target's lines from 0 (expected key 1)" ]
	"$PY" "$SRCDIR/tests/streamgen.py" 'H(3)' 'F(0, 1, 2, [1, 2])' \
	    'F(1, 1, 3, [1, 2, 3])' > wide
	run -1 --separate-stderr train --src-frames wide --tgt tgt $v -o m
	[ "$stderr" = "train: wide: record 1 (key 1): frames of 3 values, the first ones had 2" ]
	run -2 --separate-stderr train --src-frames two --src tgt --tgt tgt -o m
	[ "${stderr_lines[0]}" = "train: --src-frames and --src exclude each other" ]
	run -2 --separate-stderr train --src tgt --tgt tgt --subsample 2 -o m
	[ "${stderr_lines[0]}" = "train: --subsample 2: only frames are stacked (--src-frames)" ]
	run -2 --separate-stderr train --src-frames two --tgt tgt --src-spm x -o m
	[ "${stderr_lines[0]}" = "train: --src-spm: frames have no source vocabulary (give --tgt-spm)" ]
	run -2 --separate-stderr train --src-frames two --tgt tgt \
	    --valid-src tgt --valid-tgt tgt -o m
	[[ "${stderr_lines[0]}" == "train: validation sources must be of the training's kind"* ]]
	run -1 --separate-stderr train --src tgt --tgt tgt --init "$BATS_FILE_TMPDIR/f.sq" -o m
	[ "$stderr" = "train: $BATS_FILE_TMPDIR/f.sq reads frames: give --src-frames" ]
}
