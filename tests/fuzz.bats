# The fuzz harnesses (tests/fuzz/NAME.c): built by `make fuzz-build` with
# clang, ASan and UBSan into .fuzz/, each run for a fixed number of
# inputs from a fixed seed on its seed corpus (the same inputs every time:
# a smoke test must not fail by luck; finding new crashes is `make fuzz`'s
# job), and every regression input (tests/fuzz/regress/NAME/, one per
# crash the fuzzers found) replayed.

load helper
bats_require_minimum_version 1.5.0

FUZZ_SMOKE_RUNS=${FUZZ_SMOKE_RUNS:-2000}

setup_file() {
	local rt
	rt=$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null) || rt=
	if [ ! -f "$rt" ] || ! command -v clang++ > /dev/null; then
		export FUZZ_SKIP="no clang with libFuzzer (Debian: clang libclang-rt-14-dev; scripts/install-deps installs them)"
		return
	fi
	make -s -C "$SRCDIR" fuzz-build > "$BATS_FILE_TMPDIR/build.log" 2>&1 ||
	    export FUZZ_SKIP=build
}

# smoke NAME: a short run on the seeds, then the regression inputs
smoke() {
	[ -z "$FUZZ_SKIP" ] || skip "$FUZZ_SKIP"
	[ "$FUZZ_SKIP" != build ] || fail "make fuzz-build failed: $(tail -5 "$BATS_FILE_TMPDIR/build.log")"
	local h="$SRCDIR/.fuzz/$1" corpus="$BATS_TEST_TMPDIR/corpus"
	mkdir "$corpus"
	cd "$BATS_TEST_TMPDIR"
	run "$h" -seed=1 -runs="$FUZZ_SMOKE_RUNS" -rss_limit_mb=2048 \
	    -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$BATS_TEST_TMPDIR/" "$corpus" \
	    "$SRCDIR/tests/fuzz/corpus/$1"
	[ "$status" -eq 0 ] || fail "$1 crashed: $(grep -E 'ERROR|SUMMARY|Test unit' <<< "$output" | head -5)"
	if [ -d "$SRCDIR/tests/fuzz/regress/$1" ]; then
		run "$h" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
		    "$SRCDIR/tests/fuzz/regress/$1"/*
		[ "$status" -eq 0 ] || fail "$1 regression: $(grep -E 'ERROR|SUMMARY|Running' <<< "$output" | tail -5)"
	fi
}

@test "fuzz: stream reader (binary and text ids)" { smoke stream; }
@test "fuzz: model file loader" { smoke model; }
@test "fuzz: checkpoint reading" { smoke checkpoint; }
@test "fuzz: bleu's input readers" { smoke bleu; }
@test "fuzz: SentencePiece load from bytes" { smoke spm; }
@test "fuzz: zip and npz reader" { smoke zip; }
@test "fuzz: npy parser" { smoke npy; }
@test "fuzz: frames from text or .npy" { smoke frames; }
@test "fuzz: YAML reader" { smoke yml; }
@test "fuzz: train's config file reader" { smoke trainopts; }

@test "fuzz: a harness per tests/fuzz/*.c, a seed corpus per harness" {
	for c in "$SRCDIR"/tests/fuzz/*.c; do
		n=$(basename "$c" .c)
		grep -q "smoke $n;" "$BATS_TEST_FILENAME" || fail "$n has no smoke test"
		[ -n "$(ls -A "$SRCDIR/tests/fuzz/corpus/$n" 2>/dev/null)" ] || fail "$n has no seeds"
	done
}

@test "fuzz-campaign: runs to its target in slices, records them, then stops" {
	[ -z "$FUZZ_SKIP" ] || skip "$FUZZ_SKIP"
	run -0 "$SRCDIR/scripts/fuzz-campaign" --help
	[[ "$output" == *"scripts/fuzz-campaign [-r] [-d DIR]"* ]] || fail "$output"
	run -2 "$SRCDIR/scripts/fuzz-campaign" -x
	d="$BATS_TEST_TMPDIR/campaign"
	run -0 "$SRCDIR/scripts/fuzz-campaign" -d "$d" -n 3000 -s 2 npy
	# slices of 2 s until 3000 executions, each a row of runs.tsv
	run -0 awk -F'\t' '$2 == "npy" { n++; e += $4 } END { print n, e }' "$d/runs.tsv"
	[ "${output% *}" -ge 1 ] || fail "no slice recorded: $output"
	[ "${output#* }" -ge 3000 ] || fail "executions: $output"
	run -0 "$SRCDIR/scripts/fuzz-campaign" -r -d "$d" -n 3000 npy
	[[ "$output" == *"npy "*" done"* ]] || fail "$output"
	# a second start finds the target met and runs nothing
	rows=$(wc -l < "$d/runs.tsv")
	run -0 "$SRCDIR/scripts/fuzz-campaign" -d "$d" -n 3000 npy
	[ "$(wc -l < "$d/runs.tsv")" -eq "$rows" ]
}
