#!/usr/bin/env bats
# encode: encoder outputs against PyTorch (tests/engine_ref.py) for every
# config, batch and thread independence, the model found every way, and
# every kind of bad input.
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	engine_setup_file
}

@test "encoder outputs match PyTorch within 1e-4, every config" {
	local c
	for c in $CONFIGS; do
		encode -m "$REF/$c.sq" --text "$REF/src.txt" \
		    > "$BATS_TEST_TMPDIR/$c" 2>/dev/null
		numcmp 1e-4 "$REF/$c.enc" "$BATS_TEST_TMPDIR/$c" ||
		    fail "$c: encoder output differs from PyTorch"
	done
}

@test "one record per input line, in order, empty and over-long too" {
	run -0 --separate-stderr encode -m "$REF/untied.sq" --text "$REF/src.txt"
	[ "${#lines[@]}" -eq 40 ]
	[ "$(printf '%s\n' "${lines[@]}" | cut -d' ' -f2 | tr '\n' ' ')" = \
	    "$(seq -s ' ' 0 39) " ]
	[ "$(echo "${lines[0]}")" = "M 0 0 0 32" ]
	# the 300-token line 7 is cut to the 254 positions (256 - offset 2)
	[ "$(echo "${lines[7]}" | cut -d' ' -f3-5)" = "254 254 32" ]
	[ "$stderr" = "encode: $REF/src.txt: record 7 (key 7): 300 tokens, the model takes 254: encoding the first 254" ]
	# -q silences that warning only: the same records, nothing on stderr
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/loud"
	run -0 --separate-stderr encode -q -m "$REF/untied.sq" --text "$REF/src.txt"
	[ -z "$stderr" ]
	printf '%s\n' "$output" | cmp - "$BATS_TEST_TMPDIR/loud"
	# and never an error
	run -1 --separate-stderr encode -q -m "$REF/no-such.sq" "$REF/src.txt"
	[[ "$stderr" == "encode: "* ]]
}

@test "batch sizes and thread counts give the same outputs" {
	local b t
	encode -m "$REF/paper.sq" --text "$REF/src.txt" > "$BATS_TEST_TMPDIR/ref" 2>/dev/null
	for b in 1 7 32; do
		for t in 1 2; do
			encode -m "$REF/paper.sq" --text --batch-size $b -t $t \
			    "$REF/src.txt" > "$BATS_TEST_TMPDIR/out" 2>/dev/null
			numcmp 1e-5 "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/out" ||
			    fail "--batch-size $b -t $t"
		done
	done
	encode -m "$REF/paper.sq" --text --batch-tokens 10 "$REF/src.txt" \
	    > "$BATS_TEST_TMPDIR/out" 2>/dev/null
	numcmp 1e-5 "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/out"
}

@test "the model from \$SEQPIPE_MODEL and from the input's header" {
	encode -m "$REF/paper.sq" "$REF/src.txt" 2>/dev/null | seqcat > "$BATS_TEST_TMPDIR/ref"
	SEQPIPE_MODEL=$REF/paper.sq encode "$REF/src.txt" 2>/dev/null | seqcat > "$BATS_TEST_TMPDIR/env"
	cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/env"
	seqcat -b --model-id paper-test-11 --model-path "$REF/paper.sq" \
	    "$REF/src.txt" > "$BATS_TEST_TMPDIR/tok"
	(cd "$BATS_TEST_TMPDIR" && encode tok 2>/dev/null) | seqcat > "$BATS_TEST_TMPDIR/hint"
	cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/hint"
}

@test "the output header names the model by its absolute path" {
	cd "$REF"
	run -0 --separate-stderr bash -c 'echo 5 6 | encode -m paper.sq | seqcat -H'
	[ "${lines[0]}" = "H memory 1.0 paper-test-11 $REF/paper.sq" ]
}

@test "compressed output holds the same records" {
	encode -m "$REF/paper.sq" "$REF/src.txt" 2>/dev/null | seqcat > "$BATS_TEST_TMPDIR/a"
	encode -z -m "$REF/paper.sq" "$REF/src.txt" 2>/dev/null > "$BATS_TEST_TMPDIR/z"
	seqcat "$BATS_TEST_TMPDIR/z" > "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/z")" -lt "$(encode -m "$REF/paper.sq" "$REF/src.txt" 2>/dev/null | wc -c)" ]
}

