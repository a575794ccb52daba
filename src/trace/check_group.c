/*
 * src/trace/check_group.c — the group membership and virtual synchrony
 * checkers, from the trace alone (docs/group-trace.md is the contract):
 *
 *   view-agreement   every process that installs a view id installs the
 *                    same member list (ids and incarnations, in order) and
 *                    primary flag, and is itself one of its members;
 *   view-order       each process installs views in strictly increasing
 *                    epoch, and one view id always carries one epoch (so
 *                    two processes that install V and W install them in
 *                    the same order);
 *   view-synchrony   a message is sent in the sender's current view and
 *                    delivered, wherever it is delivered, in that view,
 *                    which is the deliverer's current view;
 *   vs-agreement     two processes that install V and then, as their next
 *                    view, W delivered the same set of messages in V (a
 *                    joiner still waiting for its state in V is exempt: it
 *                    delivers nothing there);
 *   group-integrity  no process delivers a message twice, and every
 *                    delivered message was sent (gsend) earlier by the
 *                    process its id names;
 *   self-delivery    a process that sent a message in V and installs a
 *                    next view delivered that message in V first;
 *   primary-unique   no two primary views share an epoch, and each primary
 *                    view after the first (by epoch) shares a process that
 *                    installed both with the primary view before it;
 *   state-transfer   a process whose view says "state":"pending" delivers
 *                    nothing until its state_installed, and installs state
 *                    only when it waits for it;
 *   group-fifo       a message of any level but unordered is delivered
 *                    after every message its sender sent before it in the
 *                    view (gsend order);
 *   group-causal     a causal / causal-total message is delivered after
 *                    every message of its causal past in the same view:
 *                    sent before it by its sender, or delivered at its
 *                    sender before it was sent, and transitively the past
 *                    of such messages that are causal themselves (the
 *                    levels without a vector bring only themselves and
 *                    their sender's earlier messages: docs/multicast.md);
 *                    computed from the trace, not from "vec";
 *   total-order      total / causal-total deliveries carry a gseq,
 *                    increasing per process in (epoch, gseq), the same
 *                    for one mid at processes going to the same next
 *                    view; any two processes deliver their common total
 *                    messages in the same relative order (pairwise);
 *   view-liveness    (settle=DURATION, default 5s) once settle has passed
 *                    after the last simulator event (crash, restart,
 *                    partition, heal, join, leave, ctl), and again at the
 *                    end of the trace, every live process that has not
 *                    left is in a view, all in the same view, whose
 *                    members are exactly those processes. Not checked
 *                    while the network is partitioned.
 *
 * A process is one incarnation of one node. Every checker takes proto=NAME
 * (default "group"). A malformed group record is a violation of every
 * checker, never a crash. Memory is O(group records); view ids are
 * interned, so a delivery costs a few words however long its ids are.
 */
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "cohort/registry.h"
#include "cohort/trace_util.h"
#include "json.h"

#define NONE UINT32_MAX
#define VID_MAX 64

typedef struct gmid {
  uint64_t sender, inc, n;
} gmid_t;

typedef struct gproc {
  cohort_node_id_t node;
  cohort_incarnation_t inc;
  uint32_t cur;   /* current view (index into views) or NONE */
  bool pending;   /* waiting for its state */
  bool left;      /* traced "leave" */
} gproc_t;

typedef struct gview {
  uint32_t proc, vid, next; /* next: this process's next view, or NONE */
  uint64_t epoch;
  uint32_t mem_off, mem_len;
  bool primary, pending, installed; /* installed: state_installed during it */
  bool flushed_pending;             /* its flush began before the state came */
  uint64_t ndeliv, hash;            /* deliveries during it: count, sum of mid hashes */
  int64_t tt;
  size_t line, rec; /* rec: index in the (sorted) trace */
} gview_t;

/* ordering levels as traced ("svc"); absent = fifo (older traces) */
enum { SVC_UNORDERED, SVC_FIFO, SVC_CAUSAL, SVC_TOTAL, SVC_CAUSAL_TOTAL, SVC_BAD };

typedef struct gmsg {
  uint32_t proc, vid, view; /* view: the process's current view then, or NONE */
  uint8_t svc;
  uint32_t vix;             /* sends: 1-based index among its sender's sends in vid */
  uint64_t gseq;            /* deliveries: 0 = none */
  bool dropped;             /* a "gdrop": settled here without delivery */
  uint32_t next_vid;        /* drops: the view the flush led to */
  gmid_t mid;
  int64_t tt;
  size_t line, rec; /* rec: index in the (sorted) trace */
} gmsg_t;

typedef struct gmem {
  uint64_t id, inc;
} gmem_t;

/* A point in time for view-liveness: per node, up/down and its latest
 * incarnation; per process, its view. */
typedef struct gnode {
  cohort_node_id_t id;
  bool up, left;
  cohort_incarnation_t inc;
  bool group; /* ran the group protocol */
} gnode_t;

typedef struct gctx {
  const cohort_trace_t *t;
  const cohort_allocator_t *a;
  cohort_check_result_t *out;
  const char *proto;
  int64_t settle;
  gproc_t *procs;
  size_t nprocs, cap_procs;
  gview_t *views;
  size_t nviews, cap_views;
  gmsg_t *sends, *dels;
  size_t nsends, ndels, cap_sends, cap_dels;
  gmem_t *mem;
  size_t nmem, cap_mem;
  /* interned view ids */
  char (*vids)[VID_MAX];
  size_t nvids, cap_vids;
  uint32_t *vid_hash; /* open addressing, cap_hash slots, NONE = empty */
  size_t cap_hash;
  int64_t t0, t_end;
  bool nomem;
} gctx_t;

static bool grow(gctx_t *c, void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return true;
  size_t n = *cap ? *cap * 2 : 64;
  while (n < need) n *= 2;
  void *q = cohort_realloc(c->a, *p, n * size);
  if (!q) {
    c->nomem = true;
    return false;
  }
  *p = q;
  *cap = n;
  return true;
}

static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static uint64_t str_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static uint64_t mid_hash(gmid_t m) { return mix64(m.sender ^ mix64(m.inc ^ mix64(m.n))); }

static int mid_cmp(gmid_t a, gmid_t b) {
  if (a.sender != b.sender) return a.sender < b.sender ? -1 : 1;
  if (a.inc != b.inc) return a.inc < b.inc ? -1 : 1;
  if (a.n != b.n) return a.n < b.n ? -1 : 1;
  return 0;
}

/* Intern a view id string; NONE when out of memory. */
static uint32_t vid_intern(gctx_t *c, const char *s) {
  if (c->nvids * 2 >= c->cap_hash) {
    size_t cap = c->cap_hash ? c->cap_hash * 2 : 256;
    uint32_t *h = cohort_alloc(c->a, cap * sizeof *h);
    if (!h) {
      c->nomem = true;
      return NONE;
    }
    for (size_t i = 0; i < cap; i++) h[i] = NONE;
    for (size_t i = 0; i < c->nvids; i++) {
      size_t k = str_hash(c->vids[i]) & (cap - 1);
      while (h[k] != NONE) k = (k + 1) & (cap - 1);
      h[k] = (uint32_t)i;
    }
    cohort_free(c->a, c->vid_hash);
    c->vid_hash = h;
    c->cap_hash = cap;
  }
  size_t k = str_hash(s) & (c->cap_hash - 1);
  for (; c->vid_hash[k] != NONE; k = (k + 1) & (c->cap_hash - 1))
    if (!strcmp(c->vids[c->vid_hash[k]], s)) return c->vid_hash[k];
  if (!grow(c, (void **)&c->vids, &c->cap_vids, c->nvids + 1, sizeof *c->vids)) return NONE;
  memcpy(c->vids[c->nvids], s, strlen(s) + 1);
  c->vid_hash[k] = (uint32_t)c->nvids;
  return (uint32_t)c->nvids++;
}

