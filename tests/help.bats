#!/usr/bin/env bats
# Every program: --help and --version on stdout with exit 0, a usage error
# exits 2 with a one-line message, a man page exists, and every long
# option --help lists is in the man page (rendered, so .Fl -x counts).
load helper
bats_require_minimum_version 1.5.0

programs() {
	local c
	shopt -s nullglob
	for c in "$SRCDIR"/bin/*.c; do
		basename "$c" .c
	done
}

@test "every program has a man page in section 1" {
	local p missing=
	for p in $(programs); do
		[ -f "$SRCDIR/man/$p.1" ] || missing="$missing $p"
	done
	[ -z "$missing" ] || fail "no man page for:$missing"
}

@test "--help prints usage to stdout and exits 0" {
	local p
	for p in $(programs); do
		run -0 --separate-stderr "$p" --help
		[[ "$output" == "usage: $p "* ]] || fail "$p --help: first line is '${lines[0]}'"
		[ -z "$stderr" ] || fail "$p --help wrote to stderr: $stderr"
	done
}

@test "--version prints the version and exits 0" {
	local p
	for p in $(programs); do
		run -0 --separate-stderr "$p" --version
		[[ "$output" =~ ^$p\ \(seqpipe\)\ [0-9]+\.[0-9]+ ]] || fail "$p --version: '$output'"
	done
}

@test "an unknown option is a usage error: exit 2, message on stderr" {
	local p
	for p in $(programs); do
		# started by its path, as scripts do: messages still begin "prog:"
		run -2 --separate-stderr "$SRCDIR/bin/$p" --no-such-option-xyz
		[ -z "$output" ] || fail "$p wrote to stdout on a usage error"
		[[ "$stderr" == "$p: "* ]] || fail "$p: stderr does not begin '$p: ': $stderr"
	done
}

@test "every long option in --help appears in the man page" {
	local p opt missing=
	for p in $(programs); do
		local page
		page=$(mandoc -T ascii "$SRCDIR/man/$p.1" | sed "s/.\x08//g")
		for opt in $("$p" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
			grep -qF -- "$opt" <<<"$page" || missing="$missing $p:$opt"
		done
	done
	[ -z "$missing" ] || fail "not in the man page:$missing"
}

@test "the SYNOPSIS of each man page names the options --help lists" {
	local p letter missing=
	for p in $(programs); do
		local syn
		syn=$(mandoc -T ascii "$SRCDIR/man/$p.1" | sed "s/.\x08//g" |
		    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p')
		# the short options on the usage line must be in the SYNOPSIS
		for letter in $("$p" --help | head -n 1 | grep -oE -- '-[A-Za-z]\b' | sort -u); do
			grep -qF -- "$letter" <<<"$syn" || missing="$missing $p:$letter"
		done
	done
	[ -z "$missing" ] || fail "usage line options missing from SYNOPSIS:$missing"
}
