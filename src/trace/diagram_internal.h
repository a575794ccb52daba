/*
 * src/trace/diagram_internal.h — what diagram.c (selection, lanes, ranks,
 * the page) and diagram_enc.c (the compressed columnar event block) share.
 *
 * Invariants: sel->idx lists selected record indices in trace order;
 * sel->newpos maps every record index to its position in the selection
 * or -1; every string index written is < st->len.
 */
#ifndef COHORT_TRACE_DIAGRAM_INTERNAL_H
#define COHORT_TRACE_DIAGRAM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "cohort/trace_hb.h"

#define DG_STR_SLOTS (2 * COHORT_DIAGRAM_STRS_MAX)

typedef struct dg_strtab {
  const char *strs[COHORT_DIAGRAM_STRS_MAX];
  uint32_t slot[DG_STR_SLOTS]; /* 0 = empty, else index + 1 */
  uint32_t len;
  char nums[64][12]; /* "#7": numbered kinds, interned as text */
  uint32_t nums_len;
} dg_strtab_t;

typedef struct dg_sel {
  const cohort_trace_t *t;
  const cohort_hb_t *hb;
  const int64_t *rank;      /* per record */
  const uint32_t *lane;     /* per record: index into nodes */
  const int64_t *newpos;    /* per record: position in idx, or -1 */
  const uint32_t *idx;      /* selected records, in trace order */
  size_t n;
  const uint64_t *incs;     /* distinct incarnations of the selection, sorted */
  size_t nincs;
  int64_t t0;               /* true time of the first selected record */
  dg_strtab_t *st;
} dg_sel_t;

/* The event block: gzip of the columns (docs/trace-tools.md, "page
 * format"), raw_len bytes before compression. */
typedef struct dg_blob {
  uint8_t *gz;
  size_t gz_len, gz_cap, raw_len;
} dg_blob_t;

/* Index of s in the table (0 for NULL or "", 1 = "…" when full). */
COHORT_INTERNAL uint32_t dg_intern(dg_strtab_t *st, const char *s);
/* Encode and compress the selection; fails with COHORT_EFULL (and a
 * message) as soon as the compressed block passes limit bytes, so a page
 * too large to open is never built. */
COHORT_INTERNAL int dg_encode(const dg_sel_t *sel, const cohort_allocator_t *a, size_t limit,
                              dg_blob_t *out, char *err, size_t errcap);
COHORT_INTERNAL void dg_blob_free(dg_blob_t *b, const cohort_allocator_t *a);

#endif