static uint32_t proc_get(gctx_t *c, cohort_node_id_t node, cohort_incarnation_t inc) {
  for (size_t i = c->nprocs; i-- > 0;) /* recent processes are likelier */
    if (c->procs[i].node == node && c->procs[i].inc == inc) return (uint32_t)i;
  if (!grow(c, (void **)&c->procs, &c->cap_procs, c->nprocs + 1, sizeof *c->procs)) return NONE;
  c->procs[c->nprocs] = (gproc_t){.node = node, .inc = inc, .cur = NONE};
  return (uint32_t)c->nprocs++;
}

/* ---- reading records --------------------------------------------------------------- */

static int data_cursor(const char *data, const char *key, json_cursor_t *cur) {
  if (!data) return COHORT_ENOTFOUND;
  *cur = (json_cursor_t){data, data + strlen(data), NULL};
  return json_find_key(cur, key);
}

/* data.key as a string (no escapes allowed: ids never have them). */
static bool data_str(const char *data, const char *key, char *out, size_t cap) {
  json_cursor_t cur;
  const char *raw;
  size_t len;
  bool esc;
  if (data_cursor(data, key, &cur) || json_string_raw(&cur, &raw, &len, &esc) || esc ||
      len == 0 || len >= cap)
    return false;
  memcpy(out, raw, len);
  out[len] = 0;
  return true;
}

static bool data_bool(const char *data, const char *key, bool *out) {
  json_cursor_t cur;
  if (data_cursor(data, key, &cur)) return false;
  json_ws(&cur);
  size_t left = (size_t)(cur.end - cur.p);
  if (left >= 4 && !memcmp(cur.p, "true", 4)) return *out = true, true;
  if (left >= 5 && !memcmp(cur.p, "false", 5)) return *out = false, true;
  return false;
}

/* "S.I.N" with three decimal numbers. */
static bool parse_mid(const char *s, gmid_t *m) {
  uint64_t v[3];
  for (int k = 0; k < 3; k++) {
    if (*s < '0' || *s > '9') return false;
    uint64_t x = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
      if (x > (UINT64_MAX - 9) / 10) return false;
      x = x * 10 + (uint64_t)(*s - '0');
    }
    v[k] = x;
    if (k < 2 && *s++ != '.') return false;
  }
  if (*s) return false;
  *m = (gmid_t){v[0], v[1], v[2]};
  return true;
}

/* data.members: [[id,inc],...] appended to c->mem. */
static bool parse_members(gctx_t *c, const char *data, uint32_t *off, uint32_t *len) {
  json_cursor_t cur;
  if (data_cursor(data, "members", &cur) || json_expect(&cur, '[')) return false;
  *off = (uint32_t)c->nmem;
  *len = 0;
  json_ws(&cur);
  if (cur.p < cur.end && *cur.p == ']') return true;
  for (;;) {
    gmem_t m;
    if (json_expect(&cur, '[') || json_u64(&cur, &m.id) || json_expect(&cur, ',') ||
        json_u64(&cur, &m.inc) || json_expect(&cur, ']'))
      return false;
    if (!grow(c, (void **)&c->mem, &c->cap_mem, c->nmem + 1, sizeof *c->mem)) return false;
    c->mem[c->nmem++] = m;
    (*len)++;
    json_ws(&cur);
    if (cur.p < cur.end && *cur.p == ']') return true;
    if (json_expect(&cur, ',')) return false;
  }
}

static void malformed(gctx_t *c, const cohort_trace_rec_t *r, const char *why) {
  check_fail(c->out, "line %zu: node %u: malformed group %s record (%s)", r->line, r->node,
             r->what, why);
}

static void on_view(gctx_t *c, const cohort_trace_rec_t *r, uint32_t p) {
  char vid[VID_MAX], state[16];
  gview_t v = {.proc = p, .next = NONE, .tt = r->true_ns, .line = r->line,
               .rec = (size_t)(r - c->t->recs)};
  if (!data_str(r->data_json, "vid", vid, sizeof vid)) return malformed(c, r, "vid");
  if (cohort_trace_data_u64(r->data_json, "epoch", &v.epoch)) return malformed(c, r, "epoch");
  if (!data_bool(r->data_json, "primary", &v.primary)) return malformed(c, r, "primary");
  if (!parse_members(c, r->data_json, &v.mem_off, &v.mem_len))
    return malformed(c, r, c->nomem ? "out of memory" : "members");
  if (data_str(r->data_json, "state", state, sizeof state)) v.pending = !strcmp(state, "pending");
  v.vid = vid_intern(c, vid);
  if (v.vid == NONE || !grow(c, (void **)&c->views, &c->cap_views, c->nviews + 1, sizeof v))
    return;
  gproc_t *pr = &c->procs[p];
  if (pr->cur != NONE) c->views[pr->cur].next = (uint32_t)c->nviews;
  pr->cur = (uint32_t)c->nviews;
  if (v.pending) pr->pending = true;
  c->views[c->nviews++] = v;
}

static void on_msg(gctx_t *c, const cohort_trace_rec_t *r, uint32_t p, bool send, bool drop) {
  char vid[VID_MAX], mid[VID_MAX];
  gmsg_t m = {.proc = p, .tt = r->true_ns, .line = r->line, .view = c->procs[p].cur,
              .rec = (size_t)(r - c->t->recs), .dropped = drop, .next_vid = NONE};
  if (!data_str(r->data_json, "vid", vid, sizeof vid)) return malformed(c, r, "vid");
  if (!data_str(r->data_json, "mid", mid, sizeof mid) || !parse_mid(mid, &m.mid))
    return malformed(c, r, "mid");
  char svc[16];
  m.svc = SVC_FIFO;
  if (data_str(r->data_json, "svc", svc, sizeof svc)) {
    static const char *const names[] = {"unordered", "fifo", "causal", "total", "causal-total"};
    m.svc = SVC_BAD;
    for (uint8_t k = 0; k < 5; k++)
      if (!strcmp(svc, names[k])) m.svc = k;
    if (m.svc == SVC_BAD) return malformed(c, r, "svc");
  }
  if (!send && cohort_trace_data_u64(r->data_json, "gseq", &m.gseq)) m.gseq = 0;
  if (drop) {
    char nv[VID_MAX];
    if (!data_str(r->data_json, "next", nv, sizeof nv)) return malformed(c, r, "next");
    if ((m.next_vid = vid_intern(c, nv)) == NONE) return;
  }
  m.vid = vid_intern(c, vid);
  if (m.vid == NONE) return;
  if (send) {
    if (grow(c, (void **)&c->sends, &c->cap_sends, c->nsends + 1, sizeof m))
      c->sends[c->nsends++] = m;
    return;
  }
  if (!grow(c, (void **)&c->dels, &c->cap_dels, c->ndels + 1, sizeof m)) return;
  c->dels[c->ndels++] = m;
  if (m.view != NONE) {
    c->views[m.view].ndeliv++; /* a drop counts apart: a drop here and a delivery there differ */
    c->views[m.view].hash += drop ? mid_hash(m.mid) * 0x9e3779b97f4a7c15ull + 1 : mid_hash(m.mid);
  }
}

/* One pass over the trace. `check` (may be NULL) sees every group record
 * after the per-process state was updated: the state-transfer checker's
 * hook, since it needs the order of events within a process. */
typedef void (*rec_hook_t)(gctx_t *c, const cohort_trace_rec_t *r, uint32_t p, bool pending_before);

