/*
 * src/core/parse.c — strict parsers for durations, numbers and key=value
 * protocol parameters. Every failure is COHORT_EINVAL with a message that
 * names the parameter and the bad text; nothing here asserts on input.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort/registry.h"

int cohort_parse_u64(const char *s, uint64_t *out) {
  if (!s || *s < '0' || *s > '9') return COHORT_EINVAL;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end) return COHORT_EINVAL;
  *out = (uint64_t)v;
  return 0;
}

int cohort_parse_double(const char *s, double *out) {
  if (!s || !*s) return COHORT_EINVAL;
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  if (errno || !end || *end || !isfinite(v)) return COHORT_EINVAL;
  *out = v;
  return 0;
}

int cohort_parse_duration(const char *s, int64_t *out_ns) {
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9},
               {"m", 60e9}, {"h", 3600e9}};
  if (!s || !*s || *s == '-' || *s == '+') return COHORT_EINVAL;
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  if (errno || end == s || !isfinite(v) || v < 0) return COHORT_EINVAL;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(end, units[i].unit) != 0) continue;
    double ns = v * units[i].ns;
    if (ns > 9.2e18) return COHORT_EINVAL;
    *out_ns = (int64_t)llround(ns);
    return 0;
  }
  return COHORT_EINVAL;
}

const char *cohort_param_get(const cohort_param_t *p, size_t n, const char *key) {
  const char *v = NULL;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(p[i].key, key)) v = p[i].value; /* last one wins */
  return v;
}

int cohort_param_check_known(const cohort_param_t *p, size_t n,
                             const char *const *known, const char *who,
                             char *err, size_t errcap) {
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (known[k] && strcmp(known[k], p[i].key)) k++;
    if (known[k]) continue;
    if (err) snprintf(err, errcap, "%s: unknown parameter '%s'", who, p[i].key);
    return COHORT_EINVAL;
  }
  return 0;
}

static int bad(const char *who, const char *key, const char *what,
               const char *v, char *err, size_t errcap) {
  if (err) snprintf(err, errcap, "%s: %s: %s: '%s'", who, key, what, v);
  return COHORT_EINVAL;
}

int cohort_param_duration(const cohort_param_t *p, size_t n, const char *key,
                          int64_t *out_ns, const char *who, char *err,
                          size_t errcap) {
  const char *v = cohort_param_get(p, n, key);
  if (!v) return 0;
  if (cohort_parse_duration(v, out_ns))
    return bad(who, key, "not a duration (e.g. 250ms, 2s)", v, err, errcap);
  return 0;
}

int cohort_param_double(const cohort_param_t *p, size_t n, const char *key,
                        double *out, const char *who, char *err, size_t errcap) {
  const char *v = cohort_param_get(p, n, key);
  if (!v) return 0;
  if (cohort_parse_double(v, out)) return bad(who, key, "not a number", v, err, errcap);
  return 0;
}

int cohort_param_u64(const cohort_param_t *p, size_t n, const char *key,
                     uint64_t *out, const char *who, char *err, size_t errcap) {
  const char *v = cohort_param_get(p, n, key);
  if (!v) return 0;
  if (cohort_parse_u64(v, out))
    return bad(who, key, "not a non-negative integer", v, err, errcap);
  return 0;
}

int cohort_param_bool(const cohort_param_t *p, size_t n, const char *key,
                      bool *out, const char *who, char *err, size_t errcap) {
  const char *v = cohort_param_get(p, n, key);
  if (!v) return 0;
  if (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) *out = true;
  else if (!strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0")) *out = false;
  else return bad(who, key, "not a boolean (true/false)", v, err, errcap);
  return 0;
}
