#!/usr/bin/env bats
# beamsearch against the PyTorch reference beam search of
# scripts/seqpipe_torch.py (scripts/torch-reference.py) on tiny seeded
# models of each config (CONFIGS, copy and arch rnn among them): the
# same hypotheses, ranks and scores (1e-4);
# -k 1 against decode's greedy output; batching and threads change no
# token; every input record gives a record; bad input fails with one line.
load helper
bats_require_minimum_version 1.5.0

CONFIGS="paper prenorm-gelu marian untied zero-start copy rnn"

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	local c
	for c in $CONFIGS; do
		"$PY" "$SRCDIR/scripts/make-model.py" --seed 3 "$c" "$c.sq" \
		    > /dev/null || return 1
	done
	# 12 sources of 0 to 14 ids below 96 (every config's source
	# vocabulary), one of them empty
	awk 'BEGIN { srand(11); for (i = 0; i < 12; i++) {
		n = i == 4 ? 0 : 1 + int(rand() * 14); s = "";
		for (j = 0; j < n; j++) s = s (j ? " " : "") 3 + int(rand() * 93);
		print s } }' > src.ids
	for c in $CONFIGS; do
		encode -m "$c.sq" src.ids > "$c.mem" || return 1
	done
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

ref() {	# ref CONFIG [torch-reference options]: its beam, seqcat's form
	local c=$1
	shift
	"$PY" "$SRCDIR/scripts/torch-reference.py" "$c.sq" src.ids \
	    --beam /dev/stdout "$@" | sed 's/ |.*//'
}

# same_beams GOT WANT: the same records, ids exact, scores within 1e-4
same_beams() {
	"$PY" "$SRCDIR/scripts/numdiff.py" --tol 1e-4 "$1" "$2"
}

@test "beam outputs equal PyTorch's on six configs: k 4, 3-best, scores" {
	local c
	for c in $CONFIGS; do
		beamsearch -k 4 -n 3 "$c.mem" | seqcat > "$c.out"
		ref "$c" -k 4 --nbest 3 > "$c.ref"
		run same_beams "$c.out" "$c.ref"
		[ "$status" -eq 0 ] || fail "$c: $output"
	done
}

@test "GNMT form, alpha 0.6, word penalty, min length: as PyTorch" {
	beamsearch -k 5 -n 2 -a 0.6 --length-norm gnmt --word-penalty -0.4 \
	    --min-len 3 untied.mem | seqcat > out
	ref untied -k 5 --nbest 2 --alpha 0.6 --gnmt --word-penalty -0.4 --min-len 3 > r
	run same_beams out r
	[ "$status" -eq 0 ] || fail "$output"
	beamsearch -k 3 -a 0 --word-penalty 0.7 marian.mem | seqcat > out
	ref marian -k 3 --alpha 0 --word-penalty 0.7 > r
	run same_beams out r
	[ "$status" -eq 0 ] || fail "$output"
}

@test "hypotheses cut at the maximum length, no EOS reached: as PyTorch" {
	beamsearch -k 4 -n 4 --max-len 0,3 paper.mem | seqcat > out
	ref paper -k 4 --nbest 4 --max-len 0,3 > r
	run same_beams out r
	[ "$status" -eq 0 ] || fail "$output"
	# 4 records for each of the 11 keys, one for the empty source (key
	# 4), none longer than 3 tokens
	[ "$(awk '{ print $2 }' out | uniq -c | awk '$1 == 4' | wc -l)" -eq 11 ]
	[ "$(awk '$2 == 4' out | wc -l)" -eq 1 ]
	awk 'NF > 7 { exit 1 }' out
}

@test "--no-repeat-ngram: no n-gram twice in any hypothesis, as PyTorch" {
	beamsearch -k 4 -n 4 --no-repeat-ngram 2 --max-len 3,10 paper.mem |
	    seqcat > out
	awk '{ delete seen; for (i = 5; i < NF; i++) {
		g = $i " " $(i + 1); if (g in seen) exit 1; seen[g] = 1 } }' out
	ref paper -k 4 --nbest 4 --no-repeat-ngram 2 --max-len 3,10 > r
	run same_beams out r
	[ "$status" -eq 0 ] || fail "$output"
}

