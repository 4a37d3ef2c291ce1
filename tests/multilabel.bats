#!/usr/bin/env bats
# Multi-label classification as seq2seq (issue 10 §7): the target is a set
# of labels, sorted, and the decoder decides how many to write.  A tiny
# synthetic task (each label has its trigger words; a sentence holds the
# triggers of one to three labels among filler words) is learnt through
# the ordinary programs; scripts/debtags, the demonstration on Debian's
# package tags, runs end to end on a made-up Packages file.
load helper
bats_require_minimum_version 1.5.0

setup_file() {
	export TD="$BATS_FILE_TMPDIR"
	"$PY" - "$TD" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(7)
labels = {"alpha": "ant ape asp", "beta": "bee bat boa",
          "gamma": "cat cod cow", "delta": "doe dog dab"}
filler = "the a of and to in is on".split()
def example():
    chosen = r.sample(sorted(labels), r.randint(1, 3))
    words = [r.choice(labels[l].split()) for l in chosen]
    words += [r.choice(filler) for _ in range(r.randint(2, 4))]
    r.shuffle(words)
    return " ".join(words), " ".join(sorted(chosen))
for name, n in (("train", 2000), ("test", 60)):
    pairs = [example() for _ in range(n)]
    open("%s/%s.src" % (d, name), "w").write("".join(s + "\n" for s, _ in pairs))
    open("%s/%s.tgt" % (d, name), "w").write("".join(t + "\n" for _, t in pairs))
# the same task as a Packages file: descriptions, and Tag: fields that
# wrap onto continuation lines as apt's lists do
with open("%s/Packages" % d, "w") as f:
    for i in range(400):
        desc, tags = example()
        tags = ["group::" + t for t in tags.split()]
        f.write("Package: pkg%d\nVersion: 1.0\nTag: %s\n"
                % (i, ",\n ".join(tags)))
        f.write("Description: %s\n\n" % desc)
PY
	for side in src tgt; do
		spm_train --input="$TD/train.$side" --model_prefix="$TD/$side" \
		    --model_type=word --vocab_size=40 --hard_vocab_limit=false \
		    --pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 \
		    --minloglevel=2 > /dev/null 2>&1
	done
}

@test "label sets are learnt: the right labels, and as many as given" {
	cd "$BATS_TEST_TMPDIR"
	run -0 train --src-spm "$TD/src.model" --tgt-spm "$TD/tgt.model" \
	    --no-shared-vocab --no-tie-embeddings --d-model 32 --heads 2 \
	    --ffn 64 --layers 2 --max-positions 32 --max-tokens 400 \
	    --lr 0.005 --warmup 100 --dropout 0 --label-smoothing 0 --seed 3 \
	    -t 1 --progress log --src "$TD/train.src" --tgt "$TD/train.tgt" \
	    --max-steps 800 --max-epochs 0 -o ml.model
	tokenize -m ml.model < "$TD/test.src" | encode | beamsearch -k 4 |
	    detok > out
	[ "$(wc -l < out)" -eq 60 ]
	exact=$(paste -d'\t' out "$TD/test.tgt" | awk -F'\t' '$1 == $2' | wc -l)
	count=$(paste -d'\t' out "$TD/test.tgt" |
	    awk -F'\t' 'split($1, a, " ") == split($2, b, " ")' | wc -l)
	echo "exact sets: $exact of 60, right number of labels: $count of 60"
	[ "$exact" -ge 57 ]
	[ "$count" -ge 57 ]
	# the sets differ in size: the decoder chose when to stop
	run -0 awk '{ n[NF]++ } END { print length(n) }' out
	[ "$output" -eq 3 ]
}

@test "scripts/debtags: from a Packages file to precision and recall" {
	cd "$BATS_TEST_TMPDIR"
	run -0 "$SRCDIR/scripts/debtags" --packages "$TD/Packages" \
	    --work dt --seconds 3 --test 40 --min-count 5
	# the continuation lines were read: four tags, 400 packages less
	# the descriptions seen twice
	[[ "${lines[0]}" =~ ^data:\ ([0-9]+)\ packages\ with\ tags\ \(4\ tags ]] || fail "${lines[0]}"
	[ "${BASH_REMATCH[1]}" -gt 300 ]
	[[ "$output" == *"seqpipe (beam 4)"* ]] || fail "$output"
	[[ "$output" == *"the commonest set"* ]] || fail "$output"
	[ "$(wc -l < dt/test.pred)" -eq 40 ]
}
