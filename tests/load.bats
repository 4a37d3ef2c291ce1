#!/usr/bin/env bats
# scripts/load-test at a small size: 3000 hostile lines (empty, 100k
# characters, not UTF-8, NUL, CRLF, no final newline) through tokenize |
# encode | decode | detok whole, line by line, in shards of 1000 with
# GNU parallel and over two local "hosts": the same lines, in order.  The
# million-line run is `scripts/load-test` (see its header).
load helper
bats_require_minimum_version 1.5.0

@test "load-test: 3000 lines whole, alone, sharded and on two hosts agree" {
	# its report is the failure message: CI shows no more than that
	run "$SRCDIR/scripts/load-test" -n 3000 -k 30 -l 1000 -s 1000 \
	    -d "$BATS_TEST_TMPDIR/load"
	[ "$status" -eq 0 ] || fail "exit $status: $output"
	[[ "$output" == *"ok: 3000 lines out, in order"* ]] || fail "$output"
}

@test "load-test: a lost line is caught" {
	# the programs the script copies, with a detok that drops line 500
	mkdir -p "$BATS_TEST_TMPDIR/src/scripts" "$BATS_TEST_TMPDIR/src/bin"
	cp "$SRCDIR"/scripts/{load-test,load-compare,load-input,make-model.py,seqpipe_torch.py,numdiff.py} \
	    "$BATS_TEST_TMPDIR/src/scripts/"
	for p in tokenize encode decode seqcat; do
		ln -s "$SRCDIR/bin/$p" "$BATS_TEST_TMPDIR/src/bin/$p"
	done
	printf '#!/bin/sh\n"%s/bin/detok" "$@" | sed 500d\n' "$SRCDIR" \
	    > "$BATS_TEST_TMPDIR/src/bin/detok"
	chmod +x "$BATS_TEST_TMPDIR/src/bin/detok"
	run -1 "$BATS_TEST_TMPDIR/src/scripts/load-test" -n 3000 -k 10 -l 1000 \
	    -s 1000 -d "$BATS_TEST_TMPDIR/load"
	[[ "$output" == *"FAIL: whole: 2999 output lines for 3000 input lines"* ]] || fail "$output"
}
