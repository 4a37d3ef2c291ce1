/*
 * spm: the extern "C" wrapper over libsentencepiece (contracts in spm.h).
 *
 * Every entry point catches whatever C++ throws and turns a non-ok
 * util::Status into -1 and sq_seterr(), so C callers see return codes
 * only.  The per-line calls reuse the handle's vectors and strings
 * (clear() keeps their capacity): after the first long line they do no
 * allocation of ours; SentencePiece itself still builds a
 * SentencePieceText per call, exactly as spm_encode does.
 *
 * Decoding maps ids to pieces as string_views into the model and calls
 * Decode(pieces): the path Decode(ids) takes inside SentencePiece, minus
 * its copy of every piece into a std::string.
 *
 * Sampling: SentencePiece draws from a thread-local std::mt19937 that it
 * seeds once, when a thread first uses it (sentencepiece::random::
 * GetRandomGenerator(), util.cc; SetRandomGeneratorSeed() only sets the
 * seed for generators created later).  To make a sample depend on its
 * own seed alone we reseed that generator before each call; the function
 * is exported by libsentencepiece.so but declared only in its internal
 * util.h, so it is declared here.  mt19937(seed) and mt.seed(seed) give
 * the same sequence, so one line sampled here equals spm_encode
 * --random_seed=seed on that line.
 */
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <zlib.h>

extern "C" {
#include "nn/model.h"
#include "base/util.h"
}
#include "io/spm.h"

namespace sentencepiece {
namespace random {
std::mt19937 *GetRandomGenerator();
}
namespace logging {
void SetMinLogLevel(int v);
}
}  // namespace sentencepiece

static_assert(sizeof(int) == sizeof(int32_t), "ids are int32_t");

struct sq_spm {
	sentencepiece::SentencePieceProcessor sp;
	std::vector<int> ids;
	std::vector<std::string> pieces;
	std::vector<std::string_view> views;
	std::string text;
	std::vector<std::vector<int>> nbest_ids;
	std::vector<sq_spm_cand> cands;
	char model_id[16];	/* "spm-" + CRC-32 of the serialized model */
	std::string encode_options, decode_options;
	/*
	 * A model file's own numbering of the pieces (vocab.source or
	 * vocab.target), when it has one: both empty otherwise.  Encoding
	 * gives model ids (a piece the model lacks: its UNK); decoding takes
	 * them (an id without a piece is left out of the text).
	 */
	std::vector<int32_t> to_model;	/* (pieces) */
	std::vector<int32_t> to_spm;	/* (model ids) */
	int model_eos = 0;	/* the model wants EOS after each source */
};

/* s->ids in the model's numbering, when it has its own. */
static void
map_out(struct sq_spm *s, std::vector<int> &ids)
{
	if (!s->to_model.empty())
		for (auto &id : ids)
			id = s->to_model[id];
}

static int
status_err(const sentencepiece::util::Status &st, const char *what)
{
	sq_seterr("%s: %s", what, st.message());
	return -1;
}

static int
exception_err(const char *what)
{
	try {
		throw;
	} catch (const std::bad_alloc &) {
		sq_seterr("%s: out of memory", what);
	} catch (const std::exception &e) {
		sq_seterr("%s: %s", what, e.what());
	} catch (...) {
		sq_seterr("%s: unknown C++ exception", what);
	}
	return -1;
}

static struct sq_spm *
load(const char *data, size_t len, const char *what)
{
	sq_spm *s = nullptr;

	try {
		s = new sq_spm;
		auto st = s->sp.LoadFromSerializedProto(std::string_view(data,
		    len));
		if (!st.ok()) {
			sq_seterr("%s: not a SentencePiece model (%s)", what,
			    st.message());
			delete s;
			return nullptr;
		}
		snprintf(s->model_id, sizeof(s->model_id), "spm-%08lx",
		    crc32(0L, reinterpret_cast<const Bytef *>(data), len));
		return s;
	} catch (...) {
		delete s;
		exception_err(what);
		return nullptr;
	}
}

