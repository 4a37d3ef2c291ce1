#!/usr/bin/env bats
# decode: greedy outputs, forced prefixes and forced scoring against
# PyTorch (tests/engine_ref.py) for every config; batch, thread and shard
# independence; sampling; length limits; alignment; bad input.
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	local c
	engine_setup_file
	for c in $CONFIGS unk pad; do
		encode -m "$REF/$c.sq" "$REF/src.txt" > "$REF/$c.mem" 2>/dev/null
	done
}

# run decode on CONFIG's memory, printing seqcat's verbose form
dec() {
	local c=$1
	shift
	decode "$@" "$REF/$c.mem" | seqcat
}

@test "greedy outputs equal PyTorch's, log-probs within 1e-4, every config" {
	local c
	for c in $CONFIGS; do
		dec $c --scores > "$BATS_TEST_TMPDIR/$c"
		# ids exact; per-token log-probs 1e-4; sums over up to 256 tokens
		numcmp 1e-4 <(cut -d'|' -f2 "$REF/$c.greedy") \
		    <(cut -d'|' -f2 "$BATS_TEST_TMPDIR/$c") || fail "$c: token log-probs"
		numcmp 1e-3 <(cut -d'|' -f1 "$REF/$c.greedy") \
		    <(cut -d'|' -f1 "$BATS_TEST_TMPDIR/$c") || fail "$c: ids or score"
	done
}

@test "--score: the targets' log-probs equal PyTorch's within 1e-4" {
	local c
	for c in $CONFIGS; do
		dec $c --scores --score "$REF/$c.tgt" > "$BATS_TEST_TMPDIR/$c"
		numcmp 1e-4 "$REF/$c.score" "$BATS_TEST_TMPDIR/$c" || fail "$c"
	done
}

@test "--score: a target past the positions is scored as far as they go, warned of unless -q" {
	# paper has 256 positions: line 3's target of 300 tokens is scored for 256
	awk 'NR == 4 { $0 = ""; for (i = 0; i < 300; i++) $0 = $0 " 5" } 1' \
	    "$REF/paper.tgt" > "$BATS_TEST_TMPDIR/tgt"
	run -0 --separate-stderr decode --text --score "$BATS_TEST_TMPDIR/tgt" "$REF/paper.mem"
	[ "$stderr" = "decode: $BATS_TEST_TMPDIR/tgt: record 3 (key 3): a target of 300 tokens, the model has 256 positions: scoring the first 256" ]
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/loud"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/loud")" -eq 40 ]
	[ "$(sed -n 4p "$BATS_TEST_TMPDIR/loud" | wc -w)" -eq 256 ]
	run -0 --separate-stderr decode -q --text --score "$BATS_TEST_TMPDIR/tgt" "$REF/paper.mem"
	[ -z "$stderr" ]
	printf '%s\n' "$output" | cmp - "$BATS_TEST_TMPDIR/loud"
}

@test "--prefix: forced prefixes, then PyTorch's greedy continuation" {
	local c
	for c in paper untied copy rnn; do
		dec $c --scores --prefix "$REF/$c.tgt" > "$BATS_TEST_TMPDIR/$c"
		numcmp 1e-3 "$REF/$c.prefixed" "$BATS_TEST_TMPDIR/$c" || fail "$c"
	done
}

@test "one record per input, in order: empty source, over-long source, no EOS" {
	run -0 --separate-stderr dec paper
	[ "${#lines[@]}" -eq 40 ]
	[ "$(printf '%s\n' "${lines[@]}" | cut -d' ' -f2 | tr '\n' ' ')" = \
	    "$(seq -s ' ' 0 39) " ]
	# line 7's source was cut to 256; its hypothesis never ends: 256 tokens
	[ "$(echo "${lines[7]}" | wc -w)" -eq $((4 + 256)) ]
}

