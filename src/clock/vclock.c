/*
 * src/clock/vclock.c — sparse vector clocks (Fidge/Mattern): a sorted
 * array of (node, incarnation, counter) entries holding only the processes
 * heard of. A process is one incarnation of a node (the guide's
 * reincarnation rule: a restarted process is a new member), so a restart
 * adds an entry instead of resetting one, and events of different
 * incarnations of a node stay comparable.
 *
 * Invariants of a cohort_vclock_t:
 *  - entries[0..len) are strictly increasing by (node, inc) and every
 *    counter is non-zero (an absent process means 0), so equal clocks have
 *    equal arrays;
 *  - len <= cap <= COHORT_VCLOCK_ENTRIES_MAX;
 *  - every operation is atomic: it either succeeds or returns an error with
 *    the clock unchanged (it may only have grown its capacity);
 *  - merges are O(n + m) in place (a backward merge into the grown array),
 *    and allocate only when the clock grows: none in the steady state.
 *
 * Wire encoding (all unsigned LEB128 varints, canonical: no overlong
 * forms): count, then per entry (node delta, incarnation, counter), where
 * the first delta is the node id itself and the others are node − previous
 * node (>= 0; 0 only with a larger incarnation than the previous entry's).
 * Decoding rejects everything the invariants forbid.
 */
#include <stdlib.h>
#include <string.h>

#include "cohort/clock.h"
#include "vclock_internal.h"

/* Unsorted merge_entries input up to this length is sorted on the stack. */
#define VCLOCK_SORT_STACK 64

/* Order of processes: by node, then incarnation. */
static inline int key_cmp(cohort_node_id_t na, cohort_incarnation_t ia, cohort_node_id_t nb,
                          cohort_incarnation_t ib) {
  if (na != nb) return na < nb ? -1 : 1;
  return (ia > ib) - (ia < ib);
}

static inline int entry_key_cmp(const cohort_vc_entry_t *a, const cohort_vc_entry_t *b) {
  return key_cmp(a->node, a->inc, b->node, b->inc);
}

void cohort_vclock_init(cohort_vclock_t *vc, const cohort_allocator_t *a) {
  vc->entries = NULL;
  vc->len = 0;
  vc->cap = 0;
  vc->alloc = a ? a : cohort_allocator_default();
}

void cohort_vclock_close(cohort_vclock_t *vc) {
  if (!vc) return;
  cohort_free(vc->alloc, vc->entries);
  vc->entries = NULL;
  vc->len = vc->cap = 0;
}

int cohort_vclock_reserve(cohort_vclock_t *vc, size_t n) {
  if (n > COHORT_VCLOCK_ENTRIES_MAX) return COHORT_EFULL;
  if (n <= vc->cap) return 0;
  size_t cap = vc->cap ? vc->cap * 2 : 4;
  if (cap < n) cap = n;
  if (cap > COHORT_VCLOCK_ENTRIES_MAX) cap = COHORT_VCLOCK_ENTRIES_MAX;
  cohort_vc_entry_t *e = cohort_realloc(vc->alloc, vc->entries, cap * sizeof *e);
  if (!e) return COHORT_ENOMEM;
  vc->entries = e;
  vc->cap = cap;
  return 0;
}

