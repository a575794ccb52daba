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

/* What to draw and how (zero-initialise: everything, default limits). */
typedef struct cohort_diagram_opts {
  const char *title; /* NULL: "cohort trace" */
  const char *view;  /* initial view, the page's URL-fragment syntax */
  /* Slice by true time, in ns after the trace's first event; to_ns 0 = to
   * the end. Messages crossing the slice edge lose their arrow. */
  int64_t from_ns, to_ns;
  const cohort_node_id_t *nodes; /* only these nodes' events; NULL = all */
  size_t nodes_len;
  const char *const *protos; /* only these protocols' events; NULL = all */
  size_t protos_len;
  uint32_t kinds_mask;    /* bit (1 << cohort_ev_type_t); 0 = every kind */
  size_t page_max_bytes;  /* 0 = COHORT_DIAGRAM_PAGE_MAX */
} cohort_diagram_opts_t;

typedef struct cohort_diagram_stats {
  size_t events;      /* drawn */
  size_t page_bytes;  /* written */
  size_t block_bytes; /* the compressed event block, before base64 */
  size_t raw_bytes;   /* the event columns before compression */
} cohort_diagram_stats_t;

/* The page for `o` (NULL = defaults). Returns 0 and fills *stats (may be
 * NULL); COHORT_EFULL with a message naming the slicing options when the
 * page would pass the size limit (nothing is written then); COHORT_EINVAL
 * when the slice selects no event; COHORT_ENOMEM; COHORT_EIO. */
int cohort_trace_write_diagram_opts(const cohort_trace_t *t, FILE *out,
                                    const cohort_diagram_opts_t *o,
                                    cohort_diagram_stats_t *stats, char *err,
                                    size_t errcap);

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
