/*
 * pool: a fixed set of threads that run one function together, fork-join
 * (OpenMP's "parallel" region with its passive wait policy).
 *
 * sq_pool_run(p, fn, arg) calls fn(arg, i, n) once for every part i in
 * [0, n), n being the pool's threads, and returns when all have returned.
 * Parts go to whichever thread takes them first, the caller included: a
 * caller whose workers are slow to wake (the cores busy with the other
 * stages of a pipeline) runs the parts itself instead of waiting.  A
 * worker looks for the next run for 20 microseconds after its last one
 * (runs come that close together in decoding), then sleeps on a
 * condition variable: an idle pool does not spin, so the stages of a
 * pipeline that share the cores get them (design.md §5).
 * The split of the work is the caller's: fn derives its share from i and
 * n (not from the thread it runs on), which makes the result independent
 * of timing.
 *
 * One thread at a time may call sq_pool_run() on a pool; fn must not call
 * it again.
 */
#ifndef SQ_POOL_H
#define SQ_POOL_H

struct sq_pool;

/*
 * A pool of n_threads threads in all (the caller and n_threads-1 workers);
 * n_threads < 1 counts as 1.  Caller frees with sq_pool_free().
 */
struct sq_pool *sq_pool_new(int n_threads);
void sq_pool_free(struct sq_pool *p);

/* Threads in the pool, the caller included; 1 for a NULL pool. */
int sq_pool_threads(const struct sq_pool *p);

/*
 * Runs fn(arg, i, n) for every part i in [0, n), n = sq_pool_threads(p),
 * on the pool's threads, and waits for all.  A NULL pool runs fn(arg, 0,
 * 1) in the caller.
 */
void sq_pool_run(struct sq_pool *p, void (*fn)(void *arg, int i, int n),
    void *arg);

/*
 * The same with parts parts (>= 1) instead of one per thread: more parts
 * than threads even out the work when a worker wakes late.
 */
void sq_pool_run_parts(struct sq_pool *p, void (*fn)(void *arg, int i,
    int n), void *arg, int parts);

/* The range [*lo, *hi) of part i of n in [0, len), in units of align. */
void sq_pool_share(int len, int align, int i, int n, int *lo, int *hi);

#endif
