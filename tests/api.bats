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

@test "every public name of lib/bleu begins sq_bleu_ or SQ_BLEU_" {
	cd "$SRCDIR"
	run -0 bash -c "nm -g --defined-only lib/bleu/*.o |
	    awk '\$2 ~ /^[TDBR]\$/ && \$3 !~ /^sq_bleu_/ { print \$3 }'"
	assert_output ""
	# types, constants and macros too: the names lib/bleu's headers use
	# that are not another subsystem's
	run -0 bash -c "comm -23 <(grep -ohE '\\b(sq|SQ)_[A-Za-z0-9_]+' lib/bleu/*.h | sort -u) \\
	    <(grep -ohE '\\b(sq|SQ)_[A-Za-z0-9_]+' lib/{base,io,nn,search}/*.h | sort -u) |
	    awk '!/^(sq_bleu|SQ_BLEU)(_|\$)/'"
	assert_output ""
}
