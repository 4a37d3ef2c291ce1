/*
 * model: the seqpipe model file (design.md §3, man/seqpipe-model.5).
 *
 * A safetensors file: uint64 little-endian header length N, N bytes of JSON
 * header, then raw tensor bytes.  The header maps tensor names to
 * {"dtype","shape","data_offsets"} and "__metadata__" to a string map that
 * holds "format" (= "seqpipe-1"), "model_id", "provenance" and the
 * architecture config, one key per field of struct sq_config (names as in
 * the struct; values as strings: integers in decimal, booleans "0"/"1").
 * Other metadata keys are refused unless they contain a dot (free for
 * tools), so that a misspelt config key cannot pass for its default.
 *
 * The file is mmap'ed; every weight pointer below is a view into the map,
 * owned by struct sq_model and valid until sq_model_close().  Weights are
 * float32 (4-byte aligned in the file), stored [out, in] as PyTorch's
 * nn.Linear does; a weight stored as F16 (half the size on disk) is
 * widened to float32 once, at load.  The weight matrices may also be
 * stored as I8 with a float32 scale per row (NAME_scale, (out)), and the
 * engine computes with them in the dtype sq_model_open_as() is given
 * (struct sq_mat, nn/weights.h).  Every linear layer and layer norm has a bias.
 *
 * Tensor names (fairseq/PyTorch style; {i} is a layer index):
 *   encoder.embed_tokens.weight                 (Vs, D)  input tokens only
 *   encoder.frame_proj.{weight,bias}            (D, K), (D) input frames only,
 *                                               K = subsample * frame_dim
 *   decoder.embed_tokens.weight                 (Vt, D)  absent if tie_src_tgt,
 *                                               and with nat unless
 *                                               tie_output (unread)
 *   {encoder,decoder}.embed_positions.weight    (P, D)   learned positions only
 *   encoder.layers.{i}.self_attn.{q,k,v,out}_proj.{weight,bias}  (D, D), (D)
 *   encoder.layers.{i}.self_attn_layer_norm.{weight,bias}        (D)
 *   encoder.layers.{i}.fc1.{weight,bias}        (F, D), (F)
 *   encoder.layers.{i}.fc2.{weight,bias}        (D, F), (D)
 *   encoder.layers.{i}.final_layer_norm.{weight,bias}            (D)
 *   decoder.layers.{i}.self_attn.*, self_attn_layer_norm.*  as the encoder
 *   decoder.layers.{i}.encoder_attn.{q,k,v,out}_proj.{weight,bias}
 *   decoder.layers.{i}.encoder_attn_layer_norm.{weight,bias}
 *   decoder.layers.{i}.fc1.*, fc2.*, final_layer_norm.*
 *   {encoder,decoder}.layer_norm.{weight,bias}  (D)  with *_final_norm only
 *   output_projection.weight                    (Vt, D)  absent if tie_output
 *   output_projection.bias                      (Vt)     with output_bias only
 *   decoder.p_gen.{weight,bias}                 (1, 3D), (1)  with copy only
 *   length_predictor.{weight,bias}              (2K+1, D), (2K+1)  with nat
 *                                               only (K = nat_max_offset)
 *   spm.source, spm.target                      U8 serialized SentencePiece
 *                                               models, both optional (NULL
 *                                               if absent); spm.target
 *                                               absent if shared_vocab,
 *                                               spm.source (and
 *                                               vocab.source) with input
 *                                               frames
 *   vocab.source, vocab.target                  I32 (Vs), (Vt): model id ->
 *                                               SentencePiece id of the same
 *                                               piece, -1 if none; optional
 *                                               (absent: the ids are
 *                                               SentencePiece's, as in a
 *                                               model trained here; present
 *                                               in imported Marian models);
 *                                               vocab.target absent if
 *                                               shared_vocab
 *   extra.*                                     ignored (free for tools)
 * For arch rnn (a GRU encoder-decoder, man/seqpipe-model.5 "The rnn
 * architecture") the positions, layers and norms are replaced by
 *   encoder.rnn.{weight_ih,weight_hh,bias_ih,bias_hh}_l{i}[_reverse]
 *                                               nn.GRU(D, D/2, bidirectional)
 *   decoder.rnn.{weight_ih,weight_hh,bias_ih,bias_hh}_l{i}  nn.GRU(D, D)
 *   decoder.bridge.{weight,bias}                (L D, D), (L D)
 *   decoder.attn_key.weight                     (D, D)
 *   decoder.attn_out.{weight,bias}              (D, 2D), (D)
 * Any other tensor, or one that the config makes unused (a tied one), is
 * an error.  nn/params.h has the float32 tensors as a table built from the
 * config, in the order a written file has them.
 *
 * The math (man/seqpipe-model.5 has it in full; scripts/seqpipe_torch.py is
 * the PyTorch reference of it).  Rows are positions t = 0, 1, ...:
 *   embed:  x_t = embed_scale * E[id_t] + PE[t + position_offset]
 *           (t + position_offset < max_positions).  The encoder reads the
 *           source ids as given;
 *           with input frames instead (k = subsample, f_j the frames,
 *           zero past the last): x_t = W [f_kt; f_kt+1; ..; f_kt+k-1] + b
 *           + PE[t + position_offset], W, b = encoder.frame_proj, for
 *           t < ceil(frames / k), no embed_scale; the decoder reads decoder_start_id, then
 *           the target tokens; a decoder_start_id of -1 reads a zero
 *           embedding (x_0 = PE[position_offset]), as Marian starts.  Sinusoids are computed in double and
 *           rounded to float32; with w_i = 10000^(-2i/D), i in [0, D/2):
 *           sinusoidal:      PE[p][2i] = sin(p w_i), PE[p][2i+1] = cos(p w_i)
 *           sinusoidal_half: PE[p][i] = sin(p v_i), PE[p][D/2+i] = cos(p v_i)
 *                            with v_i = exp(-i ln(10000) / (D/2 - 1))
 *                            (tensor2tensor, Marian, fairseq)
 *           sinusoidal_half_hf: PE[p][i] = sin(p w_i), PE[p][D/2+i] =
 *                            cos(p w_i) (Hugging Face's MarianMTModel)
 *           learned:         PE = {encoder,decoder}.embed_positions.weight
 *   attn:   per head h (dims [h D/H, (h+1) D/H)): softmax(q k^T / sqrt(D/H)
 *           + mask) v, heads concatenated, then out_proj; q, k, v are the
 *           biased projections.  Keys past a sentence's length are masked
 *           (padding); decoder self-attention is causal; with
 *           attention_window N, encoder self-attention masks keys j with
 *           |i - j| > N (a band: local attention for long inputs).  A query with no
 *           key to see (an empty source) gets context 0: out_proj.bias.
 *   ffn:    fc2(act(fc1(x))); relu; gelu = x/2 (1 + erf(x/sqrt 2)) (exact,
 *           not tanh); silu = x sigmoid(x)
 *   norm:   LN(x) = (x - mean) / sqrt(var + layer_norm_eps) * weight + bias
 *           (biased variance over D)
 *   post-norm layer: x = LN1(x + SA(x)); [x = LN2(x + CA(x, mem));]
 *                    x = LN3(x + FFN(x))
 *   pre-norm layer:  x = x + SA(LN1(x)); [x = x + CA(LN2(x), mem);]
 *                    x = x + FFN(LN3(x))
 *   (LN1 = self_attn_layer_norm, LN2 = encoder_attn_layer_norm,
 *   LN3 = final_layer_norm), then {encoder,decoder}.layer_norm after the
 *   stack if *_final_norm.  The memory is the encoder's output after it.
 *   output: log_softmax(x out_proj^T + out_bias) over Vt.
 *   copy:   with copy = 1 the output is the pointer-generator's mixture
 *           of that distribution and the last layer's cross-attention
 *           over the source ids (nn/copy.h has the formula).
 *
 * Non-autoregressive (nat 1; Gu et al. 2018, with a length classifier in
 * place of fertilities).  For a source of S >= 1 positions and memory
 * m_0 .. m_{S-1}:
 *   length: p(T) = softmax(W_len mean_s(m_s) + b_len)[c(T)] over 2K+1
 *           classes, c(T) = clamp(T - S, -K, K) + K (the last class
 *           stands for S + K and longer, the first for S - K and shorter)
 *   input:  the decoder reads at position i in [0, T) the source token it
 *           copies, uniformly: x_i = embed_scale * E_src[src_j(i)] +
 *           PE[i + position_offset], j(i) = floor(i S / T), with E_src =
 *           encoder.embed_tokens and the decoder's positions
 *   layers: the decoder's, but self-attention sees every position (no
 *           causal mask)
 *   output: p(y_i) = log_softmax as above, each position on its own; no
 *           EOS: the target is y_0 .. y_{T-1}
 *   log p(y | x) = log p(T) + sum_i log p_i(y_i).
 */
