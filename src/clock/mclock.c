/*
 * src/clock/mclock.c — matrix clocks: row k is this node's knowledge of
 * node k's vector clock, row self is its own vector clock. The column
 * minimum says which of a node's events every known node has seen (common
 * knowledge: a log entry or a buffered message older than it can go).
 *
 * Invariants:
 *  - nodes[0..len) strictly increasing, rows[i] belongs to nodes[i], and
 *    the row of `self` always exists (made at init);
 *  - len <= cap <= COHORT_NODES_MAX;
 *  - cohort_mclock_recv is atomic: every allocation it needs is made
 *    before anything is changed, so on error the clock is unchanged.
 *
 * One deliberate departure from "merge every row": the sender's row about
 * us is not merged into our own row. Our own row is authoritative — in a
 * correct execution nobody knows more of our clock than we do — and
 * skipping it keeps the space needed by a receive exactly computable.
 */
#include <string.h>

#include "cohort/clock.h"
#include "vclock_internal.h"

static size_t mclock_lower_bound(const cohort_mclock_t *m,
                                 cohort_node_id_t node) {
  size_t lo = 0, hi = m->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->nodes[mid] < node)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static cohort_vclock_t *mclock_row(const cohort_mclock_t *m,
                                   cohort_node_id_t node) {
  size_t i = mclock_lower_bound(m, node);
  return i < m->len && m->nodes[i] == node ? &m->rows[i] : NULL;
}

/* Grow both arrays to hold n rows (content unchanged). */
static int mclock_reserve(cohort_mclock_t *m, size_t n) {
  if (n > COHORT_NODES_MAX) return COHORT_EFULL;
  if (n <= m->cap) return 0;
  size_t cap = m->cap ? m->cap * 2 : 4;
  if (cap < n) cap = n;
  if (cap > COHORT_NODES_MAX) cap = COHORT_NODES_MAX;
  cohort_node_id_t *nodes =
      cohort_realloc(m->alloc, m->nodes, cap * sizeof *nodes);
  if (!nodes) return COHORT_ENOMEM;
  m->nodes = nodes; /* cap still describes rows until both have grown */
  cohort_vclock_t *rows = cohort_realloc(m->alloc, m->rows, cap * sizeof *rows);
  if (!rows) return COHORT_ENOMEM;
  m->rows = rows;
  m->cap = cap;
  return 0;
}

int cohort_mclock_init(cohort_mclock_t *m, cohort_node_id_t self,
                       const cohort_allocator_t *a) {
  memset(m, 0, sizeof *m);
  m->self = self;
  m->alloc = a ? a : cohort_allocator_default();
  int rc = mclock_reserve(m, 1);
  if (rc == 0) {
    cohort_vclock_init(&m->rows[0], m->alloc);
    m->nodes[0] = self;
    m->len = 1;
    rc = cohort_vclock_reserve(&m->rows[0], 1); /* first tick cannot fail */
  }
  if (rc) cohort_mclock_close(m);
  return rc;
}

void cohort_mclock_close(cohort_mclock_t *m) {
  if (!m) return;
  for (size_t i = 0; i < m->len; i++) cohort_vclock_close(&m->rows[i]);
  cohort_free(m->alloc, m->nodes);
  cohort_free(m->alloc, m->rows);
  m->nodes = NULL;
  m->rows = NULL;
  m->len = m->cap = 0;
}

int cohort_mclock_tick(cohort_mclock_t *m) {
  return cohort_vclock_tick(mclock_row(m, m->self), m->self, 0);
}

/* How many rows the remote has that we lack. */
static size_t mclock_new_rows(const cohort_mclock_t *m,
                              const cohort_mclock_t *r) {
  size_t add = 0, i = 0;
  for (size_t j = 0; j < r->len; j++) {
    while (i < m->len && m->nodes[i] < r->nodes[j]) i++;
    if (i == m->len || m->nodes[i] != r->nodes[j]) add++;
  }
  return add;
}

static void mclock_free_staged(cohort_mclock_t *m, cohort_vclock_t *st,
                               size_t n) {
  for (size_t k = 0; k < n; k++) cohort_vclock_close(&st[k]);
  cohort_free(m->alloc, st);
}

/* Copies of the remote rows we lack, sorted by node; *out NULL if none. */
static int mclock_stage_rows(cohort_mclock_t *m, const cohort_mclock_t *r,
                             size_t add, cohort_vclock_t **out,
                             cohort_node_id_t **out_nodes) {
  *out = NULL;
  *out_nodes = NULL;
  if (!add) return 0;
  cohort_vclock_t *st = cohort_calloc(m->alloc, add, sizeof *st);
  cohort_node_id_t *sn = cohort_calloc(m->alloc, add, sizeof *sn);
  if (!st || !sn) {
    cohort_free(m->alloc, st);
    cohort_free(m->alloc, sn);
    return COHORT_ENOMEM;
  }
  size_t k = 0;
  for (size_t j = 0; j < r->len; j++) {
    if (mclock_row(m, r->nodes[j])) continue;
    cohort_vclock_init(&st[k], m->alloc);
    sn[k] = r->nodes[j];
    int rc = cohort_vclock_copy(&st[k++], &r->rows[j]);
    if (rc) {
      mclock_free_staged(m, st, k);
      cohort_free(m->alloc, sn);
      return rc;
    }
  }
  *out = st;
  *out_nodes = sn;
  return 0;
}

