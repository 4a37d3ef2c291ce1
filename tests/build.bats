#!/usr/bin/env bats
# configure and make install: prefixes, program prefix, DESTDIR, uninstall,
# and the one-line message for a missing library.  Works on a copy of the
# built tree so the real one is untouched.
load helper
bats_require_minimum_version 1.5.0

setup() {
	shopt -s nullglob
	tree="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$tree"
	(cd "$SRCDIR" && git ls-files -z | xargs -0 cp --parents -t "$tree")
	# the built programs come along so install need not rebuild them
	local f
	for f in "$SRCDIR"/lib/*.a "$SRCDIR"/lib/*/*.o "$SRCDIR"/bin/*; do
		[ -f "$f" ] && [ ! -e "$tree/${f#"$SRCDIR"/}" ] && cp -p "$f" "$tree/${f#"$SRCDIR"/}"
	done
	true
}

@test "configure --help prints the options and exits 0" {
	cd "$tree"
	run -0 ./configure --help
	assert_output --partial --prefix=PREFIX
	assert_output --partial --program-prefix=PFX
}

@test "configure rejects an unknown option with exit 1" {
	cd "$tree"
	run -1 ./configure --no-such-thing
	assert_output --partial "unknown option"
}

@test "a missing library is one line naming the Debian package" {
	cd "$tree"
	# a pkg-config that points utf8proc at a library that does not exist
	cat > fakepc <<'PC'
#!/bin/sh
case "$*" in
*libutf8proc*--libs*|*--libs*libutf8proc*) echo -lutf8proc_missing_xyz ;;
*libutf8proc*--cflags*|*--cflags*libutf8proc*) echo ;;
*) exec pkg-config "$@" ;;
esac
PC
	chmod +x fakepc
	run -1 --separate-stderr env PKG_CONFIG=./fakepc ./configure
	assert_equal "$stderr" "configure: utf8proc not found: install the Debian package libutf8proc-dev"
	grep -q lutf8proc_missing_xyz config.log
}

@test "make install honours --prefix, --program-prefix, --mandir and DESTDIR; uninstall removes it all" {
	cd "$tree"
	./configure --prefix=/opt/sq --program-prefix=sp- --mandir=/opt/sq/man >/dev/null
	run -0 make install DESTDIR="$BATS_TEST_TMPDIR/root"
	local root="$BATS_TEST_TMPDIR/root/opt/sq" c p
	for c in bin/*.c; do
		p=$(basename "$c" .c)
		[ -x "$root/bin/sp-$p" ] || fail "sp-$p not installed"
		[ -f "$root/man/man1/sp-$p.1" ] || fail "sp-$p.1 not installed"
	done
	for m in man/*.5 man/*.7; do
		[ -e "$m" ] || continue
		[ -f "$root/man/man${m##*.}/${m#man/}" ] || fail "$m not installed"
	done
	"$root/bin/sp-$p" --version
	run -0 make uninstall DESTDIR="$BATS_TEST_TMPDIR/root"
	run -0 find "$root" -type f
	assert_output ""
}

@test "make clean and distclean remove the build outputs" {
	cd "$tree"
	./configure >/dev/null
	make clean >/dev/null
	run -0 sh -c 'ls bin | grep -v "\.c$"; ls lib | grep -E "\.(o|a)$"; true'
	assert_output ""
	make distclean >/dev/null
	[ ! -e Makefile ] && [ ! -e config.log ]
}

@test "gcc and clang build the library, the programs and the unit tests without a warning" {
	cd "$tree"
	local cc units
	units=$(ls tests/unit/*.c | sed 's/\.c$//')
	# as configured, not with the flags of an enclosing make check-asan:
	# make exports its command-line CFLAGS, CXXFLAGS and LDFLAGS, which
	# configure would take up, and passes them on in MAKEFLAGS
	unset CFLAGS CXXFLAGS LDFLAGS MAKEFLAGS MFLAGS MAKELEVEL
	for cc in gcc clang; do
		CC=$cc ./configure > /dev/null
		make clean > /dev/null
		# shellcheck disable=SC2086
		make -j2 all $units \
		    > "$BATS_TEST_TMPDIR/$cc.log" 2>&1 ||
			fail "$cc: make failed: $(tail -n 3 "$BATS_TEST_TMPDIR/$cc.log")"
		grep -q "^$cc .* -o lib/nn/ops.o " "$BATS_TEST_TMPDIR/$cc.log" ||
			fail "$cc did not build the library"
		if grep -i 'warning' "$BATS_TEST_TMPDIR/$cc.log"; then
			fail "$cc: warnings"
		fi
	done
}
