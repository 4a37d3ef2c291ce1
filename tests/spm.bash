# Shared by tests/tokenize.bats and tests/detok.bats: real multilingual
# text from the gettext catalogs Debian installs, and small SentencePiece
# models trained on part of it with Debian's spm_train.
#
# Only catalogs of packages every CI machine has: gettext (installed by
# .ci/run), coreutils and dpkg (Essential), apt (Priority: required).  Too
# little text is a failure, not a skip: the tests would prove nothing.

SPM_CATALOGS="gettext-tools coreutils dpkg apt"

# mo_text LANG...: the translations of those catalogs, one line per line
# of each message (msgexec's builtin 0 ends each with a NUL), as the
# catalogs have them: no cleaning, so odd bytes and CRs come along.
mo_text() {
	local l p f
	for l; do
		for p in $SPM_CATALOGS; do
			f=/usr/share/locale/$l/LC_MESSAGES/$p.mo
			[ -f "$f" ] || continue
			msgunfmt "$f" | msgexec 0 | tr '\0' '\n'
		done
	done 2>/dev/null
}

# need_lines FILE MIN WHAT: fail loudly with fewer than MIN lines
need_lines() {
	local n
	n=$(grep -c . "$1")
	if [ "$n" -lt "$2" ]; then
		echo "# only $n lines of $3 in /usr/share/locale ($SPM_CATALOGS); need $2" >&3
		return 1
	fi
}

# Writes into $SPM_DIR (the suite's $BATS_FILE_TMPDIR):
#   train.txt  de ru ja zh_CN ko: what the models learn from
#   text.txt   fr el uk th ar vi and ja zh_CN ko again: what the tests
#              encode; Thai, Arabic and rare Han characters are outside
#              the models' characters, so unk and byte pieces occur
#   u.model    unigram, 1000 pieces, no byte fallback
#   b.model    unigram, 1300 pieces, --byte_fallback=true
spm_setup() {
	SPM_DIR=$BATS_FILE_TMPDIR
	local l
	for l in ja zh_CN ko; do
		mo_text "$l" > "$SPM_DIR/$l.txt"
		need_lines "$SPM_DIR/$l.txt" 3000 "$l text" || return 1
	done
	mo_text de ru ja zh_CN ko > "$SPM_DIR/train.txt"
	mo_text fr el uk th ar vi ja zh_CN ko > "$SPM_DIR/text.txt"
	need_lines "$SPM_DIR/train.txt" 20000 "training text" || return 1
	need_lines "$SPM_DIR/text.txt" 20000 "test text" || return 1
	local common="--input=$SPM_DIR/train.txt --minloglevel=2
	    --character_coverage=0.98 --input_sentence_size=8000 --random_seed=1"
	spm_train $common --model_prefix="$SPM_DIR/u" --vocab_size=1000 ||
		return 1
	spm_train $common --model_prefix="$SPM_DIR/b" --vocab_size=1300 \
	    --byte_fallback=true || return 1
}
