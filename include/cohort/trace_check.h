/*
 * cohort/trace_check.h — what `cohort trace check` needs to know about the
 * checkers of check.h beyond running them: the parameters each accepts
 * (so key=value arguments can be routed to the checkers that know them)
 * and whether a trace holds what a checker needs (the default selection).
 */
#ifndef COHORT_TRACE_CHECK_H
#define COHORT_TRACE_CHECK_H

#include "cohort/check.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NULL-terminated parameter names of `c` (never NULL itself). */
const char *const *cohort_checker_params(const cohort_checker_t *c);

/* True when `t` has the events `c` needs and `c` runs without explicit
 * parameters (e.g. `fd` needs failure-detector events; `fifo` is never a
 * default because a lossy, reordering network legitimately breaks it). */
bool cohort_checker_applies(const cohort_checker_t *c, const cohort_trace_t *t);

#ifdef __cplusplus
}
#endif
#endif
