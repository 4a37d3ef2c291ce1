#!/usr/bin/env bats
# bleu against the reference sacrebleu 2.6.0.
#
# Golden files: tests/data/bleu/NAME.{out,err,rc} were produced by the real
# sacrebleu 2.6.0 (git tag v2.6.0 of github.com/mjpost/sacrebleu, run with
# Debian 12's python3 3.11 and python3-regex 2022.10.31) as
#     cd tests/data/bleu && env VARS python3 -m sacrebleu ARGUMENTS < STDIN \
#         > NAME.out 2> NAME.err; echo $? > NAME.rc
#     sed -i 's/^sacreBLEU: /bleu: /' NAME.err
# for each line "NAME STDIN [VARS] ARGUMENTS CHECK" of tests/data/bleu/cases
# (VARS: leading VAR=value words; see its header for CHECK).  The other expected values are sacrebleu's own
# published test values (test/test_bleu.py, test_chrf.py, test_api.py,
# test_sentence_bleu.py), cited at each test.
load helper
bats_require_minimum_version 1.5.0

D=$SRCDIR/tests/data/bleu

# golden NAME: run the case NAME of tests/data/bleu/cases
golden() {
	local line stdin args check
	line=$(grep "^$1	" "$D/cases") || fail "no case $1"
	IFS='	' read -r _ stdin args check <<<"$line"
	[ "$stdin" = - ] && stdin=/dev/null
	# leading VAR=value words are the environment
	local envs=()
	while [[ $args == [A-Z]*=* ]]; do
		envs+=("${args%% *}")
		args=${args#* }
	done
	cd "$D"
	# shellcheck disable=SC2086
	run --separate-stderr env "${envs[@]}" bleu $args < "$stdin"
	[ "$status" -eq "$(cat "$1.rc")" ] || fail "status $status, want $(cat "$1.rc"): $stderr"
	diff -u "$1.out" <(printf '%s\n' "$output" | sed '${/^$/d}') || fail "stdout differs"
	case $check in
	exact)	diff -u "$1.err" <(printf '%s\n' "$stderr" | sed '${/^$/d}') || fail "stderr differs" ;;
	first)	[ "${stderr%%$'\n'*}" = "$(head -1 "$1.err")" ] || fail "stderr: $stderr" ;;
	usage)	[[ $stderr == "bleu: "* ]] && [[ $stderr == *"usage: bleu"* ]] || fail "stderr: $stderr" ;;
	ours)	[[ $stderr == "bleu: "* ]] && [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "stderr: $stderr" ;;
	esac
}

