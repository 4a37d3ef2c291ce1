#!/usr/bin/env bats
# seqimport: tiny fake OPUS-MT releases (tests/make-marian.py, written from
# shared/marian-format.md) in both vocabulary forms, zips stored and
# deflated and unpacked folders, imported and run; encoder outputs, the
# first step's log-probs over the whole vocabulary, forced scores and
# greedy outputs against tests/marian_ref.py (Marian's math in numpy from
# the same spec); the same for Hugging Face MarianMTModel folders (the
# converter's layout, HF's math); train --init on an imported model;
# every refusal and error: exit 1, one line, no file.
load helper
load marian
bats_require_minimum_version 1.5.0

setup_file() {
	marian_setup_file
	# source ids (each ending in an id of </s>, set per release below)
	printf '3 4 5 6 7\n10\n12 13 3 8 9 14 20 21\n' > "$BATS_FILE_TMPDIR/src.body"
	printf '7 9 2\n12\n5 6 7 8 9 4\n' > "$BATS_FILE_TMPDIR/tgt.body"
}

# meta MODEL KEY: a metadata value of a model file
meta() {
	"$PY" -c 'import json,struct,sys
f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]
print(json.loads(f.read(n))["__metadata__"].get(sys.argv[2],"-"))' "$1" "$2"
}

# check RELEASE MODEL: the imported model against marian_ref.py
check() {
	local rel=$1 m=$2 t=$BATS_TEST_TMPDIR dir eos vt
	dir=$rel
	if [[ $rel == *.zip ]]; then
		dir=$t/unzipped
		rm -rf "$dir" && mkdir "$dir" && (cd "$dir" && unzip -q "$rel")
	fi
	eos=$(meta "$m" marian.source-eos-id)
	teos=$(meta "$m" eos_id)
	# sources and targets end with </s> (and have none before)
	awk -v e="$eos" '{ print $0 " " e }' "$BATS_FILE_TMPDIR/src.body" > "$t/src"
	awk -v e="$teos" '{ for (i = 1; i <= NF; i++) if ($i == e) $i = e + 1
	    print $0 " " e }' "$BATS_FILE_TMPDIR/tgt.body" > "$t/tgt"
	# encoder outputs: the floats of each memory record
	encode -m "$m" --text "$t/src" |
	    awk '{ n = $4 * $5; s = ""; for (i = NF - n + 1; i <= NF; i++) s = s (s ? " " : "") $i; print s }' > "$t/enc"
	"$PY" "$SRCDIR/tests/marian_ref.py" "$dir" enc "$t/src" > "$t/enc.ref"
	"$PY" "$SRCDIR/scripts/numdiff.py" --tol 1e-4 "$t/enc" "$t/enc.ref" ||
	    fail "$rel: encoder outputs"
	encode -m "$m" "$t/src" > "$t/mem"
	# forced scores: the sum, then per token (but </s>)
	decode -m "$m" --scores --score "$t/tgt" "$t/mem" | seqcat |
	    awk -F' [|] ' '{ split($1, f, " "); print f[4] ($2 == "" ? "" : " " $2) }' > "$t/score"
	"$PY" "$SRCDIR/tests/marian_ref.py" "$dir" score "$t/src" "$t/tgt" > "$t/score.ref"
	"$PY" "$SRCDIR/scripts/numdiff.py" --tol 1e-4 "$t/score" "$t/score.ref" ||
	    fail "$rel: forced scores"
	# the first step over the whole vocabulary: every id as a 1-token
	# target of the first source
	vt=$(meta "$m" tgt_vocab_size)
	head -n 1 "$t/src" > "$t/src1"
	seq 0 $((vt - 1)) > "$t/all"
	for i in $(seq 1 $vt); do cat "$t/src1"; done > "$t/srcv"
	# (decode adds a </s> to a target without one: its own token's
	# score is the per-token one, </s>'s the sum)
	encode -m "$m" "$t/srcv" | decode -m "$m" --scores --score "$t/all" | seqcat |
	    awk '{ printf "%s%s", (NR > 1 ? " " : ""), ($6 == "|" ? $7 : $4) }
	    END { print "" }' > "$t/step0"
	"$PY" "$SRCDIR/tests/marian_ref.py" "$dir" step0 "$t/src1" > "$t/step0.ref"
	"$PY" "$SRCDIR/scripts/numdiff.py" --tol 1e-4 "$t/step0" "$t/step0.ref" ||
	    fail "$rel: first-step log-probs"
	# greedy: the same ids, at most 3 x the source length
	decode -m "$m" --max-len 3,0 --text "$t/mem" > "$t/greedy"
	"$PY" "$SRCDIR/tests/marian_ref.py" "$dir" greedy "$t/src" "$teos" |
	    sed "s/ $teos\$//; s/^$teos\$//" > "$t/greedy.ref"
	diff "$t/greedy.ref" "$t/greedy" || fail "$rel: greedy ids"
}

