/*
 * src/trace/hb.c — happened-before rebuilt from a trace's structure
 * (trace_hb.h): processes, message edges, a topological order, and exact
 * vector timestamps computed from those alone.
 *
 * Invariants: every array is sized by the record count and allocated once
 * through the caller's allocator; the topological order lists each process
 * event exactly once, after its process predecessor and after its send;
 * edges that would close a cycle are dropped (and counted) so the walk
 * always terminates. No recursion, so hostile traces cannot overflow the
 * stack.
 */
#include <stdlib.h>
#include <string.h>

#include "cohort/trace_hb.h"

#define NONE COHORT_HB_NONE

void cohort_hb_close(cohort_hb_t *hb) {
  if (!hb) return;
  const cohort_allocator_t *a = hb->alloc;
  cohort_free(a, hb->procs);
  cohort_free(a, hb->proc_of);
  cohort_free(a, hb->pos);
  cohort_free(a, hb->proc_events);
  cohort_free(a, hb->send_of);
  cohort_free(a, hb->topo);
  memset(hb, 0, sizeof *hb);
}

static int proc_cmp(const void *x, const void *y) {
  const cohort_hb_proc_t *a = x, *b = y;
  if (a->node != b->node) return a->node < b->node ? -1 : 1;
  if (a->inc != b->inc) return a->inc < b->inc ? -1 : 1;
  return 0;
}

uint32_t cohort_hb_proc_find(const cohort_hb_t *hb, cohort_node_id_t node,
                             cohort_incarnation_t inc) {
  size_t lo = 0, hi = hb->nproc;
  cohort_hb_proc_t key = {.node = node, .inc = inc};
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = proc_cmp(&hb->procs[mid], &key);
    if (c == 0) return (uint32_t)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NONE;
}

/* A record is an event of its process if it carries stamps and is not a
 * drop: a node refusing a datagram moves no clock (its drop record shows
 * the stamps it had, for reading), so it is no event of happened-before. */
static bool is_event(const cohort_trace_rec_t *r) {
  return r->has_stamps && r->type != COHORT_EV_DROP;
}

/* Processes: distinct (node, inc) of stamped records, sorted; then each
 * record's process and position, and the grouped event lists. */
static int build_procs(cohort_hb_t *hb, const cohort_trace_t *t) {
  size_t n = 0;
  cohort_hb_proc_t *all = cohort_alloc(hb->alloc, (t->len + 1) * sizeof *all);
  if (!all) return COHORT_ENOMEM;
  for (size_t i = 0; i < t->len; i++)
    if (is_event(&t->recs[i]))
      all[n++] = (cohort_hb_proc_t){.node = t->recs[i].node, .inc = t->recs[i].inc};
  qsort(all, n, sizeof *all, proc_cmp);
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if (!u || proc_cmp(&all[u - 1], &all[i])) all[u++] = all[i];
  hb->procs = cohort_realloc(hb->alloc, all, (u + 1) * sizeof *all);
  if (!hb->procs) hb->procs = all; /* shrinking failed: keep the big block */
  hb->nproc = u;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    hb->proc_of[i] = is_event(r) ? cohort_hb_proc_find(hb, r->node, r->inc) : NONE;
    if (hb->proc_of[i] != NONE) hb->procs[hb->proc_of[i]].len++;
  }
  uint32_t first = 0;
  for (size_t p = 0; p < u; p++) {
    /* A restarted node is a new process (DESIGN.md: a new incarnation): it
     * lost its volatile state, clocks included, and nothing it does next
     * can depend on what the old one did except through messages or stable
     * storage. So no edge links incarnations; a protocol that persists
     * state across restarts shows it through its own messages. */
    hb->procs[p].prev_inc = NONE;
    hb->procs[p].first = first;
    first += hb->procs[p].len;
    hb->procs[p].len = 0;
  }
  for (size_t i = 0; i < t->len; i++) {
    uint32_t p = hb->proc_of[i];
    if (p == NONE) continue;
    hb->pos[i] = hb->procs[p].len++;
    hb->proc_events[hb->procs[p].first + hb->pos[i]] = (uint32_t)i;
  }
  return 0;
}

static uint64_t msg_hash(const cohort_msg_id_t *m) {
  uint64_t h = m->from * 0x9E3779B97F4A7C15u ^ m->inc * 0xC2B2AE3D27D4EB4Fu ^ m->seq;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9u;
  return h ^ (h >> 29);
}