@test "golden: mixed-json" { golden mixed-json; }
@test "golden: mixed-13a" { golden mixed-13a; }
@test "golden: mixed-intl" { golden mixed-intl; }
@test "golden: mixed-zh" { golden mixed-zh; }
@test "golden: mixed-char" { golden mixed-char; }
@test "golden: mixed-none" { golden mixed-none; }
@test "golden: mixed-lc" { golden mixed-lc; }
@test "golden: mixed-sl" { golden mixed-sl; }
@test "golden: mixed-sl-lc-intl" { golden mixed-sl-lc-intl; }
@test "golden: mixed-floor" { golden mixed-floor; }
@test "golden: mixed-floor-sl" { golden mixed-floor-sl; }
@test "golden: mixed-addk" { golden mixed-addk; }
@test "golden: mixed-addk-sl" { golden mixed-addk-sl; }
@test "golden: mixed-none-sl" { golden mixed-none-sl; }
@test "golden: mixed-short" { golden mixed-short; }
@test "golden: mixed-b" { golden mixed-b; }
@test "golden: mixed-w0" { golden mixed-w0; }
@test "golden: mixed-chrf" { golden mixed-chrf; }
@test "golden: mixed-chrfpp" { golden mixed-chrfpp; }
@test "golden: mixed-chrf-sl" { golden mixed-chrf-sl; }
@test "golden: mixed-chrf-opts" { golden mixed-chrf-opts; }
@test "golden: mixed-both" { golden mixed-both; }
@test "golden: mixed-both-text" { golden mixed-both-text; }
@test "golden: mixed-both-short" { golden mixed-both-short; }
@test "golden: mixed-both-b" { golden mixed-both-b; }
@test "golden: cjk-zh" { golden cjk-zh; }
@test "golden: cjk-zh-sl" { golden cjk-zh-sl; }
@test "golden: cjk-13a" { golden cjk-13a; }
@test "golden: cjk-intl-sl" { golden cjk-intl-sl; }
@test "golden: cjk-char" { golden cjk-char; }
@test "golden: cjk-chrf-sl" { golden cjk-chrf-sl; }
@test "golden: bom" { golden bom; }
@test "golden: bom-chrf" { golden bom-chrf; }
@test "golden: space" { golden space; }
@test "golden: space-chrf" { golden space-chrf; }
@test "golden: multi4" { golden multi4; }
@test "golden: multi5-sl" { golden multi5-sl; }
@test "golden: multi5-chrf" { golden multi5-chrf; }
@test "golden: multi-nr" { golden multi-nr; }
@test "golden: multi-nr-sl" { golden multi-nr-sl; }
@test "golden: long" { golden long; }
@test "golden: long-chrf" { golden long-chrf; }
@test "golden: tokenized" { golden tokenized; }
@test "golden: tokenized-force" { golden tokenized-force; }
@test "golden: tokenized-chrf" { golden tokenized-chrf; }
@test "golden: tokenized-sl" { golden tokenized-sl; }
@test "golden: oneword" { golden oneword; }
@test "golden: oneword-sl" { golden oneword-sl; }
@test "golden: cr-stdin" { golden cr-stdin; }
@test "golden: cr-file" { golden cr-file; }
@test "golden: nonl" { golden nonl; }
@test "golden: empty-stdin" { golden empty-stdin; }
@test "golden: empty-stdin-sl" { golden empty-stdin-sl; }
@test "golden: empty-blank" { golden empty-blank; }
@test "golden: empty-file" { golden empty-file; }
@test "golden: err-lengths" { golden err-lengths; }
@test "golden: err-lengths-stdin" { golden err-lengths-stdin; }
@test "golden: err-nr" { golden err-nr; }
@test "golden: err-nr-files" { golden err-nr-files; }
@test "golden: err-sl-metrics" { golden err-sl-metrics; }
@test "golden: err-norefs" { golden err-norefs; }
@test "golden: err-sl-metrics2" { golden err-sl-metrics2; }
@test "golden: err-bad-utf8" { golden err-bad-utf8; }
@test "golden: err-bad-utf8-ref" { golden err-bad-utf8-ref; }
@test "golden: err-ci-sl" { golden err-ci-sl; }
@test "golden: err-paired-both" { golden err-paired-both; }
@test "golden: format-env-latex" { golden format-env-latex; }
@test "golden: systems-none" { golden systems-none; }
@test "golden: paired-latex" { golden paired-latex; }
@test "golden: systems-latex" { golden systems-latex; }
@test "golden: err-fields" { golden err-fields; }
@test "golden: err-systems-same" { golden err-systems-same; }
@test "golden: err-paired-one" { golden err-paired-one; }
@test "golden: err-systems-ci" { golden err-systems-ci; }
@test "golden: err-systems-sl" { golden err-systems-sl; }
@test "golden: paired-baseline-twice" { golden paired-baseline-twice; }
@test "golden: paired-ar-quiet" { golden paired-ar-quiet; }
@test "golden: paired-ar-json" { golden paired-ar-json; }
@test "golden: paired-ar" { golden paired-ar; }
@test "golden: paired-bs-seed" { golden paired-bs-seed; }
@test "golden: paired-bs-stdin" { golden paired-bs-stdin; }
@test "golden: paired-bs-json" { golden paired-bs-json; }
@test "golden: paired-bs" { golden paired-bs; }
@test "golden: systems-i-json" { golden systems-i-json; }
@test "golden: systems-i" { golden systems-i; }
@test "golden: systems-json" { golden systems-json; }
@test "golden: systems-text" { golden systems-text; }
@test "golden: format-env" { golden format-env; }
@test "golden: ci-b" { golden ci-b; }
@test "golden: ci-short" { golden ci-short; }
@test "golden: ci-seed" { golden ci-seed; }
@test "golden: ci-cin" { golden ci-cin; }
@test "golden: ci-json" { golden ci-json; }
@test "golden: ci-text" { golden ci-text; }
@test "golden: lang-zh" { golden lang-zh; }
@test "golden: lang-zh-json" { golden lang-zh-json; }
@test "golden: lang-zh-sl" { golden lang-zh-sl; }
@test "golden: lang-zh-tok" { golden lang-zh-tok; }
@test "golden: lang-zh-tok-zh" { golden lang-zh-tok-zh; }
@test "golden: lang-zh-chrf" { golden lang-zh-chrf; }
@test "golden: lang-zh-lengths" { golden lang-zh-lengths; }
@test "golden: lang-zh-more" { golden lang-zh-more; }
@test "golden: lang-ja-tok" { golden lang-ja-tok; }
@test "golden: lang-ko-tok" { golden lang-ko-tok; }
@test "golden: lang-de" { golden lang-de; }
@test "golden: lang-upper" { golden lang-upper; }
@test "golden: lang-no-tgt" { golden lang-no-tgt; }
@test "golden: lang-ja" { golden lang-ja; }
@test "golden: lang-ko" { golden lang-ko; }
@test "golden: lang-ja-chrf" { golden lang-ja-chrf; }
@test "golden: err-lang" { golden err-lang; }

