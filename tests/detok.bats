#!/usr/bin/env bats
# detok against Debian's spm_decode on the same models and real text
# (tests/spm.bash); streams made by tokenize, and bad ones built byte by
# byte with tests/streamgen.py (from man/seqpipe-stream.5 alone).
load helper
load spm
bats_require_minimum_version 1.5.0

setup_file() {
	spm_setup
}

setup() {
	D=$BATS_FILE_TMPDIR
	T=$BATS_TEST_TMPDIR
}

gen() {
	"$PY" "$SRCDIR/tests/streamgen.py" "$@"
}

# one line on stderr, starting with "detok: ", nothing on stdout
one_error_line() {
	[ -z "$output" ] || fail "stdout: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
	[[ "$stderr" == "detok: "* ]] || fail "$stderr"
}

@test "text ids: detok equals spm_decode on thousands of multilingual lines" {
	local m
	for m in u b; do
		spm_encode --model="$D/$m.model" --output_format=id "$D/text.txt" > "$T/ids"
		detok --spm "$D/$m.model" "$T/ids" > "$T/ours"
		spm_decode --model="$D/$m.model" --input_format=id "$T/ids" > "$T/ref"
		cmp "$T/ours" "$T/ref" || fail "$m.model: detok differs from spm_decode"
		[ "$(wc -l < "$T/ours")" -eq "$(wc -l < "$D/text.txt")" ]
	done
}

@test "tokenize | detok equals spm_decode(spm_encode(x)), the model named once" {
	local m
	for m in u b; do
		tokenize --spm "$D/$m.model" "$D/text.txt" | detok > "$T/ours"
		spm_encode --model="$D/$m.model" --output_format=id "$D/text.txt" |
		    spm_decode --model="$D/$m.model" --input_format=id > "$T/ref"
		cmp "$T/ours" "$T/ref" || fail "$m.model: round trip differs"
	done
	# the round trip is not the identity: NFKC, spaces and unknowns change
	run ! cmp -s "$T/ours" "$D/text.txt"
}

@test "edge lines: empty, CRLF, bad UTF-8, NUL, no final newline" {
	printf 'a\n\n\r\nbad \xff\xc0\xaf here\nnul\0byte\n   \n日本語\nlast' > "$T/in"
	local m
	for m in u b; do
		tokenize --spm "$D/$m.model" "$T/in" | detok > "$T/ours"
		spm_encode --model="$D/$m.model" --output_format=id "$T/in" |
		    spm_decode --model="$D/$m.model" --input_format=id > "$T/ref"
		cmp "$T/ours" "$T/ref" || fail "$m.model differs"
		[ "$(wc -l < "$T/ours")" -eq 8 ]
	done
}

@test "a newline byte piece (<0x0A>) prints as a space: one record, one line" {
	local nl
	nl=$(spm_export_vocab --model="$D/b.model" | awk -F '\t' '$1 == "<0x0A>" { print NR - 1 }')
	[ -n "$nl" ] || fail "b.model has no <0x0A>"
	spm_encode --model="$D/b.model" --output_format=id <<< "ab cd" > "$T/ids"
	printf '%s %s %s\n%s\n' "$nl" "$(cat "$T/ids")" "$nl" "$nl" > "$T/ids2"
	# spm_decode prints the newlines; each record's lines, joined by spaces
	spm_decode --model="$D/b.model" --input_format=id <<< "$nl $(cat "$T/ids") $nl" |
	    paste -sd ' ' > "$T/ref"
	spm_decode --model="$D/b.model" --input_format=id <<< "$nl" | paste -sd ' ' >> "$T/ref"
	[ "$(wc -l < "$T/ref")" -eq 2 ]
	grep -q 'ab cd' "$T/ref"
	detok --spm "$D/b.model" "$T/ids2" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	detok --spm "$D/b.model" --nbest "$T/ids2" | cut -f4 | cmp - "$T/ref"
}

