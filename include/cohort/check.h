/*
 * cohort/check.h — trace checkers: properties verified from a trace alone,
 * independently of the protocol code that produced it.
 *
 * Each checker is a value of cohort_checker_t listed in the table in
 * src/trace/checkers.c. `cohort trace check`, `cohort sim` (after a run, for
 * the checkers a scenario names) and the tests call them through here.
 * Every checker has a test feeding it a deliberately broken trace that it
 * must reject: a checker never seen failing is a defect.
 */
#ifndef COHORT_CHECK_H
#define COHORT_CHECK_H

#include "cohort/registry.h"
#include "cohort/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cohort_check_result {
  uint64_t violations;  /* 0 = the property holds on this trace */
  uint64_t checked;     /* how many items were checked (events, messages) */
  char first[512];      /* first violation: "line 42: node 3 ..." */
  char summary[256];    /* one line for humans */
} cohort_check_result_t;

typedef struct cohort_checker {
  const char *name; /* "causality", "fd", "integrity", ... */
  const char *help; /* one line: property and parameters */
  /* Run over a loaded trace (sorted by cohort_trace_sort). Returns 0 when
   * the check ran (whatever its verdict: see out->violations), or
   * COHORT_EINVAL with a message for bad parameters. */
  int (*run)(const cohort_trace_t *t, const cohort_param_t *params,
             size_t params_len, cohort_check_result_t *out, char *err,
             size_t errcap);
} cohort_checker_t;

const cohort_checker_t *cohort_checker_find(const char *name);
const cohort_checker_t *const *cohort_checkers(size_t *len);

#ifdef __cplusplus
}
#endif
#endif
