#!/usr/bin/env bats
# tokenize against Debian's spm_encode on the same models and the same
# real multilingual text (tests/spm.bash), byte for byte.
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

# same_as_spm_encode FORMAT TOKENIZE-OPTION... : on $T/in, both models
same_as_spm_encode() {
	local fmt=$1 m
	shift
	for m in u b; do
		tokenize --spm "$D/$m.model" "$@" "$T/in" > "$T/ours.$m"
		spm_encode --model="$D/$m.model" --output_format="$fmt" \
		    "$T/in" > "$T/ref.$m"
		cmp "$T/ours.$m" "$T/ref.$m" ||
			fail "$m.model: tokenize $* differs from spm_encode --output_format=$fmt"
	done
}

# The edge cases of one line: empty, CRLF, bad UTF-8 of every kind, NUL,
# tabs, spaces only, and a last line without a newline.
edge_lines() {
	printf 'plain ascii line\n\n\n'
	printf 'crlf line\r\n\r\n'
	printf 'lone continuation \x80 byte\n'
	printf 'truncated \xe3\x81 sequence\n'
	printf 'overlong \xc0\xaf slash\n'
	printf 'surrogate \xed\xa0\x80 half\n'
	printf 'beyond U+10FFFF \xf4\x90\x80\x80\n'
	printf '\xff\xfe\xfd\n'
	printf 'nul \0 byte\n'
	printf 'tab\tand  double  space\n'
	printf '   \n'
	printf '日本語のテキスト、中文文本和한국어 텍스트\n'
	printf 'ภาษาไทย العربية ελληνικά\n'
	printf 'no newline at the end'
}

@test "--text equals spm_encode --output_format=id on thousands of multilingual lines" {
	cp "$D/text.txt" "$T/in"
	same_as_spm_encode id --text
	# the text must reach the cases worth testing: CJK, unknowns, bytes
	grep -q '[日本中文한국]' "$T/in"
	[ "$(grep -cw 0 "$T/ours.u")" -gt 100 ] || fail "too few unknowns"
	spm_encode --model="$D/b.model" "$T/in" | grep -c '<0x' > "$T/n"
	[ "$(cat "$T/n")" -gt 100 ] || fail "too few byte pieces"
	[ "$(wc -l < "$T/ours.u")" -eq "$(wc -l < "$T/in")" ]
}

@test "--pieces equals spm_encode --output_format=piece" {
	cp "$D/text.txt" "$T/in"
	same_as_spm_encode piece --pieces
}

@test "empty lines, CRLF, invalid UTF-8, NUL, no final newline: as spm_encode" {
	edge_lines > "$T/in"
	same_as_spm_encode id --text
	same_as_spm_encode piece --pieces
	# one output line per input line, the unterminated last one too
	[ "$(wc -l < "$T/ours.u")" -eq 17 ]
}

@test "a 1 MB line gives one line, as spm_encode" {
	tr '\n' ' ' < "$D/text.txt" | head -c 1048576 > "$T/in"
	echo >> "$T/in"
	same_as_spm_encode id --text
	[ "$(wc -l < "$T/ours.b")" -eq 1 ]
}

@test "--bos, --eos, both: as spm_encode --extra_options" {
	local o m
	head -n 2000 "$D/text.txt" > "$T/in"
	for o in bos eos bos:eos; do
		for m in u b; do
			case $o in
			bos) tokenize --spm "$D/$m.model" --text --bos "$T/in" ;;
			eos) tokenize --spm "$D/$m.model" --text --eos "$T/in" ;;
			*) tokenize --spm "$D/$m.model" --text --eos --bos "$T/in" ;;
			esac > "$T/ours"
			spm_encode --model="$D/$m.model" --output_format=id \
			    --extra_options=$o "$T/in" > "$T/ref"
			cmp "$T/ours" "$T/ref" || fail "$m.model: $o differs"
		done
	done
}

@test "--nbest N equals spm_encode --output_format=nbest_id" {
	head -n 3000 "$D/text.txt" > "$T/in"
	edge_lines >> "$T/in"
	local m
	for m in u b; do
		tokenize --spm "$D/$m.model" --text --nbest 4 "$T/in" > "$T/ours"
		spm_encode --model="$D/$m.model" --output_format=nbest_id \
		    --nbest_size=4 "$T/in" > "$T/ref"
		cmp "$T/ours" "$T/ref" || fail "$m.model: n-best differs"
	done
	[ "$(wc -l < "$T/ours")" -gt "$(wc -l < "$T/in")" ]
}

