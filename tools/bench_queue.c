/*
 * tools/bench_queue.c — `cohort bench sim --queues`: the candidate event
 * queues measured on the simulator's workload, side by side in one run:
 * the shared d-ary heap (cohort/heap.h) at d = 2 (what the hosts use), 4
 * and 8, a pairing heap and a calendar queue (Brown 1988).
 *
 * The workload is the "hold" model of the simulator at steady state: N
 * pending events; each step pops the earliest and schedules one new event
 * after it, drawn like the heartbeat scenario's traffic — 9 in 10 near
 * (a datagram: 400 µs .. 700 µs), 1 in 10 far (a timer: 100 ms). Every
 * queue sees the same draws and must pop the same sequence (checked by a
 * running checksum), so the figures compare equal work. The alternatives
 * live here only: the hosts use the winner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cohort/heap.h"
#include "cohort/prng.h"

typedef struct item {
  int64_t time;
  uint64_t seq;
} item_t;

static inline bool item_less(const item_t *a, const item_t *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* ---- pairing heap (two-pass merge, nodes from a fixed pool) ------------------- */

typedef struct pnode {
  item_t v;
  struct pnode *child, *next;
} pnode_t;

typedef struct pairing {
  pnode_t *root, *free;
} pairing_t;

static pnode_t *pmeld(pnode_t *a, pnode_t *b) {
  if (!a) return b;
  if (!b) return a;
  if (item_less(&b->v, &a->v)) {
    pnode_t *t = a;
    a = b;
    b = t;
  }
  b->next = a->child;
  a->child = b;
  return a;
}

static void pair_push(pairing_t *p, item_t x) {
  pnode_t *n = p->free;
  p->free = n->next;
  *n = (pnode_t){x, NULL, NULL};
  p->root = pmeld(p->root, n);
}

static item_t pair_pop(pairing_t *p) {
  pnode_t *r = p->root, *list = NULL;
  item_t top = r->v;
  /* Pass 1: meld pairs left to right, stacking the results. */
  for (pnode_t *c = r->child; c;) {
    pnode_t *a = c, *b = c->next;
    c = b ? b->next : NULL;
    a->next = NULL;
    if (b) b->next = NULL;
    pnode_t *m = pmeld(a, b);
    m->next = list;
    list = m;
  }
  /* Pass 2: meld the stack right to left. */
  pnode_t *acc = NULL;
  while (list) {
    pnode_t *nx = list->next;
    list->next = NULL;
    acc = pmeld(acc, list);
    list = nx;
  }
  p->root = acc;
  r->next = p->free;
  p->free = r;
  return top;
}

/* ---- calendar queue: fixed width and bucket count, sorted bucket lists -------- */

typedef struct cnode {
  item_t v;
  struct cnode *next;
} cnode_t;

typedef struct calendar {
  cnode_t **bucket, *free;
  uint32_t nb;      /* power of two */
  int64_t width;    /* ns per bucket */
  int64_t top;      /* end of the current bucket's slot this "year" */
  uint32_t cur;
  uint32_t len;
} calendar_t;

static void cal_push(calendar_t *c, item_t x) {
  cnode_t *n = c->free;
  c->free = n->next;
  n->v = x;
  cnode_t **pp = &c->bucket[(uint64_t)(x.time / c->width) & (c->nb - 1)];
  while (*pp && item_less(&(*pp)->v, &x)) pp = &(*pp)->next;
  n->next = *pp;
  *pp = n;
  c->len++;
}

static item_t cal_pop(calendar_t *c) {
  for (uint32_t scanned = 0;; scanned++) {
    cnode_t *h = c->bucket[c->cur];
    if (h && h->v.time < c->top) {
      c->bucket[c->cur] = h->next;
      h->next = c->free;
      c->free = h;
      c->len--;
      return h->v;
    }
    if (scanned == c->nb) { /* a whole year empty: jump to the minimum */
      item_t *best = NULL;
      for (uint32_t i = 0; i < c->nb; i++)
        if (c->bucket[i] && (!best || item_less(&c->bucket[i]->v, best))) best = &c->bucket[i]->v;
      c->cur = (uint32_t)((uint64_t)(best->time / c->width) & (c->nb - 1));
      c->top = (best->time / c->width + 1) * c->width;
      scanned = 0;
      continue;
    }
    c->cur = (c->cur + 1) & (c->nb - 1);
    c->top += c->width;
  }
}

/* ---- the workload -------------------------------------------------------------- */

enum { Q_BINARY, Q_SHARED4, Q_HEAP8, Q_PAIRING, Q_CALENDAR, Q_COUNT };
static const char *const q_names[Q_COUNT] = {"binary heap (the hosts')", "4-ary heap",
                                             "8-ary heap", "pairing heap", "calendar queue"};
/* The heaps are the shared code (cohort/heap.h) at arity 2, 4 and 8. */
static const uint32_t q_arity[Q_COUNT] = {2, 4, 8, 0, 0};

