#!/usr/bin/env bats
# The empty translation (decode(1), beamsearch(1), seqpipe(7)): a source
# of no position, an empty line tokenized, has one translation, the empty
# one, score 0, in every search: decode's greedy search and sampling,
# beamsearch with any -k, its n-best list (that one hypothesis) and its
# Marian mode.  Through the whole pipeline an empty line comes out as an
# empty line, and its neighbours as without it: it takes no place in a
# batch, so theirs are the same bytes.  (Decoded as any source,
# with a cross-attention over nothing, it gave whatever the model made
# up: a random model, like a trained one, writes a sentence.)
load helper
bats_require_minimum_version 1.5.0

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	# a small vocabulary, the same on every machine
	awk 'BEGIN { split("eine Zeile nicht leer dann noch zwei drei vier " \
	    "Wort Satz Text hier", w, " "); for (i = 0; i < 2000; i++) {
	    s = ""; for (j = 0; j < 2 + i % 5; j++)
	    s = s (j ? " " : "") w[1 + (i * 5 + j * 11) % 13]; print s } }' \
	    > train.txt
	spm_train --input=train.txt --model_prefix=s --vocab_size=50 \
	    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 --minloglevel=2 \
	    --hard_vocab_limit=false > /dev/null 2>&1 || return 1
	# seed 1: the two lines get different translations in every search
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 1 --spm-source s.model \
	    paper m.sq > /dev/null 2>&1 || return 1
	printf 'eine Zeile nicht leer\n\ndann noch zwei Wort\n' > with.txt
	# the same two lines alone, with the keys they have in with.txt
	printf '0\teine Zeile nicht leer\n2\tdann noch zwei Wort\n' > without.txt
	tokenize -m m.sq with.txt | encode > with.mem
	tokenize -m m.sq --keyed without.txt | encode > without.mem
	# 40 lines of 1 to 8 words, 15 of them empty, some in a row
	awk 'BEGIN { split("eine Zeile nicht leer dann noch zwei drei vier " \
	    "Wort Satz Text hier", w, " "); for (i = 0; i < 40; i++) {
	    s = ""; if (i % 3 != 1 && i != 9 && i != 30)
	    for (j = 0; j < 1 + (i * 7) % 8; j++)
	    s = s (j ? " " : "") w[1 + (i * 3 + j * 5) % 13]; print s } }' \
	    > many.txt
	awk 'length($0) > 0 { print NR - 1 "\t" $0 }' many.txt > many-without.txt
	tokenize -m m.sq many.txt | encode > many.mem
	tokenize -m m.sq --keyed many-without.txt | encode > many-without.mem
}

setup() {
	cd "$BATS_FILE_TMPDIR" || return 1
}

# translate CMD [N]: with.txt through tokenize | encode | CMD | detok:
# a line for each of the 3 lines in, the empty line's empty, the
# neighbours' those of without.txt.  With N, CMD writes N-best lists
# and detok -n prints them whole: the empty line's list is one line,
# rank 0, score 0, no text.
translate() {
	local n=${2:-1} det=detok want=
	[ -z "$2" ] || { det="detok -n"; want=$(printf '1\t0\t0\t'); }
	tokenize -m m.sq with.txt | encode | $1 | $det > with.out
	tokenize -m m.sq --keyed without.txt | encode | $1 | $det > without.out
	[ "$(wc -l < with.out)" -eq $((2 * n + 1)) ] || fail "$1: $(cat with.out)"
	[ "$(sed -n "$((n + 1))p" with.out)" = "$want" ] ||
	    fail "$1: the empty line gave '$(sed -n "$((n + 1))p" with.out)'"
	sed "$((n + 1))d" with.out | diff - without.out || fail "$1: neighbours"
	# the neighbours are translated: the model writes something
	[ "$(grep -c '[^[:space:]]$' without.out)" -eq $((2 * n)) ] ||
	    fail "$1: $(cat without.out)"
}

# records CMD: CMD's records of with.mem with per-token scores, seqcat's
# form; key 1's must be the empty translation, score 0, no token score,
# and the others those of without.mem, the same bytes
records() {
	$1 --scores with.mem | seqcat > with.rec
	$1 --scores without.mem | seqcat > without.rec
	[ "$(grep '^T 1 ' with.rec)" = "T 1 0 0 |" ] ||
	    fail "$1: key 1: $(grep '^T 1 ' with.rec)"
	grep -v '^T 1 ' with.rec | cmp - without.rec || fail "$1: neighbours"
}

