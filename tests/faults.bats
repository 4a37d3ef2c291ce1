#!/usr/bin/env bats
# Faults (issue 9 §3): writes that fail (a full disk, a closed stdout, a
# broken pipe) in every program that writes; streams that end early at
# every position; model files cut short; length fields that lie; memory
# that runs out.  Always exit 1 with one line naming what failed (or die
# quietly by SIGPIPE), never exit 0 with a truncated output, and the
# whole records before the fault are kept.  The expected outputs come
# from the full runs and from stream offsets computed by an independent
# parser (streamoffsets below, from man/seqpipe-stream.5).
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# words of random letters: a text any SentencePiece model learns fast
	"$PY" - "$d" <<'PY'
import random, sys
r = random.Random(9)
words = ["".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(2, 9)))
         for _ in range(400)]
with open(sys.argv[1] + "/text", "w") as f:
    for _ in range(3000):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(1, 14))) + "\n")
PY
	spm_train --input="$d/text" --model_prefix="$d/s" --vocab_size=120 \
	    --minloglevel=2 > /dev/null 2>&1
	"$PY" "$SRCDIR/scripts/make-model.py" --spm-source "$d/s.model" \
	    --model-id faults-1 paper "$d/m.sq" 2> /dev/null
	M=$d/m.sq
	head -n 30 "$d/text" > "$d/small"
	tokenize -m "$M" "$d/small" > "$d/small.tok"
	encode -m "$M" "$d/small.tok" > "$d/small.mem"
	decode -m "$M" --max-len 0,12 "$d/small.mem" > "$d/small.dec"
	# outputs of well over a pipe's 64 KiB, for the broken pipes
	tokenize -m "$M" "$d/text" > "$d/text.tok"
	encode -m "$M" "$d/text.tok" > "$d/text.mem"
	decode -m "$M" --max-len 0,12 "$d/text.mem" > "$d/text.dec"
	detok -m "$M" "$d/text.dec" > "$d/text.hyp"
}

setup() {
	D=$BATS_FILE_TMPDIR
	M=$D/m.sq
	T=$BATS_TEST_TMPDIR
}

# The writing programs, each on input of its own kind ($D/SMALL or TEXT).
writers() {
	local x=$1
	cat <<END
tokenize -m $M $D/$x
tokenize -m $M --text $D/$x
tokenize -m $M --pieces $D/$x
encode -m $M $D/$x.tok
encode -m $M -z $D/$x.tok
decode -m $M --max-len 0,12 $D/$x.mem
beamsearch -m $M --max-len 0,12 $D/$x.mem
detok -m $M $D/$x.dec
bleu -sl $D/$x -i $D/$x
seqcat $D/$x.dec
seqcat -b $D/$x.dec
END
}

# one_line PROG STATUS...: stderr of the last run is one line "PROG: ..."
one_line() {
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$1: stderr has ${#stderr_lines[@]} lines: $stderr"
	[[ $stderr == "$1: "* ]] || fail "$1: stderr: $stderr"
}

# Are the programs built with AddressSanitizer (make check-asan)?  Its
# shadow memory takes terabytes of address space: ulimit -v cannot be used.
asan() {
	case $(ldd "$SRCDIR/bin/seqcat") in *libasan*) ;; *) return 1 ;; esac
}

@test "a full disk (/dev/full): exit 1, one line naming <stdout>" {
	local cmd
	while read -r cmd; do
		run --separate-stderr sh -c "exec $cmd > /dev/full"
		[ "$status" -eq 1 ] || fail "$cmd: status $status"
		one_line "${cmd%% *}"
		[ "$stderr" = "${cmd%% *}: <stdout>: write error: No space left on device" ] ||
			fail "$cmd: $stderr"
	done < <(writers small)
}

@test "a closed stdout (>&-): exit 1, one line naming <stdout>" {
	local cmd
	while read -r cmd; do
		run --separate-stderr sh -c "exec $cmd >&-"
		[ "$status" -eq 1 ] || fail "$cmd: status $status"
		[ "$stderr" = "${cmd%% *}: <stdout>: write error: Bad file descriptor" ] ||
			fail "$cmd: $stderr"
	done < <(writers small)
}

