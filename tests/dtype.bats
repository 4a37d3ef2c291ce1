#!/usr/bin/env bats
# Weights in int8 and F16 (--dtype; seqpipe-model.5's quantized weights):
# seqimport --dtype writes them; encode and greedy decode compute what
# PyTorch computes on the weights they stand for (tests/engine_ref.py
# --model: float32 on the widened F16 weights; int8 products with int8
# activations, as lib/nn/i8gemm.h defines them); quantizing at
# load gives the stored int8 model's outputs to the bit; int8 outputs
# are close to float32's but not equal; bad int8 files are refused.
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	engine_setup_file
	engine_store int8 --dtype int8
	engine_store f16 --dtype f16
	local c
	for c in paper marian copy; do
		"$PY" "$SRCDIR/tests/engine_ref.py" --model "$REF/$c.int8" \
		    "$REF/src.txt" "$REF/$c.int8"
		"$PY" "$SRCDIR/tests/engine_ref.py" --model "$REF/$c.f16" \
		    "$REF/src.txt" "$REF/$c.f16"
	done
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "seqimport --dtype int8: I8 matrices and F32 scales, packed where multiplied, a byte a weight, its own id" {
	header "$REF/paper.int8" > h.json
	header "$REF/paper.sq" > f.json
	"$PY" - h.json f.json "$REF/paper.int8" "$REF/paper.sq" <<'PY' || fail "header"
import json, os, struct, sys
h = json.load(open(sys.argv[1]))
f = json.load(open(sys.argv[2]))
meta = h.pop("__metadata__")
i8 = [k for k, v in h.items() if v["dtype"] == "I8"]
assert i8 and all(k.endswith(".weight") and h[k + "_scale"]["dtype"] == "F32"
                  and h[k + "_scale"]["shape"] == f[k]["shape"][:1] for k in i8), i8
# every 2-D tensor but positions is a matrix the engine multiplies by or
# looks rows up in
assert set(i8) == {k for k, v in f.items() if k != "__metadata__"
                   and len(v["shape"]) == 2 and "positions" not in k}, i8
# the tables only looked up by row stay (N, K); the others, the table
# the output projection is tied to among them, are packed in blocks of
# 16 rows by groups of 4 columns, padded
out_table = ("encoder" if meta["tie_src_tgt"] == "1" else "decoder") + \
    ".embed_tokens.weight" if meta["tie_output"] == "1" else None
for k in i8:
    N, K = f[k]["shape"]
    by_rows = "embed_tokens" in k and k != out_table
    want = [N, K] if by_rows else [-(-N // 16), -(-K // 4), 16, 4]
    assert h[k]["shape"] == want, (k, h[k]["shape"], want)
assert out_table in i8 and len(h[out_table]["shape"]) == 4
assert meta["model_id"].endswith("-int8"), meta["model_id"]
assert meta["provenance"].endswith("--dtype int8"), meta["provenance"]
# the data: the float32 file's less its matrices' 4 bytes a weight, plus
# a byte for each stored int8 (the padding too), plus 4 a row's scale
def data(path):
    with open(path, "rb") as fh:
        return os.path.getsize(path) - 8 - struct.unpack("<Q", fh.read(8))[0]
def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n
weights = sum(numel(f[k]["shape"]) for k in i8)
stored = sum(numel(h[k]["shape"]) for k in i8)
rows = sum(f[k]["shape"][0] for k in i8)
assert data(sys.argv[3]) == data(sys.argv[4]) - 4 * weights + stored + 4 * rows, \
    (data(sys.argv[3]), data(sys.argv[4]), weights, stored, rows)
PY
	# and back: float32 again, the id's ending replaced, not added to
	run -0 seqimport --dtype f32 -o back.sq "$REF/paper.int8"
	header back.sq > back.json
	grep -q '"model_id": *"paper-test-11-f32"' back.json ||
	    fail "$(grep -o '"model_id": *"[^"]*"' back.json)"
	[ "$(grep -c '"I8"' back.json)" -eq 0 ] || fail "I8 left in back.sq"
}

@test "F16 weights: PyTorch's encoder and greedy outputs on the weights they stand for" {
	local c
	for c in paper marian copy; do
		encode -m "$REF/$c.f16" --dtype f16 --text "$REF/src.txt" \
		    > enc 2>/dev/null
		numcmp 1e-4 "$REF/$c.f16.enc" enc || fail "$c: encoder"
		encode -m "$REF/$c.f16" --dtype f16 "$REF/src.txt" 2>/dev/null |
		    decode --dtype f16 --scores | seqcat > dec
		numcmp 1e-4 <(cut -d'|' -f2 "$REF/$c.f16.greedy") \
		    <(cut -d'|' -f2 dec) || fail "$c: token log-probs"
		numcmp 1e-3 <(cut -d'|' -f1 "$REF/$c.f16.greedy") \
		    <(cut -d'|' -f1 dec) || fail "$c: ids or score"
	done
}

# int8 products quantize the activations too (lib/nn/i8gemm.h), and so
# does the reference (seqpipe_torch.int8_linear).  The encoders agree to
# 1e-4 (1e-6 measured).  In decoding, a last-bit difference upstream
# sometimes rounds an activation the other way, and the rest of that
# sentence moves by up to hundredths.  So the reference's greedy outputs
# are scored by the engine (the same ids), and most sentences must have
# every token log-prob within 1e-4: measured 36 to 39 of 40, under
# OpenBLAS's Haswell and Cooperlake kernels (their random weights
# differ), every log-prob within 0.073; against a reference without
# quantized activations 1 or 2 of 40.
@test "int8 weights: PyTorch's encoder and greedy outputs with int8 activations" {
	local c same
	for c in paper marian copy; do
		encode -m "$REF/$c.int8" --text "$REF/src.txt" > enc 2>/dev/null
		numcmp 1e-4 "$REF/$c.int8.enc" enc || fail "$c: encoder"
		cut -d'|' -f1 "$REF/$c.int8.greedy" | cut -d' ' -f5- |
		    sed 's/ *$//' > ref.ids
		encode -m "$REF/$c.int8" "$REF/src.txt" 2>/dev/null > mem
		decode -q --scores --score ref.ids mem | seqcat > scored
		lines_close 30 1e-4 0.25 <(cut -d'|' -f2 "$REF/$c.int8.greedy") \
		    <(cut -d'|' -f2 scored) || fail "$c: token log-probs"
		# the engine's own greedy search: the reference's ids but for
		# a few of the 40 sentences (measured: 39 or 40)
		decode --text mem > ids
		same=$(paste -d'#' ref.ids ids | awk -F'#' '$1 == $2' | wc -l)
		[ "$same" -ge 36 ] || fail "$c: $same of 40 greedy outputs the reference's"
	done
}

@test "a model stored in int8 runs in int8; quantized at load, a float32 model gives its outputs to the bit" {
	local c p
	for c in paper marian copy; do
		encode -m "$REF/$c.int8" "$REF/src.txt" 2>/dev/null > stored.mem
		encode -m "$REF/$c.sq" --dtype int8 "$REF/src.txt" 2>/dev/null > loaded.mem
		cmp <(seqcat stored.mem) <(seqcat loaded.mem) || fail "$c: encode"
		for p in "decode --scores" "beamsearch -k 4 -n 2 --scores"; do
			$p stored.mem | seqcat > stored.out
			$p --dtype int8 -m "$REF/$c.sq" loaded.mem | seqcat > loaded.out
			cmp stored.out loaded.out || fail "$c: $p"
		done
	done
}

# by_rows IN OUT: the int8 model IN with its packed matrices stored by
# rows, (N, K), as files before the packed layout (and other writers)
# store them: in place, the rest of each packed tensor left as a gap
by_rows() {
	"$PY" - "$1" "$2" <<'PY'
import json, struct, sys
import numpy as np
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
h, d = json.loads(blob[8:8 + n]), bytearray(blob[8 + n:])
for k, v in h.items():
    if k == "__metadata__" or v["dtype"] != "I8" or len(v["shape"]) != 4:
        continue
    b, e = v["data_offsets"]
    p = np.frombuffer(bytes(d[b:e]), np.int8).reshape(v["shape"])
    nb, ng, block, four = v["shape"]
    q = p.transpose(0, 2, 1, 3).reshape(nb * block, ng * four)
    q = q[:h[k + "_scale"]["shape"][0]]
    d[b:b + q.size] = q.tobytes()
    v["shape"], v["data_offsets"] = list(q.shape), [b, b + q.size]
j = json.dumps(h).encode()
j += b" " * (-(8 + len(j)) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + bytes(d))
PY
}

@test "int8 matrices stored by rows or packed: the same outputs to the bit, the same weights back in float32 and F16" {
	local c p d
	for c in paper marian copy; do
		by_rows "$REF/$c.int8" rows.sq
		header rows.sq | grep -q '"shape": \[[0-9]*, [0-9]*, 16, 4\]' &&
		    fail "$c: a packed matrix left"
		encode -m "$REF/$c.int8" "$REF/src.txt" 2>/dev/null > packed.mem
		encode -m rows.sq "$REF/src.txt" 2>/dev/null > rows.mem
		cmp <(seqcat packed.mem) <(seqcat rows.mem) || fail "$c: encode"
		for p in "decode --scores" "beamsearch -k 4 -n 2 --scores"; do
			$p packed.mem | seqcat > packed.out
			$p -m rows.sq rows.mem | seqcat > rows.out
			cmp packed.out rows.out || fail "$c: $p"
		done
		# unpacked at load: every weight as it stands for
		for d in f32 f16; do
			seqimport -q --dtype $d -o packed.$d "$REF/$c.int8"
			seqimport -q --dtype $d -o rows.$d rows.sq
			cmp packed.$d rows.$d || fail "$c: seqimport --dtype $d"
			encode -m "$REF/$c.int8" --dtype $d "$REF/src.txt" \
			    2>/dev/null | seqcat > packed.mem
			encode -m rows.sq --dtype $d "$REF/src.txt" 2>/dev/null |
			    seqcat > rows.mem
			cmp packed.mem rows.mem || fail "$c: encode --dtype $d"
		done
	done
}

@test "int8 outputs are close to float32's, not equal" {
	encode -m "$REF/paper.sq" --text "$REF/src.txt" > f32 2>/dev/null
	encode -m "$REF/paper.sq" --dtype int8 --text "$REF/src.txt" > i8 2>/dev/null
	if cmp -s f32 i8; then fail "int8 memory equals float32's"; fi
	# int8 moves each weight by up to 1/254 of its row's largest, about
	# 1% of its size on average with these random weights: the layers'
	# outputs (of size 1) move by hundredths
	numcmp 0.15 f32 i8 || fail "int8 memory far from float32's"
	# the float32 greedy outputs, scored in int8: log-probs close
	encode -m "$REF/paper.sq" "$REF/src.txt" 2>/dev/null > f32.mem
	decode --text f32.mem > f32.ids
	decode -q --scores --score f32.ids f32.mem | seqcat > f32.score
	decode -q --dtype int8 --scores --score f32.ids f32.mem | seqcat > i8.score
	if cmp -s f32.score i8.score; then fail "int8 scores equal float32's"; fi
	numcmp 0.3 <(cut -d'|' -f2 f32.score) <(cut -d'|' -f2 i8.score) ||
	    fail "int8 token log-probs far from float32's"
}

@test "int8 outputs do not depend on the batch size or the thread count" {
	local b t
	encode -m "$REF/paper.int8" "$REF/src.txt" 2>/dev/null > m
	beamsearch -k 4 --text --batch-size 1 -t 1 m > ref
	for b in 3 32; do
		for t in 1 2; do
			beamsearch -k 4 --text --batch-size $b -t $t m | cmp - ref ||
			    fail "--batch-size $b -t $t"
		done
	done
}

@test "--dtype: anything but f32, f16 and int8 is a usage error" {
	local p
	for p in encode decode beamsearch seqimport; do
		run -2 --separate-stderr "$p" --dtype int4
		[[ "$stderr" == "$p: --dtype: 'int4' is not f32, f16 or int8"* ]] ||
		    fail "$p: $stderr"
	done
}

# broken NAME EDIT: $BASE (default $REF/paper.int8) with EDIT (Python on
# header h and data bytearray d) applied, as NAME.sq
broken() {
	"$PY" - "${BASE:-$REF/paper.int8}" "$1.sq" "$2" <<'PY'
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
h, d = json.loads(blob[8:8 + n]), bytearray(blob[8 + n:])
W = "encoder.layers.0.fc1.weight"
exec(sys.argv[3])
j = json.dumps(h).encode()
j += b" " * (-(8 + len(j)) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + bytes(d))
PY
}

# refused NAME REGEX: encode -m NAME.sq exits 1, one line matching
refused() {
	run -1 --separate-stderr encode -m "$1.sq" <<< 1
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "$stderr"
	[[ "$stderr" =~ ^encode:\ $1.sq:\ $2 ]] || fail "$stderr"
}

@test "int8 files: scales missing, not finite or misshapen, I8 where float is needed, packed matrices misshapen or only looked up, are refused" {
	broken no-scale 'del h[W + "_scale"]'
	refused no-scale 'missing \(tensor encoder.layers.0.fc1.weight_scale\)$'
	broken nan-scale 'b = h[W + "_scale"]["data_offsets"][0] + 4 * 5; d[b:b + 4] = struct.pack("<f", float("nan"))'
	refused nan-scale 'row 5: scale nan is not a finite number >= 0 \(tensor encoder.layers.0.fc1.weight_scale\)$'
	broken neg-scale 'b = h[W + "_scale"]["data_offsets"][0]; d[b:b + 4] = struct.pack("<f", -1.0)'
	refused neg-scale 'row 0: scale -1 is not a finite number >= 0'
	broken short-scale 'e = h[W + "_scale"]; e["shape"] = [e["shape"][0] - 1]; e["data_offsets"][1] -= 4'
	refused short-scale 'shape \([0-9]+\), the config implies \([0-9]+\) \(tensor encoder.layers.0.fc1.weight_scale\)$'
	broken i8-norm 'e = h["encoder.layers.0.final_layer_norm.weight"]; e["dtype"] = "I8"; e["data_offsets"][1] = e["data_offsets"][0] + e["shape"][0]'
	refused i8-norm 'dtype I8, expected F32 \(tensor encoder.layers.0.final_layer_norm.weight\)$'
	broken packed-shape 'h[W]["shape"][2] = 8; h[W]["shape"][0] *= 2'
	refused packed-shape 'shape \(8, 8, 8, 4\), the config implies \(4, 8, 16, 4\) \(tensor encoder.layers.0.fc1.weight\)$'
	# prenorm-gelu's source table is only looked up: it must be by rows
	seqimport -q --dtype int8 -o pg.int8 "$REF/prenorm-gelu.sq"
	BASE=pg.int8 broken packed-table 'e = h["encoder.embed_tokens.weight"]; e["shape"] = [e["shape"][0] // 16, e["shape"][1] // 4, 16, 4]'
	refused packed-table 'an embedding table not tied to the output projection cannot be stored in the packed int8 layout \(tensor encoder.embed_tokens.weight\)$'
	broken extra-scale 'h["encoder.layers.0.fc1.bias_scale"] = {"dtype": "F32", "shape": [1], "data_offsets": [len(d), len(d) + 4]}; d += bytes(4)'
	refused extra-scale 'unexpected tensor .*\(tensor encoder.layers.0.fc1.bias_scale\)$'
}

# peak_kb CMD...: the peak resident set of CMD, in kB (GNU time)
peak_kb() {
	/usr/bin/time -f %M -o peak "$@" > /dev/null || return 1
	tail -n 1 peak
}

@test "tokenize and detok read an F16, int8 or float32-panels model file without converting its weights" {
	load reversal
	reversal_task .
	# 15 M weights: 59 MB in float32, 30 MB in F16, 15 MB in int8
	train --src-spm letters.model --tgt-spm letters.model --d-model 512 \
	    --heads 8 --ffn 2048 --layers 2 --max-positions 32 \
	    --src train.src --tgt train.tgt --max-steps 1 --f16 -t 1 \
	    --progress log -o f16.model 2>/dev/null
	seqimport -q --dtype int8 -o int8.model f16.model
	seqimport -q --dtype f32 -o f32.model f16.model
	seqimport -q --panels -o panels.model f16.model
	echo "a b c" > in.txt
	echo "4 5 6" > in.ids
	local d p base rss
	for p in "tokenize -m M in.txt" "detok -m M in.ids"; do
		# a float32 file's weights are mapped, never read: the baseline
		base=$(peak_kb ${p/M/f32.model}) || fail "$p f32"
		for d in f16 int8 panels; do
			rss=$(peak_kb ${p/M/$d.model}) || fail "$p $d"
			echo "$p: $d $rss kB, f32 $base kB"
			# converted, the weights would take 59 MB more
			[ "$rss" -lt $((base + 15000)) ] || fail "$p $d: $rss kB"
		done
	done
}
