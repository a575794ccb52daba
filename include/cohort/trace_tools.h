/*
 * cohort/trace_tools.h — writers behind `cohort trace diagram` and
 * `cohort trace shiviz`. Both take a loaded trace sorted with
 * cohort_trace_sort (merged from several files if need be) and write to a
 * caller-owned FILE; they allocate through the default allocator and free
 * everything before returning.
 */
#ifndef COHORT_TRACE_TOOLS_H
#define COHORT_TRACE_TOOLS_H

#include <stdio.h>

#include "cohort/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A self-contained HTML page (inline script, no network fetches) drawing
 * the space-time diagram of `t`; see docs/trace-tools.md. Returns 0,
 * COHORT_ENOMEM / COHORT_EFULL (trace too large), or COHORT_EIO when
 * writing fails; err says which. */
int cohort_trace_write_diagram(const cohort_trace_t *t, FILE *out,
                               const char *title, char *err, size_t errcap);
/* As cohort_trace_write_diagram, with an initial view in the page's
 * URL-fragment syntax ("zoom=K&at=S&hide=P,Q"; NULL or "" = the whole run,
 * every protocol shown). */
int cohort_trace_write_diagram_view(const cohort_trace_t *t, FILE *out, const char *title,
                                    const char *view, char *err, size_t errcap);

/* ShiViz's log format: the parser regex on the first line, an empty
 * execution delimiter on the second, then for each process event a
 * description line and `HOST {"HOST":n,...}` with a vector clock
 * recomputed from happened-before (so each host's own entry counts its
 * events 1, 2, 3, ... as ShiViz requires). Hosts are "n<node>", or
 * "n<node>.<inc>" for a node with several incarnations in the trace. */
int cohort_trace_write_shiviz(const cohort_trace_t *t, FILE *out, char *err,
                              size_t errcap);

/* The regex written on the first line of the ShiViz log. */
#define COHORT_SHIVIZ_REGEX "(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})"

#ifdef __cplusplus
}
#endif
#endif