@test "a broken pipe: death by SIGPIPE, or with SIGPIPE ignored exit 1 and one line" {
	local cmd st
	while read -r cmd; do
		# the reader takes 100 bytes and goes: the writer has more
		# than the pipe holds, so a write fails while it runs
		st=$(sh -c "$cmd 2> '$T/err'; echo \$? > '$T/st'" | head -c 100 | wc -c)
		[ "$st" -eq 100 ] || fail "$cmd: $st bytes"
		[ "$(cat "$T/st")" -eq 141 ] || fail "$cmd: status $(cat "$T/st"), not SIGPIPE's 141"
		[ ! -s "$T/err" ] || fail "$cmd: $(cat "$T/err")"
		# SIGPIPE ignored (as some daemons leave it): EPIPE, exit 1
		sh -c "trap '' PIPE; $cmd 2> '$T/err'; echo \$? > '$T/st'" | head -c 100 > /dev/null
		[ "$(cat "$T/st")" -eq 1 ] || fail "$cmd, SIGPIPE ignored: status $(cat "$T/st")"
		[ "$(cat "$T/err")" = "${cmd%% *}: <stdout>: write error: Broken pipe" ] ||
			fail "$cmd: $(cat "$T/err")"
	done < <(writers text)
}

@test "train: a full disk for the model or its log: exit 1, one line; /dev/full stays a device" {
	local tr="--src $D/small --tgt $D/small --src-spm $D/s.model --tgt-spm $D/s.model
	    --d-model 16 --heads 2 --ffn 32 --layers 1 --max-positions 64
	    --max-tokens 400 --max-steps 2 -t 1 -q"
	# shellcheck disable=SC2086
	run --separate-stderr train $tr --checkpoint "$T/ck" --log "$T/log" -o /dev/full
	[ "$status" -eq 1 ]
	[ "$stderr" = "train: /dev/full: No space left on device" ]
	# written in place: renaming a temporary file over it would have
	# replaced the device (we are root)
	[ -c /dev/full ]
	[ -z "$(find /dev -maxdepth 1 -name 'full.*')" ]
	# shellcheck disable=SC2086
	run --separate-stderr train $tr --checkpoint "$T/ck2" --log /dev/full \
	    --log-every 1 -o "$T/m2.sq"
	[ "$status" -eq 1 ]
	[ "$stderr" = "train: /dev/full: write error: No space left on device" ]
	# with stdout and stderr closed, nothing goes into the files it opens
	# shellcheck disable=SC2086
	train $tr -o "$T/m3.sq" >&- 2>&-
	seqcat -t "$D/small.tok" | head -n 3 > "$T/ids"
	encode -m "$T/m3.sq" "$T/ids" > /dev/null
	[ "$(head -n 1 "$T/m3.sq.log.tsv" | cut -f 1)" = step ]
}

@test "seqimport: a full disk for the model: exit 1, one line" {
	"$PY" "$SRCDIR/tests/make-marian.py" "$T/rel.zip" "$D/s.model" "$D/s.vocab" \
	    "$D/s.model" "$D/s.vocab"
	seqimport -o "$T/ok.sq" "$T/rel.zip"
	run --separate-stderr seqimport -o /dev/full "$T/rel.zip"
	[ "$status" -eq 1 ]
	[ "$stderr" = "seqimport: /dev/full: No space left on device" ]
	[ -c /dev/full ]
}

# streamoffsets FILE: the end offset of the header, then of each record,
# one a line, read from the lengths the man page describes
streamoffsets() {
	"$PY" - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 16 + struct.unpack_from("<I", d, 12)[0] + 4
print(off)
while off < len(d):
    off += 20 + struct.unpack_from("<I", d, off + 4)[0]
    print(off)
PY
}

