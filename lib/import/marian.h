/*
 * marian: imports an OPUS-MT / Tatoeba-MT Marian transformer (a release
 * zip or its unpacked folder) as a seqpipe model, per
 * shared/marian-format.md; man/seqimport.1 has the user's view.
 *
 * What is read: the one *.npz (weights and "special:model.yml", the
 * architecture), decoder.yml (which vocabulary file is which side, and
 * the search defaults, kept as "marian.*" metadata), the two
 * vocabularies (YAML piece: id maps, or text files with one piece per
 * line), source.spm and target.spm.
 *
 * The mapping: Marian computes x W + b with W stored [in, out]; seqpipe
 * stores [out, in], so every projection is transposed and every [1, n]
 * bias flattened.  Embeddings are scaled by sqrt(d), positions are
 * sinusoidal_half from 0 (Marian's frequencies, 10000^(-i/(d/2-1))),
 * layer norms have eps 1e-6, the FFN is swish (SiLU) or ReLU.  Marian's
 * decoder starts from a zero vector, not a token: decoder_start_id is -1,
 * which says just that (man/seqpipe-model.5), and the vocabularies are
 * Marian's.  EOS and UNK are the ids of "</s>" and "<unk>" in the target
 * vocabulary; bos_id and pad_id are -1.
 *
 * Refused, with a message naming the thing: average-attention and RNN
 * (SSRU) decoders, factored vocabularies (.fsv), lexical shortlists
 * asked for by decoder.yml, learned or disabled positions, embedding
 * layer norms, FFN depths other than 2, tied layers, gelu (Marian's
 * differs by version), and any tensor the mapping does not consume.
 */
#ifndef SQ_MARIAN_H
#define SQ_MARIAN_H

/*
 * Imports the release at in (a .zip file or a folder) and writes the
 * model to out (atomically: nothing is left at out on failure), its
 * weights in dtype (enum sq_weight_dtype; the model id as
 * import/recast.h's), float32 in panels where they may be if panels
 * (nn/model.h's sq_save_opts).  tool names the importer in the model's
 * provenance.  Returns 0, or -1 with sq_errstr() set to one line naming
 * what is wrong.
 */
int sq_marian_import(const char *in, const char *out, int dtype,
    int panels, const char *tool);

#endif
