#!/usr/bin/env bats
# Streaming (man/seqpipe.7, STREAMING): a line fed to the pipeline alone
# comes out translated while the writer still holds its input open, for
# beamsearch and decode; text ids in and out; seqcat; the flush records that
# carry the pause down the pipeline, where they belong and nowhere else
# (a file's pipeline has none, so it batches as it always did).
#
# The writer holds the input FIFO open and writes the second line only
# after the first translation has been read, so a stage that waits for
# a batch to fill can only time out: the test cannot pass by luck.  The
# timeout (60 s, for a tiny model that answers in milliseconds) is there
# to fail a stalled pipeline, not to measure it.
load helper
bats_require_minimum_version 1.5.0

TIMEOUT=60
LINE1="Dies ist die erste Zeile."
LINE2="und eine zweite"

setup_file() {
	cd "$BATS_FILE_TMPDIR" || return 1
	# text enough for a small vocabulary, the same on every machine
	awk 'BEGIN { split("die der und ist eine Zeile Datei nicht kann " \
	    "werden Fehler beim Lesen von erste zweite dies", w, " ");
	    for (i = 0; i < 3000; i++) { s = ""; n = 3 + i % 7;
	    for (j = 0; j < n; j++) s = s (j ? " " : "") w[1 + (i * 7 + j * 13) % 17];
	    print s } }' > train.txt
	spm_train --input=train.txt --model_prefix=s --vocab_size=60 \
	    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 --minloglevel=2 \
	    --hard_vocab_limit=false \
	    > /dev/null 2>&1 || return 1
	# seed 4: both searches answer the two lines with text, and not
	# the same text, so the comparisons below can see a mix-up
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 4 --spm-source s.model \
	    paper m.sq > /dev/null 2>&1
}

setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	mkfifo in out
}

teardown() {
	# closing our ends ends the pipeline (EOF in, SIGPIPE out) if a
	# test failed half way
	[ -z "$IN" ] || exec {IN}>&-
	[ -z "$OUT" ] || exec {OUT}<&-
	wait
}

# start CMD: runs the shell pipeline CMD from the FIFO in to the FIFO out
# in the background, fd $IN writing its input and fd $OUT reading its
# output (fds of bash's choosing: bats keeps 3 for itself)
start() {
	bash -c "$1" < in > out &
	PIPELINE=$!
	exec {IN}> in {OUT}< out
}

# feed_two LINE1 LINE2: line 1 in, its output read while the input stays
# open, then line 2 and the end; the two output lines in $FIRST and
# $SECOND, the input in two.txt
feed_two() {
	printf '%s\n%s\n' "$1" "$2" > two.txt
	echo "$1" >&"$IN"
	read -r -t "$TIMEOUT" -u "$OUT" FIRST ||
		fail "no output for line 1 within $TIMEOUT s of writing it"
	kill -0 "$PIPELINE" ||
		fail "the pipeline ended with its input still open"
	echo "$2" >&"$IN"
	exec {IN}>&-
	IN=
	read -r -t "$TIMEOUT" -u "$OUT" SECOND || fail "no output for line 2"
	wait "$PIPELINE" || fail "the pipeline failed"
	run ! read -r -t "$TIMEOUT" -u "$OUT" extra
}

# same_as_file CMD: the two lines through CMD from a file give the
# outputs the stream gave (a tiny model: one batch or two, same tokens)
same_as_file() {
	bash -c "$1" < two.txt > ref.txt
	printf '%s\n%s\n' "$FIRST" "$SECOND" | cmp - ref.txt
}

pipeline() {
	echo "tokenize -m '$BATS_FILE_TMPDIR/m.sq' | tee tok.sq | encode |" \
	    "tee mem.sq | $1 --max-len 0,8 | detok"
}

@test "tokenize | encode | beamsearch | detok: line 1 out before line 2 is written" {
	start "$(pipeline beamsearch)"
	feed_two "$LINE1" "$LINE2"
	[ -n "$FIRST" ]
	[ -n "$SECOND" ]
	[ "$FIRST" != "$SECOND" ]
	same_as_file "$(pipeline beamsearch)"
}

@test "tokenize | encode | decode | detok: line 1 out before line 2 is written" {
	start "$(pipeline decode)"
	feed_two "$LINE1" "$LINE2"
	[ -n "$FIRST" ]
	[ -n "$SECOND" ]
	[ "$FIRST" != "$SECOND" ]
	same_as_file "$(pipeline decode)"
}

