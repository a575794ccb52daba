/*
 * cohort/registry.h — protocols by name, so that the simulator's scenario
 * files and `cohort node` command lines can create any protocol the same
 * way: `fd interval=100ms detector=phi threshold=8`.
 *
 * Parameters are key=value strings; each factory validates its own and
 * reports a bad one in `err` ("fd: threshold: not a number: 'x'").
 */
#ifndef COHORT_REGISTRY_H
#define COHORT_REGISTRY_H

#include <stdbool.h>

#include "cohort/node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cohort_param {
  const char *key;
  const char *value;
} cohort_param_t;

typedef struct cohort_proto_factory {
  const char *name; /* "fd", "chatter", ... */
  const char *help; /* one line: parameters and defaults */
  /* Create an instance on `node` (not yet attached: the caller attaches).
   * On a bad parameter returns COHORT_EINVAL and writes a message. */
  int (*create)(cohort_node_t *node, const cohort_param_t *params,
                size_t params_len, cohort_proto_t **out, char *err,
                size_t errcap);
  /* Free an instance made by create (detached first by the caller). */
  void (*destroy)(cohort_proto_t *p);
  /* Optional: a short human-readable status ("phi 2=0.4 3=7.9"). Returns
   * length written or negative. */
  int (*status)(cohort_proto_t *p, char *buf, size_t cap);
} cohort_proto_factory_t;

/* Find a factory by name; NULL if none. */
const cohort_proto_factory_t *cohort_proto_factory_find(const char *name);
/* All factories, for --help listings. */
const cohort_proto_factory_t *const *cohort_proto_factories(size_t *len);

/* ---- parameter parsing helpers (shared by every factory) ---------------- */

/* Value of `key`, or NULL. */
const char *cohort_param_get(const cohort_param_t *p, size_t n, const char *key);
/* Fail with a message naming the first key not in `known` (NULL-ended). */
int cohort_param_check_known(const cohort_param_t *p, size_t n,
                             const char *const *known, const char *who,
                             char *err, size_t errcap);
/* Typed getters: leave *out untouched (the default) when the key is absent;
 * COHORT_EINVAL with a message when present and malformed. */
int cohort_param_duration(const cohort_param_t *p, size_t n, const char *key,
                          int64_t *out_ns, const char *who, char *err,
                          size_t errcap);
int cohort_param_double(const cohort_param_t *p, size_t n, const char *key,
                        double *out, const char *who, char *err,
                        size_t errcap);
int cohort_param_u64(const cohort_param_t *p, size_t n, const char *key,
                     uint64_t *out, const char *who, char *err, size_t errcap);
int cohort_param_bool(const cohort_param_t *p, size_t n, const char *key,
                      bool *out, const char *who, char *err, size_t errcap);

/* "250ms", "2s", "1.5s", "100us", "40ns", "3m", "1h". Returns 0 or
 * COHORT_EINVAL. Plain numbers are refused (the unit is required). */
int cohort_parse_duration(const char *s, int64_t *out_ns);
/* Strict decimal parsers: whole string, no sign for u64, range checked. */
int cohort_parse_u64(const char *s, uint64_t *out);
int cohort_parse_double(const char *s, double *out);

#ifdef __cplusplus
}
#endif
#endif