/* |a ∪ b| by node. */
static size_t mclock_union_len(const cohort_vclock_t *a,
                               const cohort_vclock_t *b) {
  size_t n = 0, i = 0, j = 0;
  while (i < a->len || j < b->len) {
    n++;
    if (j == b->len ||
        (i < a->len && a->entries[i].node < b->entries[j].node)) {
      i++;
    } else if (i == a->len || b->entries[j].node < a->entries[i].node) {
      j++;
    } else {
      i++;
      j++;
    }
  }
  return n;
}

/* Reserve what merging the remote's rows into our existing rows and the
 * sender's row into our own (plus the tick) will need. */
static int mclock_reserve_merges(cohort_mclock_t *m, const cohort_mclock_t *r,
                                 const cohort_vclock_t *sender) {
  for (size_t j = 0; j < r->len; j++) {
    cohort_vclock_t *row = mclock_row(m, r->nodes[j]);
    if (!row || r->nodes[j] == m->self) continue;
    int rc = cohort_vclock_merge_reserve(row, &r->rows[j]);
    if (rc) return rc;
  }
  cohort_vclock_t *own = mclock_row(m, m->self);
  size_t need = mclock_union_len(own, sender);
  uint64_t mine = cohort_vclock_get(own, m->self, 0);
  uint64_t theirs = cohort_vclock_get(sender, m->self, 0);
  if (mine == UINT64_MAX || theirs == UINT64_MAX) return COHORT_EFULL;
  if (!mine && !theirs) need++;
  return cohort_vclock_reserve(own, need);
}

/* Backward in-place merge of the staged rows into the (grown) arrays. */
static void mclock_splice(cohort_mclock_t *m, cohort_vclock_t *st,
                          const cohort_node_id_t *sn, size_t add) {
  size_t i = m->len, k = add, w = m->len + add;
  while (k > 0) {
    if (i > 0 && m->nodes[i - 1] > sn[k - 1]) {
      w--, i--;
      m->nodes[w] = m->nodes[i];
      m->rows[w] = m->rows[i];
    } else {
      w--, k--;
      m->nodes[w] = sn[k];
      m->rows[w] = st[k];
    }
  }
  COHORT_ASSERT(w == i);
  m->len += add;
}

int cohort_mclock_recv(cohort_mclock_t *m, cohort_node_id_t from,
                       const cohort_mclock_t *remote) {
  if (from == m->self || remote == m || remote->self != from)
    return COHORT_EINVAL;
  const cohort_vclock_t *sender = mclock_row(remote, from);
  if (!sender) return COHORT_EINVAL;
  size_t add = mclock_new_rows(m, remote);
  if (m->len + add > COHORT_NODES_MAX) return COHORT_EFULL;
  cohort_vclock_t *st;
  cohort_node_id_t *sn;
  int rc = mclock_stage_rows(m, remote, add, &st, &sn);
  if (rc) return rc;
  rc = mclock_reserve(m, m->len + add);
  if (rc == 0) rc = mclock_reserve_merges(m, remote, sender);
  if (rc) {
    mclock_free_staged(m, st, add);
    cohort_free(m->alloc, sn);
    return rc;
  }
  /* Commit: nothing below can fail. */
  for (size_t j = 0; j < remote->len; j++) {
    cohort_vclock_t *row = mclock_row(m, remote->nodes[j]);
    if (!row || remote->nodes[j] == m->self) continue;
    rc = cohort_vclock_merge(row, &remote->rows[j]);
    COHORT_ASSERT(rc == 0);
  }
  if (add) mclock_splice(m, st, sn, add);
  cohort_free(m->alloc, st);
  cohort_free(m->alloc, sn);
  cohort_vclock_t *own = mclock_row(m, m->self);
  rc = cohort_vclock_merge(own, sender);
  COHORT_ASSERT(rc == 0);
  rc = cohort_vclock_tick(own, m->self, 0);
  COHORT_ASSERT(rc == 0);
  return 0;
}

uint64_t cohort_mclock_get(const cohort_mclock_t *m, cohort_node_id_t who,
                           cohort_node_id_t about) {
  const cohort_vclock_t *row = mclock_row(m, who);
  return row ? cohort_vclock_get(row, about, 0) : 0;
}

uint64_t cohort_mclock_min_known(const cohort_mclock_t *m,
                                 cohort_node_id_t about) {
  uint64_t min = UINT64_MAX;
  for (size_t i = 0; i < m->len && min; i++) {
    uint64_t c = cohort_vclock_get(&m->rows[i], about, 0);
    if (c < min) min = c;
  }
  return m->len ? min : 0;
}