#ifndef SQ_MODEL_H
#define SQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct sq_packed;

enum sq_arch { SQ_ARCH_TRANSFORMER, SQ_ARCH_RNN };
enum sq_activation { SQ_ACT_RELU, SQ_ACT_GELU, SQ_ACT_SILU };
enum sq_input {
	SQ_INPUT_TOKENS,	/* source token ids, embedded */
	SQ_INPUT_FRAMES		/* feature frames, stacked and projected */
};
enum sq_pos_kind {
	SQ_POS_SIN_INTERLEAVED,	/* the paper: sin at even, cos at odd dims */
	SQ_POS_SIN_HALF,	/* Marian/fairseq: sin in [0,D/2), cos after */
	SQ_POS_LEARNED,
	SQ_POS_SIN_HALF_HF	/* the half layout, the paper's frequencies */
};

/*
 * The architecture.  Metadata key = field name; defaults in brackets are
 * what a missing key means.
 */
struct sq_config {
	int arch;		/* enum sq_arch: "transformer" [it], "rnn" */
	int d_model;		/* D, required */
	int n_heads;		/* H, required, divides D (transformer) */
	int d_ff;		/* F, required (transformer) */
	int encoder_layers;	/* required */
	int decoder_layers;	/* required */
	int src_vocab_size;	/* Vs, required */
	int tgt_vocab_size;	/* Vt, required */
	int max_positions;	/* P [1024]: positions the model can embed */
	int pre_norm;		/* [0]: 0 post-norm (the paper), 1 pre-norm */
	int encoder_final_norm;	/* [0] */
	int decoder_final_norm;	/* [0] */
	int activation;		/* enum sq_activation: "relu" [relu],
				   "gelu", "silu" */
	int positions;		/* enum sq_pos_kind: "sinusoidal" [it]
				   (interleaved), "sinusoidal_half",
				   "learned", "sinusoidal_half_hf" */
	int position_offset;	/* [0]: position of the first token */
	float embed_scale;	/* [sqrt(D)]: embeddings are multiplied by it */
	int tie_src_tgt;	/* [0]: decoder uses encoder.embed_tokens */
	int tie_output;		/* [0]: output projection = target embeddings */
	int output_bias;	/* [0] */
	int shared_vocab;	/* [0]: one SentencePiece model for both sides */
	int bos_id;		/* [1]; -1: none */
	int eos_id;		/* [2] */
	int pad_id;		/* [0]; -1: none */
	int unk_id;		/* [3]; -1: none */
	int decoder_start_id;	/* [bos_id, or eos_id if bos_id is -1];
				   -1: a zero embedding (Marian) */
	float layer_norm_eps;	/* [1e-5] */
	int copy;		/* [0]: the pointer-generator's copy mechanism
				   (nn/copy.h); needs shared_vocab */
	/*
	 * What the encoder reads, and how far it looks; keys left out of a
	 * file when at their defaults (sq_config_omitted()).
	 */
	int input;		/* enum sq_input: "tokens" [it], "frames"
				   (then src_vocab_size 0, no source
				   vocabulary, no tie_src_tgt or
				   shared_vocab) */
	int frame_dim;		/* [0]: values per frame, > 0 with frames */
	int subsample;		/* [1]: frames stacked per encoder position
				   (frames only) */
	int attention_window;	/* [0]: encoder self-attention of position i
				   sees positions j with |i - j| <= this; 0:
				   all */
	int nat;		/* [0]: 1 a non-autoregressive decoder
				   (Gu et al. 2018) with a length
				   predictor; below and in
				   man/seqpipe-model.5 */
	int nat_max_offset;	/* K [16]: the length predictor's classes
				   are the offsets T - S in [-K, K] */
};

