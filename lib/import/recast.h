/*
 * recast: model files written with their weights in another dtype
 * (seqimport --dtype): a seqpipe model file rewritten, and the model id
 * any file written in a dtype other than float32 gets.
 */
#ifndef SQ_RECAST_H
#define SQ_RECAST_H

#include <stddef.h>

/*
 * id (size bytes) = base with "-f16" or "-int8" appended for dtype
 * (enum sq_weight_dtype; "-f32" for SQ_W_F32 only when base ends in one
 * of those), after removing any such ending base has: a model's weights
 * in another precision are other weights, with an id of their own
 * (man/seqpipe-model.5), and converting back and forth does not pile
 * endings up.  Cut to fit size.
 */
void sq_recast_id(char *id, size_t size, const char *base, int dtype);

/*
 * Reads the seqpipe model file in and writes it to out with its weights
 * in dtype, float32 in panels where they may be if panels (nn/model.h's
 * sq_save_opts): the config, the SentencePiece models, the vocabularies
 * and the tools' metadata kept, the "extra.*" tensors (train's state for
 * resuming) left out, the id as sq_recast_id() makes it, and
 * "; TOOL --dtype NAME" (and " --panels") added to the provenance.
 * Returns 0, or -1 with sq_errstr() set.
 */
int sq_recast(const char *in, const char *out, int dtype, int panels,
    const char *tool);

#endif
