/*
 * qgemm_isa: the kernels of qgemm.c for one instruction set, written once
 * and included once per set.  The includer defines:
 *   QK(name)        the kernel's name in this set (name ## _avx512, ...)
 *   QK_ATTR         the function attribute that enables the set
 *   V, LANES        a register of LANES floats
 *   V_ZERO()        a register of zeros
 *   V_LOAD(p)       LANES floats from p
 *   V_LOAD_I8(p)    LANES int8_t from p, as floats
 *   V_LOAD_F16(p)   LANES F16 (uint16_t bits) from p, as floats
 *   V_FMA(a, b, c)  a * b + c
 *   V_SUM(v)        the sum of v's lanes
 *   V_STORE(p, v)   v to LANES floats at p
 *   QK_NB           weight rows per block: QK_NB * 4 accumulators and
 *                   QK_NB + 1 operands must fit the registers
 * and gets them undefined again at the end, ready for the next set.
 * Each kernel reads each weight once per block of input rows and keeps
 * its sums in registers: weight-only quantization, the activations float.
 */

/* LANES weights from p + i as floats: int8 (times its row's scale
   later: embedding rows) or F16 */
QK_ATTR static inline __attribute__((always_inline)) V
QK(loadw)(const void *p, long i, int dt)
{
	return dt == SQ_W_I8 ? V_LOAD_I8((const int8_t *)p + i) :
	    V_LOAD_F16((const uint16_t *)p + i);
}

static inline float
QK(w1)(const void *p, long i, int dt)
{
	return dt == SQ_W_I8 ? (float)((const int8_t *)p)[i] :
	    sq_half_to_float(((const uint16_t *)p)[i]);
}

/*
 * Rows [n0, n0 + nb) of w (F16, nb <= QK_NB) against M input rows (M and
 * nb constants after inlining): out[m, n] = w[n] . x[m] + bias[n], the
 * dot product in LANES partial sums, then the last K % LANES products in
 * order.
 */
QK_ATTR static inline __attribute__((always_inline)) void
QK(block)(float *out, int ldo, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int n0, int nb)
{
	const uint16_t *h = w->data;
	V acc[QK_NB][4], x;
	int K0 = K - K % LANES, j, m, k;

	/* unrolled whole (M, nb constants): the sums stay in registers */
#pragma GCC unroll 4
	for (j = 0; j < nb; j++)
#pragma GCC unroll 4
		for (m = 0; m < M; m++)
			acc[j][m] = V_ZERO();
	for (k = 0; k < K0; k += LANES) {
		V wv[QK_NB];

#pragma GCC unroll 4
		for (j = 0; j < nb; j++)
			wv[j] = V_LOAD_F16(h + (long)(n0 + j) * K + k);
#pragma GCC unroll 4
		for (m = 0; m < M; m++) {
			x = V_LOAD(inp + (long)m * K + k);
#pragma GCC unroll 4
			for (j = 0; j < nb; j++)
				acc[j][m] = V_FMA(wv[j], x, acc[j][m]);
		}
	}
	for (j = 0; j < nb; j++) {
		long n = n0 + j;

		for (m = 0; m < M; m++) {
			float t = V_SUM(acc[j][m]);

			for (k = K0; k < K; k++)
				t += sq_half_to_float(h[n * K + k]) *
				    inp[(long)m * K + k];
			out[(long)m * ldo + n] = t +
			    (bias != NULL ? bias[n] : 0.0f);
		}
	}
}

/* Columns [lo, hi) for M rows: whole blocks, then the rest one by one. */
QK_ATTR static inline __attribute__((always_inline)) void
QK(rows_m)(float *out, int ldo, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int lo, int hi)
{
	int n;

	for (n = lo; n + QK_NB <= hi; n += QK_NB)
		QK(block)(out, ldo, inp, w, bias, M, K, n, QK_NB);
	for (; n < hi; n++)
		QK(block)(out, ldo, inp, w, bias, M, K, n, 1);
}

/*
 * M in [1, 4] as a constant: one specialised loop each.  Products are
 * F16's only (int8's quantize the activations: nn/i8linear.h).
 */
QK_ATTR static void
QK(rows)(float *out, int ldo, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int lo, int hi)
{
#define QK_CASE(m) \
	case m: \
		QK(rows_m)(out, ldo, inp, w, bias, m, K, lo, hi); \
		break;
	switch (M) {
	QK_CASE(1)
	QK_CASE(2)
	QK_CASE(3)
	QK_CASE(4)
	}
#undef QK_CASE
}

/* dst (n, K) = rows [r0, r0 + n) of w as float32 (times the scales). */
QK_ATTR static void
QK(widen)(float *dst, const struct sq_mat *w, long r0, int n, int K)
{
	int K0 = K - K % LANES, k, i;

	for (i = 0; i < n; i++) {
		long r = r0 + i;
		float s = w->dtype == SQ_W_I8 ? w->scale[r] : 1.0f;
		float *d = dst + (long)i * K;

		for (k = 0; k < K0; k += LANES)
			V_STORE(d + k, QK(loadw)(w->data, r * K + k, w->dtype) *
			    s);
		for (; k < K; k++)
			d[k] = QK(w1)(w->data, r * K + k, w->dtype) * s;
	}
}

#undef QK
#undef QK_ATTR
#undef V
#undef LANES
#undef V_ZERO
#undef V_LOAD
#undef V_LOAD_I8
#undef V_LOAD_F16
#undef V_FMA
#undef V_SUM
#undef V_STORE
#undef QK_NB