/*
 * The precision the engine multiplies by a weight matrix in (--dtype):
 * float32, F16, or int8 with a float32 scale per row (symmetric: row r
 * is scale[r] times its int8s; lib/nn/quant.h).
 */
enum sq_weight_dtype {
	SQ_W_STORED = -2,	/* to sq_model_open_as(): as SQ_W_AUTO, but
				   F16 too if the file stores the matrices
				   so: nothing widened, for readers of the
				   vocabularies and metadata only */
	SQ_W_AUTO = -1,		/* to sq_model_open_as(): I8 if the file
				   stores the matrices so, else F32 */
	SQ_W_F32, SQ_W_F16, SQ_W_I8
};

/* "f32", "f16", "int8": their names, as --dtype takes them. */
#define SQ_W_N 3
extern const char *const sq_weight_dtype_names[SQ_W_N];

/*
 * A weight matrix (rows, cols) = (out, in) as the engine reads it: a view
 * into the file's map or into memory of the model's.
 */
struct sq_mat {
	int dtype;		/* enum sq_weight_dtype */
	const void *data;	/* (rows, cols): float, F16 bits or int8_t */
	const float *scale;	/* (rows) with SQ_W_I8, else NULL */
	struct sq_packed *packed;	/* float32: where its copy packed
				   for the engine's products is made on
				   first use (nn/packed.h); NULL: never */
	int i8_packed;		/* SQ_W_I8 whose data is already in
				   nn/i8gemm.h's packed layout (as a model
				   file may store it), not rows */
	int panels;		/* SQ_W_F32 in nn/panels.h's layout, as a
				   model file may store it: multiplied by
				   through libxsmm only (nn/packed.h), a
				   row looked up by gathering it */
};