# near VALUE EPS: $output is a number within EPS of VALUE
near() {
	awk -v a="$output" -v b="$1" -v e="$2" \
	    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d < e) }' ||
	    fail "got '$output', want $1 (within $2)"
}

# test_bleu.py's README example: three hypotheses, two references
readme() {
	printf '%s\n' 'The dog bit the man.' "It wasn't surprising." \
	    'The man had just bitten him.' > "$BATS_TEST_TMPDIR/hyp"
	printf '%s\n' 'The dog bit the man.' 'It was not unexpected.' \
	    'The man bit him first.' > "$BATS_TEST_TMPDIR/ref1"
	printf '%s\n' 'The dog had bit the man.' 'No one was surprised.' \
	    'The man had bitten the dog.' > "$BATS_TEST_TMPDIR/ref2"
}

@test "published: test_bleu.py corpus BLEU, each tokenizer and smoothing" {
	readme
	cd "$BATS_TEST_TMPDIR"
	run -0 bleu -b -w 7 ref1 ref2 -i hyp; near 48.530827 1e-6
	run -0 bleu -b -w 7 -tok 13a ref1 ref2 -i hyp; near 48.530827 1e-6
	run -0 bleu -b -w 7 -tok none ref1 ref2 -i hyp; near 49.1919566 1e-6
	run -0 bleu -b -w 7 -tok intl ref1 ref2 -i hyp; near 43.91623493 1e-6
	run -0 bleu -b -w 7 -s none ref1 ref2 -i hyp; near 48.530827 1e-6
	printf '\n\n\n' > empty
	run -0 bleu -b -w 7 ref1 ref2 -i empty; near 0 1e-9
}

