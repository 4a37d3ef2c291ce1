/*
 * config: the architecture config of a model (struct sq_config in
 * nn/model.h) as key = value strings, the form it takes in a model file's
 * __metadata__, in train's config files and on train's command line.
 *
 * One table of keys serves all three: the key is the struct field's name,
 * integers are decimal, booleans "0"/"1", floats as strtof reads them,
 * arch, activation, positions and input by name.  Defaults are
 * man/seqpipe-model.5's.
 */
#ifndef SQ_CONFIG_H
#define SQ_CONFIG_H

#include <stddef.h>

struct sq_config;

/* Every field at its default; d_model etc. (the required keys) zero. */
void sq_config_defaults(struct sq_config *c);

/*
 * Sets key to the value s.  Returns the key's index (0 <= i <
 * sq_config_n_keys()), -1 with sq_errstr() set to "config KEY = "S":
 * expected ..." on a bad value, or -2 if key is not a config key (no
 * error set: callers decide what an unknown key means).
 */
int sq_config_set(struct sq_config *c, const char *key, const char *s);

/*
 * The number of keys, key i's name, whether a model of an architecture
 * it applies to needs it, and whether it applies to c's architecture
 * (cfg.arch: an rnn model has no n_heads, d_ff, norms, activation,
 * positions or layer_norm_eps).  A model file holds exactly the keys
 * that apply.
 */
int sq_config_n_keys(void);
const char *sq_config_key(int i);
int sq_config_required(int i);
int sq_config_applies(const struct sq_config *c, int i);

/* The name of an enum sq_arch value: "transformer", "rnn". */
const char *sq_config_arch_name(int arch);

/*
 * Whether key i is left out of a model file for c: one of the keys newer
 * than the format (input, frame_dim, subsample, attention_window, nat,
 * nat_max_offset) at its default, so that a model that does not use them
 * reads in older versions.
 */
int sq_config_omitted(const struct sq_config *c, int i);

/*
 * Key i's value in c, formatted so that sq_config_set() reads back the
 * same value (floats with 9 significant digits).  Returns buf.
 */
const char *sq_config_value(const struct sq_config *c, int i, char *buf,
    size_t size);

/*
 * The values derived from others when not given: embed_scale = sqrt(D),
 * decoder_start_id = bos_id (eos_id without BOS).  Call once all keys are
 * set, before sq_config_check().
 */
void sq_config_finish(struct sq_config *c);

/*
 * Checks the config for coherence (positive sizes, heads dividing the
 * width, ids inside the vocabularies, ...).  Returns 0, or -1 with
 * sq_errstr() set to "WHERE: config ...".
 */
int sq_config_check(const struct sq_config *c, const char *where);

#endif