struct sq_linear {
	const float *w;		/* (out, in); NULL if wq is not float32 */
	const float *b;		/* (out) */
	struct sq_mat wq;	/* w in the model's engine dtype */
};

struct sq_norm {
	const float *g;		/* (D) */
	const float *b;		/* (D) */
};

struct sq_attn_weights {
	struct sq_linear q, k, v, out;	/* each (D, D) */
};

struct sq_encoder_layer {
	struct sq_attn_weights self_attn;
	struct sq_norm self_attn_norm;
	struct sq_linear fc1;		/* (F, D) */
	struct sq_linear fc2;		/* (D, F) */
	struct sq_norm final_norm;
};

struct sq_decoder_layer {
	struct sq_attn_weights self_attn;
	struct sq_norm self_attn_norm;
	struct sq_attn_weights cross_attn;	/* encoder_attn */
	struct sq_norm cross_attn_norm;
	struct sq_linear fc1;
	struct sq_linear fc2;
	struct sq_norm final_norm;
};

/*
 * One GRU layer of one direction, as PyTorch's nn.GRU stores it: the
 * gates r, z, n are the row blocks [0, H), [H, 2H), [2H, 3H).
 */
struct sq_gru {
	const float *w_ih;	/* (3H, In) */
	const float *w_hh;	/* (3H, H) */
	const float *b_ih;	/* (3H) */
	const float *b_hh;	/* (3H) */
};

