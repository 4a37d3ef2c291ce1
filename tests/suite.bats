#!/usr/bin/env bats
# The suite itself: no check in a test that cannot fail (tests/asserts.awk).
load helper
bats_require_minimum_version 1.5.0

@test "no negated command or [ ] && [ ] list before a test's last line" {
	run -0 awk -f "$SRCDIR/tests/asserts.awk" "$SRCDIR"/tests/*.bats \
	    "$SRCDIR"/tests/*.bash
	assert_output ""
}

@test "asserts.awk finds the checks that cannot fail, and only them" {
	cd "$SRCDIR/tests/data"
	run -0 awk -f ../asserts.awk asserts.in
	assert_output - <<'END'
asserts.in:3: ! cmp -s a b
asserts.in:4: [ -z "$a" ] && [ -z "$b" ]
asserts.in:9: ! grep -q x "$f"
asserts.in:16: ! cmp -s a \ b
END
}
