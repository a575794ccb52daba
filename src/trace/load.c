/*
 * src/trace/load.c — reading a JSON Lines file into a trace, and the
 * stable (true time, node, lamport) sort that merged traces use. Files
 * may be gzip-compressed (file.c: cohort_trace_fopen).
 *
 * Invariants: load appends (so loading several files merges them) and on
 * error keeps the records parsed before the bad line; a line longer than
 * COHORT_TRACE_LINE_MAX is an error, never a silent split. The read
 * buffer and the sort's scratch space come from the trace's allocator.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cohort/trace_util.h"

/* The arena's first member is its allocator (parse.c); the trace's
 * allocator is reachable without exposing the arena type. */
static const cohort_allocator_t *trace_alloc(const cohort_trace_t *t) {
  const cohort_allocator_t *const *a = t->arena;
  return a ? *a : cohort_allocator_default();
}

#define LOAD_CHUNK 65536

typedef struct reader {
  FILE *f;
  char *buf;
  size_t cap, start, fill;
  bool eof;
} reader_t;

/* Next line (without '\n' and a trailing '\r'). 1 = a line, 0 = end,
 * COHORT_EIO / COHORT_EPROTO (too long). */
static int next_line(reader_t *rd, const char **line, size_t *len) {
  for (;;) {
    char *nl = memchr(rd->buf + rd->start, '\n', rd->fill - rd->start);
    if (nl || (rd->eof && rd->fill > rd->start)) {
      size_t end = nl ? (size_t)(nl - rd->buf) : rd->fill;
      *line = rd->buf + rd->start;
      *len = end - rd->start;
      if (*len && (*line)[*len - 1] == '\r') (*len)--;
      rd->start = nl ? end + 1 : end;
      if (*len > COHORT_TRACE_LINE_MAX) return COHORT_EPROTO;
      return 1;
    }
    if (rd->eof) return 0;
    if (rd->fill - rd->start > COHORT_TRACE_LINE_MAX) return COHORT_EPROTO;
    memmove(rd->buf, rd->buf + rd->start, rd->fill - rd->start);
    rd->fill -= rd->start;
    rd->start = 0;
    size_t n = fread(rd->buf + rd->fill, 1, rd->cap - rd->fill, rd->f);
    rd->fill += n;
    if (n == 0) {
      if (ferror(rd->f)) return COHORT_EIO;
      rd->eof = true;
    }
  }
}

static int load_lines(cohort_trace_t *t, reader_t *rd, const char *path,
                      char *err, size_t errcap) {
  char why[256];
  size_t lineno = 0;
  for (;;) {
    const char *line;
    size_t len;
    int rc = next_line(rd, &line, &len);
    lineno++;
    if (rc == 0) return 0;
    if (rc == COHORT_EIO) {
      if (err)
        snprintf(err, errcap, "%s: read error: %s", path,
                 errno == EBADMSG ? "corrupt compressed data" : strerror(errno));
      return COHORT_EIO;
    }
    if (rc < 0) {
      if (err) snprintf(err, errcap, "%s:%zu: line longer than %d bytes", path, lineno,
                        COHORT_TRACE_LINE_MAX);
      return COHORT_EPROTO;
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len) continue; /* blank lines are allowed */
    rc = cohort_trace_parse_line(t, line, len, lineno, why, sizeof why);
    if (rc) {
      if (err) snprintf(err, errcap, "%s:%zu: %s", path, lineno, why);
      return rc;
    }
  }
}

int cohort_trace_load(cohort_trace_t *t, const char *path, char *err,
                      size_t errcap) {
  FILE *f = cohort_trace_fopen(path, "r"); /* plain or gzip */
  if (!f) {
    if (err) snprintf(err, errcap, "%s: %s", path, strerror(errno));
    return COHORT_EIO;
  }
  const cohort_allocator_t *alloc = trace_alloc(t);
  reader_t rd = {.f = f, .cap = COHORT_TRACE_LINE_MAX + 1 + LOAD_CHUNK};
  rd.buf = cohort_alloc(alloc, rd.cap);
  int rc = COHORT_ENOMEM;
  if (rd.buf)
    rc = load_lines(t, &rd, path, err, errcap);
  else if (err)
    snprintf(err, errcap, "%s: out of memory", path);
  cohort_free(alloc, rd.buf);
  fclose(f);
  return rc;
}

/* ---- sort ------------------------------------------------------------------ */

static bool rec_less(const cohort_trace_rec_t *a, const cohort_trace_rec_t *b) {
  if (a->true_ns != b->true_ns) return a->true_ns < b->true_ns;
  if (a->node != b->node) return a->node < b->node;
  return a->lamport < b->lamport;
}

static void merge_sort(cohort_trace_rec_t *a, cohort_trace_rec_t *tmp, size_t n) {
  if (n < 16) {
    for (size_t i = 1; i < n; i++) {
      cohort_trace_rec_t x = a[i];
      size_t j = i;
      for (; j > 0 && rec_less(&x, &a[j - 1]); j--) a[j] = a[j - 1];
      a[j] = x;
    }
    return;
  }
  size_t h = n / 2;
  merge_sort(a, tmp, h);
  merge_sort(a + h, tmp, n - h);
  if (!rec_less(&a[h], &a[h - 1])) return; /* already in order */
  memcpy(tmp, a, h * sizeof *a);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) a[k++] = rec_less(&a[j], &tmp[i]) ? a[j++] : tmp[i++];
  while (i < h) a[k++] = tmp[i++];
}

void cohort_trace_sort(cohort_trace_t *t) {
  size_t n = t->len;
  size_t i = 1;
  while (i < n && !rec_less(&t->recs[i], &t->recs[i - 1])) i++;
  if (i >= n) return; /* the common case: one simulator trace */
  const cohort_allocator_t *alloc = trace_alloc(t);
  cohort_trace_rec_t *tmp = cohort_alloc(alloc, (n / 2 + 1) * sizeof *tmp);
  if (tmp) {
    merge_sort(t->recs, tmp, n);
    cohort_free(alloc, tmp);
    return;
  }
  /* Out of memory: a stable insertion sort still gives the right order. */
  for (i = 1; i < n; i++) {
    cohort_trace_rec_t x = t->recs[i];
    size_t j = i;
    for (; j > 0 && rec_less(&x, &t->recs[j - 1]); j--) t->recs[j] = t->recs[j - 1];
    t->recs[j] = x;
  }
}
