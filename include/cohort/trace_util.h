/*
 * cohort/trace_util.h — helpers around cohort_trace_t (trace.h) for the
 * checkers, the tools and tests: a trace with an injectable allocator,
 * typed reads of a record's "data" object, and turning a parsed record
 * back into an event for re-formatting (merge).
 */
#ifndef COHORT_TRACE_UTIL_H
#define COHORT_TRACE_UTIL_H

#include "cohort/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Like cohort_trace_init, but every allocation of this trace goes through
 * `a` (which must outlive the trace). COHORT_ENOMEM leaves `t` closed. */
int cohort_trace_init_alloc(cohort_trace_t *t, const cohort_allocator_t *a);

/* Read the member `key` of a data object text (rec->data_json), e.g.
 * cohort_trace_data_i64(rec->data_json, "peer", &peer). Returns 0,
 * COHORT_ENOTFOUND (no data, or no such key), or COHORT_EPROTO (malformed
 * object, or the value is not an integer / number). *out written on 0. */
int cohort_trace_data_i64(const char *data_json, const char *key,
                          int64_t *out);
/* The same for unsigned 64-bit values (fencing tokens, epochs: the whole
 * range 0..2^64-1; a negative or larger value is COHORT_EPROTO). */
int cohort_trace_data_u64(const char *data_json, const char *key,
                          uint64_t *out);
int cohort_trace_data_double(const char *data_json, const char *key,
                             double *out);

/* A parsed record as an event, for cohort_trace_format. `vc_holder` is
 * storage for the borrowed vector clock (no allocation; the entries stay
 * in the trace). */
void cohort_trace_rec_event(const cohort_trace_rec_t *r,
                            cohort_vclock_t *vc_holder,
                            cohort_trace_event_t *out);

/* Two records carry the same message kind (name, or number if unnamed). */
bool cohort_trace_same_kind(const cohort_trace_rec_t *a,
                            const cohort_trace_rec_t *b);

/* Open a trace file. Reading ("r"): a gzip-compressed file (by its magic
 * bytes, whatever its name) is decompressed transparently, anything else
 * is read as it is. Writing ("w"): a name ending in ".gz" is written
 * gzip-compressed (zlib level 1: fast), any other plainly. Returns a FILE the
 * caller fcloses (the compressed stream's trailer is written then), or
 * NULL with errno set. A corrupt compressed file reads as an error with
 * errno EBADMSG; a truncated one (a writer killed before fclose) reads up
 * to where the data stops. */
FILE *cohort_trace_fopen(const char *path, const char *mode);

/* Nullable string equality (NULL equals only NULL). */
bool cohort_trace_str_eq(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
