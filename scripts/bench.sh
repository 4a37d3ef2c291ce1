#!/bin/sh
# make bench: runs every scripts/bench-* and prints one table.  Each
# script prints lines "name<TAB>value<TAB>unit<TAB>note" on stdout and its
# progress on stderr.  BENCH="tokenize bleu" runs a subset.
cd "$(dirname "$0")/.." || exit 1
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM
status=0
for s in scripts/bench-*; do
	[ -x "$s" ] || continue
	name=${s#scripts/bench-}
	if [ -n "${BENCH:-}" ]; then
		case " $BENCH " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "bench: running $s" >&2
	if ! "$s" >> "$out"; then
		echo "bench: $s failed" >&2
		status=1
	fi
done
printf '%-40s %14s  %-12s %s\n' benchmark value unit note
awk -F '\t' '{ printf "%-40s %14s  %-12s %s\n", $1, $2, $3, $4 }' "$out"
exit $status