extern "C" struct sq_spm *
sq_spm_open(const char *path)
{
	FILE *f;
	char *buf = nullptr;
	size_t len = 0, cap = 0, n;
	struct sq_spm *s;

	if (!(f = fopen(path, "rb"))) {
		sq_seterr("%s: %s", path, strerror(errno));
		return nullptr;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 1 << 20;
			buf = static_cast<char *>(sq_realloc(buf, cap));
		}
		len += n = fread(buf + len, 1, cap - len, f);
	} while (n > 0);
	if (ferror(f)) {
		sq_seterr("%s: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return nullptr;
	}
	fclose(f);
	s = load(buf, len, path);
	free(buf);
	return s;
}

extern "C" struct sq_spm *
sq_spm_new(const void *data, size_t len)
{
	return load(static_cast<const char *>(data), len, "SentencePiece model");
}

/*
 * The model file's numbering: map (n model ids) gives each one's piece
 * (-1: none); a piece the model lacks encodes as unk.  NULL map: none.
 * 0, or -1 with the error set (a piece id the SentencePiece model has
 * not, or a model without UNK whose vocabulary misses a piece).
 */
static int
set_map(struct sq_spm *s, const int32_t *map, int n, int unk, const char *what)
{
	int pieces = s->sp.GetPieceSize();

	if (map == nullptr)
		return 0;
	s->to_spm.assign(map, map + n);
	s->to_model.assign((size_t)pieces, unk);
	for (int i = n - 1; i >= 0; i--) {
		if (map[i] >= pieces) {
			sq_seterr("%s: vocabulary entry %d is piece %d, the "
			    "SentencePiece model has %d", what, i, (int)map[i],
			    pieces);
			return -1;
		}
		if (map[i] >= 0)
			s->to_model[map[i]] = i;	/* the lowest id wins */
	}
	for (int p = 0; p < pieces; p++)
		if (s->to_model[p] < 0) {
			sq_seterr("%s: piece %d has no model id and the model "
			    "has no UNK", what, p);
			return -1;
		}
	return 0;
}

extern "C" int
sq_spm_model_eos(const struct sq_spm *s)
{
	return s->model_eos;
}

extern "C" struct sq_spm *
sq_spm_model(const struct sq_model *m, int target)
{
	struct sq_spm *s;
	const char *tensor = target ? "spm.target" : "spm.source";
	const uint8_t *data = target ? m->spm_tgt : m->spm_src;
	size_t len = target ? m->spm_tgt_len : m->spm_src_len;
	char what[4096];

	if (!data && !target && m->cfg.input == SQ_INPUT_FRAMES) {
		sq_seterr("%s: the model reads frames (config input frames), "
		    "not text: it has no source SentencePiece model", m->path);
		return nullptr;
	}
	if (!data) {
		sq_seterr("%s: no %s tensor: the model file has no "
		    "SentencePiece model", m->path, tensor);
		return nullptr;
	}
	snprintf(what, sizeof(what), "%s: %s", m->path, tensor);
	s = load(reinterpret_cast<const char *>(data), len, what);
	if (s && set_map(s, target ? m->vocab_tgt : m->vocab_src, target ?
	    m->cfg.tgt_vocab_size : m->cfg.src_vocab_size, m->cfg.unk_id,
	    what) < 0) {
		sq_spm_free(s);
		return nullptr;
	}
	if (s)
		s->model_eos = !target &&
		    sq_model_meta(m, "marian.source-eos-id") != nullptr;
	return s;
}

extern "C" struct sq_spm *
sq_spm_open_model(const char *path, int target, char *id, size_t id_size)
{
	struct sq_model *m;
	struct sq_spm *s;

	/* in the dtype stored: an int8 file is not dequantized, nor an F16
	   one widened, for nothing */
	if (!(m = sq_model_open_as(path, SQ_W_STORED)))
		return nullptr;
	if ((s = sq_spm_model(m, target)))
		snprintf(id, id_size, "%s", m->model_id);
	sq_model_close(m);
	return s;
}

