# The model file: lib/nn/model.c's validation through tests/unit/test_model
# (a program that opens models, until encode exists), the model scripts,
# and the PyTorch reference against torch.nn.Transformer.

load helper
bats_require_minimum_version 1.5.0

setup_file() {
	export D="$BATS_FILE_TMPDIR"
	export OPEN="$SRCDIR/tests/unit/test_model"
	"$SRCDIR/scripts/make-model.py" paper "$D/paper.sq" \
	    prenorm-gelu "$D/prenorm-gelu.sq" marian "$D/marian.sq" \
	    untied "$D/untied.sq" paper "$D/again.sq" 2> "$D/make-model.err"
	mkdir "$D/bad"
	"$PY" "$SRCDIR/tests/break-model.py" "$D/untied.sq" "$D/bad"
	mkdir "$D/nn"
	"$PY" "$SRCDIR/tests/reference-vs-nn.py" "$D/nn" "$D/paper.sq" \
	    "$D/marian.sq" "$D/untied.sq" > "$D/nn.out" 2> "$D/nn.err" || true
}

# refuses NAME PATTERN: opening bad/NAME.sq fails with one line on stderr,
# "test_model: PATH: ..." matching PATTERN, and nothing on stdout.
refuses() {
	run -1 --separate-stderr "$OPEN" "$D/bad/$1.sq"
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
	[[ "$stderr" == "test_model: $D/bad/$1.sq: "* ]] || fail "no prefix: $stderr"
	[[ "$stderr" =~ $2 ]] || fail "stderr does not match /$2/: $stderr"
}

@test "every named config makes a model that loads" {
	run --separate-stderr "$OPEN" "$D/paper.sq" "$D/prenorm-gelu.sq" \
	    "$D/marian.sq" "$D/untied.sq"
	assert_success
	assert_line --index 0 --regexp "paper.sq: paper-[0-9a-f]{16}$"
	assert_line --index 3 --regexp "untied.sq: untied-[0-9a-f]{16}$"
}

@test "make-model.py: same options, same bytes; another seed, another model" {
	"$SRCDIR/scripts/make-model.py" --seed 2 paper "$BATS_TEST_TMPDIR/b.sq" 2>/dev/null
	cmp "$D/paper.sq" "$D/again.sq"
	run "$OPEN" "$D/paper.sq" "$BATS_TEST_TMPDIR/b.sq"
	assert_success
	[ "${lines[0]##* }" != "${lines[1]##* }" ] || fail "same model id: $output"
}

@test "empty file" { refuses empty 'too short for a safetensors header'; }
@test "truncated file names the tensor" {
	refuses truncated 'outside the data area of [0-9]+ bytes: truncated file\? \(tensor [a-z0-9_.]+\)$'
}
@test "header length past the end" { refuses header-past-end 'runs past the end of the file'; }
@test "bad JSON" { refuses bad-json 'bad JSON header at byte [0-9]+'; }
@test "JSON header not an object" { refuses not-object 'JSON header is not an object$'; }
@test "offsets out of range" {
	refuses offsets-out 'outside the data area.*\(tensor encoder.layers.0.self_attn.q_proj.weight\)$'
}
@test "overlapping tensors" { refuses overlap 'overlaps tensor .*\(tensor encoder.layers.0.self_attn.[kq]_proj.weight\)$'; }
@test "overlap hidden behind an empty tensor" { refuses overlap-past-empty 'overlaps tensor encoder.layers.0.self_attn.q_proj.weight \(tensor decoder.layers.0.fc2.bias\)$'; }
@test "unknown dtype" { refuses unknown-dtype 'unknown dtype "F33" \(tensor decoder.layers.0.fc2.bias\)$'; }
@test "wrong dtype" { refuses wrong-dtype 'dtype I16, expected F32 \(tensor decoder.layers.0.fc2.bias\)$'; }
@test "size not shape times dtype size" { refuses wrong-size '128 data bytes, expected 132 for 33 F32 elements \(tensor decoder.layers.0.fc2.bias\)$'; }
@test "wrong shape for the config names the tensor" {
	refuses wrong-shape 'shape \(32, 64\), the config implies \(64, 32\) \(tensor decoder.layers.1.fc1.weight\)$'
}
@test "missing tensor" { refuses missing-tensor 'missing \(tensor decoder.layers.1.fc1.weight\)$'; }
@test "unknown tensor" { refuses unknown-tensor 'unexpected tensor .*\(tensor encoder.layers.0.adapter.weight\)$'; }
@test "tensor a tie makes unused" { refuses tie-with-tensor '\(tensor output_projection.weight\)$'; }
@test "misaligned float32 data" { refuses misaligned 'not 4-byte aligned, which F32 access needs'; }
@test "unknown activation" { refuses bad-activation 'config activation = "tanh": expected relu, gelu or silu$'; }
@test "n_heads not dividing d_model" { refuses bad-heads 'config n_heads = 5 does not divide d_model = 32$'; }
@test "malformed integer" { refuses bad-int 'config d_ff = "64x": expected an integer$'; }
@test "config disagreeing with the tensors" { refuses bad-dff 'shape \(64, 32\), the config implies \(48, 32\) \(tensor encoder.layers.0.fc1.weight\)$'; }
@test "a layer count no file could hold" { refuses huge-layers 'more layers than the file has tensors'; }
@test "a vocabulary no file could hold: an error, not an allocation" {
	refuses huge-vocab 'config implies [0-9]{12} weights, more than the [0-9]+ bytes of data can hold$'
	refuses overflowing-sizes 'config implies over [0-9]+ weights, more than'
}
@test "a model id with a control character" { refuses control-id 'model_id has a control character$'; }
@test "not a seqpipe model: no format" { refuses no-format 'metadata format is missing'; }
@test "not a seqpipe model: no metadata" { refuses no-metadata 'no __metadata__ object'; }
@test "misspelt config key" { refuses misspelt-key 'unknown metadata key "pre_nrom"'; }
@test "dotted metadata keys are free for tools" {
	run "$OPEN" "$D/bad/dotted-key.sq"
	assert_success
}
@test "a missing file" {
	run -1 --separate-stderr "$OPEN" "$D/nonexistent.sq"
	assert_equal "$stderr" "test_model: $D/nonexistent.sq: No such file or directory"
}