@test "yml vocabulary, tied-all, swish, stored zip: Marian's numbers" {
	mk a.zip --vocab yml
	run -0 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/a.model" "$BATS_FILE_TMPDIR/a.zip"
	check "$BATS_FILE_TMPDIR/a.zip" "$BATS_TEST_TMPDIR/a.model"
}

@test "text vocabularies, separate embeddings, relu, deflated zip and npz" {
	mk b.zip --vocab text --act relu --deflate --seed 2
	run -0 --separate-stderr seqimport -q -o "$BATS_TEST_TMPDIR/b.model" "$BATS_FILE_TMPDIR/b.zip"
	[ -z "$stderr" ]
	check "$BATS_FILE_TMPDIR/b.zip" "$BATS_TEST_TMPDIR/b.model"
}

@test "an unpacked folder; untied output (Wt) and legacy output (W)" {
	mk c --vocab yml --output untied --seed 3
	run -0 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/c.model" "$BATS_FILE_TMPDIR/c"
	check "$BATS_FILE_TMPDIR/c" "$BATS_TEST_TMPDIR/c.model"
	mk d --vocab text --output legacy --seed 4
	run -0 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/d.model" "$BATS_FILE_TMPDIR/d"
	check "$BATS_FILE_TMPDIR/d" "$BATS_TEST_TMPDIR/d.model"
}

