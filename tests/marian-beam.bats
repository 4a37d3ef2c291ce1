#!/usr/bin/env bats
# beamsearch on imported OPUS-MT models (tests/make-marian.py releases)
# against marian-decoder's beam search in numpy (tests/marian_ref.py beam,
# written from shared/marian-format.md §3.8): with the settings seqimport
# records from decoder.yml, and with --marian on a model that records
# none; beams 1, 4 and 6 with n-best lists; a case where normalisation
# changes the winner; <unk> and byte pieces that would win; a fractional
# max-length-factor and a word penalty.  Ids exact, scores within 1e-4.
load helper
bats_require_minimum_version 1.5.0

setup_file() {
	local d=$BATS_FILE_TMPDIR i
	cd "$d"
	for i in $(seq 1 150); do
		echo "the cat sat on the mat and the dog ran to the house $i"
		echo "der Hund lief zum Haus und die Katze sass auf der Matte $i"
	done > corpus
	spm_train --input=corpus --model_prefix=src --vocab_size=40 \
	    --hard_vocab_limit=false --minloglevel=2 > /dev/null 2>&1
	spm_train --input=corpus --model_prefix=trg --vocab_size=46 \
	    --hard_vocab_limit=false --minloglevel=2 > /dev/null 2>&1
	# a target with byte fallback: <0x00>..<0xFF> in the vocabulary
	spm_train --input=corpus --model_prefix=bytes --vocab_size=300 \
	    --byte_fallback=true --hard_vocab_limit=false --minloglevel=2 \
	    > /dev/null 2>&1
	# seven lines, the third empty (key 2)
	printf '%s\n' 'the cat sat on the mat' 'the dog' '' \
	    'der Hund lief zum Haus und die Katze' 'mat 7 house' 'Haus' \
	    'the house of the dog ran' > in.txt
	# releases: a larger </s> bias ends some hypotheses early, so that
	# beams shrink and lengths differ; random models often run to the cap
	release a --bias '</s>=2'
	release t --vocab text --seed 2 --bias '</s>=2'
	release unk --bias '<unk>=6' --seed 3
	release unkok --bias '<unk>=6' --seed 3 --decoder allow-unk=true
	release bytes --target bytes --bias '<0x0A>=5' --bias '</s>=2' --seed 4
	release factor --bias '</s>=2' --decoder max-length-factor=1.5 \
	    --decoder word-penalty=0.3 --seed 5
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# release NAME [--target SPM] OPTIONS...: the release folder NAME, its
# import NAME.model and the model ids of in.txt (with </s>) in NAME.src
release() {
	local n=$1 tgt=trg
	shift
	if [ "$1" = --target ]; then
		tgt=$2
		shift 2
	fi
	"$PY" "$SRCDIR/tests/make-marian.py" "$n" src.model src.vocab \
	    "$tgt.model" "$tgt.vocab" "$@" || return 1
	seqimport -q -o "$n.model" "$n" || return 1
	tokenize -m "$n.model" --text in.txt > "$n.src"
	tokenize -m "$n.model" in.txt | encode > "$n.mem"
}

# search MODEL [beamsearch options]: "KEY RANK SCORE IDS" lines
search() {
	local m=$1
	shift
	beamsearch -m "$m" "$@" "${m%.model}.mem" | seqcat | cut -d' ' -f2-
}

# ref NAME [marian_ref.py beam options]: the same lines from numpy.
# Marian lists an empty line's empty translation once per beam slot,
# beamsearch once (man/beamsearch.1): its repeats are left out.
ref() {
	local n=$1
	shift
	"$PY" "$SRCDIR/tests/marian_ref.py" "$n" beam "$n.src" "$@" |
	    awk '!($1 == 2 && $2 > 0)'
}

# same GOT WANT: ids exact, scores within 1e-4
same() {
	run "$PY" "$SRCDIR/scripts/numdiff.py" --tol 1e-4 "$1" "$2"
	[ "$status" -eq 0 ] || fail "$output"
}

# setmeta MODEL OUT KEY=VALUE...: a copy with metadata set (no VALUE:
# the key removed), the header padded to 8 bytes as seqpipe writes it
setmeta() {
	"$PY" - "$@" <<'EOF'
import json, struct, sys
src, out, kvs = sys.argv[1], sys.argv[2], sys.argv[3:]
blob = open(src, "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
h = json.loads(blob[8:8 + n])
for kv in kvs:
    k, v = kv.split("=", 1)
    h["__metadata__"].pop(k, None)
    if v:
        h["__metadata__"][k] = v
j = json.dumps(h).encode()
j += b" " * (-(8 + len(j)) % 8)
open(out, "wb").write(struct.pack("<Q", len(j)) + j + blob[8 + n:])
EOF
}

@test "the recorded settings (beam 4, normalize 1): Marian's 4-best" {
	search a.model > got
	ref a > want
	same got want
	search a.model -n 4 > got
	ref a --n-best 4 > want
	same got want
	# the 1-best of text vocabularies (separate embeddings)
	search t.model > got
	ref t > want
	same got want
}

@test "beams 1, 4 and 6, their n-best lists, as Marian's" {
	local k
	for k in 1 4 6; do
		search a.model -k "$k" -n "$k" > "got$k"
		ref a --beam-size "$k" --n-best "$k" > "want$k"
		same "got$k" "want$k"
	done
	# the beam of 6 finds more than 4 distinct hypotheses for a sentence
	[ "$(awk '$1 == 0' got6 | wc -l)" -eq 6 ]
}

@test "--marian on a model that records nothing: marian-decoder's defaults" {
	setmeta a.model bare.model marian.beam-size= marian.normalize= \
	    marian.word-penalty= marian.max-length-factor= marian.allow-unk=
	beamsearch -m bare.model --marian a.mem | seqcat | cut -d' ' -f2- > got
	ref a --no-config > want	# beam-size 12, normalize 0
	same got want
	beamsearch -m bare.model --marian -k 4 -n 4 -a 1 a.mem | seqcat |
	    cut -d' ' -f2- > got
	ref a --no-config --beam-size 4 --n-best 4 --normalize 1 > want
	same got want
	# without --marian: seqpipe's search, as --no-marian on the original
	beamsearch -m bare.model --text a.mem > plain
	beamsearch -m a.model --no-marian --text a.mem > no
	cmp plain no
	run ! cmp -s plain <(beamsearch -m bare.model --marian -k 4 -a 1 --text a.mem)
}

@test "normalisation changes the winner: normalize 1 and 0 as Marian's" {
	ref a > norm1
	ref a --normalize 0 > norm0
	# the test bites: some sentence's best differs between the two
	run ! cmp -s <(cut -d' ' -f1,4- norm1) <(cut -d' ' -f1,4- norm0)
	search a.model > got
	same got norm1
	search a.model -a 0 > got
	same got norm0
}

@test "<unk> would win: never emitted unless decoder.yml allows it" {
	local unk
	unk=$("$PY" -c 'import json,struct,sys
f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]
print(json.loads(f.read(n))["__metadata__"]["unk_id"])' unk.model)
	ref unk --allow-unk 1 > allowed
	grep -qw "$unk" <(cut -d' ' -f4- allowed)	# the test bites
	search unk.model -n 2 > got
	ref unk --n-best 2 > want
	same got want
	run ! grep -qw "$unk" <(cut -d' ' -f4- got)
	# allow-unk: true in decoder.yml
	search unkok.model > got
	same got allowed
}

@test "the byte pieces <0x00>..<0x1F> are never emitted" {
	local b
	b=$(sed -n 's/^<0x0A>: //p' bytes/*.vocab.yml)
	[ -n "$b" ]
	ref bytes --allow-special > allowed
	grep -qw "$b" <(cut -d' ' -f4- allowed)	# the test bites
	search bytes.model -n 2 > got
	ref bytes --n-best 2 > want
	same got want
	run ! grep -qw "$b" <(cut -d' ' -f4- got)
}

@test "max-length-factor 1.5: ceil(1.5 x source) tokens; word penalty 0.3" {
	search factor.model -n 3 > got
	ref factor --n-best 3 > want
	same got want
	# the cap bites: a hypothesis of exactly ceil(1.5 * source length)
	# tokens, none longer (sources with their </s>; an id per token but
	# the final </s>, so a cut one has all its tokens as ids)
	awk 'NR == FNR { cap[NR - 1] = int((3 * NF + 1) / 2); next }
	    NF - 3 > cap[$1] { exit 1 } NF - 3 == cap[$1] { hit = 1 }
	    END { exit !hit }' factor.src got
	# the empty line: Marian's forced </s>, L = 1, score -0.3
	[ "$(awk '$1 == 2' got)" = "2 0 -0.3" ]
	# --max-len given: seqpipe's rule instead
	search factor.model --max-len 0,3 | awk 'NF > 6 { exit 1 }'
}

@test "bad Marian metadata and -n above the recorded beam: one-line errors" {
	setmeta a.model badk.model marian.beam-size=x
	run -1 --separate-stderr beamsearch -m badk.model --text a.mem
	[ "$stderr" = "beamsearch: badk.model: metadata marian.beam-size 'x': not an integer in [1, 1024]" ]
	[ -z "$output" ]
	setmeta a.model badu.model marian.allow-unk=2
	run -1 --separate-stderr beamsearch -m badu.model --text a.mem
	[[ "$stderr" == "beamsearch: badu.model: metadata marian.allow-unk '2': "* ]]
	run -2 --separate-stderr beamsearch -m a.model -n 5 --text a.mem
	[ "${stderr_lines[0]}" = "beamsearch: --nbest 5: more than the beam size 4 (Marian's default; -k sets it)" ]
	run -0 --separate-stderr beamsearch -m a.model -n 5 -k 5 --text a.mem
}
