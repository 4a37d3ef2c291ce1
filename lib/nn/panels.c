/*
 * panels: float32 weights in libxsmm's panel layout (see panels.h).
 */
#include "nn/panels.h"
#include "base/util.h"

#define PANEL SQ_PANEL_ROWS

size_t
sq_panels_size(long N, long K)
{
	return (size_t)((N + PANEL - 1) / PANEL) * PANEL * K;
}

void
sq_panels_shape(long *dims, long N, long K)
{
	dims[0] = (N + PANEL - 1) / PANEL;
	dims[1] = K;
	dims[2] = PANEL;
}

/*
 * A transposition, in blocks of TILE columns: the block's reads are whole
 * cache lines of w's rows, its writes TILE rows of the panel, in L1.
 * (Column by column, each read touched another line: 1.4 ns a weight,
 * an eighth of encode's time where int8 weights are widened and packed
 * at every product.)
 */
#define TILE 16
void
sq_panels_pack(float *dst, const float *w, long N, long K)
{
	long b, k0, k, i, nk;

	for (b = 0; b * PANEL < N; b++) {
		const float *src = w + b * PANEL * K;
		float *d = dst + b * PANEL * K;
		long width = SQ_MIN(PANEL, N - b * PANEL);

		for (k0 = 0; k0 < K; k0 += TILE) {
			nk = SQ_MIN(TILE, K - k0);
			for (i = 0; i < width; i++)
				for (k = 0; k < nk; k++)
					d[(k0 + k) * PANEL + i] =
					    src[i * K + k0 + k];
			for (k = 0; k < nk; k++)
				for (i = width; i < PANEL; i++)
					d[(k0 + k) * PANEL + i] = 0.0f;
		}
	}
}

void
sq_panels_row(float *out, const float *panels, long K, long r)
{
	const float *p = panels + r / PANEL * PANEL * K + r % PANEL;

	for (long k = 0; k < K; k++)
		out[k] = p[k * PANEL];
}