@test "-k 1 gives decode's greedy output" {
	local c
	for c in $CONFIGS; do
		decode --text "$c.mem" > greedy
		beamsearch -k 1 --text "$c.mem" > beam
		cmp greedy beam || fail "$c: -k 1 differs from decode"
	done
}

@test "batch sizes 1 and 32, threads 1 and 2: the same tokens" {
	# the same ids in the same order; scores may differ in the last bits
	# (the products' summation order depends on the batch), not beyond 1e-4
	beamsearch -k 4 -n 2 -t 1 --batch-size 32 prenorm-gelu.mem | seqcat > a
	beamsearch -k 4 -n 2 -t 2 --batch-size 32 prenorm-gelu.mem | seqcat > b
	beamsearch -k 4 -n 2 -t 2 --batch-size 1 prenorm-gelu.mem | seqcat > c
	beamsearch -k 4 -n 2 -t 1 --batch-size 5 --batch-tokens 20 \
	    prenorm-gelu.mem | seqcat > d
	for x in b c d; do
		run same_beams a $x
		[ "$status" -eq 0 ] || fail "$x: $output"
	done
	# and in input order: keys 0..11, ranks 0 and 1 (0 alone for the
	# empty source, key 4)
	awk '{ print $2, $3 }' c > keys
	awk 'BEGIN { for (i = 0; i < 12; i++) print i, 0 (i == 4 ? "" : "\n" i " 1") }' > want
	cmp keys want
}

@test "--monotonic W: as PyTorch's beam search with monotonic attention; -k 1 is decode's" {
	local c w
	for c in paper untied; do
		for w in 0 1; do
			beamsearch -k 4 -n 2 --monotonic $w "$c.mem" | seqcat > out
			ref "$c" -k 4 --nbest 2 --monotonic $w > r
			run same_beams out r
			[ "$status" -eq 0 ] || fail "$c --monotonic $w: $output"
		done
		beamsearch -k 1 --monotonic 0 --text "$c.mem" > beam
		decode --monotonic 0 --text "$c.mem" > greedy
		cmp greedy beam || fail "$c: -k 1 differs from decode"
		run ! cmp -s beam <(beamsearch -k 1 --text "$c.mem")
	done
	# batches and threads: the same tokens
	beamsearch -k 4 -n 2 --monotonic 1 --batch-size 32 untied.mem | seqcat > a
	beamsearch -k 4 -n 2 --monotonic 1 --batch-size 1 -t 2 untied.mem | seqcat > b
	run same_beams a b
	[ "$status" -eq 0 ] || fail "batch 1: $output"
}

@test "an empty source gives a record" {
	seqcat marian.mem | awk '$2 == 4 { print $3 }' > n_src
	[ "$(cat n_src)" = 0 ]
	# its n-best list: the empty translation alone, score 0
	beamsearch -n 2 marian.mem | seqcat | awk '$2 == 4' > out
	[ "$(cat out)" = "T 4 0 0" ]
}

@test "the model comes from -m, \$SEQPIPE_MODEL or the stream header" {
	beamsearch --text untied.mem > a
	beamsearch --text -m untied.sq < untied.mem > b
	SEQPIPE_MODEL=$BATS_FILE_TMPDIR/untied.sq beamsearch --text - \
	    < untied.mem > c
	cmp a b
	cmp a c
	cat untied.mem untied.mem | beamsearch --text > twice
	[ "$(wc -l < twice)" -eq 24 ]
}

@test "the output header names the model by its absolute path" {
	run -0 --separate-stderr bash -c \
	    'beamsearch -m untied.sq untied.mem | seqcat -H | head -n 1'
	[[ "$output" == "H tokens 1.0 "*" $BATS_FILE_TMPDIR/untied.sq" ]] ||
	    fail "header: $output"
}

# status 1, one line on stderr starting "beamsearch: " then $1
one_error() {
	[ "$status" -eq 1 ] || fail "status $status, expected 1"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr: $stderr"
	[[ "$stderr" == "beamsearch: $1"* ]] || fail "stderr: $stderr"
	[ -z "$output" ] || fail "stdout not empty"
}

