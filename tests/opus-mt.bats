#!/usr/bin/env bats
# scripts/opus-mt: pair names, the offline path (no network: one line,
# exit 1; a release zip already in DIR is checked, imported and the
# printed command translates), a damaged zip, and the download path over
# a local object store (file:// through curl; OPUS_MT_BASE points the
# script at it): the newest release of the pair, OPUS-MT's or else
# Tatoeba-MT's.
load helper
load marian
bats_require_minimum_version 1.5.0

setup_file() {
	marian_setup_file
	mk en-de.zip --seed 11
	mk other.zip --seed 12
}

setup() {
	# nothing listens on port 9: any download fails at once
	export OPUS_MT_BASE=http://127.0.0.1:9
	T=$BATS_TEST_TMPDIR
}

@test "language codes are checked: a usage error, exit 2" {
	run -2 --separate-stderr "$SRCDIR/scripts/opus-mt" EN de "$T/m"
	[ "$stderr" = "opus-mt: 'EN' is not a language code (two or three lowercase letters: en, de, eng, deu)" ]
	run -2 --separate-stderr "$SRCDIR/scripts/opus-mt" en deutsch
	run -2 --separate-stderr "$SRCDIR/scripts/opus-mt" en
	[[ $stderr == "usage: scripts/opus-mt SRC TGT [DIR]"* ]]
	run -0 --separate-stderr "$SRCDIR/scripts/opus-mt" --help
	[[ $output == "usage: scripts/opus-mt SRC TGT [DIR]"* ]]
}

@test "offline, no release on disk: one line naming what it could not reach, exit 1" {
	run -1 --separate-stderr "$SRCDIR/scripts/opus-mt" en de "$T/m"
	[ "$stderr" = "opus-mt: cannot reach http://127.0.0.1:9/OPUS-MT-models/index.txt (offline?): put a release zip of en-de at $T/m/opus-mt-en-de.zip to use it without the network" ]
	[ -z "$output" ]
	[ -z "$(ls -A "$T/m")" ]
}

@test "offline, a release zip on disk: checked, imported, and the printed command translates" {
	mkdir "$T/m"
	cp "$BATS_FILE_TMPDIR/en-de.zip" "$T/m/opus-mt-en-de.zip"
	run -0 --separate-stderr "$SRCDIR/scripts/opus-mt" en de "$T/m"
	[ "$stderr" = "opus-mt: $T/m/opus-mt-en-de.zip is there: not downloading it again" ]
	[ "${lines[0]}" = "opus-mt: translate with:" ]
	[ "${lines[1]}" = "  tokenize -m $T/m/opus-mt-en-de.model < in.en | encode | beamsearch | detok > out.de" ]
	# the same model as seqimport makes of the zip
	seqimport -q -o "$T/direct.model" "$T/m/opus-mt-en-de.zip"
	cmp "$T/direct.model" "$T/m/opus-mt-en-de.model"
	# the printed command, on two lines of text
	printf 'the cat sat on the mat\nthe dog\n' > "$T/in.en"
	(cd "$T" && eval "${lines[1]}")
	[ "$(wc -l < "$T/out.de")" -eq 2 ]
	# a second run imports nothing again
	touch -d '1 hour ago' "$T/m/opus-mt-en-de.zip"
	before=$(stat -c %Y "$T/m/opus-mt-en-de.model")
	sleep 1
	run -0 "$SRCDIR/scripts/opus-mt" en de "$T/m"
	[ "$(stat -c %Y "$T/m/opus-mt-en-de.model")" = "$before" ]
}

@test "a damaged release zip is refused, naming it" {
	mkdir "$T/m"
	head -c 20000 "$BATS_FILE_TMPDIR/en-de.zip" > "$T/m/opus-mt-en-de.zip"
	run -1 --separate-stderr "$SRCDIR/scripts/opus-mt" en de "$T/m"
	[ "${stderr_lines[1]}" = "opus-mt: $T/m/opus-mt-en-de.zip: damaged (unzip -t fails): remove it and run again" ]
	[ ! -e "$T/m/opus-mt-en-de.model" ]
}

@test "downloading: the newest release of the pair from the index, OPUS-MT's or else Tatoeba-MT's" {
	command -v curl > /dev/null || skip "no curl (file:// needs it)"
	local s=$T/store
	mkdir -p "$s/OPUS-MT-models/en-de" "$s/Tatoeba-MT-models/eng-deu"
	cp "$BATS_FILE_TMPDIR/other.zip" "$s/OPUS-MT-models/en-de/opus-2019-12-05.zip"
	cp "$BATS_FILE_TMPDIR/en-de.zip" "$s/OPUS-MT-models/en-de/opus+bt-2021-04-10.zip"
	cp "$BATS_FILE_TMPDIR/other.zip" "$s/OPUS-MT-models/en-de/opus-2020-02-26.zip"
	printf '%s\n' en-de/opus-2019-12-05.zip en-de/opus+bt-2021-04-10.zip \
	    en-de/opus-2020-02-26.zip en-de/opus-2020-02-26.eval.txt \
	    en-fr/opus-2022-01-01.zip de-en/opus-2023-01-01.zip \
	    > "$s/OPUS-MT-models/index.txt"
	cp "$BATS_FILE_TMPDIR/other.zip" "$s/Tatoeba-MT-models/eng-deu/opus-2021-02-22.zip"
	echo eng-deu/opus-2021-02-22.zip > "$s/Tatoeba-MT-models/index.txt"
	export OPUS_MT_BASE=file://$s
	run -0 --separate-stderr "$SRCDIR/scripts/opus-mt" en de "$T/m"
	[ "$stderr" = "opus-mt: downloading file://$s/OPUS-MT-models/en-de/opus+bt-2021-04-10.zip" ]
	cmp "$T/m/opus-mt-en-de.zip" "$BATS_FILE_TMPDIR/en-de.zip"
	[ -s "$T/m/opus-mt-en-de.model" ]
	[ -z "$(ls -A "$T/m" | grep -v '^opus-mt-en-de\.\(zip\|model\)$')" ]
	run -0 --separate-stderr "$SRCDIR/scripts/opus-mt" eng deu "$T/m"
	[ "$stderr" = "opus-mt: downloading file://$s/Tatoeba-MT-models/eng-deu/opus-2021-02-22.zip" ]
	cmp "$T/m/opus-mt-eng-deu.zip" "$BATS_FILE_TMPDIR/other.zip"
	run -1 --separate-stderr "$SRCDIR/scripts/opus-mt" en fi "$T/m"
	[[ $stderr == "opus-mt: no OPUS-MT or Tatoeba-MT release for en-fi"* ]]
}
