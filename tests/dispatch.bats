#!/usr/bin/env bats
# The default build runs on any x86-64 CPU: configure adds no -march, and
# the hot kernels (SQ_HOT, lib/nn/vec.h; lib/nn/qgemm.c) come in variants
# for AVX-512, AVX2 and baseline x86-64 chosen when a program starts.
# Other CPUs are QEMU's user-mode emulation of them (Debian's qemu-user):
# Haswell (AVX2, no AVX-512) and Conroe (a Core 2: no AVX; QEMU's qemu64
# would do but OpenBLAS takes it for an Opteron and runs 3DNow! code QEMU
# lacks), where a binary built with -march=native on an AVX-512 machine
# dies of SIGILL.
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	engine_setup_file
	encode -m "$REF/paper.sq" "$REF/src.txt" > "$REF/paper.mem" 2>/dev/null
}

# skips the test unless the programs are a default build QEMU can run
need_default_build() {
	grep -q '^CFLAGS.*-march=native' "$SRCDIR/Makefile" &&
	    skip "built with ./configure --native"
	case $(ldd "$SRCDIR/bin/encode") in
	*libasan*) skip "ASan's shadow memory does not fit under qemu-user" ;;
	esac
	command -v qemu-x86_64 > /dev/null ||
	    skip "no qemu-x86_64 (Debian package qemu-user)"
	true
}

# on CPU ...: runs the rest under QEMU emulating that CPU
on() {
	local cpu=$1
	shift
	qemu-x86_64 -cpu "$cpu" "$@" 2> >(grep -v "^qemu-x86_64: warning: TCG doesn't support" >&2)
}

@test "configure: no -march by default, -march=native with --native" {
	cp "$SRCDIR/configure" "$SRCDIR/Makefile.in" "$BATS_TEST_TMPDIR/"
	cd "$BATS_TEST_TMPDIR"
	./configure > /dev/null
	run -0 grep '^CFLAGS = ' Makefile
	[[ $output != *-march* ]] || fail "default: $output"
	./configure --native > /dev/null
	run -0 grep '^CFLAGS = ' Makefile
	[[ $output == *" -march=native "* ]] || fail "--native: $output"
	run -0 ./configure --help
	assert_output --partial "--native"
}

@test "the default build: vector registers only in the kernels' AVX2 and AVX-512 variants" {
	need_default_build
	local p f
	for p in "$SRCDIR"/bin/*; do
		[ -x "$p" ] && [[ $p != *.* ]] || continue
		# functions that touch a ymm or zmm register, but the variants
		# (SQ_HOT's clones; lib/nn/qgemm.c's kernels, named per set)
		run -0 sh -c "objdump -d --no-show-raw-insn '$p' | awk '
		    /^[0-9a-f]+ <.*>:\$/ { fn = \$2 }
		    /%[yz]mm/ && fn !~ /(\\.arch_x86_64_v[34]|_avx2|_avx512)>:\$/ { print fn }' | sort -u"
		[ -z "$output" ] || fail "$p: AVX outside the variants: $output"
	done
	# a hot kernel of every kind has its three variants and a resolver
	for f in sq_attend layernorm logsoftmax activate linear_rows4; do
		for v in arch_x86_64_v4 arch_x86_64_v3 default resolver; do
			nm "$SRCDIR/bin/decode" | grep -q " $f\.$v\$" ||
			    fail "bin/decode has no $f.$v"
		done
	done
}

@test "the kernels' unit tests pass on an AVX2 CPU and on a CPU without AVX" {
	need_default_build
	local t cpu
	unset OPENBLAS_CORETYPE
	for t in test_ops test_grad test_quant test_packed test_i8gemm; do
		[ -x "$SRCDIR/tests/unit/$t" ] || skip "tests/unit/$t not built (make check builds it)"
		for cpu in Haswell Conroe; do
			on $cpu "$SRCDIR/tests/unit/$t" > "$BATS_TEST_TMPDIR/$t.tap" ||
			    fail "$t on $cpu: $(grep -m3 'not ok' "$BATS_TEST_TMPDIR/$t.tap")"
		done
	done
}

@test "an AVX2 CPU without AVX-512: PyTorch's outputs, the bits of this CPU" {
	need_default_build
	# one OpenBLAS kernel set on both sides: only our variants differ
	export OPENBLAS_CORETYPE=Haswell
	on Haswell "$SRCDIR/bin/encode" -m "$REF/paper.sq" --text "$REF/src.txt" \
	    > "$BATS_TEST_TMPDIR/enc" 2>/dev/null
	numcmp 1e-4 "$REF/paper.enc" "$BATS_TEST_TMPDIR/enc" || fail "encode: not PyTorch's"
	encode -m "$REF/paper.sq" --text "$REF/src.txt" 2>/dev/null |
	    cmp - "$BATS_TEST_TMPDIR/enc" || fail "encode: other bits than this CPU's"
	on Haswell "$SRCDIR/bin/decode" --scores "$REF/paper.mem" | seqcat \
	    > "$BATS_TEST_TMPDIR/dec"
	numcmp 1e-4 <(cut -d'|' -f2 "$REF/paper.greedy") \
	    <(cut -d'|' -f2 "$BATS_TEST_TMPDIR/dec") || fail "decode: not PyTorch's"
	decode --scores "$REF/paper.mem" | seqcat | cmp - "$BATS_TEST_TMPDIR/dec" ||
	    fail "decode: other bits than this CPU's"
}

@test "a CPU without AVX: encode and greedy decode give PyTorch's outputs" {
	need_default_build
	# OpenBLAS's own choice for the emulated CPU (its Core2 kernels)
	unset OPENBLAS_CORETYPE
	on Conroe "$SRCDIR/bin/encode" -m "$REF/paper.sq" --text "$REF/src.txt" \
	    > "$BATS_TEST_TMPDIR/enc" 2>/dev/null
	numcmp 1e-4 "$REF/paper.enc" "$BATS_TEST_TMPDIR/enc" || fail "encode"
	on Conroe "$SRCDIR/bin/decode" --scores "$REF/paper.mem" | seqcat \
	    > "$BATS_TEST_TMPDIR/dec"
	numcmp 1e-4 <(cut -d'|' -f2 "$REF/paper.greedy") \
	    <(cut -d'|' -f2 "$BATS_TEST_TMPDIR/dec") || fail "decode"
}