@test "bad input: truncated, bad CRC, wrong kind, wrong model, text ids" {
	local size
	size=$(stat -c %s paper.mem)
	head -c $((size - 9)) paper.mem > trunc.mem
	run -1 --separate-stderr beamsearch --text trunc.mem
	[ "$status" -eq 1 ] && [ "${#stderr_lines[@]}" -eq 1 ] &&
	    [[ "$stderr" == "beamsearch: trunc.mem: record "* ]] ||
	    fail "truncated: $status $stderr"
	# one byte of the last record's floats changed
	cp paper.mem crc.mem
	printf '\x55' | dd of=crc.mem bs=1 seek=$((size - 5)) conv=notrunc 2> /dev/null
	run -1 --separate-stderr beamsearch crc.mem
	[[ "$stderr" == "beamsearch: crc.mem: record 11 (key 11): "* ]] ||
	    fail "bad CRC: $stderr"
	seqcat -b --model-id x src.ids > tok.tok
	run -1 --separate-stderr beamsearch -m paper.sq tok.tok
	one_error "tok.tok: "
	run -1 --separate-stderr beamsearch -m paper.sq marian.mem
	one_error "marian.mem: header: stream of model"
	run -1 --separate-stderr beamsearch -m paper.sq src.ids
	one_error "src.ids: "
	run -1 --separate-stderr beamsearch -m no-such.sq paper.mem
	one_error "no-such.sq"
}

@test "empty input: empty output, status 0" {
	run -0 --separate-stderr beamsearch -m paper.sq < /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
	run -0 --separate-stderr beamsearch < /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr beamsearch -k 2 --nbest 3 paper.mem
	[[ "$stderr" == "beamsearch: --nbest 3: more than the beam size 2"* ]]
	run -2 --separate-stderr beamsearch --length-norm cubic paper.mem
	run -2 --separate-stderr beamsearch --max-len x paper.mem
	run -2 --separate-stderr beamsearch -k 0 paper.mem
}

@test "a memory record decode refuses, beamsearch refuses with the same message" {
	local D f m want
	D=$(seqcat paper.mem | head -1 | cut -d' ' -f5)
	gen() { "$PY" "$SRCDIR/tests/streamgen.py" 'H(2)' "$@"; }
	gen "M(0, [5, 6], 2, $D, [0.5] * 2 * $D)" "M(1, [5], 1, $D, [NAN] * $D)" > nan.mem
	gen "M(0, [5, 6], 2, 7, [0.5] * 14)" > width.mem
	gen "M(0, [5, 6], 1, $D, [0.5] * $D)" > rows.mem
	# a copy model points at the source ids: they must be in its vocabulary
	gen "M(0, [5, 6], 2, $D, [0.5] * 2 * $D)" "M(1, [5, 128], 2, $D, [0.5] * 2 * $D)" > srcid.mem
	for f in nan width rows srcid; do
		m=paper
		[ $f = srcid ] && m=copy
		run -1 --separate-stderr decode -m $m.sq $f.mem
		want=${stderr#decode: }
		run -1 --separate-stderr beamsearch -m $m.sq $f.mem
		[ "$stderr" = "beamsearch: $want" ] || fail "$f: '$stderr', decode: '$want'"
		[ $f != rows ] || [ "$want" = "rows.mem: record 0 (key 0): memory of 1 x $D for 2 source tokens, the model needs 2 x $D" ]
	done
	[ "$want" = "srcid.mem: record 1 (key 1): source id 128 outside the vocabulary [0, 128)" ]
	decode -m paper.sq srcid.mem > /dev/null	# what paper does not read
}

@test "an empty first source (make check-asan: no copy from NULL)" {
	{ echo; cat src.ids; } > empty-first.ids
	encode -m paper.sq empty-first.ids > empty-first.mem
	run -0 --separate-stderr beamsearch --text empty-first.mem
	[ -z "$stderr" ]
	[ "$(beamsearch --text empty-first.mem | wc -l)" -eq 13 ]
	[ "$(beamsearch --text empty-first.mem | tail -n 12)" = "$(beamsearch --text paper.mem)" ]
}
