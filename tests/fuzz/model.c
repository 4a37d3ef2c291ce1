/*
 * Fuzz harness: the model file loader (lib/nn/model.c): the safetensors
 * length prefix, the JSON header, offsets, dtypes (F16 widened at load),
 * the config in __metadata__, float32 panels made rows.  A model that
 * opens is walked over every weight, vocabulary and SentencePiece blob at
 * the sizes it claims, as the programs would; sq_model_peek_id() reads
 * the same file its own way; opened again as the engine opens it, panels
 * kept, each view is walked at the size its layout takes.
 */
#include <string.h>

#include "fuzz.h"
#include "nn/model.h"
#include "nn/panels.h"
#include "nn/params.h"

/* The engine's open: every view at its size, float32 panels or rows. */
static void
walk_views(const char *path)
{
	struct sq_model *m = sq_model_open_panels(path, SQ_W_F32);

	if (m == NULL)
		return;
	for (int i = 0; i < m->params->n; i++) {
		const struct sq_param *p = &m->params->p[i];
		const struct sq_mat *v;

		if (!p->has_view)
			continue;
		v = sq_param_view(m, p);
		fz_touch(v->data, v->panels ? sq_panels_size(p->dims[0],
		    p->dims[1]) * 4 : (size_t)p->numel * 4);
	}
	sq_model_close(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fz_file(0, data, size);
	struct sq_model *m;
	char id[256];

	(void)sq_model_peek_id(path, id, sizeof(id));
	walk_views(path);
	if ((m = sq_model_open(path)) == NULL)
		return 0;
	for (int i = 0; i < m->params->n; i++) {
		const struct sq_param *p = &m->params->p[i];

		fz_touch(*sq_param_field(m, p), (size_t)p->numel * 4);
	}
	fz_touch(m->tgt_embed, (size_t)m->cfg.tgt_vocab_size * m->cfg.d_model * 4);
	fz_touch(m->out_proj, (size_t)m->cfg.tgt_vocab_size * m->cfg.d_model * 4);
	if (m->spm_src)
		fz_touch(m->spm_src, m->spm_src_len);
	if (m->spm_tgt)
		fz_touch(m->spm_tgt, m->spm_tgt_len);
	if (m->vocab_src)
		fz_touch(m->vocab_src, (size_t)m->cfg.src_vocab_size * 4);
	if (m->vocab_tgt)
		fz_touch(m->vocab_tgt, (size_t)m->cfg.tgt_vocab_size * 4);
	fz_touch(m->provenance, strlen(m->provenance));
	sq_model_close(m);
	return 0;
}