@test "decode, greedy and sampled: an empty line translates to an empty line, score 0" {
	local cmd
	for cmd in decode "decode --temperature 1.5 --seed 3" \
	    "decode --top-k 5 --seed 9"; do
		translate "$cmd"
		records "$cmd"
	done
	# --min-len does not lengthen the empty translation
	records "decode --min-len 4"
}

@test "beamsearch -k 1, -k 5, -n 3, any normalisation: the empty line's one hypothesis, score 0" {
	local cmd
	for cmd in "beamsearch -k 1" "beamsearch -k 5" \
	    "beamsearch -k 5 -a 0.6 --length-norm gnmt --word-penalty -0.5" \
	    "beamsearch -k 4 -a 2 --word-penalty 3 --min-len 3"; do
		translate "$cmd"
		records "$cmd"
	done
	# the n-best list of an empty source is that single hypothesis
	translate "beamsearch -k 5 -n 3" 3
	records "beamsearch -k 5 -n 3 -a 0.6 --length-norm gnmt"
	[ "$(grep -c '^T 1 ' with.rec)" -eq 1 ]
	[ "$(grep -c '^T 0 ' with.rec)" -eq 3 ]
}

@test "beamsearch --marian: a source of no position is not Marian's </s> line, its score is 0" {
	# Marian's forced </s> would score -w (tests/marian-beam.bats)
	records "beamsearch --marian --word-penalty 0.5"
	records "beamsearch --marian -k 3 -n 2 -a 1"
}

@test "decode --alignment: the empty source's alignment record holds nothing" {
	decode --alignment with.mem | seqcat > al
	[ "$(grep '^A 1 ' al)" = "A 1 0 0 0" ]
	[ "$(grep -c '^A ' al)" -eq 3 ]
}

@test "only empty lines: as many empty lines out, from every search" {
	local cmd
	printf '\n\n\n' > empty.txt
	for cmd in decode "decode --temperature 2" "beamsearch -k 3 -n 2"; do
		tokenize -m m.sq empty.txt | encode | $cmd | detok > out
		printf '\n\n\n' | cmp - out || fail "$cmd"
	done
}

@test "--score, --prefix: an empty source's forced record must be empty; it scores 0" {
	local o word
	# targets: the sources' ids, an empty one for the empty source
	tokenize -m m.sq --text with.txt > with.ids
	tokenize -m m.sq --keyed without.txt > without.tok
	for o in --score --prefix; do
		decode --scores $o with.ids with.mem | seqcat > with.rec
		decode --scores $o without.tok without.mem | seqcat > without.rec
		[ "$(grep '^T 1 ' with.rec)" = "T 1 0 0 |" ] || fail "$o: $(cat with.rec)"
		grep -v '^T 1 ' with.rec | cmp - without.rec || fail "$o: neighbours"
	done
	# a target for the empty source: refused, the records before it out
	sed '2s/.*/5 6/' with.ids > bad.ids
	for o in --score --prefix; do
		word=${o#--}
		[ "$word" = score ] && word=target
		run -1 --separate-stderr decode --text $o bad.ids with.mem
		[ "$stderr" = "decode: bad.ids: record 1 (key 1): a $word of 2 tokens for an empty source, whose only translation is the empty one" ] ||
		    fail "$o: $stderr"
		[ "$output" = "$(decode --text $o with.ids with.mem | head -n 1)" ]
	done
}

@test "empty lines take no place in a batch: the others' records are the same bytes as without them" {
	local cmd b
	[ "$(grep -c . many.txt)" -eq 25 ]
	for b in 1 4 32; do
		tokenize -m m.sq many.txt | encode --batch-size $b | seqcat |
		    awk '$3 > 0' > with.rec
		tokenize -m m.sq --keyed many-without.txt |
		    encode --batch-size $b | seqcat | cmp - with.rec ||
		    fail "encode --batch-size $b"
	done
	for cmd in "decode --batch-size 3" "decode --batch-size 1" \
	    "decode --batch-size 4 --temperature 1.5 --seed 2" \
	    "beamsearch --batch-size 2 -k 3 -n 2" \
	    "beamsearch --batch-size 3 --batch-tokens 12 -k 2"; do
		$cmd --scores many.mem | seqcat > with.rec
		$cmd --scores many-without.mem | seqcat > without.rec
		# the empty lines' records are the empty translation; the
		# others (without them) as those of many-without.mem
		awk 'NR == FNR { if ($0 == "") empty[FNR - 1] = 1; next }
		    ($2 in empty) == 0 { print; next }
		    $0 != "T " $2 " 0 0 |" { exit 1 }' many.txt with.rec \
		    > others.rec || fail "$cmd: $(cat with.rec)"
		cmp others.rec without.rec || fail "$cmd"
	done
}