extern "C" struct sq_spm *
sq_spm_dup(const struct sq_spm *s)
{
	struct sq_spm *d;

	try {
		std::string proto = s->sp.serialized_model_proto();

		if (!(d = load(proto.data(), proto.size(), "SentencePiece model")))
			return nullptr;
	} catch (...) {
		exception_err("SentencePiece model");
		return nullptr;
	}
	memcpy(d->model_id, s->model_id, sizeof(d->model_id));
	d->to_model = s->to_model;
	d->to_spm = s->to_spm;
	d->model_eos = s->model_eos;
	if (sq_spm_set_options(d, s->encode_options.c_str(),
	    s->decode_options.c_str()) < 0) {
		sq_spm_free(d);
		return nullptr;
	}
	return d;
}

extern "C" void
sq_spm_free(struct sq_spm *s)
{
	delete s;
}

extern "C" const char *
sq_spm_model_id(const struct sq_spm *s)
{
	return s->model_id;
}

extern "C" int
sq_spm_set_options(struct sq_spm *s, const char *encode, const char *decode)
{
	try {
		auto st = s->sp.SetEncodeExtraOptions(encode ? encode : "");
		if (!st.ok())
			return status_err(st, "encode options");
		st = s->sp.SetDecodeExtraOptions(decode ? decode : "");
		if (!st.ok())
			return status_err(st, "decode options");
		s->encode_options = encode ? encode : "";
		s->decode_options = decode ? decode : "";
		return 0;
	} catch (...) {
		return exception_err("options");
	}
}

extern "C" int
sq_spm_size(const struct sq_spm *s)
{
	return s->sp.GetPieceSize();
}

extern "C" const char *
sq_spm_piece(const struct sq_spm *s, int id)
{
	if (id < 0 || id >= s->sp.GetPieceSize())
		return nullptr;
	return s->sp.IdToPiece(id).c_str();
}

extern "C" int
sq_spm_id(const struct sq_spm *s, const char *piece)
{
	return s->sp.PieceToId(piece);
}

extern "C" int
sq_spm_bos(const struct sq_spm *s)
{
	return s->sp.bos_id();
}

extern "C" int
sq_spm_eos(const struct sq_spm *s)
{
	return s->sp.eos_id();
}

extern "C" int
sq_spm_unk(const struct sq_spm *s)
{
	return s->sp.unk_id();
}

extern "C" int
sq_spm_pad(const struct sq_spm *s)
{
	return s->sp.pad_id();
}

/* The result of a call that filled s->ids. */
static int
give_ids(struct sq_spm *s, const sentencepiece::util::Status &st,
    const char *what, const int32_t **ids, size_t *n_ids)
{
	if (!st.ok())
		return status_err(st, what);
	map_out(s, s->ids);
	*ids = reinterpret_cast<const int32_t *>(s->ids.data());
	*n_ids = s->ids.size();
	return 0;
}

extern "C" int
sq_spm_encode(struct sq_spm *s, const char *text, size_t len,
    const int32_t **ids, size_t *n_ids)
{
	try {
		return give_ids(s, s->sp.Encode(std::string_view(text, len),
		    &s->ids), "encode", ids, n_ids);
	} catch (...) {
		return exception_err("encode");
	}
}

extern "C" int
sq_spm_encode_pieces(struct sq_spm *s, const char *text, size_t len,
    const char **out, size_t *out_len)
{
	try {
		auto st = s->sp.Encode(std::string_view(text, len),
		    &s->pieces);
		if (!st.ok())
			return status_err(st, "encode");
		s->text.clear();
		for (size_t i = 0; i < s->pieces.size(); i++) {
			if (i)
				s->text += ' ';
			s->text += s->pieces[i];
		}
		*out = s->text.c_str();
		*out_len = s->text.size();
		return 0;
	} catch (...) {
		return exception_err("encode");
	}
}