@test "-m takes spm.target from a model file; \$SEQPIPE_MODEL; the header's path" {
	"$PY" "$SRCDIR/scripts/make-model.py" --spm-source "$D/u.model" \
	    --spm-target "$D/b.model" --model-id detok-test-1 untied "$T/m.sq" 2> /dev/null
	head -n 500 "$D/text.txt" > "$T/in"
	spm_encode --model="$D/b.model" --output_format=id "$T/in" > "$T/ids"
	spm_decode --model="$D/b.model" --input_format=id "$T/ids" > "$T/ref"
	detok -m "$T/m.sq" "$T/ids" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	SEQPIPE_MODEL="$T/m.sq" detok "$T/ids" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	# a tokens stream whose header names the model file: no -m needed
	seqcat -b --model-id detok-test-1 --model-path "$T/m.sq" "$T/ids" > "$T/bin"
	detok "$T/bin" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	# a stream of another model file is refused
	seqcat -b --model-id other-model-2 --model-path "$T/m.sq" "$T/ids" > "$T/bin"
	run -1 --separate-stderr detok -m "$T/m.sq" "$T/bin"
	[ "$stderr" = "detok: $T/bin: stream of model other-model-2, not of model detok-test-1" ]
	# a stream of the target .model's own id is that model's too
	tokenize --spm "$D/b.model" "$T/in" | detok -m "$T/m.sq" > "$T/ours"
	spm_encode --model="$D/b.model" --output_format=id "$T/in" |
	    spm_decode --model="$D/b.model" --input_format=id > "$T/ref"
	cmp "$T/ours" "$T/ref"
}