static bool msg_eq(const cohort_msg_id_t *a, const cohort_msg_id_t *b) {
  return a->from == b->from && a->inc == b->inc && a->seq == b->seq;
}

static bool is_send(const cohort_trace_rec_t *r) {
  return r->type == COHORT_EV_SEND && r->has_msg && r->has_stamps;
}

static bool is_receipt(const cohort_trace_rec_t *r) {
  return (r->type == COHORT_EV_RECV || r->type == COHORT_EV_DELIVER) && r->has_msg &&
         r->has_stamps;
}

/* Among the sends of one msg id (chain from `s`), the one addressed to
 * `dest`, else one addressed to nobody in particular, else the first. */
static uint32_t pick_send(const cohort_trace_t *t, const uint32_t *next_same, uint32_t s,
                          cohort_node_id_t dest) {
  uint32_t any = NONE;
  for (uint32_t k = s; k != NONE; k = next_same[k]) {
    if (t->recs[k].peer == dest) return k;
    if (t->recs[k].peer == COHORT_NODE_NONE && any == NONE) any = k;
  }
  return any != NONE ? any : s;
}

static int build_edges(cohort_hb_t *hb, const cohort_trace_t *t) {
  size_t nsend = 0;
  for (size_t i = 0; i < t->len; i++) nsend += is_send(&t->recs[i]);
  size_t cap = 16;
  while (cap < 2 * nsend) cap *= 2;
  uint32_t *table = cohort_alloc(hb->alloc, cap * sizeof *table);
  uint32_t *next_same = cohort_alloc(hb->alloc, (t->len + 1) * sizeof *next_same);
  if (!table || !next_same) {
    cohort_free(hb->alloc, table);
    cohort_free(hb->alloc, next_same);
    return COHORT_ENOMEM;
  }
  memset(table, 0xFF, cap * sizeof *table);
  for (size_t i = t->len; i-- > 0;) { /* backwards: chains in trace order */
    if (!is_send(&t->recs[i])) continue;
    const cohort_msg_id_t *m = &t->recs[i].msg;
    size_t h = (size_t)msg_hash(m) & (cap - 1);
    while (table[h] != NONE && !msg_eq(&t->recs[table[h]].msg, m)) h = (h + 1) & (cap - 1);
    next_same[i] = table[h];
    table[h] = (uint32_t)i;
  }
  for (size_t i = 0; i < t->len; i++) {
    hb->send_of[i] = NONE;
    if (!is_receipt(&t->recs[i])) continue;
    const cohort_msg_id_t *m = &t->recs[i].msg;
    size_t h = (size_t)msg_hash(m) & (cap - 1);
    while (table[h] != NONE && !msg_eq(&t->recs[table[h]].msg, m)) h = (h + 1) & (cap - 1);
    if (table[h] == NONE) continue;
    hb->send_of[i] = pick_send(t, next_same, table[h], t->recs[i].node);
    hb->matched++;
  }
  cohort_free(hb->alloc, table);
  cohort_free(hb->alloc, next_same);
  return 0;
}

/* ---- topological order ------------------------------------------------------ */

typedef struct topo_state {
  cohort_hb_t *hb;
  uint32_t *next;       /* per process: position of the next event to emit */
  uint32_t *scanned;    /* per process: events met so far in the trace scan */
  uint32_t *waiting_on; /* per process: send its head waits for, or NONE */
  uint32_t *stack;      /* processes to drain (each at most once: see below) */
  size_t sp;
  uint8_t *emitted;   /* per record */
  uint32_t *wait_head; /* per record (sends): first waiter entry */
  uint32_t *wait_proc, *wait_next; /* waiter pool, one entry per wait */
  size_t nwait;
} topo_state_t;

static void emit(topo_state_t *s, uint32_t e) {
  cohort_hb_t *hb = s->hb;
  hb->topo[hb->ntopo++] = e;
  s->emitted[e] = 1;
  s->next[hb->proc_of[e]]++;
  for (uint32_t w = s->wait_head[e]; w != NONE; w = s->wait_next[w]) {
    uint32_t q = s->wait_proc[w];
    if (s->waiting_on[q] != e) continue; /* stale: its edge was dropped */
    s->waiting_on[q] = NONE;
    s->stack[s->sp++] = q;
  }
  s->wait_head[e] = NONE;
}

