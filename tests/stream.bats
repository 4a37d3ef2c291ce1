#!/usr/bin/env bats
# seqcat and lib/stream: the format (man/seqpipe-stream.5) checked against
# streams built byte by byte by tests/streamgen.py from the man page alone,
# round trips, and every kind of bad input.
load helper
bats_require_minimum_version 1.5.0

gen() {	# gen EXPR... > file: bytes built by the independent generator
	"$PY" "$SRCDIR/tests/streamgen.py" "$@"
}

# status 1, nothing but one line on stderr, "seqcat: " + $1
one_error() {
	[ "$status" -eq 1 ] || fail "status $status, expected 1"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr has ${#stderr_lines[@]} lines: $stderr"
	[[ "$stderr" == "seqcat: $1"* ]] || fail "stderr: '$stderr', expected 'seqcat: $1...'"
}

rejects() {	# rejects MESSAGE EXPR...: seqcat fails so on the bytes gen makes
	local msg=$1
	shift
	gen "$@" > in
	run --separate-stderr seqcat in
	one_error "in: $msg"
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	# a stream of model m: three tokens records, keys 0 1 2
	gen 'H(1, "m", "/models/m.sqm")' 'T(0, [5, 17, 3])' 'T(1, [])' \
	    'T(2, [42])' > ok.tok
}

@test "a stream built from the man page reads as the verbose form" {
	gen 'H(1, "m", "/p")' 'T(0, [5, 17, 3])' 'T(7, [], rank=2, score=-1.5)' \
	    'T(3, [2147483647, 0], score=0.25, scores=[-0.5, 0.1])' > a
	run -0 --separate-stderr seqcat -H a
	assert_output "H tokens 1.0 m /p
T 0 0 nan 5 17 3
T 7 2 -1.5
T 3 0 0.25 2147483647 0 | -0.5 0.1"
	[ -z "$stderr" ]
}

@test "memory and alignment records, zlib and not" {
	gen 'H(2, "m", "")' 'M(4, [9, 8], 2, 3, [0, 1.5, -2, 3e-05, 1e+20, -0.125])' \
	    'M(5, [], 0, 3, [], z=True)' 'M(6, [1], 1, 2, [0.5, 0.5], z=True)' > mem
	run -0 --separate-stderr seqcat mem
	assert_output "M 4 2 2 3 9 8 0 1.5 -2 3e-05 1e+20 -0.125
M 5 0 0 3
M 6 1 1 2 1 0.5 0.5"
	gen 'H(1)' 'T(0, [1])' 'A(0, 1, 2, 2, [0.5, 0.5, 1, 0])' > al
	run -0 --separate-stderr seqcat al
	assert_output "T 0 0 nan 1
A 0 1 2 2 0.5 0.5 1 0"
}

@test "seqcat -b writes exactly the bytes the man page describes" {
	printf '5 17 3\n\n42' | seqcat -b --model-id m --model-path /models/m.sqm > out
	cmp out ok.tok
	gen 'H(1, "", "")' > empty.tok
	seqcat -b < /dev/null > out
	cmp out empty.tok
}

@test "text ids: verbose, keys are line numbers, --text gives spm_encode's form" {
	printf '5 17 3\n\n  42\t7 \n0' > ids
	run -0 --separate-stderr seqcat ids
	assert_output "T 0 0 nan 5 17 3
T 1 0 nan
T 2 0 nan 42 7
T 3 0 nan 0"
	run -0 --separate-stderr seqcat -t ids
	assert_output "5 17 3

42 7
0"
	seqcat -t ok.tok > out
	printf '5 17 3\n\n42\n' | cmp - out
}

@test "text ids operands continue their keys as if concatenated" {
	printf '1\n2\n' > a
	printf '3\n' > b
	seqcat a b > two
	cat a b | seqcat > one
	cmp one two
	run -0 seqcat a b
	assert_line -n 2 "T 2 0 nan 3"
}

@test "text ids: a bad token is an error naming the line" {
	printf '1 2\n3 x4\n5\n' > bad
	run --separate-stderr seqcat bad
	one_error 'bad: line 2 (key 1): bad token id "x4"'
	assert_output "T 0 0 nan 1 2"
	for tok in -1 2147483648 1.5 99999999999999999999; do
		printf '7 %s\n' "$tok" > bad
		run --separate-stderr seqcat bad
		one_error "bad: line 1 (key 0): bad token id \"$tok\""
	done
}

@test "binary round trips: -b, -z, and back" {
	gen 'H(2, "m", "/p")' 'M(0, [1, 2], 2, 4, [0.5] * 8)' 'M(3, [7], 1, 4, [1, 2, 3, 4])' > mem
	seqcat -z mem > mem.z
	seqcat -b mem.z > mem.b
	cmp mem mem.b
	seqcat mem > want
	seqcat mem.z > got
	cmp want got
	seqcat -H mem.z | head -n 1 | grep -qx 'H memory 1.0 m /p'
}

@test "zlib: compressible memory records shrink, and a record zlib made reads" {
	gen 'H(2)' 'M(0, [1] * 50, 50, 64, [0.25] * 3200)' > big
	seqcat -z big > big.z
	[ "$(wc -c < big.z)" -lt "$(( $(wc -c < big) / 4 ))" ]
	gen 'H(2)' 'M(0, [1] * 50, 50, 64, [0.25] * 3200, z=True)' > py.z
	seqcat py.z > a
	seqcat big > b
	cmp a b
}

@test "zlib: raw_len that disagrees with the data is an error" {
	# a tokens payload of 20 bytes (one id) compressed, raw_len said 24
	rejects 'record 0 (key 6): zlib: payload does not inflate to raw_len 24' \
	    'H(1)' 'R(1, 6, struct.pack("<I", 24) + zlib.compress(T(0, [1])[20:]), flags=1)'
	rejects 'record 0 (key 6): zlib: payload does not inflate to raw_len 16' \
	    'H(1)' 'R(1, 6, struct.pack("<I", 16) + zlib.compress(T(0, [1])[20:]), flags=1)'
	rejects 'record 0 (key 6): zlib: incorrect header check' \
	    'H(1)' 'R(1, 6, struct.pack("<I", 20) + b"garbage", flags=1)'
	rejects 'record 0 (key 6): zlib: truncated compressed data' \
	    'H(1)' 'R(1, 6, struct.pack("<I", 20) + zlib.compress(T(0, [1])[20:])[:-5], flags=1)'
	rejects 'record 0 (key 6): zlib: data after the compressed stream' \
	    'H(1)' 'R(1, 6, struct.pack("<I", 20) + zlib.compress(T(0, [1])[20:]) + b"x", flags=1)'
	rejects 'record 0 (key 6): absurd raw_len 1000000 for 9 compressed bytes' \
	    'H(1)' 'R(1, 6, struct.pack("<I", 1000000) + zlib.compress(b"1"), flags=1)'
}

@test "empty input: empty output, exit 0" {
	run -0 --separate-stderr seqcat < /dev/null
	assert_output ""
	[ -z "$stderr" ]
	gen 'H(1, "m")' > hdr
	run -0 --separate-stderr seqcat hdr
	assert_output ""
	run -0 --separate-stderr seqcat -H hdr
	assert_output "H tokens 1.0 m -"
}

@test "truncated record payload: error naming the record, earlier records out" {
	head -c -1 ok.tok > trunc
	run --separate-stderr seqcat trunc
	one_error 'trunc: record 2 (key 2): truncated payload (19 of 20 bytes)'
	assert_output "T 0 0 nan 5 17 3
T 1 0 nan"
}

@test "truncated record head and header" {
	gen 'H(1)' 'T(0, [1])' > a
	printf 'x' >> a
	run --separate-stderr seqcat a
	one_error 'a: record 1: truncated record head (1 of 20 bytes)'
	gen 'H(1, "m")' | head -c 10 > b
	run --separate-stderr seqcat b
	one_error 'b: header: truncated header'
	gen 'H(1, "m")' | head -c 20 > b
	run --separate-stderr seqcat b
	one_error 'b: header: truncated header (20 of 25 bytes)'
}

@test "bad CRC in a record and in a header" {
	cp ok.tok bad
	# the first id of record 0: after the 39-byte header, 20 head, 16 fixed
	printf '\006' | dd of=bad bs=1 seek=75 conv=notrunc status=none
	run --separate-stderr seqcat bad
	one_error 'bad: record 0 (key 0): bad CRC'
	assert_output ""
	rejects 'header: bad CRC' 'H(1, "m", crc=12345)' 'T(0, [1])'
}

@test "unknown major version is refused, a newer minor with more header read" {
	rejects 'header: format version 2.0, this reader knows only major version 1' \
	    'H(1, "m", major=2)' 'T(0, [1])'
	gen 'H(1, "m", "/p", minor=7, extra=b"future facts")' 'T(0, [1])' > v17
	run -0 --separate-stderr seqcat -H v17
	assert_output "H tokens 1.7 m /p
T 0 0 nan 1"
}

@test "unknown record kinds are skipped, after their CRC" {
	gen 'H(1, "m")' 'T(0, [1])' 'R(200, 1, b"some new fact", flags=0x80)' 'T(2, [3])' > u
	run -0 --separate-stderr seqcat u
	assert_output "T 0 0 nan 1
T 2 0 nan 3"
	seqcat -b u > u.b
	gen 'H(1, "m")' 'T(0, [1])' 'T(2, [3])' | cmp - u.b
	# a memory record in a tokens stream is skipped alike
	gen 'H(1)' 'M(0, [1], 1, 1, [1.0])' 'T(1, [2])' > m
	run -0 --separate-stderr seqcat m
	assert_output "T 1 0 nan 2"
	gen 'H(1, "m")' 'T(0, [1])' 'R(200, 1, b"some new fact")' > u
	printf 'X' | dd of=u bs=1 seek=$(( $(wc -c < u) - 1 )) conv=notrunc status=none
	run --separate-stderr seqcat u
	one_error 'u: record 1 (key 1): bad CRC'
}

@test "wrong kind: a memory stream where tokens are, and the reverse" {
	gen 'H(2, "m")' 'M(0, [1], 1, 1, [1.0])' > mem
	run --separate-stderr seqcat ok.tok mem
	one_error 'mem: header: a memory stream, expected tokens'
	cat ok.tok mem > both
	run --separate-stderr seqcat both
	one_error 'both: record 3: header of a concatenated stream: a memory stream after a tokens stream'
	rejects 'header: unknown stream kind 4' 'H(4)'
	gen 'H(3)' 'F(0, 1, 1, [1.0])' > fr
	run --separate-stderr seqcat ok.tok fr
	one_error 'fr: header: a frames stream, expected tokens'
}

@test "frames: records from the man page read, zlib and not, in a frames stream only" {
	gen 'H(3)' 'F(0, 2, 3, [0, 1.5, -2, 3e-05, 1e+20, -0.125])' \
	    'F(1, 0, 0, [], z=True)' 'F(7, 1, 2, [0.5, 0.5], z=True)' \
	    'T(2, [1])' 'M(3, [], 0, 1, [])' > fr
	run -0 --separate-stderr seqcat -H fr
	assert_output "H frames 1.0 - -
F 0 2 3 0 1.5 -2 3e-05 1e+20 -0.125
F 1 0 0
F 7 1 2 0.5 0.5"
	run -0 --separate-stderr seqcat -t fr
	assert_output "0 1.5 -2 3e-05 1e+20 -0.125

0.5 0.5"
	# in a tokens stream a frames record is a kind it does not hold
	gen 'H(1)' 'T(0, [1])' 'F(1, 1, 1, [2.0])' 'T(2, [3])' > tok
	run -0 --separate-stderr seqcat -t tok
	assert_output "1
3"
}

@test "frames: seqcat -F writes the man page's bytes from text and from .npy" {
	gen 'H(3, "", "")' 'F(0, 2, 3, [1, 2, 3, 4.5, 5, -6])' 'F(1, 0, 0, [])' \
	    'F(2, 1, 3, [7, 8, 0.125])' > want
	printf '1 2 3 4.5 5 -6\n\n\t7 8 0.125 \r\n' | seqcat -F 3 -b > out
	cmp out want
	"$PY" -c 'import numpy as np
np.save("a.npy", np.array([[1, 2, 3], [4.5, 5, -6]]))
np.save("b.npy", np.zeros((0, 3), dtype=np.float32))
np.save("c.npy", np.array([7, 8, 0.125], dtype=np.float16))'
	seqcat -F 3 -b a.npy b.npy c.npy > out
	cmp out want
	# keys go on from operand to operand, text and .npy alike
	printf '1 2 3\n4 5 6\n' > two.txt
	run -0 --separate-stderr seqcat -F 3 two.txt c.npy two.txt
	assert_output "F 0 1 3 1 2 3
F 1 1 3 4 5 6
F 2 1 3 7 8 0.125
F 3 1 3 1 2 3
F 4 1 3 4 5 6"
	# and back: -t prints what -F reads
	seqcat -t want | seqcat -F 3 -b | cmp - want
}

# bad_text MESSAGE TEXT: seqcat -F 3 fails so on a file t of TEXT
bad_text() {
	printf '%s' "$2" > t
	run --separate-stderr seqcat -F 3 t
	one_error "t: $1"
}

@test "frames: bad plain data is an error naming the line or the file" {
	bad_text 'line 2 (key 1): 2 values, not a multiple of the frame width 3' \
	    $'1 2 3\n1 2\n'
	bad_text 'line 1 (key 0): bad value "3e"' $'1 2 3e\n'
	bad_text 'line 1 (key 0): value not finite: "inf"' $'1 inf 3\n'
	bad_text 'line 2 (key 1): value not finite: "1e39"' $'1 2 3\n1 1e39 3\n'
	"$PY" -c 'import numpy as np
np.save("w.npy", np.zeros((2, 4)))
np.save("n.npy", np.array([[1, np.nan, 3]]))
np.save("i.npy", np.zeros((2, 3), dtype=np.int32))'
	run --separate-stderr seqcat -F 3 w.npy
	one_error 'w.npy: an array of shape (2, 4), expected (frames, 3)'
	run --separate-stderr seqcat -F 3 n.npy
	one_error 'n.npy: frame 0: value 1 is not finite (nan)'
	run --separate-stderr seqcat -F 3 i.npy
	one_error 'i.npy: dtype i4, not a float (float16, float32 or float64)'
	head -c 60 w.npy > cut.npy
	run --separate-stderr seqcat -F 4 cut.npy
	[ "$status" -eq 1 ]
	[[ "$stderr" == "seqcat: cut.npy: "* ]]
	run --separate-stderr seqcat -F 3 ok.tok
	one_error 'ok.tok: a seqpipe stream, not frames as text or .npy'
	run -2 --separate-stderr seqcat -F 0 t
}

@test "frames: corrupt records are errors, not allocations or garbage" {
	rejects 'record 0 (key 0): frames payload shorter than 12 bytes' \
	    'H(3)' 'R(5, 0, b"12345678")'
	rejects 'record 0 (key 3): unknown dtype 2' 'H(3)' 'F(3, 1, 1, [1], dtype=2)'
	rejects 'record 0 (key 3): 2 frames of 0 values' 'H(3)' 'F(3, 2, 0, [])'
	rejects 'record 1 (key 4): frames payload of 16 bytes for 2 x 1 floats' \
	    'H(3)' 'F(3, 1, 1, [1])' 'F(4, 2, 1, [1])'
	rejects 'record 0 (key 1): frames payload of 20 bytes for 4294967295 x 4294967295 floats' \
	    'H(3)' 'R(5, 1, struct.pack("<IIIff", 2**32 - 1, 2**32 - 1, 0, 1, 2))'
	rejects 'record 0 (key 0): truncated payload (7 of 24 bytes)' \
	    'H(3)' 'F(0, 1, 3, [1, 2, 3])[:27]'
	rejects 'record 1 (key 1): bad CRC' 'H(3)' 'F(0, 1, 1, [1])' \
	    'F(1, 1, 2, [1, 2])[:-1] + b"x"'
	rejects 'record 0 (key 0): zlib: payload does not inflate to raw_len 24' \
	    'H(3)' 'R(5, 0, struct.pack("<I", 24) + zlib.compress(struct.pack("<IIIf", 1, 1, 0, 1)), flags=1)'
}

@test "concatenation: same model reads as both, another model is an error" {
	gen 'H(1, "m", "/elsewhere/m.sqm")' 'T(9, [8])' > b
	cat ok.tok b > ab
	seqcat ok.tok > want
	seqcat b >> want
	seqcat ab > got
	cmp want got
	seqcat ok.tok b > got2
	cmp want got2
	run -0 seqcat -H ab
	assert_line -n 0 "H tokens 1.0 m /models/m.sqm"
	assert_line -n 4 "H tokens 1.0 m /elsewhere/m.sqm"
	gen 'H(1, "other")' 'T(9, [8])' > o
	cat ok.tok o > ao
	run --separate-stderr seqcat ao
	one_error 'ao: record 3: header of a concatenated stream: model "other" after model "m"'
	run --separate-stderr seqcat ok.tok o
	one_error 'o: header: stream of model "other" (no path), not "m"'
	run --separate-stderr seqcat -b --model-id x ok.tok
	one_error 'ok.tok: header: stream of model "m" (/models/m.sqm), not "x"'
}

@test "a record claiming 1 GiB allocates what arrived, not what it claims" {
	# ASan reserves terabytes of address space: no room under ulimit -v
	if grep -q __asan_init "$SRCDIR/bin/seqcat"; then
		skip "seqcat built with ASan, which ulimit -v cannot run"
	fi
	gen 'H(1)' 'struct.pack("<BBHIQ", 1, 0, 0, 1 << 30, 5) + bytes(4) + b"abcde"' > a
	run --separate-stderr sh -c 'ulimit -v 100000 && exec seqcat a'
	one_error 'a: record 0 (key 5): truncated payload (5 of 1073741824 bytes)'
}

@test "absurd lengths and unknown flags are errors, not allocations" {
	gen 'H(1)' > a
	printf '\001\000\000\000\377\377\377\177\005\000\000\000\000\000\000\000\000\000\000\000' >> a
	run --separate-stderr seqcat a
	one_error 'a: record 0 (key 5): absurd payload length 2147483647'
	rejects 'record 0 (key 0): tokens payload shorter than 16 bytes' \
	    'H(1)' 'R(1, 0, b"12345678")'
	rejects 'record 0 (key 4): tokens payload of 16 bytes for 1073741824 ids' \
	    'H(1)' 'R(1, 4, struct.pack("<IfII", 0, 0, 1073741824, 0))'
	rejects 'record 0 (key 1): memory payload of 16 bytes for 0 ids and 4294967295 x 4294967295 floats' \
	    'H(2)' 'R(2, 1, struct.pack("<IIII", 0, 4294967295, 4294967295, 0))'
	rejects 'record 0 (key 2): unknown dtype 1' \
	    'H(2)' 'R(2, 2, struct.pack("<IIII", 0, 1, 1, 1) + b"\0\0\0\0")'
	rejects 'record 1 (key 0): unknown record flags 0x4' \
	    'H(1)' 'T(0, [])' 'R(1, 0, T(0, [1])[20:], flags=4)'
	rejects 'record 0 (key 0): unknown token flags 0x2' \
	    'H(1)' 'R(1, 0, struct.pack("<IfII", 0, 0, 0, 2))'
	rejects 'record 0 (key 0): negative token id -3' 'H(1)' 'T(0, [-3])'
	rejects 'record 0 (key 0): negative source id -1' \
	    'H(2)' 'M(0, [-1], 0, 0, [])'
	rejects 'header: bad header length 3' 'H(1)[:12] + struct.pack("<I", 3)'
	rejects 'header: model id longer than the header' \
	    'Hraw(struct.pack("<HHH", 9, 0, 0) + b"x" * 5)'
	rejects 'header: model path longer than the header' \
	    'Hraw(struct.pack("<HH", 0, 1))'
	rejects 'header: bad model id (too long or has a NUL)' 'H(1, "a\0b")'
	rejects 'header: bad model id (too long or has a NUL)' 'H(1, "x" * 256)'
	printf '\000SQX' > g
	run --separate-stderr seqcat g
	one_error 'g: header: bad magic'
}

@test "binary output to a terminal is refused, text is not" {
	command -v script > /dev/null || skip "script (util-linux) not installed"
	run script -qec "seqcat -b $BATS_TEST_TMPDIR/ok.tok" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == "seqcat: will not write a binary stream to a terminal"* ]] || fail "$output"
	run script -qec "seqcat -z < /dev/null" /dev/null
	[ "$status" -eq 1 ]
	run -0 script -qec "seqcat -t $BATS_TEST_TMPDIR/ok.tok" /dev/null
	[[ "$output" == "5 17 3"* ]]
}