static int collect(gctx_t *c, rec_hook_t hook) {
  const cohort_trace_t *t = c->t;
  for (size_t i = 0; i < t->len && !c->nomem; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (!i || r->true_ns < c->t0) c->t0 = r->true_ns;
    if (!i || r->true_ns > c->t_end) c->t_end = r->true_ns;
    if (r->type != COHORT_EV_STATE || !r->proto || !r->what || strcmp(r->proto, c->proto))
      continue;
    uint32_t p = proc_get(c, r->node, r->inc);
    if (p == NONE) break;
    gproc_t *pr = &c->procs[p];
    bool pending = pr->pending;
    if (!strcmp(r->what, "view")) {
      on_view(c, r, p);
    } else if (!strcmp(r->what, "gsend")) {
      on_msg(c, r, p, true, false);
    } else if (!strcmp(r->what, "gdeliver") || !strcmp(r->what, "gdrop")) {
      on_msg(c, r, p, false, !strcmp(r->what, "gdrop"));
    } else if (!strcmp(r->what, "state_installed")) {
      pr->pending = false;
      if (pr->cur != NONE) c->views[pr->cur].installed = true;
    } else if (!strcmp(r->what, "leave")) {
      pr->left = true;
    } else if (!strcmp(r->what, "block")) {
      if (pr->pending && pr->cur != NONE) c->views[pr->cur].flushed_pending = true;
    }
    if (hook) hook(c, r, p, pending);
  }
  return c->nomem ? COHORT_ENOMEM : 0;
}

static void ctx_free(gctx_t *c) {
  cohort_free(c->a, c->procs);
  cohort_free(c->a, c->views);
  cohort_free(c->a, c->sends);
  cohort_free(c->a, c->dels);
  cohort_free(c->a, c->mem);
  cohort_free(c->a, c->vids);
  cohort_free(c->a, c->vid_hash);
}

static const char *pname(const gctx_t *c, uint32_t p, int slot) {
  static _Thread_local char buf[4][48];
  cohort_fmt(buf[slot], sizeof buf[slot], "%u.%llu", c->procs[p].node,
             (unsigned long long)c->procs[p].inc);
  return buf[slot];
}

/* ---- sorting (qsort has no context) ------------------------------------------------ */

static _Thread_local const gctx_t *sort_ctx;

static int u32_cmp(uint32_t a, uint32_t b) { return a < b ? -1 : a > b; }

/* View indices by vid, then index. */
static int view_by_vid(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  int k = u32_cmp(sort_ctx->views[a].vid, sort_ctx->views[b].vid);
  return k ? k : u32_cmp(a, b);
}

/* Messages by (mid, proc, line). */
static int msg_by_mid(const void *x, const void *y) {
  const gmsg_t *a = x, *b = y;
  int k = mid_cmp(a->mid, b->mid);
  if (k) return k;
  k = u32_cmp(a->proc, b->proc);
  return k ? k : (a->line < b->line ? -1 : a->line > b->line);
}

/* Messages by (proc, mid, line). */
static int msg_by_proc(const void *x, const void *y) {
  const gmsg_t *a = x, *b = y;
  int k = u32_cmp(a->proc, b->proc);
  if (k) return k;
  k = mid_cmp(a->mid, b->mid);
  return k ? k : (a->line < b->line ? -1 : a->line > b->line);
}

static uint32_t *index_views(gctx_t *c) {
  uint32_t *ix = cohort_alloc(c->a, (c->nviews + 1) * sizeof *ix);
  if (!ix) return NULL;
  for (size_t i = 0; i < c->nviews; i++) ix[i] = (uint32_t)i;
  sort_ctx = c;
  qsort(ix, c->nviews, sizeof *ix, view_by_vid);
  return ix;
}

/* The first message of arr[0..n) (sorted by msg_by_mid) with this mid. */
static const gmsg_t *find_mid(const gmsg_t *arr, size_t n, gmid_t m) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (mid_cmp(arr[mid].mid, m) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && !mid_cmp(arr[lo].mid, m) ? &arr[lo] : NULL;
}

/* The first delivery by process p of m in arr (sorted by msg_by_proc). */
static const gmsg_t *find_del(const gmsg_t *arr, size_t n, uint32_t p, gmid_t m) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int k = u32_cmp(arr[mid].proc, p);
    if (!k) k = mid_cmp(arr[mid].mid, m);
    if (k < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && arr[lo].proc == p && !mid_cmp(arr[lo].mid, m) ? &arr[lo] : NULL;
}

/* ---- the checkers ------------------------------------------------------------------ */

static bool same_members(const gctx_t *c, const gview_t *a, const gview_t *b) {
  if (a->mem_len != b->mem_len) return false;
  for (uint32_t i = 0; i < a->mem_len; i++) {
    const gmem_t *x = &c->mem[a->mem_off + i], *y = &c->mem[b->mem_off + i];
    if (x->id != y->id || x->inc != y->inc) return false;
  }
  return true;
}

static bool is_member(const gctx_t *c, const gview_t *v, cohort_node_id_t id,
                      cohort_incarnation_t inc) {
  for (uint32_t i = 0; i < v->mem_len; i++)
    if (c->mem[v->mem_off + i].id == id && c->mem[v->mem_off + i].inc == inc) return true;
  return false;
}

static int view_agreement(gctx_t *c) {
  uint32_t *ix = index_views(c);
  if (!ix) return COHORT_ENOMEM;
  for (size_t i = 0, j; i < c->nviews; i = j) {
    const gview_t *f = &c->views[ix[i]];
    for (j = i; j < c->nviews && c->views[ix[j]].vid == f->vid; j++) {
      const gview_t *v = &c->views[ix[j]];
      c->out->checked++;
      if (!is_member(c, v, c->procs[v->proc].node, c->procs[v->proc].inc))
        check_fail(c->out, "line %zu: process %s installs view %s without being a member",
                   v->line, pname(c, v->proc, 0), c->vids[v->vid]);
      if (j == i) continue;
      if (!same_members(c, f, v))
        check_fail(c->out, "view %s has two member lists: process %s (line %zu) and %s "
                   "(line %zu)", c->vids[f->vid], pname(c, f->proc, 0), f->line,
                   pname(c, v->proc, 1), v->line);
      else if (f->primary != v->primary)
        check_fail(c->out, "view %s is primary at process %s (line %zu) and not at %s "
                   "(line %zu)", c->vids[f->vid], pname(c, f->primary ? f->proc : v->proc, 0),
                   f->primary ? f->line : v->line, pname(c, f->primary ? v->proc : f->proc, 1),
                   f->primary ? v->line : f->line);
    }
  }
  cohort_free(c->a, ix);
  return 0;
}

static int view_order(gctx_t *c) {
  for (size_t i = 0; i < c->nviews; i++) {
    const gview_t *v = &c->views[i];
    c->out->checked++;
    if (v->next != NONE && c->views[v->next].epoch <= v->epoch)
      check_fail(c->out, "line %zu: process %s installs view %s (epoch %llu) after %s "
                 "(epoch %llu, line %zu)", c->views[v->next].line, pname(c, v->proc, 0),
                 c->vids[c->views[v->next].vid], (unsigned long long)c->views[v->next].epoch,
                 c->vids[v->vid], (unsigned long long)v->epoch, v->line);
  }
  uint32_t *ix = index_views(c);
  if (!ix) return COHORT_ENOMEM;
  for (size_t i = 1; i < c->nviews; i++) {
    const gview_t *a = &c->views[ix[i - 1]], *b = &c->views[ix[i]];
    if (a->vid == b->vid && a->epoch != b->epoch)
      check_fail(c->out, "view %s has epoch %llu at line %zu and %llu at line %zu",
                 c->vids[a->vid], (unsigned long long)a->epoch, a->line,
                 (unsigned long long)b->epoch, b->line);
  }
  cohort_free(c->a, ix);
  return 0;
}