@test "text ids in (encode), text ids out (decode --text)" {
	local ids1 ids2
	ids1=$(echo "$LINE1" | spm_encode --model="$BATS_FILE_TMPDIR/s.model" \
	    --output_format=id)
	ids2=$(echo "$LINE2" | spm_encode --model="$BATS_FILE_TMPDIR/s.model" \
	    --output_format=id)
	start "encode -m '$BATS_FILE_TMPDIR/m.sq' | decode --max-len 0,8 --text"
	feed_two "$ids1" "$ids2"
	[[ "$FIRST" =~ ^[0-9]+( [0-9]+)*$ ]]
	same_as_file "encode -m '$BATS_FILE_TMPDIR/m.sq' | decode --max-len 0,8 --text"
}

@test "tokenize | seqcat -t: each line's ids as it comes, as spm_encode's" {
	start "tokenize -m '$BATS_FILE_TMPDIR/m.sq' | seqcat -t"
	feed_two "$LINE1" "$LINE2"
	spm_encode --model="$BATS_FILE_TMPDIR/s.model" --output_format=id \
	    two.txt > ref.txt
	printf '%s\n%s\n' "$FIRST" "$SECOND" | cmp - ref.txt
}

# record_kinds FILE: the kind byte of each record of a binary stream, on
# one line (a reader of seqpipe-stream.5 of its own)
record_kinds() {
	"$PY" - "$1" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
i, kinds = 0, []
while i < len(b):
    if b[i] == 0:
        i += 16 + struct.unpack_from("<I", b, i + 12)[0] + 4
        continue
    kinds.append(str(b[i]))
    i += 20 + struct.unpack_from("<I", b, i + 4)[0]
print(" ".join(kinds))
EOF
}

@test "a flush record after each pause, none from a file" {
	start "$(pipeline beamsearch)"
	feed_two "$LINE1" "$LINE2"
	# the pause after line 1 for certain; after line 2 if the stage saw
	# its input idle before the end (a race with closing it)
	[[ "$(record_kinds tok.sq)" =~ ^"1 4 1"( 4)?$ ]]
	[[ "$(record_kinds mem.sq)" =~ ^"2 4 2"( 4)?$ ]]
	# from a file: no pause anywhere, so every batch fills as before
	bash -c "$(pipeline beamsearch) > /dev/null" < two.txt
	[ "$(record_kinds tok.sq)" = "1 1" ]
	[ "$(record_kinds mem.sq)" = "2 2" ]
}

# idle CMD...: CMD with its input open and silent, OpenBLAS asked for 4
# threads: its threads after half a second, and the CPU time in ms it
# takes in the half second after that (start-up is over by then)
idle() {
	local pid tck before
	tck=$(getconf CLK_TCK)
	sleep 3 | OPENBLAS_NUM_THREADS=4 "$@" > /dev/null &
	pid=$!
	sleep 0.5
	THREADS=$(ls "/proc/$pid/task" | wc -l)
	BLAS=$(awk '/libopenblas/ { n++ } END { print n + 0 }' "/proc/$pid/maps")
	before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	sleep 0.5
	CPU_MS=$(awk -v t="$tck" -v b="$before" \
	    '{ print int(($14 + $15 - b) * 1000 / t) }' "/proc/$pid/stat")
	kill "$pid"
}

@test "a stage waiting for input runs one thread (none of OpenBLAS's) and takes no CPU time" {
	local m=$BATS_FILE_TMPDIR/m.sq p
	for p in "tokenize -t 1 -m $m" "encode -t 1 -m $m" "decode -t 1 -m $m" \
	    "beamsearch -t 1 -m $m" "detok --spm $BATS_FILE_TMPDIR/s.model"; do
		idle $p
		# OpenBLAS's threads, started when it is loaded, spun for
		# 0.1 s of a core at every start
		[ "$THREADS" -eq 1 ] || fail "$p: $THREADS threads"
		[ "$CPU_MS" -lt 20 ] || fail "$p: $CPU_MS ms of CPU, waiting"
	done
}

@test "tokenize and detok do not load OpenBLAS: they multiply nothing" {
	local m=$BATS_FILE_TMPDIR/m.sq p
	# loading it and stopping its threads doubled their start-up
	for p in "tokenize -m $m" "detok -m $m" "detok --spm $BATS_FILE_TMPDIR/s.model"; do
		idle $p
		[ "$BLAS" -eq 0 ] || fail "$p: libopenblas mapped"
	done
	# the check sees it where it is loaded
	idle encode -t 1 -m "$m"
	[ "$BLAS" -gt 0 ] || fail "encode: libopenblas not mapped"
}