@test "--nbest: an empty line is one empty candidate, as in spm_encode" {
	printf 'abc\n\ndef\n' > "$T/in"
	tokenize --spm "$D/u.model" --text --nbest 2 "$T/in" > "$T/ours"
	{
		printf 'abc\n' | spm_encode --model="$D/u.model" \
		    --output_format=nbest_id --nbest_size=2
		echo
		printf 'def\n' | spm_encode --model="$D/u.model" \
		    --output_format=nbest_id --nbest_size=2
	} > "$T/ref"
	cmp "$T/ours" "$T/ref"
	[ "$(wc -l < "$T/ours")" -eq 5 ]
	# in a binary stream: one record of rank 0, score 0, no ids
	run -0 sh -c "tokenize --spm '$D/u.model' --nbest 2 '$T/in' | seqcat | sed -n 3p"
	assert_output "T 1 0 0"
}

@test "sampling: each line as spm_encode --random_seed=(seed + key * 0x9E3779B9) on that line alone" {
	local m k=0 line seed
	head -n 12 "$D/ja.txt" > "$T/in"
	head -n 12 "$D/text.txt" >> "$T/in"
	for m in u b; do
		tokenize --spm "$D/$m.model" --text --alpha 0.3 --seed 12345 \
		    "$T/in" > "$T/ours"
		k=0
		: > "$T/ref"
		while IFS= read -r line; do
			seed=$(( (12345 + k * 0x9E3779B9) % 4294967296 ))
			printf '%s\n' "$line" | spm_encode --model="$D/$m.model" \
			    --output_format=sample_id --nbest_size=-1 --alpha=0.3 \
			    --random_seed=$seed >> "$T/ref"
			k=$((k + 1))
		done < "$T/in"
		cmp "$T/ours" "$T/ref" || fail "$m.model: samples differ"
	done
	# and sampling did sample
	tokenize --spm "$D/u.model" --text "$T/in" > "$T/best"
	run ! cmp -s "$T/ours" "$T/best"
}

@test "sampling: same seed same output, another seed another, --nbest-size honoured" {
	head -n 500 "$D/text.txt" > "$T/in"
	tokenize --spm "$D/u.model" --text --alpha 0.5 --seed 3 "$T/in" > "$T/a"
	tokenize --spm "$D/u.model" --text --alpha 0.5 --seed 3 "$T/in" > "$T/b"
	tokenize --spm "$D/u.model" --text --alpha 0.5 --seed 4 "$T/in" > "$T/c"
	cmp "$T/a" "$T/b"
	run ! cmp -s "$T/a" "$T/c"
	# --nbest-size 1 can only pick the best
	tokenize --spm "$D/u.model" --text --alpha 0.5 --nbest-size 1 "$T/in" > "$T/d"
	tokenize --spm "$D/u.model" --text "$T/in" > "$T/e"
	cmp "$T/d" "$T/e"
}

@test "--keyed: KEY TAB TEXT lines give KEY; shards cut anywhere join to the whole" {
	# empty lines at the shard starts: GNU parallel -N miscounts those
	{ head -n 1500 "$D/text.txt"; printf '\n\nlast'; } > "$T/in"
	perl -pe '$_ = $. - 1 . "\t$_"' "$T/in" > "$T/keyed"
	tokenize --spm "$D/b.model" --alpha 0.2 --seed 9 "$T/in" | seqcat > "$T/whole"
	tokenize --spm "$D/b.model" --alpha 0.2 --seed 9 --keyed "$T/keyed" |
	    seqcat | cmp - "$T/whole"
	parallel --pipe -k --block 20k -j 2 \
	    "tokenize --spm '$D/b.model' --alpha 0.2 --seed 9 --keyed" \
	    < "$T/keyed" | seqcat | cmp - "$T/whole"
	# keys as given, not necessarily consecutive
	printf '7\tab\n3\t\n12\tab' | tokenize --spm "$D/b.model" --keyed |
	    seqcat | cut -d' ' -f2 | tr '\n' ' ' > "$T/keys"
	[ "$(cat "$T/keys")" = "7 3 12 " ]
}