static int view_synchrony(gctx_t *c) {
  for (size_t i = 0; i < c->nsends; i++) {
    const gmsg_t *s = &c->sends[i];
    c->out->checked++;
    if (s->view == NONE || c->views[s->view].vid != s->vid)
      check_fail(c->out, "line %zu: process %s sends %llu.%llu.%llu in view %s but is %s%s",
                 s->line, pname(c, s->proc, 0), (unsigned long long)s->mid.sender,
                 (unsigned long long)s->mid.inc, (unsigned long long)s->mid.n,
                 c->vids[s->vid], s->view == NONE ? "in no view" : "in view ",
                 s->view == NONE ? "" : c->vids[c->views[s->view].vid]);
  }
  sort_ctx = c;
  qsort(c->sends, c->nsends, sizeof *c->sends, msg_by_mid);
  for (size_t i = 0; i < c->ndels; i++) {
    const gmsg_t *d = &c->dels[i];
    c->out->checked++;
    char mid[72];
    cohort_fmt(mid, sizeof mid, "%llu.%llu.%llu", (unsigned long long)d->mid.sender,
               (unsigned long long)d->mid.inc, (unsigned long long)d->mid.n);
    if (d->view == NONE || c->views[d->view].vid != d->vid) {
      check_fail(c->out, "line %zu: process %s delivers %s in view %s but is %s%s", d->line,
                 pname(c, d->proc, 0), mid, c->vids[d->vid],
                 d->view == NONE ? "in no view" : "in view ",
                 d->view == NONE ? "" : c->vids[c->views[d->view].vid]);
      continue;
    }
    const gmsg_t *s = find_mid(c->sends, c->nsends, d->mid);
    if (s && s->vid != d->vid)
      check_fail(c->out, "line %zu: process %s delivers %s in view %s; it was sent in view %s "
                 "(line %zu)", d->line, pname(c, d->proc, 0), mid, c->vids[d->vid],
                 c->vids[s->vid], s->line);
  }
  return 0;
}

/* Of two views with unequal delivery sets, one message only one of them
 * delivered (for the report). */
static bool set_diff(const gctx_t *c, uint32_t va, uint32_t vb, gmid_t *m, bool *in_a) {
  for (int pass = 0; pass < 2; pass++) {
    uint32_t x = pass ? vb : va, y = pass ? va : vb;
    for (size_t i = 0; i < c->ndels; i++) {
      if (c->dels[i].view != x) continue;
      bool found = false;
      for (size_t k = 0; k < c->ndels && !found; k++)
        found = c->dels[k].view == y && !mid_cmp(c->dels[k].mid, c->dels[i].mid);
      if (!found) {
        *m = c->dels[i].mid;
        *in_a = !pass;
        return true;
      }
    }
  }
  return false;
}

static _Thread_local const gctx_t *pair_ctx;

/* Views (with a next view) by (vid, next vid). */
static int pair_cmp(const void *x, const void *y) {
  const gview_t *a = &pair_ctx->views[*(const uint32_t *)x];
  const gview_t *b = &pair_ctx->views[*(const uint32_t *)y];
  int k = u32_cmp(a->vid, b->vid);
  if (!k) k = u32_cmp(pair_ctx->views[a->next].vid, pair_ctx->views[b->next].vid);
  return k ? k : u32_cmp(*(const uint32_t *)x, *(const uint32_t *)y);
}

static int vs_agreement(gctx_t *c) {
  uint32_t *ix = cohort_alloc(c->a, (c->nviews + 1) * sizeof *ix);
  if (!ix) return COHORT_ENOMEM;
  size_t n = 0, exempt = 0;
  for (size_t i = 0; i < c->nviews; i++) {
    const gview_t *v = &c->views[i];
    if (v->next == NONE) continue;
    if (v->pending && !v->installed) {
      exempt++;
      continue;
    }
    ix[n++] = (uint32_t)i;
  }
  pair_ctx = c;
  qsort(ix, n, sizeof *ix, pair_cmp);
  bool detailed = false;
  for (size_t i = 0, j; i < n; i = j) {
    const gview_t *f = &c->views[ix[i]];
    uint32_t fnext = c->views[f->next].vid;
    for (j = i + 1; j < n && c->views[ix[j]].vid == f->vid &&
                    c->views[c->views[ix[j]].next].vid == fnext; j++) {
      const gview_t *v = &c->views[ix[j]];
      c->out->checked++;
      if (v->ndeliv == f->ndeliv && v->hash == f->hash) continue;
      gmid_t m = {0};
      bool in_f = false;
      /* The first report names a message; finding it is quadratic, so
       * only once per run. */
      if (!detailed && !c->out->violations && set_diff(c, ix[i], ix[j], &m, &in_f)) {
        detailed = true;
        check_fail(c->out, "processes %s and %s both go from view %s to %s but deliver "
                   "different messages in it (%llu vs %llu): %llu.%llu.%llu only at %s",
                   pname(c, f->proc, 0), pname(c, v->proc, 1), c->vids[f->vid],
                   c->vids[fnext], (unsigned long long)f->ndeliv,
                   (unsigned long long)v->ndeliv, (unsigned long long)m.sender,
                   (unsigned long long)m.inc, (unsigned long long)m.n,
                   pname(c, in_f ? f->proc : v->proc, 2));
      } else {
        check_fail(c->out, "processes %s and %s both go from view %s to %s but deliver "
                   "different messages in it (%llu vs %llu)", pname(c, f->proc, 0),
                   pname(c, v->proc, 1), c->vids[f->vid], c->vids[fnext],
                   (unsigned long long)f->ndeliv, (unsigned long long)v->ndeliv);
      }
    }
  }
  cohort_free(c->a, ix);
  if (exempt)
    check_summary(c->out, "%llu view pairs compared, %zu exempt (joiner without its state), "
                  "%llu violations", (unsigned long long)c->out->checked, exempt,
                  (unsigned long long)c->out->violations);
  return 0;
}

/* A drop (gdrop) is legitimate only for a TOTAL message, in a flush into
 * the view it names, to which no majority of the old view's members went
 * straight from it (group_mcast.c: only a majority side may order the old
 * view's undecided tail). */
static void drop_legit(gctx_t *c, const gmsg_t *d) {
  char mid[72];
  cohort_fmt(mid, sizeof mid, "%llu.%llu.%llu", (unsigned long long)d->mid.sender,
             (unsigned long long)d->mid.inc, (unsigned long long)d->mid.n);
  if (d->svc != SVC_TOTAL && d->svc != SVC_CAUSAL_TOTAL) {
    check_fail(c->out, "line %zu: process %s drops %s, not a total message", d->line,
               pname(c, d->proc, 0), mid);
    return;
  }
  if (d->view == NONE) return; /* (view-synchrony reports it) */
  const gview_t *old = &c->views[d->view];
  if (old->next != NONE && c->views[old->next].vid != d->next_vid) {
    check_fail(c->out, "line %zu: process %s drops %s for view %s but installs %s next",
               d->line, pname(c, d->proc, 0), mid, c->vids[d->next_vid],
               c->vids[c->views[old->next].vid]);
    return;
  }
  const gview_t *nv = NULL;
  for (size_t k = 0; k < c->nviews && !nv; k++)
    if (c->views[k].vid == d->next_vid) nv = &c->views[k];
  if (!nv) return; /* the trace ends first */
  /* carried on: processes that went from the old view straight to the
   * next (a member that left it by another flush is not carried here) */
  uint32_t carried = 0;
  for (size_t k = 0; k < c->nviews; k++) {
    const gview_t *v = &c->views[k];
    if (v->vid == old->vid && v->next != NONE && c->views[v->next].vid == nv->vid &&
        !(v->pending && (!v->installed || v->flushed_pending))) /* joins afresh */
      carried++;
  }
  if (2 * carried > old->mem_len)
    check_fail(c->out, "line %zu: process %s drops %s of view %s, but the next view %s "
               "carries on %u of its %u members (a majority decides the order)", d->line,
               pname(c, d->proc, 0), mid, c->vids[old->vid], c->vids[nv->vid], carried,
               old->mem_len);
}