# Token outputs are identical; scores may differ in the last bits, as a
# batch of one row takes BLAS's matrix-vector path.
@test "batch sizes 1, 7, 32 and 1 or 2 threads give identical tokens" {
	local c b t
	for c in paper marian copy; do
		decode --text "$REF/$c.mem" > "$BATS_TEST_TMPDIR/ref"
		dec $c --scores > "$BATS_TEST_TMPDIR/ref.v"
		for b in 1 7 32; do
			for t in 1 2; do
				decode --text --batch-size $b -t $t "$REF/$c.mem" \
				    > "$BATS_TEST_TMPDIR/out"
				cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/out" ||
				    fail "$c --batch-size $b -t $t"
				dec $c --scores --batch-size $b -t $t > "$BATS_TEST_TMPDIR/out.v"
				numcmp 1e-4 "$BATS_TEST_TMPDIR/ref.v" "$BATS_TEST_TMPDIR/out.v" ||
				    fail "$c --batch-size $b -t $t: scores"
			done
		done
	done
}

# the ids of seqcat's lines: key and ids, no scores
ids() {
	cut -d' ' -f2,5-
}

@test "a shard decodes as the same records of the whole" {
	dec paper | ids > "$BATS_TEST_TMPDIR/all"
	stream_from "$REF/paper.mem" 25 | decode | seqcat | ids > "$BATS_TEST_TMPDIR/shard"
	diff <(tail -15 "$BATS_TEST_TMPDIR/all") "$BATS_TEST_TMPDIR/shard"
}

@test "sampling: reproducible, seeded per key (shard-independent), seed-dependent" {
	dec paper --temperature 2 --seed 7 | ids > "$BATS_TEST_TMPDIR/a"
	dec paper --temperature 2 --seed 7 | ids > "$BATS_TEST_TMPDIR/a2"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/a2"
	dec paper --temperature 2 --seed 7 --batch-size 5 -t 1 | ids > "$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	stream_from "$REF/paper.mem" 25 | decode --temperature 2 --seed 7 | seqcat | ids > "$BATS_TEST_TMPDIR/shard"
	diff <(tail -15 "$BATS_TEST_TMPDIR/a") "$BATS_TEST_TMPDIR/shard"
	dec paper --temperature 2 --seed 8 | ids > "$BATS_TEST_TMPDIR/c"
	run ! cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
	dec paper | ids > "$BATS_TEST_TMPDIR/greedy"
	run ! cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/greedy"
}

@test "sampling with --top-k 1 or a tiny --top-p is greedy search" {
	dec marian > "$BATS_TEST_TMPDIR/greedy"
	dec marian --top-k 1 --temperature 5 --seed 3 > "$BATS_TEST_TMPDIR/k"
	cmp "$BATS_TEST_TMPDIR/greedy" "$BATS_TEST_TMPDIR/k"
	dec marian --top-p 0.000001 --temperature 5 --seed 3 > "$BATS_TEST_TMPDIR/p"
	cmp "$BATS_TEST_TMPDIR/greedy" "$BATS_TEST_TMPDIR/p"
}

@test "--max-len a,b stops hypotheses without EOS; --min-len holds EOS back" {
	dec paper --max-len 0,3 > "$BATS_TEST_TMPDIR/short"
	dec paper > "$BATS_TEST_TMPDIR/full"
	# each output is the first (up to) 3 ids of the full greedy output
	diff <(cut -d' ' -f2,5-7 "$BATS_TEST_TMPDIR/full" | sed 's/ *$//') \
	    <(cut -d' ' -f2,5- "$BATS_TEST_TMPDIR/short" | sed 's/ *$//')
	run -0 dec paper --min-len 12 --max-len 0,14
	# but the empty source (key 0): its empty translation
	[ -z "$(printf '%s\n' "${lines[@]}" | awk '$2 > 0 && NF - 4 < 12')" ]
	[ -n "$(printf '%s\n' "${lines[@]}" | awk 'NF - 4 < 14')" ]
	[ "${lines[0]}" = "T 0 0 0" ]
}

@test "the pad id is never produced, by greedy search, sampling or beam search" {
	# pad.sq starts from its pad row (127) and would produce it: the
	# unbanned arg-max of the first step is pad for many sentences
	[ "$(cat "$REF/pad.unbanned")" -gt 10 ]
	decode --text "$REF/pad.mem" > "$BATS_TEST_TMPDIR/greedy"
	diff "$REF/pad.greedy" "$BATS_TEST_TMPDIR/greedy"
	run -1 bash -c "decode --text --temperature 3 --seed 1 '$REF/pad.mem' | grep -w 127"
	run -1 bash -c "beamsearch --text -k 4 '$REF/pad.mem' | grep -w 127"
}

