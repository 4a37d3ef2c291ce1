#!/usr/bin/env bats
# encode, decode and beamsearch give the same output for batch sizes 1, 7,
# 32 and 64 and 1 or 2 threads: the same records, keys and tokens, and
# floats (memory, scores, per-token scores) within 1e-4 of the batch-1,
# one-thread run, relative to max(1, |x|) (the bound the man pages give:
# OpenBLAS sums a product in an order that depends on the number of rows
# and on the column slice a thread gets).  The model is wide enough (d 256,
# FFN 1024) for the products to be split over threads; the per-program
# suites check the same on the tiny configs.
load helper
bats_require_minimum_version 1.5.0

TOL=1e-4

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	"$PY" "$SRCDIR/scripts/make-model.py" --seed 5 prenorm-gelu \
	    --d-model 256 --heads 4 --ff 1024 --layers 2 --vocab 500 \
	    wide.sq > /dev/null 2>&1 || return 1
	# 100 sources of 0 to 60 ids (one in ten empty), seeded
	awk 'BEGIN { srand(3); for (i = 0; i < 100; i++) {
		n = i % 10 == 4 ? 0 : 1 + int(rand() * 60); s = "";
		for (j = 0; j < n; j++) s = s (j ? " " : "") 4 + int(rand() * 490);
		print s } }' > src.ids
	encode -m wide.sq src.ids > wide.mem
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# same NAME CMD...: CMD run with --batch-size 1/7/32/64 and -t 1/2 (appended),
# each seqcat'ed output against the first within $TOL
same() {
	local name=$1 b t
	shift
	"$@" --batch-size 1 -t 1 | seqcat > "$name.ref"
	[ -s "$name.ref" ] || fail "$name: no output"
	for b in 1 7 32 64; do
		for t in 1 2; do
			"$@" --batch-size $b -t $t | seqcat > "$name.out"
			"$PY" "$SRCDIR/scripts/numdiff.py" --rel --tol $TOL \
			    "$name.out" "$name.ref" > /dev/null ||
				fail "$name --batch-size $b -t $t"
		done
	done
}

@test "encode: the same memory records for every batch size and thread count" {
	same encode encode -m wide.sq src.ids
	[ "$(wc -l < encode.ref)" -eq 100 ]
}

@test "decode: the same tokens, scores and token scores" {
	same decode decode --scores wide.mem
	[ "$(cut -d' ' -f2 decode.ref | tr '\n' ' ')" = "$(seq -s ' ' 0 99) " ]
}

@test "beamsearch: the same n-best lists, scores and token scores" {
	same beam beamsearch -k 4 -n 4 --scores wide.mem
	# 4 for each source, 1 for each of the 10 empty ones
	[ "$(wc -l < beam.ref)" -eq 370 ]
}

@test "the check can fail: a score off by 2e-4, or one token changed" {
	decode --scores wide.mem | seqcat > this.out
	# 2e-4 of max(1, |score|) off
	awk 'NR == 3 { $4 -= 2e-4 * ($4 < -1 ? -$4 : 1) } 1' this.out > off.out
	run ! "$PY" "$SRCDIR/scripts/numdiff.py" --rel --tol $TOL off.out this.out
	awk 'NR == 3 { $5 += 1 } 1' this.out > off.out
	run ! "$PY" "$SRCDIR/scripts/numdiff.py" --rel --tol $TOL off.out this.out
	"$PY" "$SRCDIR/scripts/numdiff.py" --rel --tol $TOL this.out this.out
}
