/*
 * src/trace/json.h — the small JSON reader behind the trace parser and the
 * data-field helpers (internal to lib_trace).
 *
 * A cursor walks a bounded byte range; nothing here allocates, and every
 * function either advances the cursor past a well-formed value and returns
 * 0, or returns COHORT_EPROTO with a static reason in c->why. Nesting is
 * bounded (JSON_DEPTH_MAX) so hostile input cannot exhaust the stack.
 */
#ifndef COHORT_TRACE_JSON_H
#define COHORT_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cohort/core.h"

/* Objects and arrays nested deeper than this are refused. */
#define JSON_DEPTH_MAX 64

typedef struct json_cursor {
  const char *p, *end;
  const char *why; /* set on error: what was wrong */
} json_cursor_t;

COHORT_INTERNAL void json_ws(json_cursor_t *c);
/* Consume `ch` (after whitespace) or fail. */
COHORT_INTERNAL int json_expect(json_cursor_t *c, char ch);
/* Skip any value. */
COHORT_INTERNAL int json_skip(json_cursor_t *c);
/* A string: on success *raw and *raw_len span the text between the quotes
 * (escapes not decoded) and *escaped says whether any backslash occurs. */
COHORT_INTERNAL int json_string_raw(json_cursor_t *c, const char **raw,
                                    size_t *raw_len, bool *escaped);
/* Decode the inside of a string (as returned by json_string_raw) into out,
 * which must hold raw_len + 1 bytes (decoding never grows). Returns the
 * decoded length or COHORT_EPROTO (bad escape, NUL byte). */
COHORT_INTERNAL int json_unescape(const char *raw, size_t raw_len, char *out,
                                  const char **why);
/* Integers: an optional '-', digits, no fraction or exponent. */
COHORT_INTERNAL int json_u64(json_cursor_t *c, uint64_t *out);
COHORT_INTERNAL int json_i64(json_cursor_t *c, int64_t *out);
/* Any JSON number. */
COHORT_INTERNAL int json_number(json_cursor_t *c, double *out);
/* Find `key` among the members of the object starting at the cursor; on
 * success the cursor sits at its value. COHORT_ENOTFOUND if absent,
 * COHORT_EPROTO if the object is malformed. */
COHORT_INTERNAL int json_find_key(json_cursor_t *c, const char *key);

#endif