struct sq_params;
struct sq_st;

struct sq_model {
	struct sq_config cfg;
	char model_id[256];
	char *path;			/* as opened */
	const char *provenance;		/* metadata, "" if none */

	const float *src_embed;		/* (Vs, D); NULL with input frames */
	struct sq_linear frame_proj;	/* (D, subsample * frame_dim), (D);
					   NULL without */
	const float *tgt_embed;		/* (Vt, D); == src_embed if tied; NULL
					   for nat without tie_output */
	const float *enc_pos;		/* (P, D) learned, else NULL */
	const float *dec_pos;		/* (P, D) learned, else NULL */
	struct sq_encoder_layer *enc;	/* (encoder_layers) transformer */
	struct sq_decoder_layer *dec;	/* (decoder_layers) transformer */
	struct sq_norm enc_final;	/* .g NULL if none */
	struct sq_norm dec_final;
	/* arch rnn (nn/rnn.h); NULL for a transformer */
	struct sq_gru *enc_gru;		/* (encoder_layers, 2): forward,
					   reverse; H = D/2, In = D */
	struct sq_gru *dec_gru;		/* (decoder_layers): H = In = D */
	struct sq_linear bridge;	/* (L D, D) the decoder's first states */
	const float *attn_key;		/* (D, D) W_a, no bias */
	struct sq_linear attn_out;	/* (D, 2D) W_c */
	const float *out_proj;		/* (Vt, D); == tgt_embed if tied */
	const float *out_bias;		/* (Vt) or NULL */
	struct sq_linear p_gen;		/* (1, 3D), (1): the copy gate; NULL
					   unless cfg.copy; float32 (.w) in
					   every engine dtype */
	/* the three above in the engine dtype; src_embed, tgt_embed and
	   out_proj are NULL if that is not float32 */
	struct sq_mat src_embed_q, tgt_embed_q, out_proj_q;
	int dtype;			/* enum sq_weight_dtype of the views */
	struct sq_linear len_pred;	/* (2K+1, D), (2K+1) with nat, else
					   NULL */

	const uint8_t *spm_src;		/* serialized SentencePiece model */
	size_t spm_src_len;
	const uint8_t *spm_tgt;		/* == spm_src if shared_vocab */
	size_t spm_tgt_len;
	const int32_t *vocab_src;	/* (Vs) model id -> piece, or NULL */
	const int32_t *vocab_tgt;	/* (Vt); == vocab_src if shared_vocab */

	struct sq_params *params;	/* the table of the weights, owned */
	float *owned;			/* (params->total) owned: the weights of
					   sq_model_new(), or those a file
					   stores as F16 or I8, widened; NULL
					   for a file of F32 weights */
	struct sq_packed *packed;	/* (n_packed) the views' packed
					   copies (nn/packed.h), or NULL;
					   sq_packed_free() frees them */
	int n_packed;
	void *q_owned;			/* the engine views that the dtype
					   asked for made (lib/nn/quant.c);
					   NULL if none */

	struct sq_st *file;		/* the mapped file (nn/safetensors.h),
					   owned; NULL for sq_model_new() */
};

/*
 * Maps and validates the model file at path: header JSON, offsets inside
 * the file and not overlapping, dtypes, every required tensor present with
 * the shape the config implies, I8 scales finite and >= 0.  The weight
 * matrices' views (struct sq_mat) are in dtype (enum sq_weight_dtype;
 * nn/weights.h says what is converted at load); their float32 fields are
 * NULL unless dtype is SQ_W_F32.  Returns NULL with sq_errstr() set to
 * "PATH: what (tensor NAME)" on failure.  Caller frees with
 * sq_model_close().
 */
struct sq_model *sq_model_open_as(const char *path, int dtype);