@test "published: test_bleu.py statistics, effective order and #141" {
	cd "$BATS_TEST_TMPDIR"
	echo 'am I am a character sequence' > hyp
	echo 'I am a symbol string sequence a a' > ref
	run -0 bleu -f text -w 4 ref -i hyp
	# common [4, 2, 1, 0], total [6, 5, 4, 3]; exp smoothing: 100 / (2 * 3)
	assert_output --partial '66.7/40.0/25.0/16.7 (BP = 0.717 ratio = 0.750 hyp_len = 6 ref_len = 8)'
	run -0 bleu -b -w 10 -s floor ref -i hyp; near 15.55722182 1e-6
	run -0 bleu -b -w 10 -s floor -sv 0 ref -i hyp; near 0 1e-9
	# effective order (sentence level)
	echo test > h; echo 'a test' > r
	run -0 bleu -sl -b -w 10 -s floor -sv 0.01 r -i h; near 36.78794411714425 1e-6
	echo 'a little test' > h
	run -0 bleu -sl -b -w 10 -s floor -sv 0.01 r -i h; near 3.218297948685433 1e-6
	printf 'this is a test\nanother test\n' > h; printf 'ref1\nref2\n' > r
	run -0 bleu -b -w 10 r -i h; near 0 1e-9
}

# test_sentence_bleu.py: issue #98's Romanian pair
@test "published: test_sentence_bleu.py smoothing, tokenizers, case" {
	cd "$BATS_TEST_TMPDIR"
	echo 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;' > h
	echo 'producţia de zahăr brut se exprimă în zahăr alb;' > r
	while read -r want args; do
		# shellcheck disable=SC2086
		run -0 bleu -sl -b -w 6 $args r -i h
		near "$want" 1e-3
	done <<-'EOF2'
	8.493 -s exp
	0.0 -s none
	4.51688 -s floor
	4.51688 -s floor -sv 0.1
	10.10 -s floor -sv 0.5
	14.882 -s add-k
	14.882 -s add-k -sv 1
	21.389 -s add-k -sv 2
	7.347 -tok none
	8.493 -tok intl
	40.8759 -tok char
	42.0267 -tok char -lc
	EOF2
	echo 'this is a cat' > h; echo 'okay thanks' > r
	for s in exp none floor add-k; do
		run -0 bleu -sl -b -w 6 -s "$s" r -i h; near 0 1e-9
	done
}

@test "published: test_chrf.py sentence chrF with eps smoothing" {
	cd "$BATS_TEST_TMPDIR"
	printf '%s\n' 'Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.' \
	    'Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.' \
	    'Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.' > h
	printf '%s\n' 'Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.' \
	    'A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.' \
	    'Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.' > r
	run -0 bleu -sl -b -w 8 --chrf-eps-smoothing r -i h -m chrf
	[ "${lines[0]}" = 39.14078509 ] && [ "${lines[1]}" = 31.22557079 ] &&
	    [ "${lines[2]}" = 57.15704367 ] || fail "$output"
}

@test "published: test_chrf.py corpus chrF, beta 3, eps and effective order" {
	cd "$BATS_TEST_TMPDIR"
	while IFS='|' read -r want eps hyp ref; do
		printf '%s\n' "$hyp" | tr '^' '\n' > h
		printf '%s\n' "$ref" | tr '^' '\n' > r
		# shellcheck disable=SC2086
		run -0 bleu -b -w 8 --chrf-beta 3 $eps r -i h -m chrf
		near "$want" 1e-4
	done <<-'EOF2'
	0.0|--chrf-eps-smoothing|abcdefg|hijklmnop
	0.0|--chrf-eps-smoothing|a|b
	0.0|--chrf-eps-smoothing||b
	8.3333|--chrf-eps-smoothing|aa|ab
	8.3333|--chrf-eps-smoothing|a^b|a^c
	16.6667|--chrf-eps-smoothing|a|a
	50.0|--chrf-eps-smoothing|a b c|a b c
	50.0|--chrf-eps-smoothing|a b c|abc
	63.361730|--chrf-eps-smoothing| risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .|risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .
	64.1302698|--chrf-eps-smoothing| Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. |Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.
	100.0|--chrf-eps-smoothing|Niemand hat die Absicht, eine Mauer zu errichten|Niemand hat die Absicht, eine Mauer zu errichten
	100.0||a|a
	0.0||b|reference
	100.0||a b c|a b c
	100.0||a b c|abc
	50.0||a^b|a^c
	25.0||aa|ab
	67.3481606|--chrf-whitespace|Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.|Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.
	65.2414427|--chrf-whitespace|risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .|risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .
	EOF2
}
