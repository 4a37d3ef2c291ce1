/*
 * hf: imports a Hugging Face MarianMTModel folder (the conversions of the
 * OPUS-MT models on the Hugging Face hub) as a seqpipe model, per
 * shared/marian-format.md §4; man/seqimport.1 has the user's view.
 *
 * What is read: config.json (Jansson), model.safetensors (nn/safetensors:
 * F32 or F16 weights), vocab.json (piece: id, the <pad> included),
 * source.spm and target.spm.  A folder with only pytorch_model.bin is
 * refused by name: Python pickles are not read.
 *
 * The mapping: Hugging Face's names are seqpipe's with "model." in front
 * (both store [out, in]); the one embedding (model.shared.weight, or
 * whichever of its aliases the file kept: the encoder's, the decoder's,
 * lm_head.weight) is the tied table of both sides, lm_head.weight the
 * output projection when tie_word_embeddings is false, final_logits_bias
 * the output bias (zero if absent, as Hugging Face loads it).  The math
 * is Hugging Face's, not Marian's (§4.3): layer norms with eps 1e-5,
 * positions sinusoidal_half_hf (stored embed_positions tables must be
 * those sinusoids), the embedding scaled by sqrt(d) only with
 * scale_embedding, the vocabulary with its <pad> (pad_id), which the
 * decoder starts from (decoder_start_id = decoder_start_token_id) and the
 * searches never produce, max_positions = max_position_embeddings.  EOS
 * is eos_token_id, UNK the id of "<unk>"; the source gets EOS appended,
 * as MarianTokenizer does (metadata marian.source-eos-id).
 *
 * Refused, with a message naming the thing: another model_type, separate
 * vocabularies (share_encoder_decoder_embeddings false, or a
 * decoder_vocab_size of its own), encoder and decoder of different head
 * counts or FFN widths, an activation other than swish/silu, relu and
 * gelu, bad_words_ids other than [[pad_token_id]], and any tensor the
 * mapping does not use.
 */
#ifndef SQ_HF_H
#define SQ_HF_H

/* Whether path is a folder holding config.json (a Hugging Face model). */
int sq_hf_folder(const char *path);

/*
 * Imports the folder dir and writes the model to out (atomically: nothing
 * is left at out on failure), its weights in dtype (enum sq_weight_dtype;
 * the model id as import/recast.h's), float32 in panels where they may be
 * if panels (nn/model.h's sq_save_opts).  tool names the importer in the
 * model's provenance.  Returns 0, or -1 with sq_errstr() set to one line
 * naming the file and what is wrong.
 */
int sq_hf_import(const char *dir, const char *out, int dtype, int panels,
    const char *tool);

#endif