@test "--keyed: a line without KEY TAB fails after the lines before it; excludes -k" {
	printf '0\tab\n1\tcd\nef\n3\tgh\n' > "$T/bad"
	run -1 --separate-stderr tokenize --spm "$D/b.model" --keyed --text "$T/bad"
	[ "$stderr" = "tokenize: $T/bad: line 3: not KEY TAB TEXT (--keyed)" ]
	[ "${#lines[@]}" -eq 2 ]
	printf '99999999999999999999\tab\n' > "$T/big"
	run -1 --separate-stderr tokenize --spm "$D/b.model" --keyed "$T/big"
	[ "$stderr" = "tokenize: $T/big: line 1: not KEY TAB TEXT (--keyed)" ]
	run -2 --separate-stderr tokenize --spm "$D/b.model" --keyed -k 4 "$T/bad"
	[[ "$stderr" == "tokenize: --keyed and --first-key exclude each other"* ]]
}

@test "sampling does not depend on how the input is split (split, parallel --pipe)" {
	head -n 2000 "$D/text.txt" > "$T/in"
	tokenize --spm "$D/b.model" --text --alpha 0.2 --seed 9 "$T/in" > "$T/whole"
	split -l 300 -d "$T/in" "$T/part."
	local f k=0
	: > "$T/joined"
	for f in "$T"/part.*; do
		tokenize --spm "$D/b.model" --text --alpha 0.2 --seed 9 \
		    --first-key $k "$f" >> "$T/joined"
		k=$((k + $(wc -l < "$f")))
	done
	cmp "$T/whole" "$T/joined"
	parallel --pipe -N 300 -k -j 2 \
	    "tokenize --spm '$D/b.model' --text --alpha 0.2 --seed 9 --first-key \$(( ({#} - 1) * 300 ))" \
	    < "$T/in" > "$T/parallel"
	cmp "$T/whole" "$T/parallel"
}

@test "lines are counted across operands; - is stdin" {
	head -n 300 "$D/text.txt" > "$T/in"
	head -n 100 "$T/in" > "$T/a"
	sed -n '101,300p' "$T/in" > "$T/b"
	tokenize --spm "$D/u.model" --text --alpha 0.1 "$T/in" > "$T/whole"
	tokenize --spm "$D/u.model" --text --alpha 0.1 "$T/a" - < "$T/b" > "$T/two"
	cmp "$T/whole" "$T/two"
}

@test "empty input: no output with --text, exit 0" {
	run -0 --separate-stderr tokenize --spm "$D/u.model" --text < /dev/null
	assert_output ""
	[ -z "$stderr" ]
}

@test "a missing model: exit 1, one line naming it" {
	run -1 --separate-stderr tokenize --spm "$T/nope.model" --text < /dev/null
	[ -z "$output" ]
	[ "$stderr" = "tokenize: $T/nope.model: No such file or directory" ]
}

@test "a corrupt .model file: exit 1, one line" {
	local bad
	for bad in "head -c 3000 $D/u.model" "echo not a model" "head -c 0 /dev/null"; do
		$bad > "$T/bad.model"
		run -1 --separate-stderr tokenize --spm "$T/bad.model" --text < /dev/null
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "more than one line: $stderr"
		[[ "$stderr" == "tokenize: $T/bad.model: "* ]] || fail "$stderr"
	done
}

@test "no model at all, or two: usage error, exit 2" {
	run -2 --separate-stderr tokenize --text < /dev/null
	[[ "$stderr" == "tokenize: "* ]]
	run -2 --separate-stderr tokenize --spm "$D/u.model" -m x --text < /dev/null
	run -2 --separate-stderr tokenize --spm "$D/u.model" --nbest 2 --alpha 0.1 < /dev/null
	run -2 --separate-stderr tokenize --spm "$D/u.model" --nbest-size 3 < /dev/null
	run -2 --separate-stderr tokenize --spm "$D/u.model" --pieces --text < /dev/null
	run -2 --separate-stderr tokenize --spm "$D/u.model" --nbest 0 < /dev/null
}