/* The last event of the previous incarnation, if e opens an incarnation. */
static uint32_t inc_pred(const cohort_hb_t *hb, uint32_t e) {
  const cohort_hb_proc_t *pr = &hb->procs[hb->proc_of[e]];
  if (hb->pos[e] || pr->prev_inc == NONE) return NONE;
  const cohort_hb_proc_t *pp = &hb->procs[pr->prev_inc];
  return pp->len ? hb->proc_events[pp->first + pp->len - 1] : NONE;
}

/* The predecessor e still waits for, or NONE when it can be emitted. */
static uint32_t blocker(const topo_state_t *s, uint32_t e) {
  uint32_t snd = s->hb->send_of[e];
  if (snd != NONE && !s->emitted[snd]) return snd;
  uint32_t ip = inc_pred(s->hb, e);
  if (ip != NONE && !s->emitted[ip]) return ip;
  return NONE;
}

/* A process is on the stack at most once: it is pushed by the scan only
 * when it has no backlog (so it is not waiting), and by emit only when it
 * stops waiting; a drain runs it until it waits again or catches up. */
static void drain(topo_state_t *s) {
  cohort_hb_t *hb = s->hb;
  while (s->sp) {
    uint32_t p = s->stack[--s->sp];
    const cohort_hb_proc_t *pr = &hb->procs[p];
    while (s->next[p] < s->scanned[p]) {
      uint32_t e = hb->proc_events[pr->first + s->next[p]];
      uint32_t snd = blocker(s, e);
      if (snd != NONE) {
        s->waiting_on[p] = snd;
        s->wait_proc[s->nwait] = p;
        s->wait_next[s->nwait] = s->wait_head[snd];
        s->wait_head[snd] = (uint32_t)s->nwait++;
        break;
      }
      emit(s, e);
    }
  }
}

/* Every process still blocked waits on a send that cannot come first: a
 * cycle. Drop the edge of the blocked head earliest in the trace. */
static bool break_cycle(topo_state_t *s) {
  cohort_hb_t *hb = s->hb;
  uint32_t best = NONE, best_p = NONE;
  for (uint32_t p = 0; p < hb->nproc; p++) {
    if (s->next[p] >= hb->procs[p].len) continue;
    uint32_t e = hb->proc_events[hb->procs[p].first + s->next[p]];
    if (best == NONE || e < best) best = e, best_p = p;
  }
  if (best == NONE) return false;
  uint32_t snd = hb->send_of[best];
  if (snd != NONE && !s->emitted[snd]) {
    hb->send_of[best] = NONE;
    hb->matched--;
  } else {
    hb->procs[best_p].prev_inc = NONE; /* the incarnation edge closed it */
  }
  if (!hb->broken++) hb->first_broken = best;
  s->waiting_on[best_p] = NONE;
  s->stack[s->sp++] = best_p;
  drain(s);
  return true;
}

static int build_topo(cohort_hb_t *hb, const cohort_trace_t *t) {
  const cohort_allocator_t *a = hb->alloc;
  size_t np = hb->nproc + 1, nr = t->len + 1;
  topo_state_t s = {.hb = hb};
  s.next = cohort_calloc(a, np, sizeof *s.next);
  s.scanned = cohort_calloc(a, np, sizeof *s.scanned);
  s.waiting_on = cohort_alloc(a, np * sizeof *s.waiting_on);
  s.stack = cohort_alloc(a, np * sizeof *s.stack);
  s.emitted = cohort_calloc(a, nr, 1);
  s.wait_head = cohort_alloc(a, nr * sizeof *s.wait_head);
  s.wait_proc = cohort_alloc(a, (nr + np) * sizeof *s.wait_proc);
  s.wait_next = cohort_alloc(a, (nr + np) * sizeof *s.wait_next);
  int rc = COHORT_ENOMEM;
  if (s.next && s.scanned && s.waiting_on && s.stack && s.emitted && s.wait_head &&
      s.wait_proc && s.wait_next) {
    memset(s.waiting_on, 0xFF, np * sizeof *s.waiting_on);
    memset(s.wait_head, 0xFF, nr * sizeof *s.wait_head);
    for (size_t i = 0; i < t->len; i++) {
      uint32_t p = hb->proc_of[i];
      if (p == NONE) continue;
      s.scanned[p]++;
      if (s.next[p] != hb->pos[i]) continue; /* backlog: emitted on a drain */
      s.stack[s.sp++] = p;
      drain(&s);
    }
    while (break_cycle(&s)) {
    }
    rc = 0;
  }
  cohort_free(a, s.next);
  cohort_free(a, s.scanned);
  cohort_free(a, s.waiting_on);
  cohort_free(a, s.stack);
  cohort_free(a, s.emitted);
  cohort_free(a, s.wait_head);
  cohort_free(a, s.wait_proc);
  cohort_free(a, s.wait_next);
  return rc;
}