@test "--no-unk keeps UNK out" {
	dec unk --text > /dev/null
	run -0 bash -c "decode --text '$REF/unk.mem' | grep -cw 3"
	[ "$output" -gt 10 ]
	run -1 bash -c "decode --text --no-unk '$REF/unk.mem' | grep -w 3"
}

@test "--alignment: one row per output token, each a distribution over the source" {
	decode --alignment "$REF/paper.mem" > "$BATS_TEST_TMPDIR/al"
	seqcat "$BATS_TEST_TMPDIR/al" > "$BATS_TEST_TMPDIR/txt"
	# T then A for every key; A has rows = ids of T, cols = source length
	run -0 awk '
		$1 == "T" { key = $2; n = NF - 4; next }
		$1 == "A" {
			if ($2 != key || $4 != n) { print "bad shape at key " $2; exit 1 }
			for (r = 0; r < $4; r++) {
				s = 0
				for (c = 0; c < $5; c++) s += $(6 + r * $5 + c)
				if ($5 > 0 && (s < 0.9999 || s > 1.0001)) { print "row sum " s " at key " $2; exit 1 }
			}
			na++
		}
		END { if (na != 40) { print na " alignment records"; exit 1 } }' "$BATS_TEST_TMPDIR/txt"
	# and the tokens are those of a plain decode
	diff <(grep '^T' "$BATS_TEST_TMPDIR/txt") <(dec paper)
}

@test "seqcat -a prints the alignment as hard s-t pairs (the arg-max source)" {
	decode --alignment "$REF/paper.mem" > "$BATS_TEST_TMPDIR/al"
	# the arg-max of each soft row, computed here from the weights
	seqcat "$BATS_TEST_TMPDIR/al" | awk '
		$1 != "A" { print; next }
		{
			line = "A " $2 " " $3
			for (r = 0; r < $4 && $5 > 0; r++) {
				b = 0
				for (c = 1; c < $5; c++)
					if ($(6 + r * $5 + c) > $(6 + r * $5 + b)) b = c
				line = line " " b "-" r
			}
			print line
		}' > "$BATS_TEST_TMPDIR/want"
	seqcat -a "$BATS_TEST_TMPDIR/al" > "$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# the empty source (key 0) has no pairs; the text form: pairs alone
	grep -qx "A 0 0" "$BATS_TEST_TMPDIR/got"
	run -0 bash -c "seqcat -a -t '$BATS_TEST_TMPDIR/al' | sed -n 4p"
	[ "$output" = "$(grep '^A 1 ' "$BATS_TEST_TMPDIR/got" | cut -d' ' -f4-)" ]
}

@test "--monotonic W: PyTorch's monotonic greedy search; it changes outputs" {
	local c w
	cd "$BATS_TEST_TMPDIR"
	# the sources PyTorch takes (line 8 is longer than the positions)
	sed 8d "$REF/src.txt" > src.txt
	for c in paper marian; do
		encode -m "$REF/$c.sq" src.txt > $c.mem
		for w in 0 2; do
			decode --scores --monotonic $w $c.mem | seqcat > got
			"$PY" "$SRCDIR/scripts/torch-reference.py" "$REF/$c.sq" \
			    src.txt --monotonic $w --greedy want
			numcmp 1e-4 <(cut -d'|' -f2 want) <(cut -d'|' -f2 got) ||
			    fail "$c --monotonic $w: token log-probs"
			numcmp 1e-3 <(cut -d'|' -f1 want) <(cut -d'|' -f1 got) ||
			    fail "$c --monotonic $w: ids or score"
		done
		# it bites: the random models' attention jumps back
		run ! cmp -s <(decode --text $c.mem) <(decode --text --monotonic 0 $c.mem)
	done
}

@test "--monotonic W: no weight before the last step's focus minus W; W past every source: the same bytes as without" {
	local w
	cd "$BATS_TEST_TMPDIR"
	for w in 0 1; do
		decode --alignment --monotonic $w "$REF/paper.mem" | seqcat |
		    awk -v w=$w '$1 == "A" {
			f = 0	# the focus: 0, then the arg-max of the row before
			for (r = 0; r < $4 && $5 > 0; r++) {
				for (c = 0; c < f - w; c++)
					if ($(6 + r * $5 + c) != 0) {
						print "key " $2 " row " r " col " c; exit 1 }
				b = 0
				for (c = 1; c < $5; c++)
					if ($(6 + r * $5 + c) > $(6 + r * $5 + b)) b = c
				f = b
			}
			checked += $4 }
		    END { if (checked < 100) { print checked " rows"; exit 1 } }' ||
			fail "--monotonic $w"
	done
	# the longest source is 256 positions: the window never closes
	decode --scores --alignment "$REF/paper.mem" > plain
	decode --scores --alignment --monotonic 256 "$REF/paper.mem" > wide
	cmp plain wide
}

