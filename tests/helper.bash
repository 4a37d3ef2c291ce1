# Shared by every tests/*.bats: finds the built programs and the source
# tree, and loads bats-support and bats-assert (Debian's bats-* packages).
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SRCDIR
export PATH="$SRCDIR/bin:$PATH"
# the Debian Python with torch and numpy, whatever python3 comes first
PY=/usr/bin/python3
export PY
# the tests must not depend on a model the user has set
unset SEQPIPE_MODEL
# OpenBLAS and our pools: deterministic, small
export OPENBLAS_NUM_THREADS=1

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
