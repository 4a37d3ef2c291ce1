# The reversal task of tests/train.bats, tests/mrt.bats and tests/rnn.bats:
# lines of 3 to 7 letters from a-h, reversed, in
# DIR/{train,valid,test}.{src,tgt} (3000, 40 and 60 pairs), with
# word-level SentencePiece models (one piece per letter) made by spm_train
# in DIR/letters.model.
reversal_task() {
	"$PY" - "$1" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(5)
def lines(n):
    out = []
    for _ in range(n):
        w = [r.choice("abcdefgh") for _ in range(r.randint(3, 7))]
        out.append((" ".join(w), " ".join(reversed(w))))
    return out
for name, n in (("train", 3000), ("valid", 40), ("test", 60)):
    pairs = lines(n)
    with open("%s/%s.src" % (d, name), "w") as f:
        f.write("".join(s + "\n" for s, _ in pairs))
    with open("%s/%s.tgt" % (d, name), "w") as f:
        f.write("".join(t + "\n" for _, t in pairs))
PY
	spm_train --input="$1/train.src" --model_prefix="$1/letters" \
	    --model_type=word --vocab_size=12 --hard_vocab_limit=false \
	    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 \
	    --minloglevel=2 > /dev/null 2>&1
}

tiny() {	# the settings of a tiny model that learns the task fast ($TD)
	echo --src-spm "$TD/letters.model" --tgt-spm "$TD/letters.model" \
	    --d-model 32 --heads 2 --ffn 64 --layers 2 --max-positions 32 \
	    --max-tokens 400 --lr 0.005 --warmup 100 --dropout 0 \
	    --label-smoothing 0 --seed 3 -t 1 --progress log
}
