#!/usr/bin/env bats
# float32 matrices stored in the kernels' panel layout (seqimport
# --panels; seqpipe-model.5): the tables stay rows; the weights are the
# float32 file's, read back as rows by seqimport and by PyTorch; the
# engine multiplies by them as they are, close to the rows' outputs, and
# where libxsmm has no kernels (LIBXSMM_TARGET=sse4) makes rows of them
# and gives the rows' outputs to the bit; bad panels are refused.
load helper
load engine
bats_require_minimum_version 1.5.0

setup_file() {
	engine_setup_file
	engine_store panels --panels
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# same_tensors A B: the two model files hold the same tensors, byte for
# byte (names, dtypes, shapes, data), whatever their headers' metadata
same_tensors() {
	"$PY" - "$1" "$2" <<'PY'
import json, struct, sys
def tensors(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    h = json.loads(blob[8:8 + n])
    h.pop("__metadata__")
    d = blob[8 + n:]
    return {k: (v["dtype"], v["shape"], d[slice(*v["data_offsets"])])
            for k, v in h.items()}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
bad = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
sys.exit("differ: %s" % bad[:3] if bad else 0)
PY
}

@test "seqimport --panels: the matrices multiplied by in panels, the tables only looked up by rows, the float32 file's id; rows again, the same tensors" {
	local c
	for c in paper marian copy; do
		header "$REF/$c.panels" > p.json
		header "$REF/$c.sq" > f.json
		"$PY" - p.json f.json <<'PY' || fail "$c: header"
import json, re, sys
p = json.load(open(sys.argv[1]))
f = json.load(open(sys.argv[2]))
pm, fm = p.pop("__metadata__"), f.pop("__metadata__")
assert set(p) == set(f)
n = 0
# the linear layers' matrices and the table the output projection is
# tied to; not the other tables, positions, norms, biases, or the copy
# gate's (1, 2 D) vector of weights
out_table = ("encoder" if fm["tie_src_tgt"] == "1" else "decoder") + \
    ".embed_tokens.weight" if fm["tie_output"] == "1" else None
for k, v in f.items():
    if len(v["shape"]) != 2 or not (k == out_table or re.search(
            r"(proj|projection|fc1|fc2)\.weight$", k)):
        assert p[k] == dict(p[k], shape=v["shape"], dtype=v["dtype"]), k
        continue
    N, K = v["shape"]
    assert p[k]["dtype"] == "F32" and p[k]["shape"] == [-(-N // 64), K, 64], \
        (k, p[k]["shape"])
    n += 1
assert n > 10, n
assert out_table is None or len(p[out_table]["shape"]) == 3, out_table
assert pm["model_id"] == fm["model_id"], pm["model_id"]
assert pm["provenance"].endswith("--dtype f32 --panels"), pm["provenance"]
PY
		seqimport -q -o back.sq "$REF/$c.panels"
		seqimport -q -o again.sq "$REF/$c.sq"
		same_tensors back.sq again.sq || fail "$c: rows again"
	done
}

@test "PyTorch's loader (seqpipe_torch) reads panels as the matrices they hold" {
	"$PY" - "$SRCDIR/scripts" "$REF/marian.panels" "$REF/marian.sq" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import seqpipe_torch, torch
a = seqpipe_torch.load(sys.argv[2]).state_dict()
b = seqpipe_torch.load(sys.argv[3]).state_dict()
assert a.keys() == b.keys()
bad = [k for k in b if not torch.equal(a[k], b[k])]
assert not bad, bad[:3]
PY
}

@test "without libxsmm's kernels, panels are made rows at load: the rows' outputs to the bit" {
	local c p
	export LIBXSMM_TARGET=sse4
	for c in paper marian copy; do
		encode -m "$REF/$c.panels" "$REF/src.txt" 2>/dev/null > p.mem
		encode -m "$REF/$c.sq" "$REF/src.txt" 2>/dev/null > r.mem
		cmp <(seqcat p.mem) <(seqcat r.mem) || fail "$c: encode"
		for p in "decode --scores" "beamsearch -k 4 -n 2 --scores"; do
			$p -m "$REF/$c.panels" p.mem | seqcat > p.out
			$p -m "$REF/$c.sq" r.mem | seqcat > r.out
			cmp p.out r.out || fail "$c: $p"
		done
	done
}

@test "panels quantized or rounded at load give the rows' int8 and F16 outputs to the bit" {
	local c d
	for c in paper marian copy; do
		for d in int8 f16; do
			encode -m "$REF/$c.panels" --dtype $d "$REF/src.txt" \
			    2>/dev/null | seqcat > p.mem
			encode -m "$REF/$c.sq" --dtype $d "$REF/src.txt" \
			    2>/dev/null | seqcat > r.mem
			cmp p.mem r.mem || fail "$c: --dtype $d"
		done
	done
}

# The kernels sum in another order than OpenBLAS and the row kernel, so
# the outputs move in their last bits: the encoders agree to 1e-4, and
# the rows' greedy outputs, scored with the panels, to 1e-4 a token.
@test "with the kernels, panels give outputs close to the rows'" {
	local c
	for c in paper marian copy; do
		encode -m "$REF/$c.panels" --text "$REF/src.txt" > p.enc 2>/dev/null
		encode -m "$REF/$c.sq" --text "$REF/src.txt" > r.enc 2>/dev/null
		numcmp 1e-4 r.enc p.enc || fail "$c: encoder"
		encode -m "$REF/$c.sq" "$REF/src.txt" 2>/dev/null > r.mem
		decode --text r.mem > r.ids
		decode -q --scores --score r.ids r.mem | seqcat > r.score
		decode -q -m "$REF/$c.panels" --scores --score r.ids r.mem |
		    seqcat > p.score
		numcmp 1e-4 r.score p.score || fail "$c: scores"
		beamsearch -k 4 -m "$REF/$c.panels" --batch-size 1 r.mem \
		    > /dev/null || fail "$c: beamsearch"
	done
}

# broken NAME EDIT: $BASE (default $REF/paper.panels) with EDIT (Python
# on header h) applied, as NAME.sq
broken() {
	"$PY" - "${BASE:-$REF/paper.panels}" "$1.sq" "$2" <<'PY'
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
h, d = json.loads(blob[8:8 + n]), blob[8 + n:]
W = "encoder.layers.0.fc1.weight"
exec(sys.argv[3])
j = json.dumps(h).encode()
j += b" " * (-(8 + len(j)) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + d)
PY
}

@test "panels misshapen or holding a table are refused; --panels is for float32 only" {
	broken shape 'h[W]["shape"] = [2, h[W]["shape"][1] // 2, 64]'
	run -1 --separate-stderr encode -m shape.sq <<< 1
	[[ "$stderr" =~ ^encode:\ shape.sq:\ .*shape\ \(2,\ 16,\ 64\),\ the\ config\ implies\ \(1,\ 32,\ 64\)\ \(tensor\ encoder.layers.0.fc1.weight\)$ ]] ||
	    fail "$stderr"
	# prenorm-gelu's source table is only looked up: it must be by rows
	seqimport -q --panels -o pg.panels "$REF/prenorm-gelu.sq"
	BASE=pg.panels broken table 'e = h["encoder.embed_tokens.weight"]; e["shape"] = e["shape"] + [1]'
	run -1 --separate-stderr encode -m table.sq <<< 1
	[[ "$stderr" == "encode: table.sq: an embedding table not tied to the output projection cannot be stored in float32 panels (tensor encoder.embed_tokens.weight)" ]] ||
	    fail "$stderr"
	run -2 --separate-stderr seqimport --panels --dtype int8 -o x.sq "$REF/paper.sq"
	[[ "$stderr" == "seqimport: --panels: for --dtype f32 only"* ]] ||
	    fail "$stderr"
	[ ! -e x.sq ]
}