@test "--spm overrides the header's model" {
	head -n 300 "$D/text.txt" > "$T/in"
	cp "$D/u.model" "$T/gone.model"
	tokenize --spm "$T/gone.model" "$T/in" > "$T/bin"
	rm "$T/gone.model"
	detok --spm "$D/u.model" "$T/bin" > "$T/ours"
	tokenize --spm "$D/u.model" "$T/in" | detok > "$T/ref"
	cmp "$T/ours" "$T/ref"
	# a stream of a model file: --spm vouches for its vocabulary
	tokenize --spm "$D/u.model" --text "$T/in" |
	    seqcat -b --model-id some-model-1 --model-path "$T/none.sq" > "$T/bin"
	detok --spm "$D/u.model" "$T/bin" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	# but not a stream of another SentencePiece model
	tokenize --spm "$D/b.model" "$T/in" > "$T/bin"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/bin"
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "operands and concatenated streams decode in order" {
	head -n 100 "$D/text.txt" > "$T/a"
	sed -n '101,250p' "$D/text.txt" > "$T/b"
	tokenize --spm "$D/u.model" "$T/a" > "$T/a.bin"
	tokenize --spm "$D/u.model" --first-key 100 "$T/b" > "$T/b.bin"
	spm_encode --model="$D/u.model" --output_format=id "$T/b" > "$T/b.ids"
	cat "$T/a" "$T/b" > "$T/ab"
	tokenize --spm "$D/u.model" "$T/ab" | detok > "$T/ref"
	cat "$T/a.bin" "$T/b.bin" | detok > "$T/ours"
	cmp "$T/ours" "$T/ref"
	detok "$T/a.bin" - < "$T/b.bin" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	detok "$T/a.bin" "$T/b.ids" > "$T/ours"
	cmp "$T/ours" "$T/ref"
}

@test "n-best: rank 0 by default; --nbest key TAB rank TAB score TAB text; --moses" {
	LC_ALL=C grep -a '[^[:space:][:cntrl:]]' "$D/text.txt" | head -n 200 > "$T/in"
	tokenize --spm "$D/u.model" --nbest 3 "$T/in" > "$T/bin"
	# default: the best of each group, i.e. the 1-best round trip
	detok "$T/bin" > "$T/ours"
	tokenize --spm "$D/u.model" "$T/in" | detok > "$T/ref"
	cmp "$T/ours" "$T/ref"
	# --nbest: every candidate, its text as spm_decode gives it
	detok --nbest "$T/bin" > "$T/nbest"
	spm_encode --model="$D/u.model" --output_format=nbest_id --nbest_size=3 "$T/in" |
	    spm_decode --model="$D/u.model" --input_format=id > "$T/ref"
	cut -f 4- "$T/nbest" | cmp - "$T/ref"
	# keys ascend with ranks 0.. inside; scores do not increase (beyond
	# float rounding: SentencePiece sums near-ties in another order)
	awk -F '\t' 'BEGIN { key = -1 }
	    $1 != key { if ($1 != key + 1) bad = "key " $1; key = $1; rank = 0
	                if ($2 != 0) bad = "rank " $2 " first"; prev = $3; next }
	    { if ($2 != ++rank) bad = "rank " $2; if ($3 > prev + 1e-3) bad = "score " $3; prev = $3 }
	    END { if (bad) { print bad; exit 1 } }' "$T/nbest"
	[ "$(cut -f 1 "$T/nbest" | sort -un | wc -l)" -eq 200 ]
	# --moses: key ||| text ||| score, the same candidates
	detok --moses "$T/bin" > "$T/moses"
	awk -F '\t' '{ print $1 " ||| " $4 " ||| " $3 }' "$T/nbest" | cmp - "$T/moses"
}

@test "the rank-0 candidate of --nbest is spm_encode's best segmentation" {
	head -n 300 "$D/ja.txt" | LC_ALL=C grep -a '[^[:space:][:cntrl:]]' > "$T/in"
	tokenize --spm "$D/u.model" --nbest 2 "$T/in" | detok --nbest | awk -F '\t' '$2 == 0' |
	    cut -f 4 > "$T/ours"
	spm_encode --model="$D/u.model" --output_format=id "$T/in" |
	    spm_decode --model="$D/u.model" --input_format=id > "$T/ref"
	cmp "$T/ours" "$T/ref"
}

@test "empty input: no output, exit 0, with or without a model" {
	run -0 --separate-stderr detok < /dev/null
	assert_output ""
	run -0 --separate-stderr detok --spm "$D/u.model" < /dev/null
	assert_output ""
	tokenize --spm "$D/u.model" < /dev/null > "$T/bin"
	run -0 --separate-stderr detok "$T/bin"
	assert_output ""
}

@test "ids out of the vocabulary: exit 1 naming the id and record" {
	printf '5 6\n7 1000\n' > "$T/ids"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/ids"
	[ -z "$output" ] || [ "$output" = "$(echo 5 6 | spm_decode --model="$D/u.model" --input_format=id)" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "detok: $T/ids: record 1 (key 1): id 1000 out of range [0, 1000)" ]] || fail "$stderr"
	printf '%s\n' '-1' > "$T/ids"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/ids"
	one_error_line
	[[ "$stderr" == *"-1"* ]] || fail "$stderr"
	gen 'H(1, "x")' 'T(0, [3, 99999])' > "$T/bin"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/bin"
	[[ "$stderr" == *"id 99999 out of range"* ]] || fail "$stderr"
}

@test "text that is not ids: exit 1, one line" {
	printf '5 6\nhello world\n' > "$T/ids"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/ids"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "detok: $T/ids: "* ]] || fail "$stderr"
}

@test "a truncated stream: exit 1, one line" {
	tokenize --spm "$D/u.model" "$D/ja.txt" > "$T/bin"
	head -c -3 "$T/bin" > "$T/cut"
	run -1 --separate-stderr detok "$T/cut"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "detok: $T/cut: record "* ]] || fail "$stderr"
	# and the records before it were printed
	[ "$(printf '%s\n' "$output" | wc -l)" -eq "$(($(wc -l < "$D/ja.txt") - 1))" ]
	head -c 10 "$T/bin" > "$T/cut"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/cut"
	one_error_line
}

@test "a bad CRC: exit 1, one line, nothing of the bad record" {
	gen 'H(1, "x")' 'T(0, [5, 6])' 'T(1, [7, 8])' > "$T/bin"
	"$PY" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; sys.stdout.buffer.write(b)' "$T/bin" > "$T/bad"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/bad"
	[ "$output" = "$(echo 5 6 | spm_decode --model="$D/u.model" --input_format=id)" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "detok: $T/bad: record 1 (key 1): "*CRC* ]] || fail "$stderr"
}