static int group_integrity(gctx_t *c) {
  sort_ctx = c;
  qsort(c->sends, c->nsends, sizeof *c->sends, msg_by_mid);
  for (size_t i = 0; i < c->nsends; i++) {
    const gmsg_t *s = &c->sends[i];
    if (s->mid.sender != c->procs[s->proc].node || s->mid.inc != c->procs[s->proc].inc)
      check_fail(c->out, "line %zu: process %s sends message %llu.%llu.%llu, named for "
                 "another process", s->line, pname(c, s->proc, 0),
                 (unsigned long long)s->mid.sender, (unsigned long long)s->mid.inc,
                 (unsigned long long)s->mid.n);
    if (i && !mid_cmp(c->sends[i - 1].mid, s->mid))
      check_fail(c->out, "line %zu: message %llu.%llu.%llu sent twice (line %zu)", s->line,
                 (unsigned long long)s->mid.sender, (unsigned long long)s->mid.inc,
                 (unsigned long long)s->mid.n, c->sends[i - 1].line);
  }
  for (size_t i = 0; i < c->ndels; i++) {
    const gmsg_t *d = &c->dels[i];
    c->out->checked++;
    const gmsg_t *s = find_mid(c->sends, c->nsends, d->mid);
    if (!s || s->tt > d->tt)
      check_fail(c->out, "line %zu: process %s delivers %llu.%llu.%llu, %s", d->line,
                 pname(c, d->proc, 0), (unsigned long long)d->mid.sender,
                 (unsigned long long)d->mid.inc, (unsigned long long)d->mid.n,
                 s ? "before it was sent" : "which was never sent");
  }
  qsort(c->dels, c->ndels, sizeof *c->dels, msg_by_proc);
  for (size_t i = 1; i < c->ndels; i++) {
    const gmsg_t *a = &c->dels[i - 1], *b = &c->dels[i];
    if (a->proc == b->proc && !mid_cmp(a->mid, b->mid))
      check_fail(c->out, "line %zu: process %s %s %llu.%llu.%llu again (line %zu)",
                 b->line, pname(c, b->proc, 0), b->dropped || a->dropped ? "delivers or drops"
                 : "delivers", (unsigned long long)b->mid.sender,
                 (unsigned long long)b->mid.inc, (unsigned long long)b->mid.n, a->line);
  }
  for (size_t i = 0; i < c->ndels; i++)
    if (c->dels[i].dropped) drop_legit(c, &c->dels[i]);
  return 0;
}

static int self_delivery(gctx_t *c) {
  sort_ctx = c;
  qsort(c->dels, c->ndels, sizeof *c->dels, msg_by_proc);
  for (size_t i = 0; i < c->nsends; i++) {
    const gmsg_t *s = &c->sends[i];
    if (s->view == NONE || c->views[s->view].next == NONE) continue;
    c->out->checked++;
    const gmsg_t *d = find_del(c->dels, c->ndels, s->proc, s->mid);
    if (!d || d->view != s->view)
      check_fail(c->out, "line %zu: process %s sent %llu.%llu.%llu in view %s and installs "
                 "view %s (line %zu) without delivering it there", s->line,
                 pname(c, s->proc, 0), (unsigned long long)s->mid.sender,
                 (unsigned long long)s->mid.inc, (unsigned long long)s->mid.n,
                 c->vids[s->vid], c->vids[c->views[c->views[s->view].next].vid],
                 c->views[c->views[s->view].next].line);
  }
  return 0;
}

/* Primary view records by (epoch, vid, proc). */
static int prim_cmp(const void *x, const void *y) {
  const gview_t *a = &sort_ctx->views[*(const uint32_t *)x];
  const gview_t *b = &sort_ctx->views[*(const uint32_t *)y];
  if (a->epoch != b->epoch) return a->epoch < b->epoch ? -1 : 1;
  int k = u32_cmp(a->vid, b->vid);
  return k ? k : u32_cmp(a->proc, b->proc);
}

static int primary_unique(gctx_t *c) {
  uint32_t *ix = cohort_alloc(c->a, (c->nviews + 1) * sizeof *ix);
  if (!ix) return COHORT_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < c->nviews; i++)
    if (c->views[i].primary) ix[n++] = (uint32_t)i;
  sort_ctx = c;
  qsort(ix, n, sizeof *ix, prim_cmp);
  size_t prev = SIZE_MAX, prev_end = 0; /* the previous primary view's run in ix */
  for (size_t i = 0, j; i < n; i = j) {
    const gview_t *f = &c->views[ix[i]];
    for (j = i + 1; j < n && c->views[ix[j]].vid == f->vid;) j++;
    c->out->checked++;
    if (prev != SIZE_MAX) {
      const gview_t *p = &c->views[ix[prev]];
      if (p->epoch == f->epoch) {
        check_fail(c->out, "two primary views in epoch %llu: %s (line %zu) and %s (line %zu)",
                   (unsigned long long)f->epoch, c->vids[p->vid], p->line, c->vids[f->vid],
                   f->line);
      } else {
        /* Both runs are sorted by process: merge to find a common one. */
        bool common = false;
        for (size_t a = prev, b = i; a < prev_end && b < j && !common;) {
          uint32_t pa = c->views[ix[a]].proc, pb = c->views[ix[b]].proc;
          if (pa == pb) common = true;
          else if (pa < pb) a++;
          else b++;
        }
        if (!common)
          check_fail(c->out, "primary view %s (epoch %llu, line %zu) follows primary view %s "
                     "(epoch %llu) but no process installed both", c->vids[f->vid],
                     (unsigned long long)f->epoch, f->line, c->vids[p->vid],
                     (unsigned long long)p->epoch);
      }
    }
    prev = i;
    prev_end = j;
  }
  cohort_free(c->a, ix);
  return 0;
}

static void st_hook(gctx_t *c, const cohort_trace_rec_t *r, uint32_t p, bool pending) {
  if (!strcmp(r->what, "gdeliver") && c->procs[p].pending)
    check_fail(c->out, "line %zu: process %s delivers before its state transfer completed",
               r->line, pname(c, p, 0));
  else if (!strcmp(r->what, "state_installed") && !pending)
    check_fail(c->out, "line %zu: process %s installs state it was not waiting for", r->line,
               pname(c, p, 0));
  if (!strcmp(r->what, "gdeliver") || !strcmp(r->what, "state_installed")) c->out->checked++;
}

/* ---- view-liveness ----------------------------------------------------------------- */

static gnode_t *gnode_get(gnode_t *nodes, size_t *n, cohort_node_id_t id) {
  for (size_t i = 0; i < *n; i++)
    if (nodes[i].id == id) return &nodes[i];
  nodes[*n] = (gnode_t){.id = id, .up = true};
  return &nodes[(*n)++];
}

