# The training kernels of lib/train/grad.c against torch 1.13 (Debian's
# /usr/bin/python3): AdamW steps bit for bit, label-smoothed
# cross-entropy within 1e-6.  tests/train_kernels.py does the work through
# tests/unit/test_grad's dump modes; the finite-difference checks of every
# kernel are test_grad's own.

load helper
bats_require_minimum_version 1.5.0

setup() {
	BIN="$SRCDIR/tests/unit/test_grad"
	[ -x "$BIN" ] || skip "tests/unit/test_grad not built"
}

@test "train kernels: AdamW with float-exact hyperparameters: torch's bits" {
	run -0 "$PY" "$SRCDIR/tests/train_kernels.py" "$BIN" "$BATS_TEST_TMPDIR" adamw-exact
	assert_output 'max-err 0'
}

@test "train kernels: AdamW lr 1e-3 betas 0.9 0.98 wd 0.01: torch's bits" {
	run -0 "$PY" "$SRCDIR/tests/train_kernels.py" "$BIN" "$BATS_TEST_TMPDIR" adamw
	assert_output 'max-err 0'
}

@test "train kernels: cross-entropy with label smoothing and ignored rows as torch" {
	run -0 "$PY" "$SRCDIR/tests/train_kernels.py" "$BIN" "$BATS_TEST_TMPDIR" xent
	assert_output --regexp '^max-err '
}

@test "train kernels: test_grad's dump mode refuses a bad file" {
	printf 'x\n' > "$BATS_TEST_TMPDIR/bad"
	run -1 --separate-stderr "$BIN" adamw "$BATS_TEST_TMPDIR/bad"
	[[ "$stderr" == *"bad header"* ]] || fail "stderr: $stderr"
}
