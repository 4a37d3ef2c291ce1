/*
 * pool: fork-join threads that sleep when idle (see pool.h).
 *
 * A run has a number of parts (by default the pool's threads; more
 * balance the load when a worker starts late).  The caller announces the run
 * (a new run id, a broadcast on `work`) and then claims parts itself, as
 * the woken workers do: a part goes to whoever takes it first from the
 * ticket, a 64-bit word holding the run id (high half) and the next part
 * (low half), so a worker that wakes late, after its run is over, finds
 * nothing to take for that run and sleeps again.  The caller then waits
 * only for parts in progress, never for a worker to be scheduled: on a
 * machine whose cores are busy with the other stages of a pipeline, a
 * run costs the caller no more than doing it alone.
 *
 * Parts are independent and identified by their index, never by the
 * thread that runs them, so results do not depend on which thread did
 * what.
 *
 * Waiting.  A decoding step runs tens of products a few microseconds
 * apart; were every wait a sleep, each run would cost a futex wake-up
 * and two context switches (12% of greedy decoding's time at batch 1,
 * kernel time in perf).  So a worker looks for the next run, and the
 * caller for its workers' last parts, for up to SPIN_NS before blocking
 * in pthread_cond_wait.  Idle for longer (a stage waiting for input), a
 * pool blocks and leaves the cores to the pipeline's other stages.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "base/pool.h"
#include "base/util.h"

#define SPIN_NS 20000

struct worker {
	struct sq_pool *p;
	pthread_t th;
};

struct sq_pool {
	int n;				/* threads, the caller included */
	struct worker *w;		/* (n-1) */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	uint32_t run;			/* id of the latest run, under mu */
	int stop;
	void (*fn)(void *, int, int);	/* the latest run's, under mu */
	void *arg;
	int parts;			/* the latest run's, under mu */
	_Atomic uint64_t ticket;	/* run id << 32 | next part */
	_Atomic int finished;		/* parts of the current run done */
};

/*
 * Takes and runs parts of run `run` while there are; returns after the
 * last one it ran.  Signals the caller when it finishes the run's last
 * part.
 */
static void
take_parts(struct sq_pool *p, uint32_t run, void (*fn)(void *, int, int),
    void *arg, int parts)
{
	uint64_t t = atomic_load(&p->ticket);

	while ((uint32_t)(t >> 32) == run && (int)(uint32_t)t < parts) {
		if (!atomic_compare_exchange_weak(&p->ticket, &t, t + 1))
			continue;	/* t now holds the new value */
		fn(arg, (int)(uint32_t)t, parts);
		if (atomic_fetch_add(&p->finished, 1) + 1 == parts) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
		t = atomic_load(&p->ticket);
	}
}

/*
 * Whether a waiter that began spinning (*until 0 at its first call)
 * should look again: until SPIN_NS have passed.
 */
static int
keep_spinning(int64_t *until)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (*until == 0)
		*until = now + SPIN_NS;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();	/* leave the core's resources to its twin */
#endif
	return now < *until;
}

static void *
worker_main(void *v)
{
	struct sq_pool *p = ((struct worker *)v)->p;
	uint32_t seen = 0, run;
	int64_t until;
	void (*fn)(void *, int, int);
	void *arg;
	int parts;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->run == seen && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		seen = run = p->run;
		fn = p->fn;
		arg = p->arg;
		parts = p->parts;
		pthread_mutex_unlock(&p->mu);
		take_parts(p, run, fn, arg, parts);
		/* the ticket names a new run as soon as p->run does */
		for (until = 0; (uint32_t)(atomic_load(&p->ticket) >> 32) ==
		    seen && keep_spinning(&until);)
			;
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct sq_pool *
sq_pool_new(int n_threads)
{
	struct sq_pool *p = sq_calloc(1, sizeof(*p));
	int i;

	p->n = n_threads < 1 ? 1 : n_threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->ticket, 0);
	atomic_init(&p->finished, 0);
	p->w = sq_calloc(p->n, sizeof(*p->w));
	for (i = 1; i < p->n; i++) {
		p->w[i - 1].p = p;
		if (pthread_create(&p->w[i - 1].th, NULL, worker_main,
		    &p->w[i - 1]) != 0) {
			p->n = i;	/* run with the threads we got */
			break;
		}
	}
	return p;
}

void
sq_pool_free(struct sq_pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 1; i < p->n; i++)
		pthread_join(p->w[i - 1].th, NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p->w);
	free(p);
}

int
sq_pool_threads(const struct sq_pool *p)
{
	return p == NULL ? 1 : p->n;
}

void
sq_pool_run(struct sq_pool *p, void (*fn)(void *, int, int), void *arg)
{
	sq_pool_run_parts(p, fn, arg, sq_pool_threads(p));
}

void
sq_pool_run_parts(struct sq_pool *p, void (*fn)(void *, int, int),
    void *arg, int parts)
{
	uint32_t run;
	int64_t until;
	int i;

	if (p == NULL || p->n == 1 || parts <= 1) {
		for (i = 0; i < parts; i++)
			fn(arg, i, parts);
		return;
	}
	pthread_mutex_lock(&p->mu);
	run = ++p->run;
	p->fn = fn;
	p->arg = arg;
	p->parts = parts;
	atomic_store(&p->finished, 0);
	atomic_store(&p->ticket, (uint64_t)run << 32);
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	take_parts(p, run, fn, arg, parts);
	for (until = 0; atomic_load(&p->finished) < parts &&
	    keep_spinning(&until);)
		;
	/* wait for the parts the workers took, if they are not done */
	pthread_mutex_lock(&p->mu);
	while (atomic_load(&p->finished) < parts)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void
sq_pool_share(int len, int align, int i, int n, int *lo, int *hi)
{
	int units = (len + align - 1) / align;

	*lo = SQ_MIN(len, (int)((long)units * i / n) * align);
	*hi = SQ_MIN(len, (int)((long)units * (i + 1) / n) * align);
}