/* Index of the first entry with key >= (node, inc) (binary search). */
static size_t vclock_lower_bound(const cohort_vclock_t *vc, cohort_node_id_t node,
                                 cohort_incarnation_t inc) {
  size_t lo = 0, hi = vc->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (key_cmp(vc->entries[mid].node, vc->entries[mid].inc, node, inc) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool at_key(const cohort_vclock_t *vc, size_t i, cohort_node_id_t node,
                   cohort_incarnation_t inc) {
  return i < vc->len && vc->entries[i].node == node && vc->entries[i].inc == inc;
}

uint64_t cohort_vclock_get(const cohort_vclock_t *vc, cohort_node_id_t node,
                           cohort_incarnation_t inc) {
  size_t i = vclock_lower_bound(vc, node, inc);
  return at_key(vc, i, node, inc) ? vc->entries[i].counter : 0;
}

int cohort_vclock_set(cohort_vclock_t *vc, cohort_node_id_t node, cohort_incarnation_t inc,
                      uint64_t counter) {
  size_t i = vclock_lower_bound(vc, node, inc);
  bool found = at_key(vc, i, node, inc);
  if (found && counter) {
    vc->entries[i].counter = counter;
  } else if (found) {
    memmove(&vc->entries[i], &vc->entries[i + 1], (vc->len - i - 1) * sizeof vc->entries[0]);
    vc->len--;
  } else if (counter) {
    int rc = cohort_vclock_reserve(vc, vc->len + 1);
    if (rc) return rc;
    memmove(&vc->entries[i + 1], &vc->entries[i], (vc->len - i) * sizeof vc->entries[0]);
    vc->entries[i] = (cohort_vc_entry_t){.node = node, .counter = counter, .inc = inc};
    vc->len++;
  }
  return 0;
}

int cohort_vclock_tick(cohort_vclock_t *vc, cohort_node_id_t self, cohort_incarnation_t inc) {
  uint64_t c = cohort_vclock_get(vc, self, inc);
  if (c == UINT64_MAX) return COHORT_EFULL; /* counter space exhausted */
  return cohort_vclock_set(vc, self, inc, c + 1);
}

/* ---- merging sorted entry runs ------------------------------------------ */

/* `e` is sorted by key, non-decreasing; it may hold duplicates (the max
 * wins) and zero counters (ignored). Length of vc ∪ e. */
static size_t vclock_union_len(const cohort_vclock_t *vc, const cohort_vc_entry_t *e,
                               size_t m) {
  size_t i = 0, n = vc->len;
  const cohort_vc_entry_t *prev = NULL;
  for (size_t j = 0; j < m; j++) {
    if (!e[j].counter || (prev && entry_key_cmp(&e[j], prev) == 0)) continue;
    prev = &e[j];
    while (i < vc->len && entry_key_cmp(&vc->entries[i], prev) < 0) i++;
    if (i == vc->len || entry_key_cmp(&vc->entries[i], prev) != 0) n++;
  }
  return n;
}

/* Backward in-place merge into an array already grown to `newlen`: the
 * write index never falls below the read index of vc (their difference is
 * the count of new entries not yet written), so nothing is overwritten
 * before it is read. */
static void vclock_merge_into(cohort_vclock_t *vc, const cohort_vc_entry_t *e, size_t m,
                              size_t newlen) {
  size_t i = vc->len, j = m, w = newlen;
  while (j > 0) {
    const cohort_vc_entry_t *x = &e[j - 1];
    if (!x->counter) {
      j--;
      continue;
    }
    cohort_vc_entry_t key = *x;
    uint64_t c = 0; /* max over the run of equal keys */
    while (j > 0 && entry_key_cmp(&e[j - 1], &key) == 0) {
      if (e[j - 1].counter > c) c = e[j - 1].counter;
      j--;
    }
    while (i > 0 && entry_key_cmp(&vc->entries[i - 1], &key) > 0)
      vc->entries[--w] = vc->entries[--i];
    if (i > 0 && entry_key_cmp(&vc->entries[i - 1], &key) == 0) {
      i--;
      if (vc->entries[i].counter > c) c = vc->entries[i].counter;
    }
    vc->entries[--w] = (cohort_vc_entry_t){.node = key.node, .counter = c, .inc = key.inc};
  }
  COHORT_ASSERT(w == i);
  vc->len = newlen;
}

static int vclock_merge_sorted(cohort_vclock_t *vc, const cohort_vc_entry_t *e, size_t m) {
  size_t newlen = vclock_union_len(vc, e, m);
  int rc = cohort_vclock_reserve(vc, newlen);
  if (rc) return rc;
  vclock_merge_into(vc, e, m, newlen);
  return 0;
}

int cohort_vclock_merge_reserve(cohort_vclock_t *vc, const cohort_vclock_t *other) {
  return cohort_vclock_reserve(vc, vclock_union_len(vc, other->entries, other->len));
}

int cohort_vclock_merge(cohort_vclock_t *vc, const cohort_vclock_t *other) {
  if (vc == other) return 0;
  return vclock_merge_sorted(vc, other->entries, other->len);
}

static int entry_cmp(const void *a, const void *b) { return entry_key_cmp(a, b); }

int cohort_vclock_merge_entries(cohort_vclock_t *vc, const cohort_vc_entry_t *e, size_t len) {
  size_t k = 1;
  while (k < len && entry_key_cmp(&e[k - 1], &e[k]) <= 0) k++;
  if (len == 0 || k == len) return vclock_merge_sorted(vc, e, len);
  /* Unsorted (never from our own encoder): sort a copy. */
  cohort_vc_entry_t stack[VCLOCK_SORT_STACK];
  cohort_vc_entry_t *tmp = stack;
  if (len > VCLOCK_SORT_STACK) {
    tmp = cohort_calloc(vc->alloc, len, sizeof *tmp);
    if (!tmp) return COHORT_ENOMEM;
  }
  memcpy(tmp, e, len * sizeof *tmp);
  qsort(tmp, len, sizeof *tmp, entry_cmp);
  int rc = vclock_merge_sorted(vc, tmp, len);
  if (tmp != stack) cohort_free(vc->alloc, tmp);
  return rc;
}

int cohort_vclock_copy(cohort_vclock_t *dst, const cohort_vclock_t *src) {
  if (dst == src) return 0;
  int rc = cohort_vclock_reserve(dst, src->len);
  if (rc) return rc;
  if (src->len) memcpy(dst->entries, src->entries, src->len * sizeof src->entries[0]);
  dst->len = src->len;
  return 0;
}

cohort_order_t cohort_vclock_compare(const cohort_vclock_t *a, const cohort_vclock_t *b) {
  bool a_less = false, b_less = false; /* some a[k] < b[k]; some b[k] < a[k] */
  size_t i = 0, j = 0;
  while ((i < a->len || j < b->len) && !(a_less && b_less)) {
    int c = i == a->len ? 1 : j == b->len ? -1 : entry_key_cmp(&a->entries[i], &b->entries[j]);
    if (c < 0) {
      b_less = true; /* a has a process b lacks */
      i++;
    } else if (c > 0) {
      a_less = true;
      j++;
    } else {
      uint64_t x = a->entries[i++].counter, y = b->entries[j++].counter;
      if (x < y) a_less = true;
      if (y < x) b_less = true;
    }
  }
  if (a_less && b_less) return COHORT_ORDER_CONCURRENT;
  if (a_less) return COHORT_ORDER_BEFORE;
  if (b_less) return COHORT_ORDER_AFTER;
  return COHORT_ORDER_EQUAL;
}

/* ---- encoding --------------------------------------------------------- */

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static size_t varint_put(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

/* Read a canonical varint at buf[*pos]; false if truncated, longer than
 * 64 bits or overlong (a final 0x00 byte after the first). */
static bool varint_get(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0, n = 0; *pos < len; shift += 7, n++) {
    uint8_t b = buf[(*pos)++];
    if (n == 9 && b > 1) return false; /* beyond 64 bits */
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if (b == 0 && n > 0) return false; /* overlong */
      *out = v;
      return true;
    }
  }
  return false;
}

size_t cohort_vclock_encoded_max(const cohort_vclock_t *vc) {
  return 10 + vc->len * (5 + 10 + 10);
}

int cohort_vclock_encode(const cohort_vclock_t *vc, uint8_t *buf, size_t cap) {
  size_t need = varint_len(vc->len);
  cohort_node_id_t prev = 0;
  for (size_t i = 0; i < vc->len; i++) {
    const cohort_vc_entry_t *e = &vc->entries[i];
    need += varint_len(e->node - prev) + varint_len(e->inc) + varint_len(e->counter);
    prev = e->node;
  }
  if (need > cap) return COHORT_EFULL;
  size_t pos = varint_put(buf, vc->len);
  prev = 0;
  for (size_t i = 0; i < vc->len; i++) {
    const cohort_vc_entry_t *e = &vc->entries[i];
    pos += varint_put(buf + pos, e->node - prev);
    pos += varint_put(buf + pos, e->inc);
    pos += varint_put(buf + pos, e->counter);
    prev = e->node;
  }
  COHORT_ASSERT(pos == need);
  return (int)pos;
}

/* Parse and validate; if `out` is not NULL also store the entries (it has
 * room, from a validating pass). Returns bytes consumed or COHORT_EPROTO. */
static int vclock_parse(const uint8_t *buf, size_t len, size_t *count, cohort_vc_entry_t *out) {
  size_t pos = 0;
  uint64_t n, delta, inc, counter, node = 0, prev_inc = 0;
  if (!varint_get(buf, len, &pos, &n) || n > COHORT_VCLOCK_ENTRIES_MAX) return COHORT_EPROTO;
  for (uint64_t i = 0; i < n; i++) {
    if (!varint_get(buf, len, &pos, &delta) || !varint_get(buf, len, &pos, &inc) ||
        !varint_get(buf, len, &pos, &counter))
      return COHORT_EPROTO;
    /* unsorted/duplicate key, zero counter, or id overflow */
    if ((i > 0 && delta == 0 && inc <= prev_inc) || counter == 0 || delta > UINT32_MAX - node)
      return COHORT_EPROTO;
    node += delta;
    prev_inc = inc;
    if (out)
      out[i] = (cohort_vc_entry_t){.node = (cohort_node_id_t)node, .counter = counter, .inc = inc};
  }
  *count = (size_t)n;
  return (int)pos;
}

int cohort_vclock_decode(cohort_vclock_t *vc, const uint8_t *buf, size_t len) {
  size_t n;
  int used = vclock_parse(buf, len, &n, NULL);
  if (used < 0) return used;
  int rc = cohort_vclock_reserve(vc, n);
  if (rc) return rc;
  size_t n2;
  int used2 = vclock_parse(buf, len, &n2, vc->entries);
  COHORT_ASSERT(used2 == used && n2 == n);
  vc->len = n;
  return used;
}
