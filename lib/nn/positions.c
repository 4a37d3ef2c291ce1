/* positions: position tables made on demand (see positions.h). */
#include "nn/ops.h"
#include "nn/positions.h"
#include "base/util.h"

void
sq_positions_reserve(float **pe, int *n_pe, int n, int D, int first,
    int kind, const float *learned)
{
	if (n <= *n_pe)
		return;
	*pe = sq_reallocarray(*pe, (size_t)n * D, sizeof(float));
	sq_positions(*pe, first, n, D, kind, learned);
	*n_pe = n;
}