@test "usage errors exit 2" {
	run -2 --separate-stderr seqcat -t -b ok.tok
	run -2 --separate-stderr seqcat --model-id m ok.tok
	run -2 --separate-stderr seqcat -H -b ok.tok
	run -1 --separate-stderr seqcat no-such-file
	one_error 'no-such-file: No such file or directory'
}

@test "the man page's example bytes and Python reader agree with seqcat" {
	local page
	page=$(mandoc -T ascii "$SRCDIR/man/seqpipe-stream.5" | sed "s/.\x08//g")
	sed -n '/^     The stream of model/,/^     A reader in/p' <<<"$page" |
	    grep -E '^ +([0-9a-f]{2} +)+[0-9a-f]{2}$' |
	    "$PY" -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' > ex
	[ "$(wc -c < ex)" -eq 69 ]
	run -0 --separate-stderr seqcat -H ex
	assert_output "H tokens 1.0 m -
T 0 0 nan 5 17"
	sed -n '/^     A reader in a few lines of Python:/,/^SEE ALSO/p' <<<"$page" |
	    sed '1d;$d' > reader.py
	cat > drive.py <<-'END'
	import struct, sys, textwrap
	exec(textwrap.dedent(open("reader.py").read()))
	for kind, key, p in records(open(sys.argv[1], "rb")):
	    n = struct.unpack_from("<I", p, 8 if kind == 1 else 0)[0]
	    print(kind, key, *struct.unpack_from("<%di" % n, p, 16))
	END
	printf '5 17\n\n3' | seqcat -b > s
	run "$PY" drive.py s
	assert_success	# prints the reader's traceback if it fails
	assert_output "1 0 5 17
1 1
1 2 3"
	gen 'H(2, "m")' 'M(3, [1, 2], 2, 64, [0.5] * 128)' | seqcat -z > m
	cmp -s m <(gen 'H(2, "m")' 'M(3, [1, 2], 2, 64, [0.5] * 128)') && fail "not compressed"
	run "$PY" drive.py m
	assert_success	# prints the reader's traceback if it fails
	assert_output "2 3 1 2"
}

dribble() {	# dribble FILE: FILE to stdout, one write(2) per byte
	"$PY" -c 'import os, sys
d = open(sys.argv[1], "rb").read()
for i in range(len(d)):
    os.write(1, d[i:i + 1])' "$1"
}

@test "a stream that arrives a byte at a time reads the same" {
	gen 'H(2, "m")' 'M(0, [1, 2], 2, 3, [1, 2, 3, 4, 5, 6], z=True)' 'M(1, [], 0, 3, [])' > mem
	dribble mem | seqcat > got
	seqcat mem > want
	cmp want got
	printf '1 2\n\n3\n' > ids
	dribble ids | seqcat -t | cmp - ids
}