# cuts STREAM STEP: the offsets to cut STREAM at: every STEP-th byte of
# the header, of the first record's head (its CRC included) and of the
# payload's first 16 bytes, some later ones, the bytes around the second
# record's start, and around every fourth later boundary.  seqcat takes
# every byte (STEP 1); the programs that run a model read through the
# same reader and take a sample.
cuts() {
	local ends i
	mapfile -t ends < <(streamoffsets "$1")
	{
		seq 0 "$2" $((ends[0] + 36))
		echo $(((ends[0] + ends[1]) / 2)) $((ends[1] - 4)) $((ends[1] - 1))
		seq "${ends[1]}" "$2" $((ends[1] + 21))
		for ((i = 4; i < ${#ends[@]}; i += 4)); do
			echo $((ends[i] - 1)) "${ends[i]}" $((ends[i] + 1)) \
			    $((ends[i] + 19)) $((ends[i] + 24))
		done
	} | tr ' ' '\n' | awk -v max="${ends[-1]}" '$1 < max' | sort -nu
}

# truncated PROG STREAM VIEW ARGS...: runs PROG ARGS on STREAM cut at each
# offset of cuts; its output, shown by VIEW (a function of a file), must
# be the first k lines of what the whole stream gives, k the records
# complete before the cut, and its error (unless the cut falls between
# records) one line naming the file and the record k, or the header
truncated() {
	local prog=$1 s=$2 view=$3 ends o k st err n=0
	shift 3
	mapfile -t ends < <(streamoffsets "$s")
	"$prog" "$@" "$s" > "$T/full"
	$view "$T/full" > "$T/full.view"
	while read -r o; do
		head -c "$o" "$s" > "$T/cut"
		st=0
		"$prog" "$@" "$T/cut" > "$T/out" 2> "$T/err" || st=$?
		err=$(cat "$T/err")
		k=0
		while [ "$k" -lt $((${#ends[@]} - 1)) ] && [ "${ends[k + 1]}" -le "$o" ]; do
			k=$((k + 1))
		done
		if [ "$o" -eq 0 ] || printf '%s\n' "${ends[@]}" | grep -qx "$o"; then
			[ "$st" -eq 0 ] || fail "$prog, cut at $o (a boundary): status $st: $err"
		else
			[ "$st" -eq 1 ] || fail "$prog, cut at $o: status $st"
			[ "$(wc -l < "$T/err")" -eq 1 ] || fail "$prog, cut at $o: $err"
			if [ "$o" -lt "${ends[0]}" ]; then
				[[ $err == "$prog: $T/cut: header: "* ]] || fail "$prog, cut at $o: $err"
			else
				[[ $err == "$prog: $T/cut: record $k"[:\ ]* ]] || fail "$prog, cut at $o: $err"
			fi
		fi
		# the output: the whole records before the cut, nothing more
		$view "$T/out" > "$T/out.view"
		head -n "$k" "$T/full.view" | cmp -s - "$T/out.view" ||
			fail "$prog, cut at $o: not the first $k records: $(diff "$T/out.view" <(head -n "$k" "$T/full.view") | head -3)"
		n=$((n + 1))
	done < <(cuts "$s" $([ "$prog" = seqcat ] && echo 1 || echo 4))
	[ "$n" -gt 40 ] || fail "only $n cuts"
}

# views of an output: binary streams through seqcat, text as it is
verbose() { seqcat "$1"; }
ids() { seqcat -t "$1"; }
text() { cat "$1"; }

@test "a tokens stream cut anywhere: seqcat, detok and encode keep the whole records" {
	truncated seqcat "$D/small.tok" text
	truncated detok "$D/small.tok" text -m "$M"
	# one sentence a batch: a batch of other sentences may change the
	# last bits of the floats (the next test has batches)
	truncated encode "$D/small.tok" verbose -m "$M" --batch-size 1
}

@test "encode: the batch read before a cut goes out, within float tolerance" {
	local ends o
	mapfile -t ends < <(streamoffsets "$D/small.tok")
	o=$((ends[21] + 7))	# inside record 20, batch of 32
	head -c "$o" "$D/small.tok" > "$T/cut"
	run --separate-stderr sh -c "encode -m '$M' '$T/cut' | seqcat"
	[ "$stderr" = "encode: $T/cut: record 21: truncated record head (7 of 20 bytes)" ]
	printf '%s\n' "$output" > "$T/got"
	[ "$(wc -l < "$T/got")" -eq 21 ]
	numcmp 1e-5 <(seqcat "$D/small.mem" | head -n 21) "$T/got"
}

@test "a memory stream cut anywhere: seqcat, decode and beamsearch keep the whole records" {
	truncated seqcat "$D/small.mem" text
	truncated decode "$D/small.mem" ids -m "$M" --max-len 0,12
	truncated beamsearch "$D/small.mem" ids -m "$M" --max-len 0,12 -k 2
}

@test "decode --score: a target stream cut short keeps the sentences before it" {
	local ends
	mapfile -t ends < <(streamoffsets "$D/small.dec")
	head -c $((ends[11] + 30)) "$D/small.dec" > "$T/cut"
	run --separate-stderr sh -c "decode -m '$M' --score '$T/cut' '$D/small.mem' | seqcat -t > '$T/got'"
	[[ $stderr == "decode: $T/cut: record 11 (key 11): truncated payload"* ]]
	decode -m "$M" --score "$D/small.dec" "$D/small.mem" | seqcat -t | head -n 11 |
	    cmp - "$T/got"
}

@test "a model file cut short at start: exit 1, one line naming it, every program" {
	local size o p
	size=$(stat -c %s "$M")
	seqcat -t "$D/small.tok" > "$T/ids"
	for o in 0 4 8 20 200 2000 $((size / 2)) $((size - 1)); do
		head -c "$o" "$M" > "$T/cut.sq"
		for p in "tokenize -m $T/cut.sq $D/small" "encode -m $T/cut.sq $T/ids" \
		    "decode -m $T/cut.sq $D/small.mem" "beamsearch -m $T/cut.sq $D/small.mem" \
		    "detok -m $T/cut.sq $D/small.dec"; do
			# shellcheck disable=SC2086
			run --separate-stderr $p
			[ "$status" -eq 1 ] || fail "$p, model cut at $o: status $status"
			[ -z "$output" ] || fail "$p, model cut at $o: output"
			one_line "${p%% *}"
			[[ $stderr == "${p%% *}: $T/cut.sq"* ]] || fail "$p, model cut at $o: $stderr"
		done
	done
}

# in_use CHANGE: encode reads 5 sentences from a FIFO with a copy of the
# model, CHANGE is done to the copy, then 25 more follow; sets st to
# encode's status and n to the whole records it wrote
in_use() {
	seqcat -t "$D/small.tok" > "$T/ids"
	cp "$M" "$T/mm.sq"
	rm -f "$T/ff"
	mkfifo "$T/ff"
	encode -m "$T/mm.sq" -t 1 --batch-size 1 "$T/ff" > "$T/o" 2> "$T/err" &
	local pid=$!
	exec 7> "$T/ff"
	head -n 5 "$T/ids" >&7
	# the model is mapped at the first record, and used for each
	sleep 1
	"$@"
	sed -n '6,$p' "$T/ids" >&7
	exec 7>&-
	st=0
	wait "$pid" || st=$?
	n=$(seqcat "$T/o" 2> /dev/null | wc -l)
}

@test "a model changed while in use: renamed over, nothing happens; cut short, SIGBUS (man 5 seqpipe-model)" {
	cp "$M" "$T/new.sq"
	in_use mv "$T/new.sq" "$T/mm.sq"
	[ "$st" -eq 0 ]
	[ "$n" -eq 30 ]
	numcmp 1e-5 <(seqcat "$D/small.mem") <(seqcat "$T/o")
	# as the man page says: not guarded, the program dies of SIGBUS
	# (under ASan, whose handler reports the SIGBUS, with status 1)
	in_use truncate -s 4096 "$T/mm.sq"
	if asan; then [ "$st" -eq 1 ]; else [ "$st" -eq 135 ]; fi
	[ "$n" -lt 30 ]
}

# gen EXPR...: a stream from tests/streamgen.py
gen() {
	"$PY" "$SRCDIR/tests/streamgen.py" "$@"
}

# limited COMMAND MESSAGE: COMMAND, in 300 MB of address space (a 1 GB
# buffer cannot be had), exits 1 with MESSAGE
limited() {
	run --separate-stderr sh -c "ulimit -v 300000; $1"
	[ "$status" -eq 1 ] || fail "$1: status $status"
	[ "$stderr" = "$2" ] || fail "$1: $stderr"
}

@test "length fields that claim 1 GB or 4 GB in a small stream: an error, no allocation" {
	asan && skip "ulimit -v and ASan's shadow memory do not mix"
	# a memory record head claiming 1 GB (the most the format allows),
	# then 100 bytes; 4 GB - 1; a compressed record claiming 1 GB raw
	# from 1 MB: its data inflate to 1 MB, then junk
	gen 'H(2, "faults-1", "")' \
	    'struct.pack("<BBHIQI", 2, 0, 0, 1 << 30, 0, 0) + bytes(100)' > "$T/1g"
	gen 'H(2, "faults-1", "")' \
	    'struct.pack("<BBHIQI", 2, 0, 0, 0xffffffff, 0, 0) + bytes(100)' > "$T/4g"
	gen 'H(2, "faults-1", "")' \
	    'R(2, 0, struct.pack("<I", 1 << 30) + zlib.compress(bytes(1 << 20)) + bytes(1 << 20), flags=1)' > "$T/z1g"
	# a memory record of 16 bytes claiming 2^32 x 2^32 floats
	gen 'H(2, "faults-1", "")' \
	    'R(2, 0, struct.pack("<IIII", 0, 0xffffffff, 0xffffffff, 0))' > "$T/rows"
	limited "decode -m $M $T/1g" \
	    "decode: $T/1g: record 0 (key 0): truncated payload (100 of 1073741824 bytes)"
	limited "seqcat $T/4g" \
	    "seqcat: $T/4g: record 0 (key 0): absurd payload length 4294967295 (corrupt record head?)"
	limited "beamsearch -m $M $T/z1g" \
	    "beamsearch: $T/z1g: record 0 (key 0): zlib: data after the compressed stream"
	limited "decode -m $M $T/rows" \
	    "decode: $T/rows: record 0 (key 0): memory payload of 16 bytes for 0 ids and 4294967295 x 4294967295 floats"
}

@test "memory that runs out: one line, no abort trace" {
	asan && skip "ulimit -v and ASan's shadow memory do not mix"
	# n-best lists of 1024 for a window of 8 x 65536 sentences: 34 GB
	run --separate-stderr sh -c "ulimit -v 2000000; beamsearch -m '$M' -k 1024 -n 1024 --batch-size 65536 '$D/small.mem'"
	[ "$status" -eq 1 ]
	one_line beamsearch
	[[ $stderr == "beamsearch: out of memory ("*" bytes)" ]]
	# a line of 20 MB: SentencePiece needs some 240 bytes a byte (tokenize.1)
	"$PY" -c 'import sys; sys.stdout.write("ab " * 7000000 + "\n")' > "$T/long"
	{ echo first line; cat "$T/long"; echo last line; } > "$T/in"
	run --separate-stderr sh -c "ulimit -v 1000000; tokenize -m '$M' -t 1 --text '$T/in'"
	[ "$status" -eq 1 ]
	[ "$stderr" = "tokenize: $T/in: line 2: encode: out of memory" ]
	# the line before it is kept
	echo first line | tokenize -m "$M" --text > "$T/first"
	printf '%s\n' "$output" | cmp - "$T/first"
	# detok: a line of 7 million ids; bleu: a line of 7 million words
	{ echo 5 6; "$PY" -c 'import sys; sys.stdout.write("7 8 9 " * 2400000 + "\n")'; echo 10; } > "$T/ids"
	run --separate-stderr sh -c "ulimit -v 300000; detok -m '$M' '$T/ids'"
	[ "$status" -eq 1 ]
	[ "$stderr" = "detok: $T/ids: record 1 (key 1): decode: out of memory" ]
	[ "$output" = "$(echo 5 6 | detok -m "$M")" ]
	run --separate-stderr sh -c "ulimit -v 300000; bleu '$T/in' -i '$T/in'"
	[ "$status" -eq 1 ]
	[[ $stderr == "bleu: out of memory ("*" bytes)" ]]
}