static inline int64_t next_delay(uint64_t *rng) {
  uint64_t r = cohort_splitmix64_next(rng);
  if (r % 10 == 0) return 100000000; /* a timer */
  return 400000 + (int64_t)((r >> 8) % 300001); /* a datagram */
}

typedef struct qstate {
  cohort_heap_t shared;
  pairing_t pair;
  calendar_t cal;
  void *pool;
} qstate_t;

static void q_push(qstate_t *q, int kind, item_t x) {
  switch (kind) {
  case Q_BINARY: cohort_heap_push_d(&q->shared, x.time, 0, 0, 2); break;
  case Q_SHARED4: cohort_heap_push_d(&q->shared, x.time, 0, 0, 4); break;
  case Q_HEAP8: cohort_heap_push_d(&q->shared, x.time, 0, 0, 8); break;
  case Q_PAIRING: pair_push(&q->pair, x); break;
  default: cal_push(&q->cal, x); break;
  }
}

static item_t q_pop(qstate_t *q, int kind) {
  cohort_heap_entry_t e;
  switch (kind) {
  case Q_BINARY: e = cohort_heap_pop_d(&q->shared, 2); return (item_t){e.time, e.seq};
  case Q_SHARED4: e = cohort_heap_pop_d(&q->shared, 4); return (item_t){e.time, e.seq};
  case Q_HEAP8: e = cohort_heap_pop_d(&q->shared, 8); return (item_t){e.time, e.seq};
  case Q_PAIRING: return pair_pop(&q->pair);
  default: return cal_pop(&q->cal);
  }
}

static int q_init(qstate_t *q, int kind, uint32_t n) {
  memset(q, 0, sizeof *q);
  size_t node = sizeof(pnode_t) > sizeof(cnode_t) ? sizeof(pnode_t) : sizeof(cnode_t);
  q->pool = calloc((size_t)n + 1, node > sizeof(item_t) ? node : sizeof(item_t));
  if (!q->pool) return -1;
  cohort_heap_init(&q->shared, NULL);
  if (q_arity[kind] && cohort_heap_reserve(&q->shared, NULL, n + 1, n + 1)) return -1;
  pnode_t *pn = q->pool;
  cnode_t *cn = q->pool;
  for (uint32_t i = 0; i <= n; i++) {
    if (kind == Q_PAIRING) pn[i].next = i < n ? &pn[i + 1] : NULL;
    if (kind == Q_CALENDAR) cn[i].next = i < n ? &cn[i + 1] : NULL;
  }
  q->pair.free = pn;
  q->cal.free = cn;
  q->cal.nb = 1;
  while (q->cal.nb < 2 * n) q->cal.nb *= 2;
  /* Width: the mean spacing of pending events (Brown's rule of thumb),
   * about (0.9 · 550 µs + 0.1 · 100 ms) / n. */
  q->cal.width = 10600000 / (int64_t)n + 1;
  q->cal.top = q->cal.width;
  q->cal.bucket = calloc(q->cal.nb, sizeof *q->cal.bucket);
  return q->cal.bucket ? 0 : -1;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Million hold steps per CPU second; *sum gets the pop sequence's checksum. */
static double run_hold(int kind, uint32_t n, uint64_t steps, uint64_t *sum) {
  qstate_t q;
  if (q_init(&q, kind, n)) return -1;
  uint64_t rng = 7, seq = 0, check = 0;
  for (uint32_t i = 0; i < n; i++) q_push(&q, kind, (item_t){next_delay(&rng), seq++});
  double c0 = cpu_now();
  for (uint64_t s = 0; s < steps; s++) {
    item_t x = q_pop(&q, kind);
    check = check * 31 + (uint64_t)x.time;
    q_push(&q, kind, (item_t){x.time + next_delay(&rng), seq++});
  }
  double cpu = cpu_now() - c0;
  *sum = check;
  cohort_heap_close(&q.shared, NULL);
  free(q.cal.bucket);
  free(q.pool);
  return cpu > 0 ? (double)steps / cpu / 1e6 : 0;
}

int cohort_bench_queues(void) {
  static const uint32_t sizes[] = {128, 4096, 65536};
  printf("event queues, hold model (pop + push per step; 90%% near, 10%% far), "
         "M steps per CPU second:\n  %-22s", "queue");
  for (size_t s = 0; s < COHORT_ARRAY_LEN(sizes); s++) printf(" %9u pending", sizes[s]);
  printf("\n");
  int rc = 0;
  uint64_t ref[COHORT_ARRAY_LEN(sizes)] = {0};
  for (int k = 0; k < Q_COUNT; k++) {
    printf("  %-22s", q_names[k]);
    for (size_t s = 0; s < COHORT_ARRAY_LEN(sizes); s++) {
      uint64_t sum = 0;
      double m = run_hold(k, sizes[s], 3000000, &sum);
      if (k == 0) ref[s] = sum;
      bool same = sum == ref[s];
      if (!same || m < 0) rc = 1;
      printf(" %9.1f%s       ", m, same ? " " : "!");
    }
    printf("\n");
  }
  if (rc) printf("  ! a queue popped a different sequence or failed\n");
  return rc;
}
