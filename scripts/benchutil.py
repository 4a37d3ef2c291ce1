"""benchutil: what the Python benchmark scripts (scripts/bench-engine,
scripts/bench-pipeline) share: running commands with their command line
echoed on stderr, timing them (warm-up runs, then the median of a few),
the cached scratch directory build/bench/, and the result lines that
scripts/bench.sh turns into a table ("name<TAB>value<TAB>unit<TAB>note" on
stdout).

A benchmark never fails because a goal is missed; it reports it.  It fails
(exit 1) when a program under test fails or prints nothing.
"""
import os
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "bench")
PY = "/usr/bin/python3"  # Debian's, with torch and numpy

# scripts/bench-engine's figures, which scripts/bench-opus profiles again:
# (kind, batch, sentences at BENCH_SCALE 1, goal f32, goal int8): issue
# 8's goals, as ratios against PyTorch float32 on the same model
ENGINE_FIGURES = [
    ("encode", 1, 96, 2.0, 3.0),
    ("encode", 32, 640, 1.5, 2.0),
    ("greedy", 1, 16, 2.5, 4.0),
    ("greedy", 32, 128, 2.5, 3.5),
    ("beam", 1, 8, 3.0, 4.0),
    ("beam", 32, 64, 2.5, 3.5),
]


def engine_memory(n, dtype="f32"):
    """The memory stream bench-engine encodes for its first n sentences
    with the model file stored in dtype (a stream names its model)."""
    return os.path.join(BUILD, "mem-%d%s.sqs" % (n, "" if dtype == "f32" else "-" + dtype))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(msg)
    sys.exit(1)


def row(name, value, unit, note=""):
    """One result line for scripts/bench.sh's table."""
    if isinstance(value, float):
        value = "%.3g" % value if value < 10 else "%.0f" % value
    print("%s\t%s\t%s\t%s" % (name, value, unit, note), flush=True)


def load_row(name, when):
    """The 1-minute load average as a row: the benchmarks share the
    machine, so say how busy it was."""
    row("%s: load average" % name, "%.2f" % os.getloadavg()[0], "1 min",
        "%s; %d cores" % (when, os.cpu_count()))


def goal_row(name, ratio, goal, note="", unit="x"):
    """A ratio against its goal (ratio >= goal); says met or MISSED."""
    verdict = "met" if ratio >= goal else "MISSED"
    row(name, "%.2f" % ratio, unit, "goal >= %g: %s%s" % (goal, verdict,
        "; " + note if note else ""))


def show(cmd):
    return cmd if isinstance(cmd, str) else " ".join(shlex.quote(c) for c in cmd)


def run(cmd, stdin=None, stdout=subprocess.DEVNULL, env=None, quiet=False):
    """Runs cmd (a list, or a string for sh -c); stdin/stdout are paths or
    None.  Exits the benchmark if it fails.  Returns the wall seconds."""
    return run_rss(cmd, stdin, stdout, env, quiet)[0]


def run_rss(cmd, stdin=None, stdout=subprocess.DEVNULL, env=None, quiet=False):
    """run(), returning (wall seconds, peak RSS of cmd's process in MB)."""
    if not quiet:
        log("+ " + show(cmd) + (" < " + rel(stdin) if stdin else "") +
            (" > " + rel(stdout) if isinstance(stdout, str) else ""))
    fin = open(os.path.join(ROOT, stdin), "rb") if stdin else subprocess.DEVNULL
    fout = open(os.path.join(ROOT, stdout), "wb") if isinstance(stdout, str) else stdout
    full_env = dict(os.environ, **(env or {}))
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE,
                         shell=isinstance(cmd, str), env=full_env, cwd=ROOT)
    err = p.stderr.read()
    # wait4, not wait: the rusage of this child alone
    _, status, usage = os.wait4(p.pid, 0)
    t = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if fin is not subprocess.DEVNULL:
        fin.close()
    if isinstance(stdout, str):
        fout.close()
    if p.returncode != 0:
        die("bench: %s failed with status %d:\n%s" % (show(cmd), p.returncode,
            err.decode(errors="replace").rstrip()))
    return t, usage.ru_maxrss / 1024.0


def median_time(cmd, runs=3, warmup=1, **kw):
    """Median wall seconds of runs runs of cmd after warmup untimed runs."""
    for _ in range(warmup):
        run(cmd, quiet=True, **kw)
    times = [run(cmd, quiet=_ > 0, **kw) for _ in range(runs)]
    log("  times: " + " ".join("%.3f" % t for t in times))
    return statistics.median(times)


def cached(path, make, made_by=None):
    """Calls make(path) unless path exists (and is newer than the program
    made_by, relative to the source tree, that writes it: a model file
    stored by an older seqimport may have another layout); make writes
    path.tmp first so an interrupted build is not taken for a finished
    one."""
    if os.path.exists(path) and (made_by is None or os.path.getmtime(path) >=
                                 os.path.getmtime(os.path.join(ROOT, made_by))):
        log("bench: using cached " + os.path.relpath(path, ROOT))
        return path
    tmp = path + ".tmp"
    make(tmp)
    os.replace(tmp, path)
    return path


def count_lines(path):
    with open(path) as f:
        return sum(1 for _ in f)


def count_tokens(path):
    """Ids in a text ids file (one sentence per line)."""
    with open(path) as f:
        return sum(len(line.split()) for line in f)


def rel(path):
    """path relative to the source tree, where commands run."""
    r = os.path.relpath(path, ROOT)
    return path if r.startswith("..") else r


def program(name):
    """bin/NAME (relative: commands run in the source tree); exits with a
    message if it has not been built."""
    if not os.access(os.path.join(ROOT, "bin", name), os.X_OK):
        die("bench: bin/%s is not built (make)" % name)
    return "bin/" + name


def sgemm_peak(threads, coretype=None):
    """Best GFLOP/s of OpenBLAS sgemm (2048^3, 10 calls) on threads threads,
    and the command; coretype, if given, forces OpenBLAS's kernels
    (OPENBLAS_CORETYPE)."""
    exe = os.path.join(BUILD, "sgemm-peak")
    if not os.path.exists(exe):
        libs = os.popen("pkg-config --cflags --libs openblas 2>/dev/null").read().split() \
            or ["-lopenblas"]
        run(["cc", "-O2", "-o", rel(exe), "scripts/sgemm-peak.c"] + libs)
    cmd = [rel(exe), str(threads), "2048", "2048", "2048", "10"]
    env = dict(os.environ, OPENBLAS_CORETYPE=coretype) if coretype else None
    out = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, check=False).stdout.split()
    if len(out) != 2:
        die("bench: %s failed" % " ".join(cmd))
    log("+ %s: best %s, median %s GFLOP/s" % (" ".join(cmd), out[0].decode(), out[1].decode()))
    return float(out[0]), " ".join(cmd)


def dram_bandwidth(threads):
    """Best GB/s of reading a 1 GB buffer on threads threads
    (scripts/dram-bw.c, 10 passes), and the command."""
    exe = os.path.join(BUILD, "dram-bw")
    if not os.path.exists(exe):
        run(["cc", "-O2", "-pthread", "-o", rel(exe), "scripts/dram-bw.c"])
    cmd = [rel(exe), str(threads), "1000", "10"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=False).stdout.split()
    if len(out) != 2:
        die("bench: %s failed" % " ".join(cmd))
    log("+ %s: best %s, median %s GB/s" % (" ".join(cmd), out[0].decode(), out[1].decode()))
    return float(out[0]), " ".join(cmd)
