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
/* "12.345678s" for a ns time (static buffer per call site index 0..3). */
COHORT_INTERNAL const char *check_secs(int64_t ns, int slot);

/* The checkers (one file each). */
extern const cohort_checker_t cohort_check_causality;
extern const cohort_checker_t cohort_check_integrity;
extern const cohort_checker_t cohort_check_fd;
extern const cohort_checker_t cohort_check_fifo;

#endif
