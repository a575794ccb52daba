/*
 * src/trace/check_internal.h — shared by the checker files: recording a
 * violation (the first one kept verbatim for the report) and the summary.
 */
#ifndef COHORT_TRACE_CHECK_INTERNAL_H
#define COHORT_TRACE_CHECK_INTERNAL_H

#include "cohort/check.h"
#include "cohort/trace_check.h"

/* Count a violation; the first one's text goes to out->first. */
COHORT_INTERNAL void check_fail(cohort_check_result_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* One-line summary into out->summary. */
COHORT_INTERNAL void check_summary(cohort_check_result_t *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Error message for a run() failure; returns rc. */
COHORT_INTERNAL int check_error(int rc, char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* a − b and a + b saturated to the int64 range: times and bounds come from
 * trace files and command lines, and may be anything an int64 holds. */
static inline int64_t check_sub_sat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}
static inline int64_t check_add_sat(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}
/* "12.345678s" for a ns time (static buffer per call site index 0..3). */
COHORT_INTERNAL const char *check_secs(int64_t ns, int slot);

/* The checkers (one file each). */
extern const cohort_checker_t cohort_check_causality;
extern const cohort_checker_t cohort_check_integrity;
extern const cohort_checker_t cohort_check_fd;
extern const cohort_checker_t cohort_check_fifo;
/* check_group.c: group membership and virtual synchrony. */
COHORT_INTERNAL extern const cohort_checker_t cohort_check_view_agreement;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_view_order;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_view_synchrony;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_vs_agreement;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_group_integrity;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_self_delivery;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_primary_unique;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_state_transfer;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_view_liveness;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_group_fifo;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_group_causal;
COHORT_INTERNAL extern const cohort_checker_t cohort_check_total_order;

#endif