int cohort_hb_build(cohort_hb_t *out, const cohort_trace_t *t, const cohort_allocator_t *a) {
  if (t->len > COHORT_TRACE_RECS_MAX) return COHORT_EFULL;
  cohort_hb_t hb = {.alloc = a ? a : cohort_allocator_default(), .nrec = t->len,
                    .first_broken = NONE};
  size_t n = t->len + 1;
  hb.proc_of = cohort_alloc(hb.alloc, n * sizeof *hb.proc_of);
  hb.pos = cohort_calloc(hb.alloc, n, sizeof *hb.pos);
  hb.proc_events = cohort_alloc(hb.alloc, n * sizeof *hb.proc_events);
  hb.send_of = cohort_alloc(hb.alloc, n * sizeof *hb.send_of);
  hb.topo = cohort_alloc(hb.alloc, n * sizeof *hb.topo);
  int rc = COHORT_ENOMEM;
  if (hb.proc_of && hb.pos && hb.proc_events && hb.send_of && hb.topo) {
    rc = build_procs(&hb, t);
    if (!rc) rc = build_edges(&hb, t);
    if (!rc) rc = build_topo(&hb, t);
  }
  if (rc) {
    cohort_hb_close(&hb);
    return rc;
  }
  *out = hb;
  return 0;
}

/* ---- vector timestamps ------------------------------------------------------- */

int cohort_hb_walk(const cohort_hb_t *hb,
                   int (*cb)(void *ctx, size_t rec, const uint32_t *vec), void *ctx) {
  const cohort_allocator_t *a = hb->alloc;
  size_t np = hb->nproc, nslot = 0;
  uint32_t *slot = cohort_alloc(a, (hb->nrec + 1) * sizeof *slot);
  if (!slot) return COHORT_ENOMEM;
  memset(slot, 0xFF, (hb->nrec + 1) * sizeof *slot);
  for (size_t i = 0; i < hb->nrec; i++) {
    uint32_t s = hb->send_of[i];
    if (s != NONE && slot[s] == NONE) slot[s] = (uint32_t)nslot++;
  }
  if (np && (nslot + np) > COHORT_TRACE_VC_CELLS_MAX / np) {
    cohort_free(a, slot);
    return COHORT_EFULL;
  }
  uint32_t *cur = cohort_calloc(a, np * np + 1, sizeof *cur);
  uint32_t *store = cohort_alloc(a, (nslot * np + 1) * sizeof *store);
  int rc = cur && store ? 0 : COHORT_ENOMEM;
  for (size_t k = 0; !rc && k < hb->ntopo; k++) {
    uint32_t e = hb->topo[k], p = hb->proc_of[e];
    uint32_t *v = cur + (size_t)p * np;
    uint32_t s = hb->send_of[e];
    if (s != NONE) {
      const uint32_t *w = store + (size_t)slot[s] * np;
      for (size_t j = 0; j < np; j++)
        if (w[j] > v[j]) v[j] = w[j];
    }
    uint32_t ip = inc_pred(hb, e);
    if (ip != NONE) { /* all of the previous incarnation is done: merge its end */
      const uint32_t *w = cur + (size_t)hb->proc_of[ip] * np;
      for (size_t j = 0; j < np; j++)
        if (w[j] > v[j]) v[j] = w[j];
    }
    v[p] = hb->pos[e] + 1;
    if (slot[e] != NONE) memcpy(store + (size_t)slot[e] * np, v, np * sizeof *v);
    rc = cb(ctx, e, v);
  }
  cohort_free(a, slot);
  cohort_free(a, cur);
  cohort_free(a, store);
  return rc;
}
