# Shared by tests/seqimport.bats and tests/opus-mt.bats: SentencePiece
# models for tiny fake OPUS-MT releases, and the releases themselves
# (tests/make-marian.py, written from shared/marian-format.md).

# marian_setup_file: the SentencePiece models (src, trg) and their
# vocabularies in $BATS_FILE_TMPDIR
marian_setup_file() {
	local d=$BATS_FILE_TMPDIR i
	for i in $(seq 1 150); do
		echo "the cat sat on the mat and the dog ran to the house $i"
		echo "der Hund lief zum Haus und die Katze sass auf der Matte $i"
	done > "$d/corpus"
	spm_train --input="$d/corpus" --model_prefix="$d/src" --vocab_size=40 \
	    --hard_vocab_limit=false --minloglevel=2 > /dev/null 2>&1
	spm_train --input="$d/corpus" --model_prefix="$d/trg" --vocab_size=46 \
	    --hard_vocab_limit=false --minloglevel=2 > /dev/null 2>&1
}

# mk NAME OPTIONS...: the release NAME (a .zip or a folder) in the tmpdir
mk() {
	local n=$1
	shift
	"$PY" "$SRCDIR/tests/make-marian.py" "$BATS_FILE_TMPDIR/$n" \
	    "$BATS_FILE_TMPDIR/src.model" "$BATS_FILE_TMPDIR/src.vocab" \
	    "$BATS_FILE_TMPDIR/trg.model" "$BATS_FILE_TMPDIR/trg.vocab" "$@"
}