@test "two text operands: keys go on from one to the next" {
	head -5 "$REF/src.txt" > "$BATS_TEST_TMPDIR/a"
	sed -n '6,9p' "$REF/src.txt" > "$BATS_TEST_TMPDIR/b"
	run -0 --separate-stderr encode -m "$REF/paper.sq" --text "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$(printf '%s\n' "${lines[@]}" | cut -d' ' -f2 | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 " ]
}

@test "empty input: empty output, no model needed" {
	run -0 --separate-stderr encode < /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "no model anywhere" {
	run -1 --separate-stderr encode "$REF/src.txt"
	[ "$stderr" = "encode: no model: use -m FILE or set SEQPIPE_MODEL (the input names none)" ]
}

@test "a stream of another model" {
	seqcat -b --model-id other-model "$REF/src.txt" > "$BATS_TEST_TMPDIR/tok"
	run -1 --separate-stderr encode -m "$REF/paper.sq" "$BATS_TEST_TMPDIR/tok"
	[[ "$stderr" == "encode: $BATS_TEST_TMPDIR/tok: header: stream of model \"other-model\""*"not \"paper-test-11\"" ]]
	[ -z "$output" ]
}

@test "an id outside the source vocabulary" {
	printf '5 6\n7 128 8\n' > "$BATS_TEST_TMPDIR/ids"
	run -1 --separate-stderr encode -m "$REF/paper.sq" --text "$BATS_TEST_TMPDIR/ids"
	[ "$stderr" = "encode: $BATS_TEST_TMPDIR/ids: record 1 (key 1): id 128 outside the source vocabulary [0, 128)" ]
}

@test "corrupt, truncated and wrong-kind input" {
	head -6 "$REF/src.txt" | seqcat -b > "$BATS_TEST_TMPDIR/tok"
	size=$(stat -c %s "$BATS_TEST_TMPDIR/tok")
	cp "$BATS_TEST_TMPDIR/tok" "$BATS_TEST_TMPDIR/bad"
	printf '\377' | dd of="$BATS_TEST_TMPDIR/bad" bs=1 seek=$((size - 6)) conv=notrunc 2>/dev/null
	run -1 --separate-stderr encode -m "$REF/paper.sq" --text "$BATS_TEST_TMPDIR/bad"
	[[ "$stderr" == "encode: $BATS_TEST_TMPDIR/bad: record 5 (key 5): "*CRC* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	head -c $((size - 3)) "$BATS_TEST_TMPDIR/tok" > "$BATS_TEST_TMPDIR/short"
	run -1 --separate-stderr encode -m "$REF/paper.sq" --text "$BATS_TEST_TMPDIR/short"
	[[ "$stderr" == "encode: $BATS_TEST_TMPDIR/short: record 5 (key 5): "* ]]
	encode -m "$REF/paper.sq" "$REF/src.txt" > "$BATS_TEST_TMPDIR/mem" 2>/dev/null
	run -1 --separate-stderr encode -m "$REF/paper.sq" "$BATS_TEST_TMPDIR/mem"
	[[ "$stderr" == "encode: $BATS_TEST_TMPDIR/mem: "*memory* ]]
}

@test "a truncated model file" {
	head -c 100000 "$REF/paper.sq" > "$BATS_TEST_TMPDIR/cut.sq"
	run -1 --separate-stderr encode -m "$BATS_TEST_TMPDIR/cut.sq" "$REF/src.txt"
	[[ "$stderr" == "encode: $BATS_TEST_TMPDIR/cut.sq: "* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr encode --batch-size 0
	run -2 --separate-stderr encode -t x
	run -2 --separate-stderr encode --no-such-option
}

@test "refuses to write binary to a terminal" {
	command -v script > /dev/null || skip "no script(1)"
	run script -qec "encode -m '$REF/paper.sq' '$REF/src.txt'" /dev/null
	[[ "$output" == *"terminal"* ]]
}
