# Shared by tests/encode.bats and tests/decode.bats: the reference outputs
# of tests/engine_ref.py and a numeric comparison of text records.

CONFIGS="paper prenorm-gelu marian untied zero-start copy rnn"

# numcmp TOL EXPECTED ACTUAL: the same lines with the same fields, numbers
# within TOL of each other (so integers, ids, must be equal), other
# fields equal.  Prints the first difference.
numcmp() {
	awk -v tol="$1" -v exp_file="$2" '
	function num(s) { return s ~ /^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ }
	{
		if ((getline e < exp_file) <= 0) { print "extra line " NR ": " substr($0, 1, 80); bad = 1; exit }
		n = split(e, f, " ")
		if (n != NF) { print "line " NR ": " NF " fields, expected " n; bad = 1; exit }
		for (i = 1; i <= NF; i++) {
			if (num($i) && num(f[i])) {
				d = $i - f[i]; if (d < 0) d = -d
				if (d > tol) { print "line " NR " field " i ": " $i ", expected " f[i]; bad = 1; exit }
			} else if ($i != f[i]) { print "line " NR " field " i ": " $i ", expected " f[i]; bad = 1; exit }
		}
	}
	END {
		if (!bad && (getline e < exp_file) > 0) { print "missing line " NR + 1; bad = 1 }
		exit bad
	}' "$3"
}

# lines_close MIN TOL BOUND EXPECTED ACTUAL: as many lines, at least MIN
# of them with every number within TOL of the expected one (a word
# compares as 0), and every number of every line within BOUND, in lines
# of the same numbers of fields; BOUND "any": no bound, and lines may
# differ in their numbers of fields (not close then).  For int8
# products, where a rounding of an activation can go the other way than
# in the reference (i8gemm.h) and move the rest of its sentence.  Prints
# the count.
lines_close() {
	awk -v min="$1" -v tol="$2" -v bound="$3" -v exp_file="$4" '
	{
		if ((getline e < exp_file) <= 0) { print "extra line " NR; bad = 1; exit }
		n = split(e, f, " ")
		if (n != NF && bound == "any") next
		if (n != NF) { print "line " NR ": " NF " fields, expected " n; bad = 1; exit }
		close_line = 1
		for (i = 1; i <= NF; i++) {
			d = $i - f[i]; if (d < 0) d = -d
			if (d > tol) close_line = 0
			if (bound != "any" && d > bound) { print "line " NR " field " i ": " $i ", expected " f[i] " (beyond " bound ")"; bad = 1; exit }
		}
		close_lines += close_line
	}
	END {
		if (bad) exit 1
		if ((getline e < exp_file) > 0) { print "missing line " NR + 1; exit 1 }
		print close_lines " of " NR " lines within " tol
		exit close_lines < min
	}' "$5"
}

# stream_from FILE N: the binary stream FILE without its first N records
# (its header kept): a shard, keys and all, as a splitter would cut it.
stream_from() {
	local f=$1 n=$2 hdr len off i
	hdr=$(od -An -tu4 -j12 -N4 "$f" | tr -d ' ')
	off=$((20 + hdr))
	head -c "$off" "$f"
	for ((i = 0; i < n; i++)); do
		len=$(od -An -tu4 -j$((off + 4)) -N4 "$f" | tr -d ' ')
		off=$((off + 20 + len))
	done
	tail -c +$((off + 1)) "$f"
}

# The reference files, made once per suite.
# header FILE: the safetensors header's JSON (standard library only)
header() {
	"$PY" -c 'import json, struct, sys
f = open(sys.argv[1], "rb")
print(f.read(struct.unpack("<Q", f.read(8))[0]).decode())' "$1"
}

# engine_store EXT ARGS...: $REF/C.EXT written by seqimport ARGS from
# $REF/C.sq, for the configs C that the dtype and layout tests use
engine_store() {
	local c ext=$1
	shift
	for c in paper marian copy; do
		seqimport -q "$@" -o "$REF/$c.$ext" "$REF/$c.sq"
	done
}

engine_setup_file() {
	REF=$BATS_FILE_TMPDIR/ref
	export REF
	mkdir -p "$REF"
	"$PY" "$SRCDIR/tests/engine_ref.py" "$REF"
}
