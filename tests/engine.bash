# Shared by tests/encode.bats and tests/decode.bats: the reference outputs
# of tests/engine_ref.py and a numeric comparison of text records.

CONFIGS="paper prenorm-gelu marian untied"

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
