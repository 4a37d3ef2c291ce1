#!/usr/bin/env bats
# lib's public API: nothing exported that no other file uses (it is dead,
# or it should be static), and lib/nn/ops allocates nothing (ops.h says so).
load helper
bats_require_minimum_version 1.5.0

# "object symbol" for each sq_ function lib/libseqpipe.a defines
exported() {
	nm -A -g --defined-only "$SRCDIR/lib/libseqpipe.a" |
	    awk '$2 == "T" && $3 ~ /^sq_/ {
		split($1, p, ":"); sub(/\.o$/, "", p[2]); print p[2], $3 }'
}

@test "every exported sq_ function is used outside the file defining it" {
	local obj sym dead=
	cd "$SRCDIR"
	[ -n "$(exported)" ]
	while read -r obj sym; do
		# called only through the SQ_ASSERT macro of base/util.h
		[ "$sym" = sq_assert_fail ] && continue
		grep -lw -- "$sym" bin/*.c tests/unit/*.c lib/*/*.c lib/*/*.cc |
		    grep -qv "^lib/[a-z]*/$obj\.cc*\$" || dead="$dead $sym"
	done < <(exported)
	[ -z "$dead" ] || fail "exported, used by no other file:$dead"
}

@test "lib/nn/ops allocates nothing, as ops.h says" {
	run -0 nm -u "$SRCDIR/lib/nn/ops.o"
	[ -n "$output" ]
	run ! grep -E '^ *U (malloc|calloc|realloc|reallocarray|free|sq_[a-z]*alloc[a-z]*)$' <<<"$output"
}