@test "--monotonic: batch sizes 1, 7, 32 and 1 or 2 threads give identical tokens" {
	local b t
	decode --text --monotonic 1 "$REF/marian.mem" > "$BATS_TEST_TMPDIR/ref"
	for b in 1 7 32; do
		for t in 1 2; do
			decode --text --monotonic 1 --batch-size $b -t $t \
			    "$REF/marian.mem" | cmp - "$BATS_TEST_TMPDIR/ref" ||
				fail "--batch-size $b -t $t"
		done
	done
}

@test "text output is ids, as spm_encode prints them" {
	decode --text "$REF/paper.mem" > "$BATS_TEST_TMPDIR/text"
	dec paper | cut -d' ' -f5- | diff - "$BATS_TEST_TMPDIR/text"
	# the empty source's empty translation: an empty line
	[ "$(wc -l < "$BATS_TEST_TMPDIR/text")" -eq 40 ]
	[ -z "$(head -n 1 "$BATS_TEST_TMPDIR/text")" ]
}

@test "empty input: empty output" {
	run -0 --separate-stderr decode < /dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "memory of another model" {
	run -1 --separate-stderr decode -m "$REF/untied.sq" "$REF/paper.mem"
	[[ "$stderr" == "decode: $REF/paper.mem: header: stream of model \"paper-test-11\""*"not \"untied-test-14\"" ]]
	[ -z "$output" ]
}

@test "corrupt, truncated and wrong-kind input" {
	head -c 20000 "$REF/paper.mem" > "$BATS_TEST_TMPDIR/short"
	run -1 --separate-stderr decode --text "$BATS_TEST_TMPDIR/short"
	[[ "$stderr" == "decode: $BATS_TEST_TMPDIR/short: record "*" (key "* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	cp "$REF/paper.mem" "$BATS_TEST_TMPDIR/bad"
	printf '\001' | dd of="$BATS_TEST_TMPDIR/bad" bs=1 seek=3000 conv=notrunc 2>/dev/null
	run -1 --separate-stderr decode --text "$BATS_TEST_TMPDIR/bad"
	[[ "$stderr" == "decode: $BATS_TEST_TMPDIR/bad: record 3 (key 3): "*CRC* ]]
	# the whole records before the bad one go out, as from a good file
	[ "$output" = "$(decode --text "$REF/paper.mem" | head -n 3)" ]
	run -1 --separate-stderr decode -m "$REF/paper.sq" --text "$REF/src.txt"
	[[ "$stderr" == "decode: $REF/src.txt: "* ]]
	run -1 --separate-stderr decode -m "$REF/paper.sq" --text "$REF/paper.greedy"
	[[ "$stderr" == "decode: $REF/paper.greedy: "* ]]
}

@test "--prefix records must follow the memory's keys" {
	head -3 "$REF/paper.tgt" > "$BATS_TEST_TMPDIR/tgt"
	run -1 --separate-stderr decode --prefix "$BATS_TEST_TMPDIR/tgt" "$REF/paper.mem"
	[ "$stderr" = "decode: $BATS_TEST_TMPDIR/tgt: record 3: missing, the memory stream has key 3 here" ]
}

@test "a truncated model file" {
	head -c 100000 "$REF/paper.sq" > "$BATS_TEST_TMPDIR/cut.sq"
	run -1 --separate-stderr decode -m "$BATS_TEST_TMPDIR/cut.sq" "$REF/paper.mem"
	[[ "$stderr" == "decode: $BATS_TEST_TMPDIR/cut.sq: "* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr decode --max-len 1,2,3
	run -2 --separate-stderr decode --max-len 2,x
	run -2 --separate-stderr decode --top-p 2
	run -2 --separate-stderr decode --prefix a --score b
	run -2 --separate-stderr decode --score a --temperature 1
	run -2 --separate-stderr decode --alignment --text
}
