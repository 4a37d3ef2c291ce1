/*
 * pool: fork-join threads that sleep when idle (see pool.h).
 *
 * One mutex and two condition variables: workers wait on `work` for the
 * generation counter to move, the caller waits on `done` for `pending` to
 * reach 0.  A run costs one broadcast and one signal; a worker with
 * nothing to do is blocked in pthread_cond_wait, never spinning.
 */
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"
#include "util.h"

struct worker {
	struct sq_pool *p;
	int i;				/* thread index, 1.. */
	pthread_t th;
};

struct sq_pool {
	int n;				/* threads, the caller included */
	struct worker *w;		/* (n-1) */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	unsigned long gen;		/* bumped by every run */
	int pending;			/* workers still in this run */
	int stop;
	void (*fn)(void *, int, int);
	void *arg;
};

static void *
worker_main(void *v)
{
	struct worker *w = v;
	struct sq_pool *p = w->p;
	unsigned long seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->gen == seen && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		p->fn(p->arg, w->i, p->n);
		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
			pthread_cond_signal(&p->done);
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
	p->w = sq_calloc(p->n, sizeof(*p->w));
	for (i = 1; i < p->n; i++) {
		p->w[i - 1].p = p;
		p->w[i - 1].i = i;
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
	if (p == NULL || p->n == 1) {
		fn(arg, 0, 1);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->pending = p->n - 1;
	p->gen++;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	fn(arg, 0, p->n);
	pthread_mutex_lock(&p->mu);
	while (p->pending > 0)
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