@test "reference: the command-line converter takes an nn.Transformer state dict" {
	run grep -F 'ok torch-to-seqpipe.py converts' "$D/nn.out"
	assert_output --regexp '^ok '
}
@test "reference: equals torch.nn.Transformer (post-norm ReLU)" {
	run grep -c '^ok post-norm relu' "$D/nn.out"
	assert_output 3
}
@test "reference: equals torch.nn.Transformer (pre-norm GELU, tied)" {
	run grep -c '^ok pre-norm gelu tied' "$D/nn.out"
	assert_output 3
}
@test "reference: its own state dict converts unchanged" {
	run grep -c "^ok the reference's own state dict" "$D/nn.out"
	assert_output 1
}
@test "reference: k 1 beam equals greedy, early stop changes nothing, cache equals recomputation" {
	run grep -c '^ok .*sq: ' "$D/nn.out"
	assert_output 9
}
@test "reference: no check failed" {
	run grep '^not ok' "$D/nn.out"
	assert_failure
	run grep -c '^ok' "$D/nn.out"
	assert_output 17
}

@test "make-model.py: embeds SentencePiece models, takes their sizes and special ids" {
	T=$BATS_TEST_TMPDIR
	"$PY" -c 'print("\n".join("the %d quick brown foxes jump over %d lazy dogs" % (i, i * 7) for i in range(300)))' > "$T/text"
	spm_train --input="$T/text" --model_prefix="$T/a" --vocab_size=60 \
	    --unk_id=0 --bos_id=-1 --eos_id=1 --pad_id=3 > /dev/null 2>&1
	spm_train --input="$T/text" --model_prefix="$T/b" --vocab_size=50 > /dev/null 2>&1
	"$SRCDIR/scripts/make-model.py" untied --spm-source "$T/b.model" \
	    --spm-target "$T/a.model" "$T/m.sq" 2> /dev/null
	run "$OPEN" "$T/m.sq"
	assert_success
	run "$PY" - "$T/m.sq" "$T/b.model" "$T/a.model" <<-'PY'
		import json, struct, sys
		blob = open(sys.argv[1], "rb").read()
		n, = struct.unpack("<Q", blob[:8])
		h = json.loads(blob[8:8 + n])
		m, data = h["__metadata__"], blob[8 + n:]
		def tensor(name):
		    b, e = h[name]["data_offsets"]
		    return data[b:e]
		print(m["src_vocab_size"], m["tgt_vocab_size"], m["unk_id"],
		      m["bos_id"], m["eos_id"], m["pad_id"], m["decoder_start_id"],
		      tensor("spm.source") == open(sys.argv[2], "rb").read(),
		      tensor("spm.target") == open(sys.argv[3], "rb").read())
	PY
	# the target's ids win; with no BOS, decoding starts from EOS
	assert_output "50 60 0 -1 1 3 1 True True"
}