@test "--nbest with a BPE model: exit 1, one line" {
	mo_text de | head -n 3000 > "$T/de.txt"
	spm_train --input="$T/de.txt" --model_prefix="$T/bpe" --model_type=bpe \
	    --vocab_size=300 --minloglevel=2
	printf 'hello\nworld\nagain\n' > "$T/in"
	run -1 --separate-stderr tokenize --spm "$T/bpe.model" -t 3 --text --nbest 2 "$T/in"
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "tokenize: $T/in: line 1: "* ]] || fail "$stderr"
}

@test "an unreadable operand and a full disk: exit 1" {
	run -1 --separate-stderr tokenize --spm "$D/u.model" --text "$T/none.txt"
	[ "$stderr" = "tokenize: $T/none.txt: No such file or directory" ]
	run -1 --separate-stderr sh -c "tokenize --spm '$D/u.model' --text '$D/text.txt' > /dev/full"
}

@test "binary output to a terminal is refused" {
	run -1 script -qec "tokenize --spm '$D/u.model' < /dev/null" /dev/null
	[[ "$output" == *"tokenize: "* ]]
}

@test "-m and \$SEQPIPE_MODEL take spm.source from a model file, and the header names it" {
	"$PY" "$SRCDIR/scripts/make-model.py" --spm-source "$D/u.model" \
	    --spm-target "$D/b.model" --model-id tok-test-1 untied "$T/m.sq" 2> /dev/null
	head -n 1000 "$D/text.txt" > "$T/in"
	spm_encode --model="$D/u.model" --output_format=id "$T/in" > "$T/ref"
	tokenize -m "$T/m.sq" --text "$T/in" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	SEQPIPE_MODEL="$T/m.sq" tokenize --text "$T/in" > "$T/ours"
	cmp "$T/ours" "$T/ref"
	run -0 sh -c "tokenize -m '$T/m.sq' '$T/in' | seqcat -H | head -n 1"
	assert_output "H tokens 1.0 tok-test-1 $(realpath "$T/m.sq")"
	# --spm names the .model file and its id: "spm-" and its CRC-32
	run -0 sh -c "tokenize --spm '$D/u.model' '$T/in' | seqcat -H | head -n 1"
	local crc
	crc=$("$PY" -c 'import sys, zlib; print("%08x" % zlib.crc32(open(sys.argv[1], "rb").read()))' "$D/u.model")
	assert_output "H tokens 1.0 spm-$crc $(realpath "$D/u.model")"
}

@test "a model file without spm.source: exit 1, one line" {
	"$PY" "$SRCDIR/scripts/make-model.py" untied "$T/nospm.sq" 2> /dev/null
	run -1 --separate-stderr tokenize -m "$T/nospm.sq" --text < /dev/null
	[ -z "$output" ]
	[ "$stderr" = "tokenize: $T/nospm.sq: no spm.source tensor: the model file has no SentencePiece model" ]
	echo junk > "$T/junk.sq"
	run -1 --separate-stderr tokenize -m "$T/junk.sq" --text < /dev/null
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "tokenize: $T/junk.sq: "* ]] || fail "$stderr"
}

@test "-t: the output does not depend on the number of threads" {
	head -n 3000 "$D/text.txt" > "$T/in"
	edge_lines >> "$T/in"
	local t o
	for o in "--text" "--pieces" "--text --nbest 3" "--text --alpha 0.2 --seed 5" ""; do
		tokenize --spm "$D/b.model" -t 1 $o "$T/in" > "$T/one"
		for t in 2 3; do
			tokenize --spm "$D/b.model" -t $t $o "$T/in" > "$T/many"
			cmp "$T/one" "$T/many" || fail "-t $t $o differs from -t 1"
		done
	done
	run -2 --separate-stderr tokenize --spm "$D/b.model" -t 0 < /dev/null
}

@test "a binary stream as input is refused, not tokenized" {
	echo hello | tokenize --spm "$D/u.model" > "$T/bin"
	run -1 --separate-stderr tokenize --spm "$D/u.model" --text "$T/bin"
	[ -z "$output" ]
	[ "$stderr" = "tokenize: $T/bin: a seqpipe stream, not text" ]
}