static void live_at(gctx_t *c, gnode_t *nodes, size_t nn, int64_t at) {
  double secs = (double)(at - c->t0) / 1e9;
  uint32_t vid = NONE;
  const gview_t *first = NULL;
  size_t live = 0;
  for (size_t i = 0; i < nn; i++) {
    const gnode_t *n = &nodes[i];
    if (!n->up || n->left || !n->group) continue;
    live++;
    c->out->checked++;
    uint32_t p = NONE;
    for (size_t k = 0; k < c->nprocs && p == NONE; k++)
      if (c->procs[k].node == n->id && c->procs[k].inc == n->inc) p = (uint32_t)k;
    if (p == NONE || c->procs[p].left) {
      if (p == NONE) check_fail(c->out, "at %.3fs: live node %u is in no view", secs, n->id);
      else live--;
      continue;
    }
    uint32_t cur = c->procs[p].cur;
    if (cur == NONE) {
      check_fail(c->out, "at %.3fs: live process %s is in no view", secs, pname(c, p, 0));
      continue;
    }
    if (vid == NONE) {
      vid = c->views[cur].vid, first = &c->views[cur];
    } else if (c->views[cur].vid != vid) {
      check_fail(c->out, "at %.3fs: process %s is in view %s, process %s in view %s", secs,
                 pname(c, first->proc, 0), c->vids[vid], pname(c, p, 1),
                 c->vids[c->views[cur].vid]);
    } else if (!is_member(c, first, n->id, n->inc)) {
      check_fail(c->out, "at %.3fs: process %s is not a member of its own view", secs,
                 pname(c, p, 0));
    }
  }
  if (!first || c->out->violations) return;
  if (first->mem_len != live) {
    for (uint32_t i = 0; i < first->mem_len; i++) {
      const gmem_t *m = &c->mem[first->mem_off + i];
      bool ok = false;
      for (size_t k = 0; k < nn && !ok; k++)
        ok = nodes[k].id == m->id && nodes[k].inc == m->inc && nodes[k].up && !nodes[k].left;
      if (!ok) {
        check_fail(c->out, "at %.3fs: view %s still lists %llu.%llu, which is not live", secs,
                   c->vids[vid], (unsigned long long)m->id, (unsigned long long)m->inc);
        return;
      }
    }
    check_fail(c->out, "at %.3fs: view %s has %u members, %zu processes are live", secs,
               c->vids[vid], first->mem_len, live);
  }
}

static int view_liveness(gctx_t *c) {
  const cohort_trace_t *t = c->t;
  /* First pass: the last fault, and whether the network ends partitioned. */
  int64_t last = INT64_MIN, t0 = 0, t_end = 0;
  bool cut = false;
  for (size_t i = 0; i < t->len; i++) {
    const cohort_trace_rec_t *r = &t->recs[i];
    if (!i || r->true_ns < t0) t0 = r->true_ns;
    if (!i || r->true_ns > t_end) t_end = r->true_ns;
    if (r->type != COHORT_EV_STATE || !r->proto || strcmp(r->proto, "sim") || !r->what) continue;
    last = r->true_ns;
    if (!strcmp(r->what, "partition")) cut = true;
    if (!strcmp(r->what, "heal")) cut = false;
  }
  c->t0 = t0;
  int64_t from = last == INT64_MIN ? t0 : last;
  if (cut) {
    check_summary(c->out, "not checked: the trace ends with the network partitioned");
    return 0;
  }
  if (t_end - from < c->settle) {
    check_summary(c->out, "not checked: the trace ends %.3fs after its last fault (settle "
                  "%.3fs)", (double)(t_end - from) / 1e9, (double)c->settle / 1e9);
    return 0;
  }
  int64_t at[2] = {check_add_sat(from, c->settle), t_end};
  gnode_t *nodes = cohort_alloc(c->a, (t->len + 1) * sizeof *nodes);
  if (!nodes) return COHORT_ENOMEM;
  size_t nn = 0;
  /* Second pass: replay group records and sim records up to each instant. */
  int k = 0;
  for (size_t i = 0; i <= t->len && k < 2 && !c->nomem; i++) {
    const cohort_trace_rec_t *r = i < t->len ? &t->recs[i] : NULL;
    while (k < 2 && (!r || r->true_ns > at[k])) {
      live_at(c, nodes, nn, at[k]);
      k++;
      if (k == 1 && at[1] == at[0]) k = 2;
    }
    if (!r || k >= 2) break;
    if (r->type != COHORT_EV_STATE || !r->proto || !r->what) continue;
    bool sim = !strcmp(r->proto, "sim");
    if (!sim && strcmp(r->proto, c->proto)) continue;
    gnode_t *n = gnode_get(nodes, &nn, r->node);
    if (sim) {
      if (!strcmp(r->what, "crash")) n->up = false;
      else if (!strcmp(r->what, "restart") || !strcmp(r->what, "join")) n->up = true, n->left = false;
      else if (!strcmp(r->what, "leave")) n->left = true;
      if (r->inc > n->inc) n->inc = r->inc;
      continue;
    }
    n->group = true;
    if (r->inc > n->inc) n->inc = r->inc;
    uint32_t p = proc_get(c, r->node, r->inc);
    if (p == NONE) break;
    gproc_t *pr = &c->procs[p];
    if (!strcmp(r->what, "view")) on_view(c, r, p);
    else if (!strcmp(r->what, "leave")) pr->left = true;
  }
  cohort_free(c->a, nodes);
  return c->nomem ? COHORT_ENOMEM : 0;
}

/* ---- ordering: group-fifo, group-causal, total-order ------------------------------- */

static bool is_total(uint8_t svc) { return svc == SVC_TOTAL || svc == SVC_CAUSAL_TOTAL; }

static uint64_t vid_epoch(const gctx_t *c, uint32_t vid) {
  uint64_t e = 0;
  for (const char *p = c->vids[vid]; *p >= '0' && *p <= '9'; p++) e = e * 10 + (uint64_t)(*p - '0');
  return e;
}

/* Sends sorted by mid (indices into c->sends), for finding a delivery's send. */
static _Thread_local const gmsg_t *sort_sends;
static int send_ix_by_mid(const void *x, const void *y) {
  const gmsg_t *a = &sort_sends[*(const uint32_t *)x], *b = &sort_sends[*(const uint32_t *)y];
  return mid_cmp(a->mid, b->mid);
}