/*
 * sq_model_open_as(), but the float32 matrices a file stores in panels
 * (seqpipe-model.5; nn/panels.h) stay so in their views when dtype comes
 * to SQ_W_F32 for a Transformer, their fields NULL: for the engine on a
 * CPU with libxsmm's kernels (nn/packed.h), which reads nothing else.
 * sq_model_open_as() makes rows of them, in memory of the model's.
 */
struct sq_model *sq_model_open_panels(const char *path, int dtype);

/* sq_model_open_as(path, SQ_W_F32): every weight as float32. */
struct sq_model *sq_model_open(const char *path);
void sq_model_close(struct sq_model *m);

/*
 * A model in memory for config c (checked with sq_config_check() and
 * finished with sq_config_finish()) and id: every weight zero, in one
 * writable array m->owned laid out as m->params says, no SentencePiece
 * models or vocabularies (the caller may point those fields at memory it
 * keeps alive).  Returns NULL with sq_errstr() set on a bad config.
 * Caller frees with sq_model_close().
 */
struct sq_model *sq_model_new(const struct sq_config *c, const char *id);

/*
 * How sq_model_save() writes: the weights as float32, as F16 (every one:
 * half the bytes), or as int8 (the weight matrices, each row quantized
 * with a scale of its own, a quarter of the bytes; the vectors and
 * learned positions stay float32); and what a tool stores beside the
 * model in the same file (train's optimizer state and position): float32
 * vectors named "extra.*", which the loader ignores, and metadata keys
 * that contain a dot.
 */
struct sq_extra_tensor {
	const char *name;
	const float *data;	/* (numel) */
	long numel;
};
struct sq_extra_meta {
	const char *key, *value;
};
struct sq_save_opts {
	int dtype;		/* SQ_W_F32 (0), SQ_W_F16 or SQ_W_I8 */
	int n_tensors;
	const struct sq_extra_tensor *tensors;
	int n_meta;
	const struct sq_extra_meta *meta;
	int panels;		/* with SQ_W_F32: the matrices multiplied
				   by (sq_param_multiplied(): a tied output
				   table too) in nn/panels.h's layout
				   (seqpipe-model.5) */
};

/*
 * Writes m (its float32 fields set: a model opened as SQ_W_F32) to path
 * as a seqpipe model file, atomically: a temporary file
 * beside it, fsync'ed, then renamed over path, so a reader never sees a
 * half-written model and a crash leaves the old file.  A path that is
 * not a regular file (a pipe, /dev/stdout, a device) is written in place:
 * renaming over it would replace the device node.  Tensors by falling
 * element size (F32, I32, F16, I8, U8), in the order of m->params (an I8
 * matrix's scales, NAME_scale, after the F32 ones), x's (x may be NULL),
 * vocab.* and spm.* within a size;
 * metadata: format, model_id, provenance, every config key, then x's.
 * Returns 0, or -1 with sq_errstr() set (the temporary file removed; a
 * weight that int8 or F16 cannot hold is an error, as nn/weights.h's).
 */
int sq_model_save(const struct sq_model *m, const char *path,
    const struct sq_save_opts *x);

/*
 * A float32 vector "extra.*" of a mapped model file, and its length; NULL
 * if absent or not a 1-D F32 tensor.  Borrowed from the map.
 */
const float *sq_model_extra(const struct sq_model *m, const char *name,
    long *numel);

/* A metadata value of a mapped model file, or NULL.  Borrowed. */
const char *sq_model_meta(const struct sq_model *m, const char *key);

/*
 * The tools' metadata of a mapped model file (the keys with a dot), in
 * file order, into *kv: n entries whose strings are borrowed from m, in
 * an array the caller frees (NULL if n is 0).  Returns n.
 */
int sq_model_tool_meta(const struct sq_model *m, struct sq_extra_meta **kv);

/*
 * Reads only the header's metadata to learn the model id, without mapping
 * weights: for stream readers that check a header against -m.  Returns 0
 * or -1 (sq_errstr() set).
 */
int sq_model_peek_id(const char *path, char *id, size_t id_size);

#endif