@test "a memory stream (wrong kind) or an unknown major version: exit 1, one line" {
	gen 'H(2, "x")' 'M(0, [5], 1, 2, [0.5, 1.5])' > "$T/mem"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/mem"
	one_error_line
	gen 'H(1, "x", major=2)' 'T(0, [5])' > "$T/v2"
	run -1 --separate-stderr detok --spm "$D/u.model" "$T/v2"
	one_error_line
}

@test "a stream of another model: exit 1, one line" {
	echo hello > "$T/in"
	tokenize --spm "$D/u.model" "$T/in" > "$T/bin"
	run -1 --separate-stderr detok --spm "$D/b.model" "$T/bin"
	one_error_line
	[[ "$stderr" == *"not of model spm-"* ]] || fail "$stderr"
	# the file at the header's path was replaced by another model
	cp "$D/u.model" "$T/x.model"
	tokenize --spm "$T/x.model" "$T/in" > "$T/bin"
	cp "$D/b.model" "$T/x.model"
	run -1 --separate-stderr detok "$T/bin"
	one_error_line
	# two streams of different models, concatenated
	tokenize --spm "$D/u.model" "$T/in" > "$T/u.bin"
	tokenize --spm "$D/b.model" "$T/in" > "$T/b.bin"
	cat "$T/u.bin" "$T/b.bin" > "$T/ub"
	run -1 --separate-stderr detok "$T/ub"
	[ "${#stderr_lines[@]}" -eq 1 ] && [[ "$stderr" == "detok: "* ]] || fail "$stderr"
	run -1 --separate-stderr detok "$T/u.bin" "$T/b.bin"
	[ "${#stderr_lines[@]}" -eq 1 ] && [[ "$stderr" == "detok: "* ]] || fail "$stderr"
}

@test "no model anywhere, or a missing or corrupt one: exit 1, one line" {
	echo 5 6 > "$T/ids"
	run -1 --separate-stderr detok "$T/ids"
	one_error_line
	run -1 --separate-stderr detok --spm "$T/none.model" "$T/ids"
	one_error_line
	[ "$stderr" = "detok: $T/none.model: No such file or directory" ]
	head -c 2000 "$D/u.model" > "$T/bad.model"
	run -1 --separate-stderr detok --spm "$T/bad.model" "$T/ids"
	one_error_line
	# the header's path is gone
	cp "$D/u.model" "$T/gone.model"
	tokenize --spm "$T/gone.model" < "$T/ids" > "$T/bin"
	rm "$T/gone.model"
	run -1 --separate-stderr detok "$T/bin"
	one_error_line
	[[ "$stderr" == *"$T/gone.model"* ]] || fail "$stderr"
	run -1 --separate-stderr detok -m "$T/none.sq" "$T/ids"
	one_error_line
	run -2 --separate-stderr detok -m "$T/none.sq" --spm "$D/u.model" "$T/ids"
}

@test "shards tokenized apart and concatenated: the text and the keys of the whole" {
	head -n 1000 "$D/text.txt" > "$T/in"
	split -l 300 -d "$T/in" "$T/part."
	local f k=0
	for f in "$T"/part.??; do
		tokenize --spm "$D/b.model" --first-key $k "$f" > "$f.bin"
		k=$((k + $(wc -l < "$f")))
	done
	cat "$T"/part.??.bin | detok --nbest > "$T/ours"
	tokenize --spm "$D/b.model" "$T/in" | detok --nbest > "$T/ref"
	cmp "$T/ours" "$T/ref"
	[ "$(cut -f 1 "$T/ours" | tail -n 1)" -eq 999 ]
	# and a 1 MB line comes back as one line
	tr '\n' ' ' < "$D/text.txt" | head -c 1048576 > "$T/long"
	tokenize --spm "$D/b.model" "$T/long" | detok > "$T/ours"
	spm_encode --model="$D/b.model" --output_format=id "$T/long" |
	    spm_decode --model="$D/b.model" --input_format=id > "$T/ref"
	cmp "$T/ours" "$T/ref"
	[ "$(wc -l < "$T/ours")" -eq 1 ]
}