static uint32_t send_of(const gctx_t *c, const uint32_t *ix, gmid_t m) {
  size_t lo = 0, hi = c->nsends;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (mid_cmp(c->sends[ix[mid]].mid, m) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < c->nsends && !mid_cmp(c->sends[ix[lo]].mid, m) ? ix[lo] : NONE;
}

/* State of one process in the pass: in its current view, per sender
 * process, which of the sender's sends there it delivered (a bitmap over
 * the sender's vix) and the longest delivered prefix; and its causal past
 * there (per process, the highest vix of its sends in the past). */
typedef struct opass {
  uint32_t *pre, *vc; /* [nprocs] */
  uint8_t *got;       /* [nprocs][maxvix + 1] */
  uint32_t vid;
  uint64_t last_epoch, last_gseq;
} opass_t;

/* total-order: (1) every total delivery has a gseq; (2) each process
 * delivers them in increasing (epoch, gseq); (3) processes that leave the
 * view for the same next view (the same flush) agree on each message's
 * gseq; (4) any two processes deliver the total messages they both
 * deliver in the same relative order (checked pairwise, from positions,
 * whatever the gseqs say). Two partitioned components may number the
 * messages their flushes order differently; (4) still holds for them. */
typedef struct tdel {
  uint32_t send, next, proc, pos;
  uint64_t gseq;
  size_t line;
} tdel_t;

static int tdel_cmp(const void *x, const void *y) {
  const tdel_t *a = x, *b = y;
  if (a->send != b->send) return a->send < b->send ? -1 : 1;
  if (a->next != b->next) return a->next < b->next ? -1 : 1;
  return u32_cmp(a->proc, b->proc);
}

static void total_pairs(gctx_t *c, const tdel_t *td, size_t n, const uint32_t *pos_of) {
  size_t np = c->nprocs;
  /* td in delivery (trace) order; pos_of[send * np + proc] = position + 1 */
  for (uint32_t q = 0; q < np; q++) {
    uint32_t *last = cohort_calloc(c->a, np, sizeof *last);
    if (!last) {
      c->nomem = true;
      return;
    }
    for (size_t i = 0; i < n; i++) {
      if (td[i].proc != q) continue;
      for (uint32_t r = 0; r < np; r++) {
        uint32_t at = pos_of[(size_t)td[i].send * np + r];
        if (r == q || !at) continue;
        c->out->checked++;
        if (at < last[r]) {
          const gmsg_t *m = &c->sends[td[i].send];
          check_fail(c->out, "line %zu: %s delivered %llu.%llu.%llu after a total message "
                     "that %s delivered after it: not one total order", td[i].line,
                     pname(c, q, 0), (unsigned long long)m->mid.sender,
                     (unsigned long long)m->mid.inc, (unsigned long long)m->mid.n,
                     pname(c, r, 1));
        } else {
          last[r] = at;
        }
      }
    }
    cohort_free(c->a, last);
  }
}

static int total_order(gctx_t *c, const uint32_t *six) {
  size_t np = c->nprocs, n = 0;
  tdel_t *td = cohort_calloc(c->a, c->ndels + 1, sizeof *td);
  uint32_t *pos_of = cohort_calloc(c->a, (c->nsends + 1) * np, sizeof *pos_of);
  uint32_t *cnt = cohort_calloc(c->a, np + 1, sizeof *cnt);
  uint64_t *le = cohort_calloc(c->a, np + 1, sizeof *le), *lg = cohort_calloc(c->a, np + 1, sizeof *lg);
  int rc = 0;
  if (!td || !pos_of || !cnt || !le || !lg) {
    rc = COHORT_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < c->ndels; i++) {
    const gmsg_t *d = &c->dels[i];
    if (!is_total(d->svc) || d->dropped) continue;
    c->out->checked++;
    if (!d->gseq) {
      check_fail(c->out, "line %zu: %s delivered total message %llu.%llu.%llu without a gseq",
                 d->line, pname(c, d->proc, 0), (unsigned long long)d->mid.sender,
                 (unsigned long long)d->mid.inc, (unsigned long long)d->mid.n);
      continue;
    }
    uint64_t e = vid_epoch(c, d->vid);
    if (e < le[d->proc] || (e == le[d->proc] && d->gseq <= lg[d->proc]))
      check_fail(c->out, "line %zu: %s delivered %llu.%llu.%llu (epoch %llu, gseq %llu) after "
                 "gseq %llu of epoch %llu: not in gseq order", d->line, pname(c, d->proc, 0),
                 (unsigned long long)d->mid.sender, (unsigned long long)d->mid.inc,
                 (unsigned long long)d->mid.n, (unsigned long long)e,
                 (unsigned long long)d->gseq, (unsigned long long)lg[d->proc],
                 (unsigned long long)le[d->proc]);
    le[d->proc] = e;
    lg[d->proc] = d->gseq;
    uint32_t si = send_of(c, six, d->mid);
    if (si == NONE) continue; /* (group-integrity reports it) */
    uint32_t nx = d->view != NONE ? c->views[d->view].next : NONE;
    td[n++] = (tdel_t){.send = si, .next = nx == NONE ? NONE : c->views[nx].vid,
                       .proc = d->proc, .pos = ++cnt[d->proc], .gseq = d->gseq,
                       .line = d->line};
    pos_of[(size_t)si * np + d->proc] = cnt[d->proc];
  }
  total_pairs(c, td, n, pos_of);
  qsort(td, n, sizeof *td, tdel_cmp);
  for (size_t i = 1; i < n; i++)
    if (td[i].send == td[i - 1].send && td[i].next == td[i - 1].next && td[i].next != NONE &&
        td[i].gseq != td[i - 1].gseq) {
      const gmsg_t *m = &c->sends[td[i].send];
      check_fail(c->out, "line %zu: %s delivered %llu.%llu.%llu as gseq %llu, %s as gseq %llu, "
                 "and both went on to view %s", td[i].line, pname(c, td[i].proc, 0),
                 (unsigned long long)m->mid.sender, (unsigned long long)m->mid.inc,
                 (unsigned long long)m->mid.n, (unsigned long long)td[i].gseq,
                 pname(c, td[i - 1].proc, 1), (unsigned long long)td[i - 1].gseq,
                 c->vids[td[i].next]);
    }
  if (c->nomem) rc = COHORT_ENOMEM;
out:
  cohort_free(c->a, td);
  cohort_free(c->a, pos_of);
  cohort_free(c->a, cnt);
  cohort_free(c->a, le);
  cohort_free(c->a, lg);
  return rc;
}

/* group-fifo and group-causal: one pass over views, sends and deliveries
 * in trace order. */
static int order_pass(gctx_t *c, const uint32_t *six, bool causal) {
  size_t np = c->nprocs;
  uint32_t maxvix = 0;
  {
    uint32_t *cnt = cohort_calloc(c->a, np + 1, sizeof *cnt), *cur = cohort_alloc(c->a, (np + 1) * sizeof *cur);
    if (!cnt || !cur) {
      cohort_free(c->a, cnt);
      cohort_free(c->a, cur);
      return COHORT_ENOMEM;
    }
    for (size_t i = 0; i < np; i++) cur[i] = NONE;
    for (size_t i = 0; i < c->nsends; i++) {
      gmsg_t *m = &c->sends[i];
      if (cur[m->proc] != m->vid) cur[m->proc] = m->vid, cnt[m->proc] = 0;
      m->vix = ++cnt[m->proc];
      if (m->vix > maxvix) maxvix = m->vix;
    }
    cohort_free(c->a, cnt);
    cohort_free(c->a, cur);
  }
  size_t stride = (size_t)maxvix + 1;
  opass_t *ps = cohort_calloc(c->a, np + 1, sizeof *ps);
  uint32_t *vcs = cohort_calloc(c->a, (c->nsends + 1) * (causal ? np : 1), sizeof *vcs);
  bool ok = ps && vcs;
  for (size_t i = 0; ok && i < np; i++) {
    ps[i].pre = cohort_calloc(c->a, np, sizeof *ps[i].pre);
    ps[i].vc = cohort_calloc(c->a, np, sizeof *ps[i].vc);
    ps[i].got = cohort_calloc(c->a, np * stride, 1);
    ps[i].vid = NONE;
    ok = ps[i].pre && ps[i].vc && ps[i].got;
  }
  size_t a = 0, b = 0, v = 0;
  while (ok && (a < c->nsends || b < c->ndels || v < c->nviews)) {
    size_t la = a < c->nsends ? c->sends[a].rec : SIZE_MAX;
    size_t lb = b < c->ndels ? c->dels[b].rec : SIZE_MAX;
    size_t lv = v < c->nviews ? c->views[v].rec : SIZE_MAX;
    if (lv <= la && lv <= lb) { /* a view: the process starts afresh */
      opass_t *p = &ps[c->views[v].proc];
      p->vid = c->views[v].vid;
      memset(p->pre, 0, np * sizeof *p->pre);
      memset(p->vc, 0, np * sizeof *p->vc);
      memset(p->got, 0, np * stride);
      v++;
    } else if (la <= lb) { /* a send: its past is the sender's */
      gmsg_t *m = &c->sends[a];
      opass_t *p = &ps[m->proc];
      if (p->vid != m->vid) { /* (view-synchrony reports it) */
        p->vid = m->vid;
        memset(p->pre, 0, np * sizeof *p->pre);
        memset(p->vc, 0, np * sizeof *p->vc);
        memset(p->got, 0, np * stride);
      }
      p->vc[m->proc] = m->vix;
      if (causal) memcpy(&vcs[a * np], p->vc, np * sizeof *vcs);
      a++;
    } else { /* a delivery */
      const gmsg_t *d = &c->dels[b++];
      opass_t *p = &ps[d->proc];
      uint32_t si = send_of(c, six, d->mid);
      if (si == NONE || c->sends[si].vid != d->vid || p->vid != d->vid) continue;
      const gmsg_t *sm = &c->sends[si];
      uint32_t s = sm->proc;
      if (d->dropped) { /* settled: later messages need not wait for it */
        if (sm->vix < stride) p->got[(size_t)s * stride + sm->vix] = 1;
        while (p->pre[s] + 1 < stride && p->got[(size_t)s * stride + p->pre[s] + 1]) p->pre[s]++;
        continue;
      }
      if (!causal && d->svc != SVC_UNORDERED) {
        c->out->checked++;
        if (p->pre[s] + 1 < sm->vix)
          check_fail(c->out, "line %zu: %s delivered %llu.%llu.%llu (the %u-th of its sender in "
                     "view %s) having delivered only its first %u: not FIFO", d->line,
                     pname(c, d->proc, 0), (unsigned long long)d->mid.sender,
                     (unsigned long long)d->mid.inc, (unsigned long long)d->mid.n, sm->vix,
                     c->vids[d->vid], p->pre[s]);
      }
      if (causal && (d->svc == SVC_CAUSAL || d->svc == SVC_CAUSAL_TOTAL)) {
        c->out->checked++;
        const uint32_t *vc = &vcs[(size_t)si * np];
        for (uint32_t q = 0; q < np; q++) {
          uint32_t need = q == s ? vc[q] - 1 : vc[q];
          if (p->pre[q] >= need) continue;
          check_fail(c->out, "line %zu: %s delivered %llu.%llu.%llu before message %u of %s in "
                     "view %s, which its sender had seen (causal past): not causal", d->line,
                     pname(c, d->proc, 0), (unsigned long long)d->mid.sender,
                     (unsigned long long)d->mid.inc, (unsigned long long)d->mid.n,
                     p->pre[q] + 1, pname(c, q, 1), c->vids[d->vid]);
          break;
        }
        for (uint32_t q = 0; q < np; q++)
          if (vc[q] > p->vc[q]) p->vc[q] = vc[q];
      }
      /* a message without a vector brings itself (and its sender's earlier
       * messages, by FIFO) into the past, not its own past */
      if (causal && !(d->svc == SVC_CAUSAL || d->svc == SVC_CAUSAL_TOTAL) &&
          sm->vix > p->vc[s])
        p->vc[s] = sm->vix;
      if (sm->vix < stride) p->got[(size_t)s * stride + sm->vix] = 1;
      while (p->pre[s] + 1 < stride && p->got[(size_t)s * stride + p->pre[s] + 1]) p->pre[s]++;
    }
  }
  for (size_t i = 0; ps && i < np; i++) {
    cohort_free(c->a, ps[i].pre);
    cohort_free(c->a, ps[i].vc);
    cohort_free(c->a, ps[i].got);
  }
  cohort_free(c->a, ps);
  cohort_free(c->a, vcs);
  return ok ? 0 : COHORT_ENOMEM;
}

static int ordering(gctx_t *c, int which);

/* ---- running ----------------------------------------------------------------------- */

enum {
  G_AGREEMENT, G_ORDER, G_SYNCHRONY, G_VS, G_INTEGRITY, G_SELF, G_PRIMARY, G_STATE, G_LIVENESS,
  G_FIFO, G_CAUSAL, G_TOTAL
};

static int ordering(gctx_t *c, int which) {
  uint32_t *six = cohort_alloc(c->a, (c->nsends + 1) * sizeof *six);
  if (!six) return COHORT_ENOMEM;
  for (size_t i = 0; i < c->nsends; i++) six[i] = (uint32_t)i;
  sort_sends = c->sends;
  qsort(six, c->nsends, sizeof *six, send_ix_by_mid);
  int rc = which == G_TOTAL ? total_order(c, six) : order_pass(c, six, which == G_CAUSAL);
  cohort_free(c->a, six);
  return rc;
}

static int g_run(int which, const char *who, const cohort_trace_t *t, const cohort_param_t *p,
                 size_t n, cohort_check_result_t *out, char *err, size_t errcap) {
  static const char *const known[] = {"proto", NULL};
  static const char *const known_live[] = {"proto", "settle", NULL};
  gctx_t c = {.t = t, .a = cohort_allocator_default(), .out = out,
              .settle = 5 * COHORT_NS_PER_S, .proto = "group"};
  int rc = cohort_param_check_known(p, n, which == G_LIVENESS ? known_live : known, who, err,
                                    errcap);
  if (!rc && which == G_LIVENESS)
    rc = cohort_param_duration(p, n, "settle", &c.settle, who, err, errcap);
  if (rc) return rc;
  if (cohort_param_get(p, n, "proto")) c.proto = cohort_param_get(p, n, "proto");
  if (t->len > COHORT_TRACE_RECS_MAX)
    return check_error(COHORT_EFULL, err, errcap, "%s: trace too large", who);
  *out = (cohort_check_result_t){0};
  if (which == G_LIVENESS) {
    rc = view_liveness(&c);
  } else {
    rc = collect(&c, which == G_STATE ? st_hook : NULL);
    if (!rc) {
      switch (which) {
      case G_AGREEMENT: rc = view_agreement(&c); break;
      case G_ORDER: rc = view_order(&c); break;
      case G_SYNCHRONY: rc = view_synchrony(&c); break;
      case G_VS: rc = vs_agreement(&c); break;
      case G_INTEGRITY: rc = group_integrity(&c); break;
      case G_SELF: rc = self_delivery(&c); break;
      case G_PRIMARY: rc = primary_unique(&c); break;
      case G_FIFO:
      case G_CAUSAL:
      case G_TOTAL: rc = ordering(&c, which); break;
      default: break;
      }
    }
  }
  if (!rc && !out->summary[0])
    check_summary(out, "%zu processes, %zu views, %zu sends, %zu deliveries: %llu checks, %llu "
                  "violations", c.nprocs, c.nviews, c.nsends, c.ndels,
                  (unsigned long long)out->checked, (unsigned long long)out->violations);
  ctx_free(&c);
  if (rc) return check_error(rc, err, errcap, "%s: %s", who, cohort_strerror(rc));
  return 0;
}

/* One checker: its symbol, its case in g_run, its name and help. */
#define G_CHECKER(sym, which, name, help)                                                  \
  static int sym##_run(const cohort_trace_t *t, const cohort_param_t *p, size_t n,         \
                       cohort_check_result_t *out, char *err, size_t errcap) {             \
    return g_run(which, name, t, p, n, out, err, errcap);                                  \
  }                                                                                        \
  const cohort_checker_t cohort_check_##sym = {name, help, sym##_run};

