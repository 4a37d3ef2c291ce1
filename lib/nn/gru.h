/*
 * gru: the gated recurrent unit (Cho et al. 2014) exactly as PyTorch's
 * nn.GRU computes it, for the rnn architecture (nn/rnn.h): with x the
 * input and h the state before the step,
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * (b_hn inside the reset product: PyTorch's and cuDNN's form, not the
 * paper's r * h before W_hn).  The weights are struct sq_gru's, the gate
 * blocks r, z, n in that order.
 *
 * The products are the caller's (sq_linear() through CBLAS); this module
 * has the element-wise step and the walk of a layer over packed
 * sentences, which the encoder, the decoder and training share so that
 * they compute the same bits.  sigmoid and tanh go through vec.h's
 * exponential (relative error about 2e-7).
 */
#ifndef SQ_GRU_H
#define SQ_GRU_H

struct sq_gru;
struct sq_pool;

/*
 * One step of one row: xp (3H) = W_ih x + b_ih, hp (3H) = W_hh h + b_hh,
 * h (H) the state before.  out (H) = h' (out may be h).  saved (4H), when
 * not NULL, gets r, z, n and W_hn h + b_hn, what the backward needs.
 */
void sq_gru_cell(float *out, float *saved, const float *xp, const float *hp,
    const float *h, int H);

/* x (n) = tanh(x), the cell's tanh. */
void sq_tanh(float *x, long n);

/*
 * Sentences packed row after row, as the engine keeps them: sentence i
 * has rows [first[i], first[i + 1]).  A recurrent layer walks them step
 * by step; at step t the sentences longer than t take part, longest
 * first, so that each step's states form one matrix product.
 */
struct sq_gru_seq {
	int n;
	const long *first;	/* (n + 1), borrowed */
	int *order;		/* (n) sentence indices by falling length
				   (ties by index), owned */
	int max_len;
};

/*
 * Plans s for n sentences; s is zeroed or was planned before (its order
 * array is reused).  Free with sq_gru_seq_free().
 */
void sq_gru_seq_plan(struct sq_gru_seq *s, int n, const long *first);
void sq_gru_seq_free(struct sq_gru_seq *s);

/* The number of sentences longer than t: they are order[0 .. that). */
int sq_gru_seq_active(const struct sq_gru_seq *s, int t);

/*
 * The row sentence order[j] reads at step t: its t-th row, or with
 * reverse its t-th from the end.
 */
long sq_gru_seq_row(const struct sq_gru_seq *s, int j, int t, int reverse);

/*
 * One GRU layer of one direction over the packed sentences of s: xp (R,
 * 3H) holds W_ih x + b_ih of every row; the state after row r goes to
 * out + r * ld (H floats: with ld > H a direction's half of a wider row).
 * A sentence starts from h0 + i * H (h0 (n, H)), or from zero when h0 is
 * NULL.  saved (R, 4H), when not NULL, gets sq_gru_cell()'s per row.
 * scratch holds 4 n H floats.  The state products run on pool.
 */
void sq_gru_layer(float *out, long ld, float *saved, const float *xp,
    const float *h0, const struct sq_gru *w, int H, int reverse,
    const struct sq_gru_seq *s, float *scratch, struct sq_pool *pool);

#endif
