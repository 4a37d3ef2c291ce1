# asserts.awk: checks that could never fail, in tests/*.bats and *.bash.
#
# Bats runs a test under set -e, and set -e ignores the status of a
# command negated by "!" and of every command of an "a && b" list but the
# last: so "! cmp -s a b", or "[ x ] && [ y ]", fails the test only as
# its last command, and anywhere else is no check at all.  This prints
# FILE:LINE: text for each such line in a @test or a function body that
# is not the body's last command.  Write "run ! cmd", "[ ... ]" with "!"
# inside, or add "|| fail ...".
#
# Lines are joined where they continue (ending in \, &&, || or |); the
# last command of a body is the last such joined line before its "}".

function flush_body(    i) {
	for (i = 1; i < n; i++)
		if (bad(stmt[i]))
			printf "%s:%d: %s\n", FILENAME, at[i], stmt[i]
	n = 0
}

# A negated command, or a list of [ ] tests joined by && alone.
function bad(s,    parts, k, np) {
	if (s ~ /^!/)
		return 1
	if (s !~ /&&/ || s ~ /\|\|/)
		return 0
	np = split(s, parts, /&&/)
	for (k = 1; k <= np; k++)
		if (parts[k] !~ /^[ \t]*\[/)
			return 0
	return 1
}

FNR == 1 { if (inbody) flush_body(); inbody = 0; cont = 0 }

/^(@test .*|[A-Za-z_][A-Za-z0-9_]*\(\)) *\{$/ { inbody = 1; n = 0; cont = 0; next }
inbody && /^\}/ { flush_body(); inbody = 0; next }
!inbody { next }

{
	line = $0
	sub(/^[ \t]+/, "", line)
	if (!cont) {
		if (line == "" || line ~ /^#/)
			next
		stmt[++n] = line
		at[n] = FNR
	} else
		stmt[n] = stmt[n] " " line
	cont = line ~ /(\\|&&|\|\||\|)$/
}

END { if (inbody) flush_body() }