G_CHECKER(view_agreement, G_AGREEMENT, "view-agreement",
          "every process installing a view id installs the same members and primary flag "
          "[proto=group]")
G_CHECKER(view_order, G_ORDER, "view-order",
          "each process installs views in increasing epoch; one vid, one epoch [proto=group]")
G_CHECKER(view_synchrony, G_SYNCHRONY, "view-synchrony",
          "a message is delivered only in the view it was sent in [proto=group]")
G_CHECKER(vs_agreement, G_VS, "vs-agreement",
          "processes going from V to the same next view delivered the same messages in V "
          "[proto=group]")
G_CHECKER(group_integrity, G_INTEGRITY, "group-integrity",
          "no duplicate deliveries; every delivered message was sent by its sender "
          "[proto=group]")
G_CHECKER(self_delivery, G_SELF, "self-delivery",
          "a sender that installs a next view delivered its own messages first [proto=group]")
G_CHECKER(primary_unique, G_PRIMARY, "primary-unique",
          "one primary view per epoch; consecutive primary views share a process "
          "[proto=group]")
G_CHECKER(state_transfer, G_STATE, "state-transfer",
          "a joiner delivers nothing before its state is installed [proto=group]")
G_CHECKER(view_liveness, G_LIVENESS, "view-liveness",
          "after the last fault + settle, all live processes share one view of exactly "
          "them [settle=5s proto=group]")
G_CHECKER(group_fifo, G_FIFO, "group-fifo",
          "a message of level fifo or stronger is delivered after its sender's earlier "
          "messages of the view [proto=group]")
G_CHECKER(group_causal, G_CAUSAL, "group-causal",
          "a causal message is delivered after its causal past in the view [proto=group]")
G_CHECKER(total_order, G_TOTAL, "total-order",
          "total messages: one gseq per mid, unique per view, increasing at every process "
          "[proto=group]")
