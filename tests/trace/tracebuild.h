/*
 * tests/trace/tracebuild.h — building traces in tests the way hosts do:
 * every event goes through cohort_trace_format and back through
 * cohort_trace_parse_line, so checker tests also exercise the format.
 */
#ifndef COHORT_TESTS_TRACEBUILD_H
#define COHORT_TESTS_TRACEBUILD_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/check.h"
#include "cohort/trace_check.h"
#include "cohort/trace.h"
#include "cohort/trace_util.h"

/* Format `ev` and parse it back into t (asserting both succeed). */
static inline void tb_add(cohort_trace_t *t, const cohort_trace_event_t *ev) {
  char line[COHORT_TRACE_LINE_MAX], err[256];
  int n = cohort_trace_format(ev, line, sizeof line);
  assert_true(n > 0);
  int rc = cohort_trace_parse_line(t, line, (size_t)n, t->len + 1, err, sizeof err);
  if (rc) fail_msg("parse_line: %s: %s", err, line);
}

/* Parse a literal JSON line into t (asserting success). */
static inline void tb_line(cohort_trace_t *t, const char *line) {
  char err[256];
  int rc = cohort_trace_parse_line(t, line, strlen(line), t->len + 1, err, sizeof err);
  if (rc) fail_msg("parse_line: %s: %s", err, line);
}

/* Run checker `name` with params "k=v" strings (NULL-terminated). */
static inline int tb_check(const cohort_trace_t *t, const char *name,
                           const char *const *kv, cohort_check_result_t *res) {
  const cohort_checker_t *c = cohort_checker_find(name);
  assert_non_null(c);
  cohort_param_t params[8];
  static char store[8][128];
  size_t n = 0;
  for (; kv && kv[n]; n++) {
    assert_true(n < 8);
    snprintf(store[n], sizeof store[n], "%s", kv[n]);
    char *eq = strchr(store[n], '=');
    assert_non_null(eq);
    *eq = '\0';
    params[n] = (cohort_param_t){store[n], eq + 1};
  }
  char err[256] = "";
  memset(res, 0, sizeof *res);
  int rc = c->run(t, params, n, res, err, sizeof err);
  if (rc == 0) assert_true(res->summary[0] != '\0');
  else assert_true(err[0] != '\0');
  return rc;
}

#endif