@test "the model records decoder.yml's defaults and Marian's ids" {
	local m=$BATS_TEST_TMPDIR/a.model y
	mk a.zip --vocab yml
	seqimport -q -o "$m" "$BATS_FILE_TMPDIR/a.zip"
	[ "$(meta "$m" marian.beam-size)" = 4 ]
	[ "$(meta "$m" marian.normalize)" = 1 ]
	[ "$(meta "$m" marian.max-length-factor)" = 3 ]
	[ "$(meta "$m" marian.allow-unk)" = 0 ]
	[ "$(meta "$m" layer_norm_eps)" = 9.99999997e-07 ]
	[ "$(meta "$m" positions)" = sinusoidal_half ]
	[ "$(meta "$m" activation)" = silu ]
	[ "$(meta "$m" bos_id)" = -1 ]
	# </s> and <unk> by string, in the sorted joint vocabulary
	y=$(cd "$BATS_TEST_TMPDIR" && unzip -q -o "$BATS_FILE_TMPDIR/a.zip" '*.vocab.yml' && cat ./*.vocab.yml)
	[ "$(meta "$m" eos_id)" = "$(sed -n 's/^<\/s>: //p' <<<"$y")" ]
	[ "$(meta "$m" unk_id)" = "$(sed -n 's/^<unk>: //p' <<<"$y")" ]
	[ "$(meta "$m" eos_id)" != 0 ]
	# the decoder starts from the zero vector, no token: Marian's vocabulary
	[ "$(meta "$m" decoder_start_id)" = -1 ]
	[ "$(meta "$m" tgt_vocab_size)" = "$(grep -c . <<<"$y")" ]
}

@test "a Hugging Face folder (model.safetensors, config.json, vocab.json): Hugging Face's numbers" {
	local m=$BATS_TEST_TMPDIR/h.model v
	mk h --hf
	run -0 --separate-stderr seqimport -o "$m" "$BATS_FILE_TMPDIR/h"
	check "$BATS_FILE_TMPDIR/h" "$m"
	# what differs from Marian's math: eps, frequencies, the <pad> row
	# the decoder starts from, in a vocabulary one larger
	v=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$BATS_FILE_TMPDIR/h/vocab.json")
	[ "$(meta "$m" layer_norm_eps)" = 9.99999975e-06 ]
	[ "$(meta "$m" positions)" = sinusoidal_half_hf ]
	[ "$(meta "$m" tgt_vocab_size)" = "$v" ]
	[ "$(meta "$m" pad_id)" = $((v - 1)) ]
	[ "$(meta "$m" decoder_start_id)" = $((v - 1)) ]
	[ "$(meta "$m" marian.source-eos-id)" = "$(meta "$m" eos_id)" ]
}

@test "Hugging Face: F16 weights, relu, stored positions, the embedding under an alias; untied lm_head, gelu" {
	mk h2 --hf --hf-f16 --act relu --hf-positions hf \
	    --hf-embed model.encoder.embed_tokens.weight --seed 7
	run -0 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/h2.model" "$BATS_FILE_TMPDIR/h2"
	check "$BATS_FILE_TMPDIR/h2" "$BATS_TEST_TMPDIR/h2.model"
	mk h3 --hf --output untied --act gelu --hf-embed lm_head.weight --seed 8
	refused 'missing tensor model.shared.weight \(or an alias' h3
	mk h3 --hf --output untied --act gelu --seed 8
	run -0 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/h3.model" "$BATS_FILE_TMPDIR/h3"
	[ "$(meta "$BATS_TEST_TMPDIR/h3.model" tie_output)" = 0 ]
	check "$BATS_FILE_TMPDIR/h3" "$BATS_TEST_TMPDIR/h3.model"
}

# refused REGEX RELEASE: exit 1, one line matching REGEX, no model
refused() {
	mkdir -p "$BATS_TEST_TMPDIR/out"
	run -1 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/out/x.model" "$BATS_FILE_TMPDIR/$2"
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$2: ${#stderr_lines[@]} lines: $stderr"
	[[ $stderr =~ ^seqimport:\ .*$1 ]] || fail "$2: $stderr"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/out")" ] || fail "$2: left $(ls -A "$BATS_TEST_TMPDIR/out")"
}

@test "a truncated zip is an error" {
	mk e.zip
	head -c 100000 "$BATS_FILE_TMPDIR/e.zip" > "$BATS_FILE_TMPDIR/trunc.zip"
	refused 'truncated zip' trunc.zip
}

@test "a bad npy header is an error" {
	mk badnpy.zip --bad-npy encoder_l1_ffn_W1
	refused 'encoder_l1_ffn_W1: bad npy header' badnpy.zip
}

@test "a missing tensor, a shape against the config: errors" {
	mk miss.zip --drop decoder_l2_context_Wk
	refused 'missing tensor decoder_l2_context_Wk' miss.zip
	mk shape.zip --yml-ffn 64
	refused 'encoder_l1_ffn_W1: shape \(16, 32\), the config implies \(16, 64\)' shape.zip
}

@test "unsupported variants are refused by name" {
	mk aan.zip --autoreg average-attention
	refused 'average-attention decoders' aan.zip
	mk ssru.zip --autoreg rnn
	refused 'RNN decoders .*ssru' ssru.zip
	mk short.zip --shortlist
	refused 'lexical shortlists' short.zip
	mk gelu.zip --act gelu
	refused "transformer-ffn-activation 'gelu'" gelu.zip
}

@test "usage: -o and one release" {
	run -2 --separate-stderr seqimport "$BATS_FILE_TMPDIR/a.zip"
	[[ $stderr == "seqimport: no output"* ]]
	run -2 --separate-stderr seqimport -o x
	run -1 --separate-stderr seqimport -o "$BATS_TEST_TMPDIR/x" /nonexistent.zip
	[[ $stderr == "seqimport: /nonexistent.zip: No such file or directory" ]]
}

@test "tokenize and detok speak the model's vocabulary, and </s> ends each source" {
	local t=$BATS_TEST_TMPDIR d=$BATS_FILE_TMPDIR
	mk e --vocab yml --seed 5
	seqimport -o "$t/e.model" "$d/e"
	printf 'the cat sat on the mat 7\nthe dog\n' > "$t/in"
	tokenize -m "$t/e.model" --text "$t/in" > "$t/ids"
	# the same from the release's own files: spm_encode's pieces, then the
	# yml vocabulary's ids, then </s>
	spm_encode --model "$d/e/source.spm" --output_format=piece < "$t/in" |
	    "$PY" -c 'import sys, yaml
v = yaml.load(open(sys.argv[1]), Loader=yaml.BaseLoader)
for line in sys.stdin:
    ids = [v.get(p, v["<unk>"]) for p in line.split()] + [v["</s>"]]
    print(" ".join(ids))' "$(ls "$d"/e/*.vocab.yml)" > "$t/ids.ref"
	diff "$t/ids.ref" "$t/ids"
	# the target side: the yml ids of spm_encode's pieces decode back, and
	# </s> (no piece of the model's to show) is left out
	spm_encode --model "$d/e/target.spm" --output_format=piece < "$t/in" |
	    "$PY" -c 'import sys, yaml
v = yaml.load(open(sys.argv[1]), Loader=yaml.BaseLoader)
for line in sys.stdin:
    print(" ".join([v.get(p, v["<unk>"]) for p in line.split()] + [v["</s>"]]))' \
	    "$(ls "$d"/e/*.vocab.yml)" > "$t/tgt.ids"
	run -0 detok -m "$t/e.model" "$t/tgt.ids"
	[ "$output" = "$(spm_encode --model "$d/e/target.spm" < "$t/in" |
	    spm_decode --model "$d/e/target.spm")" ]
}

@test "train --init fine-tunes an imported model: its ids, </s>, vocabularies and metadata kept" {
	local t=$BATS_TEST_TMPDIR d=$BATS_FILE_TMPDIR i
	mk f.zip --vocab yml --seed 6
	seqimport -q -o "$t/f.model" "$d/f.zip"
	for i in 1 2 3 4 5 6 7 8; do echo "the cat sat on the mat $i"; done > "$t/ft.src"
	for i in 1 2 3 4 5 6 7 8; do echo "die Katze sass auf der Matte $i"; done > "$t/ft.tgt"
	# label smoothing puts weight on every id: with a never-produced
	# start id it would have had a -1e9 log-prob to pull up
	run -0 --separate-stderr train --init "$t/f.model" --src "$t/ft.src" \
	    --tgt "$t/ft.tgt" --max-steps 10 --lr 0.003 --warmup 0 --dropout 0 \
	    --label-smoothing 0.1 --log-every 1 -t 1 --progress log \
	    -o "$t/ft.model" --log "$t/ft.log"
	# the loss falls
	awk -F'\t' 'NR == 2 { a = $3 } NR > 1 { b = $3 } END { print a, b; exit !(b < 0.8 * a) }' "$t/ft.log"
	# the same config, numbering, SentencePiece models and marian.*
	"$PY" - "$t/f.model" "$t/ft.model" <<'PY'
import json, struct, sys
def read(path):
    blob = open(path, "rb").read()
    n, = struct.unpack("<Q", blob[:8])
    h = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    t = {k: data[v["data_offsets"][0]:v["data_offsets"][1]]
         for k, v in h.items() if k != "__metadata__"}
    return h["__metadata__"], t
ma, ta = read(sys.argv[1])
mb, tb = read(sys.argv[2])
for k in ("vocab.source", "vocab.target", "spm.source", "spm.target"):
    assert ta[k] == tb[k], k
for k in ma:
    if k not in ("model_id", "provenance"):
        assert mb.get(k) == ma[k], (k, ma[k], mb.get(k))
assert any(ta[k] != tb[k] for k in ta if not k.startswith(("vocab", "spm")))
assert mb["provenance"].endswith("fine-tuned from: " + ma["provenance"])
PY
	# train's loss on two pairs (a step at lr 0, then validation) equals
	# decode --score's on the fine-tuned model: the same source ids (with
	# </s>) and target ids, here from the release's own files
	head -n 2 "$t/ft.src" > "$t/v.src"
	head -n 2 "$t/ft.tgt" > "$t/v.tgt"
	train --init "$t/ft.model" --src "$t/ft.src" --tgt "$t/ft.tgt" \
	    --valid-src "$t/v.src" --valid-tgt "$t/v.tgt" --max-steps 1 --lr 0 \
	    --warmup 0 --dropout 0 --valid-every 1 --valid-bleu-lines 0 -t 1 \
	    -q -o "$t/z.model" --log "$t/z.log"
	(cd "$t" && unzip -q -o "$d/f.zip" '*.vocab.yml' target.spm)
	spm_encode --model "$t/target.spm" --output_format=piece < "$t/v.tgt" |
	    "$PY" -c 'import sys, yaml
v = yaml.load(open(sys.argv[1]), Loader=yaml.BaseLoader)
for line in sys.stdin:
    print(" ".join(v.get(p, v["<unk>"]) for p in line.split()))' \
	    "$(ls "$t"/*.vocab.yml)" > "$t/v.tgt.ids"
	tokenize -m "$t/ft.model" "$t/v.src" | encode |
	    decode --score "$t/v.tgt.ids" | seqcat |
	    awk '$1 == "T" { s += $4; n += NF - 3 } END { printf "%.6f\n", -s / n }' > "$t/score"
	run -0 awk -F'\t' -v s="$(cat "$t/score")" 'NR == 2 { d = $7 - s; if (d < 0) d = -d
	    print $7, s, d; exit !(d < 1e-4) }' "$t/z.log"
	echo "$output"
}

@test "Hugging Face: a missing tensor, a shape against config.json, a bad header, pytorch_model.bin alone" {
	mk hmiss --hf --drop model.decoder.layers.1.encoder_attn.k_proj.weight
	refused 'model.safetensors: missing tensor model.decoder.layers.1.encoder_attn.k_proj.weight$' hmiss
	mk hshape --hf --hf-config encoder_ffn_dim=64 --hf-config decoder_ffn_dim=64
	refused 'model.encoder.layers.0.fc1.weight: shape \(32, 16\), config.json implies \(64, 16\)$' hshape
	mk hhdr --hf --hf-bad-header
	refused 'model.safetensors: data_offsets \[[0-9]+, [0-9]+\] outside the data area .*\(tensor model.encoder.layers.0.fc1.bias\)$' hhdr
	mk hpt --hf --hf-pytorch
	refused 'only pytorch_model.bin, a PyTorch pickle, which is not read' hpt
	mk hpos --hf --hf-positions bad
	refused 'model.encoder.embed_positions.weight: row 3 is not Hugging Face.s sinusoid' hpos
}

@test "Hugging Face: unsupported configs are refused by name" {
	mk hbart --hf --hf-config 'model_type="bart"'
	refused "config.json: model_type 'bart' is not supported \(only marian" hbart
	mk hsep --hf --hf-config share_encoder_decoder_embeddings=false
	refused 'separate source and target vocabularies' hsep
	mk hact --hf --hf-config 'activation_function="gelu_new"'
	refused "activation_function 'gelu_new' is not supported" hact
	mk hnod --hf --hf-config d_model=null
	refused 'config.json: d_model is not an integer' hnod
}
