#!/bin/sh
# The whole suite: C unit tests (TAP on stdout), every tests/*.bats, and the
# man page lint.  Prints each TAP line, then the totals CI reads:
#   N passed, N failed
# Exit status 0 only if nothing failed.  TESTS="tests/x.bats ..." narrows it.
cd "$(dirname "$0")/.." || exit 1

# the tally lives in the tree, not in /tmp, where a cleaner running beside
# a long suite once removed it and the totals came out short
dir=$(mktemp -d "$PWD/.check.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
out=$dir/tally

run_tap () {	# NAME COMMAND...: run, echo its TAP, keep it for counting
	name=$1; shift
	echo "# $name"
	if ! "$@" > "$out.one" 2>&1; then
		# a suite that dies without printing "not ok" still counts as failed
		grep -q '^not ok' "$out.one" || echo "not ok - $name exited non-zero" >> "$out.one"
	fi
	sed "s|^|  |" "$out.one"
	grep -E '^(ok|not ok)' "$out.one" >> "$out"
	rm -f "$out.one"
}

for t in tests/unit/*; do
	case $t in *.c|*.h|*.d) continue ;; esac
	[ -x "$t" ] && run_tap "$t" "$t"
done

for b in ${TESTS:-tests/*.bats}; do
	[ -f "$b" ] && run_tap "$b" bats --tap "$b"
done

if [ -z "$TESTS" ]; then
	if make -s lint-man > "$out.lint" 2>&1; then
		echo "ok - make lint-man" >> "$out"
	else
		cat "$out.lint"
		echo "not ok - make lint-man" >> "$out"
	fi
	rm -f "$out.lint"
fi

passed=$(grep -c '^ok' "$out")
failed=$(grep -c '^not ok' "$out")
skipped=$(grep -c '^ok.*# skip' "$out")
[ "$skipped" -gt 0 ] && echo "($skipped of the passed were skipped)"
grep '^not ok' "$out" | sed 's/^/FAILED: /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
