#!/usr/bin/env bats
# The README's model (models/en-de.model, scripts/train-readme-model) as
# the README runs it: the first 300 sentences of the corpus's test split
# (models/en-de.test.*, human translations the model never saw in
# training) through tokenize | encode | beamsearch -k 5 | detok, scored
# by bleu against the human references.  The floors sit a few points
# under what the committed model scores (32.0 BLEU, 58 chrF on these 300
# lines), so a broken model, engine or search fails them.
load helper
bats_require_minimum_version 1.5.0

M=$SRCDIR/models/en-de.model

setup_file() {
	head -n 300 "$SRCDIR/models/en-de.test.en" > "$BATS_FILE_TMPDIR/test.en"
	head -n 300 "$SRCDIR/models/en-de.test.de" > "$BATS_FILE_TMPDIR/test.de"
	tokenize -m "$M" < "$BATS_FILE_TMPDIR/test.en" | encode |
	    beamsearch -k 5 | detok > "$BATS_FILE_TMPDIR/hyp.de"
}

@test "the model file fits the repository's 20 MB" {
	[ "$(stat -c %s "$M")" -le $((20 * 1024 * 1024)) ]
}

@test "one German line per English line" {
	[ "$(wc -l < "$BATS_FILE_TMPDIR/hyp.de")" -eq 300 ]
}

@test "BLEU at least 28 and chrF at least 54 against the human translations" {
	run -0 bleu -b "$BATS_FILE_TMPDIR/test.de" < "$BATS_FILE_TMPDIR/hyp.de"
	echo "BLEU $output"
	awk -v s="$output" 'BEGIN { exit !(s >= 28) }'
	run -0 bleu -b "$BATS_FILE_TMPDIR/test.de" -m chrf < "$BATS_FILE_TMPDIR/hyp.de"
	echo "chrF $output"
	awk -v s="$output" 'BEGIN { exit !(s >= 54) }'
}
