#!/usr/bin/env bats
# Guided attention (train --guided-attention) and monotonic decoding on a
# tiny monotonic task: each symbol said twice ("c a b" -> "c c a a b b").
# The off-diagonal mass of the cross-attention is measured here, from the
# alignments decode --score --alignment writes for the references, with
# the guide written from its formula (man/train.1); guidance must bring it
# down by a clear margin.  scripts/monotonic-task measures the same task
# at a larger scale (error rates on short inputs).
load helper
bats_require_minimum_version 1.5.0

setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	"$PY" - "$TD" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(7)
def pairs(lengths, n):
    out = []
    for _ in range(n):
        w = [r.choice("abcdef") for _ in range(r.choice(lengths))]
        out.append((" ".join(w), " ".join(c + " " + c for c in w)))
    return out
for name, lengths, n in (("train", range(3, 9), 2000),
                         ("test", range(3, 9), 60)):
    ps = pairs(lengths, n)
    for side, k in (("src", 0), ("tgt", 1)):
        with open("%s/%s.%s" % (d, name, side), "w") as f:
            f.write("".join(p[k] + "\n" for p in ps))
PY
	spm_train --input="$TD/train.src" --model_prefix="$TD/sym" \
	    --model_type=word --vocab_size=10 --hard_vocab_limit=false \
	    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 \
	    --minloglevel=2 > /dev/null 2>&1
}

setup() {
	cd "$BATS_TEST_TMPDIR"
}

tiny() {	# a tiny model of the task, one thread: the same numbers anywhere
	echo --src-spm "$TD/sym.model" --tgt-spm "$TD/sym.model" \
	    --d-model 32 --heads 2 --ffn 64 --layers 2 --max-positions 32 \
	    --max-tokens 300 --lr 0.005 --warmup 50 --dropout 0 \
	    --label-smoothing 0 --seed 3 -t 1 --progress log \
	    --src "$TD/train.src" --tgt "$TD/train.tgt" --max-epochs 0
}

# offdiag MODEL: the mean over target tokens of the test references of
# sum_j A[i,j] (1 - exp(-(j/S - i/T)^2 / (2 0.2^2))), A the alignment
# decode gives when it scores the reference (T = tokens + 1, EOS's row
# has no alignment: what train's penalty counts for rows 0 .. T-2)
offdiag() {
	tokenize -m "$1" < "$TD/test.tgt" > tgt.tok
	tokenize -m "$1" < "$TD/test.src" | encode |
	    decode --score tgt.tok --alignment | seqcat |
	    awk '$1 == "A" {
		T = $4 + 1; S = $5
		for (i = 0; i < $4; i++)
			for (j = 0; j < S; j++) {
				d = j / S - i / T
				sum += $(6 + i * S + j) * (1 - exp(-d * d / 0.08))
			}
		n += $4 }
	    END { printf "%.4f\n", sum / n }'
}

@test "--guided-attention brings the off-diagonal attention down, and logs its penalty" {
	train $(tiny) --max-steps 200 -o plain.model 2> plain.log
	run -0 --separate-stderr train $(tiny) --max-steps 200 \
	    --guided-attention 1 --log-every 50 -o guided.model
	[[ "$stderr" == *"train: step 50/200 epoch 1 loss "*" guide 0."*" lr "* ]] ||
		fail "$stderr"
	# the log: a last column, guide, whose value falls
	[ "$(head -n 1 guided.model.log.tsv | cut -f10)" = guide ]
	[ "$(head -n 1 plain.model.log.tsv | cut -f10)" = "" ]
	awk -F '\t' 'NR == 2 { first = $10 } END { exit !($10 < first) }' \
	    guided.model.log.tsv || fail "$(cut -f10 guided.model.log.tsv)"
	plain=$(offdiag plain.model)
	guided=$(offdiag guided.model)
	echo "off-diagonal mass: plain $plain, guided $guided"
	awk -v p="$plain" -v g="$guided" 'BEGIN { exit !(g < p / 2) }'
}

@test "--guided-attention 0 is the plain training, bit for bit" {
	train $(tiny) --max-steps 20 -o a.model
	train $(tiny) --max-steps 20 --guided-attention 0 \
	    --guided-attention-width 0.5 -o b.model
	# the weights (the model ids differ with the settings)
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import numpy as np
import seqpipe_torch as sq
a, _ = sq.read_safetensors("a.model")
b, _ = sq.read_safetensors("b.model")
assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
PY
}

@test "--resume: the weight must be the checkpoint's; a checkpoint without the settings means their defaults" {
	train $(tiny) --max-steps 10 --save-every 5 --guided-attention 0.5 \
	    -o r.model
	run -1 --separate-stderr train $(tiny) --max-steps 20 --save-every 5 \
	    --guided-attention 1 -o r.model --resume
	[[ "$stderr" == *"--resume with other settings"*"(guided-attention)"* ]]
	run -0 train $(tiny) --max-steps 20 --guided-attention 0.5 -o r.model \
	    --resume
	# a checkpoint of a version without them: as if at 0 and 0.2
	train $(tiny) --max-steps 10 --save-every 5 -o old.model
	"$PY" - <<'PY'
import sys, os
sys.path.insert(0, os.environ["SRCDIR"] + "/scripts")
import seqpipe_torch as sq
t, meta = sq.read_safetensors("old.model.ckpt")
lines = meta["train.options"].splitlines(True)
kept = [l for l in lines if not l.startswith("guided-attention")]
assert len(kept) == len(lines) - 2, lines
meta["train.options"] = "".join(kept)
sq.write_safetensors("old.model.ckpt", t, meta)
PY
	run -1 --separate-stderr train $(tiny) --max-steps 20 \
	    --guided-attention 1 -o old.model --resume
	[[ "$stderr" == *"(guided-attention)"* ]]
	run -0 train $(tiny) --max-steps 20 -o old.model --resume
}