extern "C" int
sq_spm_nbest(struct sq_spm *s, const char *text, size_t len, int n,
    const struct sq_spm_cand **cands, size_t *n_cands)
{
	try {
		auto nb = s->sp.NBestEncodeAsImmutableProto(
		    std::string_view(text, len), n);
		size_t k = nb.nbests_size();

		/*
		 * The Immutable call swallows the Status: no candidate at
		 * all is how a failure (e.g. a BPE model) shows.  Ask the
		 * Status-returning form for the message.
		 */
		if (k == 0) {
			auto st = s->sp.NBestEncode(std::string_view(text,
			    len), n, &s->nbest_ids);
			if (!st.ok())
				return status_err(st, "n-best");
		}
		/* an empty line has one empty candidate, as spm_encode's */
		s->nbest_ids.resize(k ? k : 1);
		s->cands.resize(k ? k : 1);
		s->nbest_ids[0].clear();
		s->cands[0] = { s->nbest_ids[0].data(), 0, 0.0f };
		for (size_t i = 0; i < k; i++) {
			auto c = nb.nbests(i);
			auto &v = s->nbest_ids[i];
			v.clear();
			for (size_t j = 0; j < c.pieces_size(); j++)
				v.push_back(c.pieces(j).id());
			map_out(s, v);
			s->cands[i].ids =
			    reinterpret_cast<const int32_t *>(v.data());
			s->cands[i].n_ids = v.size();
			s->cands[i].score = c.score();
		}
		*cands = s->cands.data();
		*n_cands = s->cands.size();
		return 0;
	} catch (...) {
		return exception_err("n-best");
	}
}

extern "C" int
sq_spm_sample(struct sq_spm *s, const char *text, size_t len,
    int nbest_size, float alpha, uint32_t seed, const int32_t **ids,
    size_t *n_ids)
{
	try {
		sentencepiece::random::GetRandomGenerator()->seed(seed);
		return give_ids(s, s->sp.SampleEncode(std::string_view(text,
		    len), nbest_size, alpha, &s->ids), "sample", ids, n_ids);
	} catch (...) {
		return exception_err("sample");
	}
}

extern "C" int
sq_spm_decode(struct sq_spm *s, const int32_t *ids, size_t n_ids,
    const char **out, size_t *out_len)
{
	try {
		int v = s->to_spm.empty() ? s->sp.GetPieceSize() :
		    (int)s->to_spm.size();

		s->views.clear();
		for (size_t i = 0; i < n_ids; i++) {
			int id = ids[i];

			if (id < 0 || id >= v) {
				sq_seterr("id %d out of range [0, %d)", id, v);
				return -1;
			}
			if (!s->to_spm.empty() && (id = s->to_spm[id]) < 0)
				continue;
			s->views.emplace_back(s->sp.IdToPiece(id));
		}
		auto st = s->sp.Decode(s->views, &s->text);
		if (!st.ok())
			return status_err(st, "decode");
		*out = s->text.c_str();
		*out_len = s->text.size();
		return 0;
	} catch (...) {
		return exception_err("decode");
	}
}

namespace {
/* SentencePiece's sentence source over the C callback. */
class CallbackIterator : public sentencepiece::SentenceIterator {
public:
	CallbackIterator(sq_spm_next_fn *next, void *ctx)
	    : next_(next), ctx_(ctx) { Next(); }
	bool done() const override { return done_; }
	void Next() override
	{
		size_t len = 0;
		const char *p = next_(ctx_, &len);

		if (p)
			value_.assign(p, len);
		else
			done_ = true;
	}
	const std::string &value() const override { return value_; }
	sentencepiece::util::Status status() const override { return {}; }

private:
	sq_spm_next_fn *next_;
	void *ctx_;
	std::string value_;
	bool done_ = false;
};
}  // namespace

extern "C" int
sq_spm_train(const char *options, sq_spm_next_fn *next, void *ctx,
    int quiet, char **model, size_t *model_len)
{
	try {
		std::string proto;
		sentencepiece::util::Status st;

		if (quiet)
			sentencepiece::logging::SetMinLogLevel(2);
		if (next) {
			CallbackIterator it(next, ctx);
			st = sentencepiece::SentencePieceTrainer::Train(options,
			    &it, model ? &proto : nullptr);
		} else {
			st = sentencepiece::SentencePieceTrainer::Train(options,
			    nullptr, model ? &proto : nullptr);
		}
		if (!st.ok())
			return status_err(st, "SentencePiece training");
		if (model) {
			*model = static_cast<char *>(sq_malloc(proto.size()));
			memcpy(*model, proto.data(), proto.size());
			*model_len = proto.size();
		}
		return 0;
	} catch (...) {
		return exception_err("SentencePiece training");
	}
}
