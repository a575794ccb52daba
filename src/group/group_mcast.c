/*
 * src/group/group_mcast.c — view-synchronous reliable multicast (the
 * guide's stability protocol), the ordering services above it, and state
 * transfer.
 *
 * Reliable core: DATA {vid, sender, sinc, seq, stable, base, svc[, n,
 * vec[n]], payload} to every member; each member keeps a sender's
 * messages in a ring of `window` slots past what it delivered and
 * acknowledges cumulatively (ACK {vid, have}) once per ack interval
 * (batch=on) or per message (batch=off); the sender's `stable` is the
 * least acknowledgement over the view, carried on its next DATA or a
 * STABLE when idle. A message may be delivered once stable (safe
 * delivery), or by the flush up to the agreed cut (group.c).
 *
 * Ordering (docs/multicast.md): every message is delivered after its
 * sender's earlier ones (the core is cumulative, so FIFO costs nothing),
 * and then
 *  - CAUSAL waits until every member's delivered count here reaches the
 *    sender's when it sent (the vector it carries);
 *  - TOTAL waits for its global sequence number: the view's coordinator
 *    (rank 0, the sequencer) numbers TOTAL messages as it receives them,
 *    each sender's in its order, and multicasts the numbers in ORDER
 *    batches {first gseq, count, (rank, seq)...} — ordinary core
 *    messages of its own (svc GROUP_SVC_ORDER), so they are acked,
 *    retransmitted, stable and part of the flush cut like any other.
 *    Members apply an ORDER once it is stable (so whatever anyone
 *    delivered by it is at every survivor), and deliver TOTAL messages
 *    in gseq order.
 * The flush applies every ORDER up to the cut, skips numbers of messages
 * beyond the cut, numbers the TOTAL messages still unnumbered by (sender
 * rank, seq), and delivers everything up to the cut under the same rules:
 * every survivor holds the same messages and ORDERs there, so every
 * survivor delivers the same sequence. That is the flush of the component
 * carrying on a majority of the old view; any other applies only the
 * ORDERs known stable and drops the TOTAL messages left unnumbered
 * (flush_number), so no two components order a tail differently.
 *
 * State transfer: the joiner pulls chunks {vid, index, total, data} with
 * up to `state_window` requested and not yet received, re-requesting
 * after a retransmit interval without progress; the donor keeps the
 * snapshot it took when it installed the view, for that view only.
 */
#include <string.h>

#include "group_internal.h"

gslot_t *group_slot(cohort_group_t *g, gmem_t *m, uint64_t seq) {
  if (!m->ring) {
    m->ring = cohort_calloc(g->alloc, g->ring_cap, sizeof *m->ring);
    if (!m->ring) return NULL;
  }
  return &m->ring[seq & (g->ring_cap - 1)];
}

static void slot_clear(cohort_group_t *g, gslot_t *sl) {
  cohort_free(g->alloc, sl->data);
  cohort_free(g->alloc, sl->vec);
  *sl = (gslot_t){0};
}

void group_ring_free(cohort_group_t *g, gmem_t *m) {
  if (!m->ring) return;
  for (uint32_t i = 0; i < g->ring_cap; i++) slot_clear(g, &m->ring[i]);
  cohort_free(g->alloc, m->ring);
  m->ring = NULL;
}

/* "S.I.N": N counts the sender's multicasts over its incarnation (base:
 * what it sent in earlier views). */
static char *mid_str(const gmem_t *s, uint64_t seq, char *b, size_t cap) {
  cohort_fmt(b, cap, "%u.%llu.%llu", s->id, (unsigned long long)s->inc,
           (unsigned long long)(s->base + seq));
  return b;
}

static char *vid_s(cohort_group_view_id_t v, char *b, size_t cap) {
  cohort_fmt(b, cap, "%llu.%u.%llu", (unsigned long long)v.epoch, v.coord,
           (unsigned long long)v.coord_inc);
  return b;
}

/* ---- services ---------------------------------------------------------------------- */

const char *cohort_mcast_service_check(uint32_t svc) {
  uint32_t ord = svc & COHORT_MCAST_ORDER_MASK, rel = svc & COHORT_MCAST_RELIABILITY_MASK;
  if (svc & ~(uint32_t)(COHORT_MCAST_ORDER_MASK | COHORT_MCAST_RELIABILITY_MASK))
    return "unknown service bits";
  if (ord & ~(uint32_t)(COHORT_MCAST_FIFO | COHORT_MCAST_CAUSAL | COHORT_MCAST_TOTAL))
    return "unknown ordering bits";
  if (rel & ~(uint32_t)(COHORT_MCAST_RELIABLE | COHORT_MCAST_BEST_EFFORT |
                        COHORT_MCAST_UNRELIABLE))
    return "unknown reliability bits";
  if (rel && (rel & (rel - 1))) return "more than one reliability level";
  if ((rel & COHORT_MCAST_UNRELIABLE) && ord)
    return "ordering needs reliable delivery: an unreliable message may never arrive, so the "
           "messages ordered after it could never be delivered";
  if ((rel & COHORT_MCAST_BEST_EFFORT) && (ord & COHORT_MCAST_TOTAL))
    return "total order needs reliable delivery: without agreement on the set a sender's "
           "crash leaves members disagreeing on the sequence";
  if (rel & (COHORT_MCAST_UNRELIABLE | COHORT_MCAST_BEST_EFFORT))
    return "unreliable and best-effort delivery are not built yet (docs/multicast.md)";
  return NULL;
}

const char *cohort_mcast_service_name(uint32_t svc) {
  if (cohort_mcast_service_check(svc)) return "?";
  bool causal = svc & COHORT_MCAST_CAUSAL, total = svc & COHORT_MCAST_TOTAL;
  if (causal && total) return "causal-total";
  if (total) return "total";
  if (causal) return "causal";
  return svc & COHORT_MCAST_FIFO ? "fifo" : "unordered";
}

int cohort_mcast_service_parse(const char *name, uint32_t *svc) {
  static const struct {
    const char *name;
    uint32_t svc;
  } t[] = {{"unordered", COHORT_MCAST_UNORDERED},
           {"fifo", COHORT_MCAST_FIFO},
           {"causal", COHORT_MCAST_CAUSAL},
           {"total", COHORT_MCAST_TOTAL},
           {"causal-total", COHORT_MCAST_CAUSAL | COHORT_MCAST_TOTAL}};
  for (size_t i = 0; name && i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(name, t[i].name)) {
      *svc = t[i].svc | COHORT_MCAST_RELIABLE;
      return 0;
    }
  return COHORT_EINVAL;
}

/* ---- ordering state of the view ------------------------------------------------------- */

void group_mcast_free(cohort_group_t *g) {
  cohort_free(g->alloc, g->ord);
  cohort_free(g->alloc, g->ord_hi);
  cohort_free(g->alloc, g->seq_scan);
  cohort_free(g->alloc, g->seq_batch);
  g->ord = NULL;
  g->ord_hi = g->seq_scan = NULL;
  g->seq_batch = NULL;
  g->ord_ready = false;
}

/* The ordering state belongs to one view: made afresh when the view id
 * changes. The gseq ring holds every numbered, undelivered TOTAL message:
 * at most ring_cap per member. False when out of memory (TOTAL messages
 * wait; the next view tries again). */
static bool ord_sync(cohort_group_t *g) {
  if (g->ord_ready && vid_eq(g->ord_vid, g->vid)) return true;
  group_mcast_free(g);
  if (!g->in_view || !g->n) return false;
  size_t cap = 64;
  while (cap < g->n * (size_t)g->ring_cap) cap <<= 1;
  g->ord = cohort_calloc(g->alloc, cap, sizeof *g->ord);
  g->ord_hi = cohort_calloc(g->alloc, g->n, sizeof *g->ord_hi);
  g->seq_scan = cohort_calloc(g->alloc, g->n, sizeof *g->seq_scan);
  if (g->self == 0) g->seq_batch = cohort_calloc(g->alloc, GROUP_ORDER_BATCH_MAX, sizeof(gorder_t));
  if (!g->ord || !g->ord_hi || !g->seq_scan || (g->self == 0 && !g->seq_batch)) {
    group_mcast_free(g);
    return false;
  }
  g->ord_cap = cap;
  g->ord_next = g->ord_end = g->seq_next = 1;
  g->ord_applied = 0;
  g->seq_batch_len = 0;
  g->ord_vid = g->vid;
  g->ord_ready = true;
  return true;
}

/* Sequencer: has member s sent an eighth of a window (up to `upto`)
 * that is not numbered yet? Then it orders at once, not at the next tick.
 * (ord_sync first: the scan belongs to the current view and its size.) */
static bool order_due(cohort_group_t *g, size_t s, uint64_t upto) {
  if (g->self != 0 || !ord_sync(g)) return false;
  uint64_t eighth = g->cfg.window / 8 ? g->cfg.window / 8 : 1;
  return upto >= g->seq_scan[s] + eighth;
}

/* Number `seq` of member `sender` with the next gseq here. */
static bool ord_append(cohort_group_t *g, uint32_t sender, uint64_t seq) {
  if (sender >= g->n || seq <= g->ord_hi[sender] || g->ord_end - g->ord_next >= g->ord_cap)
    return false;
  g->ord[g->ord_end & (g->ord_cap - 1)] = (gorder_t){sender, seq};
  g->ord_end++;
  g->ord_hi[sender] = seq;
  return true;
}

/* Apply one ORDER body: {first gseq, count, (rank u16, seq u64) * count}. */
static void apply_order(cohort_group_t *g, const uint8_t *b, size_t len) {
  gr_t r = {.p = b, .len = len};
  uint64_t first = gr_u64(&r);
  uint16_t count = gr_u16(&r);
  if (r.err || first != g->ord_end) { /* never from a correct sequencer */
    g->stats.rx_malformed++;
    return;
  }
  for (uint16_t i = 0; i < count; i++) {
    uint16_t sender = gr_u16(&r);
    uint64_t seq = gr_u64(&r);
    if (r.err || !ord_append(g, sender, seq)) {
      g->stats.rx_malformed++;
      return;
    }
  }
}

/* Apply the sequencer's ORDERs up to its seq `limit` (stable ones, or
 * the cut in a flush). They stay in the ring until delivery passes them. */
static void apply_orders(cohort_group_t *g, uint64_t limit) {
  gmem_t *q = &g->mem[0];
  if (limit > q->have) limit = q->have;
  while (g->ord_applied < limit) {
    uint64_t seq = g->ord_applied + 1;
    if (seq > q->delivered) {
      gslot_t *sl = group_slot(g, q, seq);
      if (!sl || !sl->data || sl->seq != seq) return;
      if (sl->svc == GROUP_SVC_ORDER) apply_order(g, sl->data, sl->len);
    }
    g->ord_applied = seq;
  }
}

/* ---- delivery --------------------------------------------------------------------------- */

/* May the next message of sender s (in slot sl) be delivered now? Writes
 * its gseq (0 unless TOTAL). In a flush, gseqs of messages beyond the
 * cut are skipped: no survivor has them. */
static bool order_allows(cohort_group_t *g, size_t s, const gslot_t *sl, bool flush,
                         uint64_t *gseq) {
  *gseq = 0;
  if (sl->svc == GROUP_SVC_ORDER) return true;
  if ((sl->svc & COHORT_MCAST_CAUSAL) && sl->vec)
    for (size_t k = 0; k < g->n; k++)
      if (k != s && g->mem[k].delivered < sl->vec[k]) return false;
  if (!(sl->svc & COHORT_MCAST_TOTAL)) return true;
  if (!g->ord_ready) return false;
  while (flush && g->ord_next < g->ord_end) {
    gorder_t o = g->ord[g->ord_next & (g->ord_cap - 1)];
    if (o.seq <= g->cut[o.sender]) break;
    g->ord_next++;
  }
  if (g->ord_next >= g->ord_end) return false;
  gorder_t o = g->ord[g->ord_next & (g->ord_cap - 1)];
  if (o.sender != s || o.seq != sl->seq) return false;
  *gseq = g->ord_next;
  return true;
}

static void trace_deliver(cohort_group_t *g, gmem_t *m, const gslot_t *sl, bool stable,
                          uint64_t gseq) {
  char mid[96], v[64], gs[40] = "";
  if (gseq) cohort_fmt(gs, sizeof gs, ",\"gseq\":%llu", (unsigned long long)gseq);
  group_trace(g, "gdeliver",
              "{\"vid\":\"%s\",\"mid\":\"%s\",\"bytes\":%u,\"stable\":%s,\"svc\":\"%s\"%s}",
              vid_s(g->vid, v, sizeof v), mid_str(m, sl->seq, mid, sizeof mid), sl->len,
              stable ? "true" : "false", cohort_mcast_service_name(sl->svc), gs);
}

typedef void (*hand_cb_t)(void *ud, cohort_group_member_t from, uint64_t seq, const uint8_t *msg,
                          size_t len);

/* Hand message seq of m (slot sl) to cb (deliver or dropped) and free it.
 * 1, or -1 if the callback changed the view. */
static int hand_over(cohort_group_t *g, gmem_t *m, uint64_t seq, gslot_t *sl, hand_cb_t cb) {
  uint8_t *data = sl->data;
  uint32_t len = sl->len;
  sl->data = NULL;
  cohort_free(g->alloc, sl->vec);
  sl->vec = NULL;
  gmem_t *mem = g->mem;
  if (cb) cb(g->ud, (cohort_group_member_t){m->id, m->inc}, seq, data, len);
  cohort_free(g->alloc, data);
  return !g->in_view || g->mem != mem ? -1 : 1;
}

/* Sender s's next message (slot sl) is settled here — delivered, passed
 * (an ORDER) or dropped: our own no longer hold the window. */
static void settle_next(cohort_group_t *g, size_t s, const gslot_t *sl) {
  g->mem[s].delivered = sl->seq;
  if (s == g->self) g->out_bytes -= sl->len; /* (submit added exactly this) */
}

/* Deliver sender s's next message if it may go. 1: delivered (or an ORDER
 * passed), 0: not now, -1: the callback changed the view. */
static int deliver_next(cohort_group_t *g, size_t s, uint64_t limit, bool flush, bool force) {
  gmem_t *m = &g->mem[s];
  if (m->delivered >= limit || m->delivered >= m->have) return 0;
  uint64_t seq = m->delivered + 1, gseq = 0;
  gslot_t *sl = group_slot(g, m, seq);
  if (!sl || !sl->data || sl->seq != seq) return 0;
  if (!order_allows(g, s, sl, flush, &gseq)) {
    if (!force) {
      if (!sl->held) g->stats.held_back++;
      sl->held = true;
      return 0;
    }
    g->stats.order_forced++;
  }
  settle_next(g, s, sl);
  if (gseq) g->ord_next = gseq + 1;
  if (sl->svc == GROUP_SVC_ORDER) {
    if (s == 0 && g->ord_ready && g->ord_applied < seq) apply_orders(g, seq);
    slot_clear(g, sl);
    return 1;
  }
  bool stable = seq <= m->stable;
  if (cohort_node_tracing(g->node)) trace_deliver(g, m, sl, stable, gseq);
  g->stats.delivered++;
  if (!stable) g->stats.delivered_by_flush++;
  return hand_over(g, m, seq, sl, g->cb.deliver);
}

/* Deliver whatever may go, over all senders, until nothing moves (one
 * delivery can free another sender's causal or total successor). */
static bool deliver_all(cohort_group_t *g, bool flush, bool force) {
  bool progress;
  do {
    progress = false;
    for (size_t s = 0; s < g->n; s++) {
      gmem_t *m = &g->mem[s];
      uint64_t limit = flush ? g->cut[s] : (m->stable < m->have ? m->stable : m->have);
      int rc;
      while ((rc = deliver_next(g, s, limit, flush, force)) > 0) progress = true;
      if (rc < 0) return false;
    }
  } while (progress);
  return true;
}

/* Deliver what is stable and allowed by its ordering. A joiner waiting
 * for its state holds everything back; once we reported how far we got
 * (FLUSH_VEC), only the flush delivers: a message that turns stable
 * later might lie beyond the cut. */
void group_try_deliver(cohort_group_t *g, size_t s, uint64_t upto, bool flush) {
  (void)s;
  (void)upto;
  if (flush) {
    group_mcast_flush(g);
    return;
  }
  if (!g->in_view || g->status == COHORT_GROUP_STATE_WAIT || g->blocked) return;
  (void)ord_sync(g);
  if (g->ord_ready) {
    gmem_t *q = &g->mem[0];
    apply_orders(g, q->stable < q->have ? q->stable : q->have);
  }
  (void)deliver_all(g, false, false);
}

/* The flush's deterministic order: number the TOTAL messages the
 * sequencer left unnumbered up to the cut by (rank, seq), after every
 * ORDER up to the cut — in the one component that carries on a majority
 * of the old view. Any other component (a minority side of a split, or
 * the few survivors of many crashes: a partition looks the same) applies
 * only the ORDERs known stable (someone may have delivered by them, so
 * every component holds them) and nothing more: an unstable ORDER is held
 * by some components and not others, and the (rank, seq) order is a
 * guess the majority side may contradict. Its TOTAL messages left without
 * a number are dropped (drop_unordered). */
static void flush_number(cohort_group_t *g) {
  if (g->flush_minority) {
    apply_orders(g, g->flush_ostable < g->cut[0] ? g->flush_ostable : g->cut[0]);
    return;
  }
  apply_orders(g, g->cut[0]);
  for (size_t s = 0; s < g->n; s++) {
    gmem_t *m = &g->mem[s];
    uint64_t from = g->ord_hi[s] > m->delivered ? g->ord_hi[s] : m->delivered;
    for (uint64_t q = from + 1; q <= g->cut[s] && q <= m->have; q++) {
      gslot_t *sl = group_slot(g, m, q);
      if (!sl || !sl->data || sl->seq != q || !(sl->svc & COHORT_MCAST_TOTAL) ||
          sl->svc == GROUP_SVC_ORDER)
        continue;
      if (ord_append(g, (uint32_t)s, q)) g->stats.flush_sequenced++;
    }
  }
}

/* Will no more gseqs come in this flush (every number applied is used or
 * belongs to a message beyond the cut)? */
static bool gseqs_done(cohort_group_t *g) {
  if (!g->ord_ready) return true;
  while (g->ord_next < g->ord_end) {
    gorder_t o = g->ord[g->ord_next & (g->ord_cap - 1)];
    if (o.seq <= g->cut[o.sender]) return false;
    g->ord_next++;
  }
  return true;
}

/* A flush without a majority of the old view: once every agreed number is used, drop
 * the TOTAL messages at the head of a sender's stream (every member of the
 * new view drops the same ones: same cut, same stable ORDERs), so that the
 * rest can be delivered. 1: dropped one, 0: none, -1: the callback changed
 * the view. */
static int drop_unordered(cohort_group_t *g) {
  if (!gseqs_done(g)) return 0;
  for (size_t s = 0; s < g->n; s++) {
    gmem_t *m = &g->mem[s];
    if (m->delivered >= g->cut[s] || m->delivered >= m->have) continue;
    uint64_t seq = m->delivered + 1;
    gslot_t *sl = group_slot(g, m, seq);
    if (!sl || !sl->data || sl->seq != seq || !(sl->svc & COHORT_MCAST_TOTAL) ||
        sl->svc == GROUP_SVC_ORDER)
      continue;
    settle_next(g, s, sl);
    g->stats.dropped_unordered++;
    if (cohort_node_tracing(g->node)) {
      char mid[96], v[64], nv[64];
      group_trace(g, "gdrop",
                  "{\"vid\":\"%s\",\"mid\":\"%s\",\"bytes\":%u,\"svc\":\"%s\",\"next\":\"%s\","
                  "\"why\":\"order not agreed: no majority of the view goes on here\"}",
                  vid_s(g->vid, v, sizeof v), mid_str(m, seq, mid, sizeof mid), sl->len,
                  cohort_mcast_service_name(sl->svc), vid_s(g->flush_next, nv, sizeof nv));
    }
    return hand_over(g, m, seq, sl, g->cb.dropped);
  }
  return 0;
}

void group_mcast_flush(cohort_group_t *g) {
  if (!g->in_view || g->status == COHORT_GROUP_STATE_WAIT) return;
  if (ord_sync(g)) flush_number(g);
  if (!deliver_all(g, true, false)) return;
  for (int rc; g->flush_minority && (rc = drop_unordered(g)) != 0;) {
    if (rc < 0 || !deliver_all(g, true, false)) return;
  }
  /* Nothing is left unless the rules deadlocked (a defect: counted in
   * order_forced and seen by the checkers): deliver in rank order. */
  (void)deliver_all(g, true, true);
}

/* ---- sending ---------------------------------------------------------------------------- */

/* Send message `seq` of sender `sender` (an index) to member `to`. */
void group_send_data(cohort_group_t *g, size_t to, cohort_node_id_t unused, size_t sender,
                     uint64_t seq, bool retx) {
  (void)unused;
  gmem_t *s = &g->mem[sender];
  gslot_t *sl = group_slot(g, s, seq);
  if (!sl || !sl->data || sl->seq != seq) return;
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_u32(&w, s->id);
  gw_u64(&w, s->inc);
  gw_u64(&w, seq);
  gw_u64(&w, sender == g->self ? g->mem[g->self].stable : 0);
  gw_u64(&w, s->base);
  gw_u8(&w, sl->vec ? (uint8_t)(sl->svc | 0x40) : sl->svc); /* 0x40: a vector follows */
  if (sl->vec) {
    gw_u16(&w, (uint16_t)g->n);
    for (size_t k = 0; k < g->n; k++) gw_u64(&w, sl->vec[k]);
  }
  gw_bytes(&w, sl->data, sl->len);
  if (group_send(g, g->mem[to].id, g->mem[to].inc, GK_DATA, &w) == 0) {
    g->stats.tx_data++;
    if (retx) g->stats.tx_retransmits++;
  }
}

/* Our stable point: the least acknowledgement over the view. */
static void update_stable(cohort_group_t *g) {
  gmem_t *me = &g->mem[g->self];
  uint64_t st = g->out_seq;
  for (size_t i = 0; i < g->n; i++)
    if (i != g->self && g->mem[i].acked < st) st = g->mem[i].acked;
  if (st > me->stable) {
    me->stable = st;
    g->stable_dirty = true;
    group_try_deliver(g, g->self, st, false);
  }
}

static bool send_allowed(const cohort_group_t *g) {
  return g->in_view && g->status == COHORT_GROUP_MEMBER && !g->blocked && !g->leaving;
}

static void trace_send(cohort_group_t *g, gmem_t *me, const gslot_t *sl) {
  char mid[96], v[64], none[1] = "";
  size_t cap = 32 + 24 * g->n, pos = 0;
  char *vec = sl->vec ? cohort_alloc(g->alloc, cap) : none;
  if (!vec) return;
  if (sl->vec) {
    pos += (size_t)cohort_fmt(vec, cap, ",\"vec\":[");
    for (size_t k = 0; k < g->n && pos < cap; k++)
      pos += (size_t)cohort_fmt(vec + pos, cap - pos, "%s%llu", k ? "," : "",
                                (unsigned long long)(k == g->self ? sl->seq - 1 : sl->vec[k]));
    if (pos < cap) cohort_fmt(vec + pos, cap - pos, "]");
  }
  group_trace(g, "gsend", "{\"vid\":\"%s\",\"mid\":\"%s\",\"bytes\":%u,\"svc\":\"%s\"%s}",
              vid_s(g->vid, v, sizeof v), mid_str(me, sl->seq, mid, sizeof mid), sl->len,
              cohort_mcast_service_name(sl->svc), vec);
  if (vec != none) cohort_free(g->alloc, vec);
}

/* Put one message of ours (an application's, or an ORDER) into the core:
 * ring slot, DATA to every member. */
static int submit(cohort_group_t *g, uint8_t svc, const uint8_t *msg, size_t len, uint64_t *seq) {
  gmem_t *me = &g->mem[g->self];
  uint64_t s = g->out_seq + 1;
  gslot_t *sl = group_slot(g, me, s);
  if (!sl) return COHORT_ENOMEM;
  uint8_t *copy = cohort_alloc(g->alloc, len);
  uint64_t *vec = NULL;
  if (copy && svc != GROUP_SVC_ORDER && (svc & COHORT_MCAST_CAUSAL)) {
    vec = cohort_calloc(g->alloc, g->n, sizeof *vec);
    for (size_t k = 0; vec && k < g->n; k++) vec[k] = k == g->self ? 0 : g->mem[k].delivered;
  }
  if (!copy || (svc != GROUP_SVC_ORDER && (svc & COHORT_MCAST_CAUSAL) && !vec)) {
    cohort_free(g->alloc, copy);
    cohort_free(g->alloc, vec);
    return COHORT_ENOMEM;
  }
  memcpy(copy, msg, len);
  slot_clear(g, sl); /* (empty: the window keeps it so) */
  *sl = (gslot_t){.data = copy, .len = (uint32_t)len, .seq = s, .svc = svc, .vec = vec};
  g->out_seq = s;
  g->out_bytes += len;
  me->have = s;
  if (svc != GROUP_SVC_ORDER) {
    g->stats.sent++;
    if (cohort_node_tracing(g->node)) trace_send(g, me, sl);
  }
  for (size_t i = 0; i < g->n; i++)
    if (i != g->self) group_send_data(g, i, 0, g->self, s, false);
  g->stable_dirty = false; /* the DATA carried our stable point */
  g->stable_sent = me->stable;
  if (seq) *seq = s;
  update_stable(g); /* a view of one: stable at once */
  return 0;
}

/* The sequencer (rank 0) numbers the TOTAL messages it received, each
 * sender's in its order, and multicasts the numbers as one ORDER. */
static void sequencer_run(cohort_group_t *g) {
  if (!g->in_view || g->self != 0 || g->blocked || !ord_sync(g)) return;
  for (size_t k = 0; k < g->n; k++) {
    gmem_t *m = &g->mem[k];
    while (g->seq_scan[k] < m->have && g->seq_batch_len < GROUP_ORDER_BATCH_MAX) {
      uint64_t q = g->seq_scan[k] + 1;
      if (q > m->delivered) { /* (delivered already: not TOTAL, it had no number) */
        gslot_t *sl = group_slot(g, m, q);
        if (!sl || !sl->data || sl->seq != q) break;
        if (sl->svc != GROUP_SVC_ORDER && (sl->svc & COHORT_MCAST_TOTAL))
          g->seq_batch[g->seq_batch_len++] = (gorder_t){(uint32_t)k, q};
      }
      g->seq_scan[k] = q;
    }
  }
  if (!g->seq_batch_len) return;
  /* an ORDER may use the reserve of the window (cohort_group_send_svc) */
  if (g->out_seq - g->mem[0].delivered >= g->cfg.window) return;
  gw_t w = group_writer(g);
  w.p = g->scratch + COHORT_PAYLOAD_MAX / 2; /* the DATA is encoded in the first half */
  w.cap = COHORT_PAYLOAD_MAX / 2;
  gw_u64(&w, g->seq_next);
  gw_u16(&w, (uint16_t)g->seq_batch_len);
  for (size_t i = 0; i < g->seq_batch_len; i++) {
    gw_u16(&w, (uint16_t)g->seq_batch[i].sender);
    gw_u64(&w, g->seq_batch[i].seq);
  }
  if (w.err || submit(g, GROUP_SVC_ORDER, w.p, w.len, NULL)) return;
  g->stats.tx_order++;
  g->stats.sequenced += g->seq_batch_len;
  g->seq_next += g->seq_batch_len;
  g->seq_batch_len = 0;
}

int cohort_group_send_svc(cohort_group_t *g, uint32_t svc, const uint8_t *msg, size_t len,
                          uint64_t *seq) {
  if (!g || (!msg && len) || len == 0 || len > COHORT_GROUP_MSG_MAX) return COHORT_EINVAL;
  if (cohort_mcast_service_check(svc)) return COHORT_EINVAL;
  if (g->status == COHORT_GROUP_LEFT || g->leaving) return COHORT_ESTATE;
  if (!send_allowed(g)) return COHORT_EAGAIN;
  if (!g->primary && g->cfg.minority == COHORT_GROUP_MINORITY_BLOCK) return COHORT_ESTATE;
  gmem_t *me = &g->mem[g->self];
  /* The sequencer keeps a quarter of its window for ORDERs: its own TOTAL
   * messages wait for them. */
  uint64_t window = g->cfg.window;
  if (g->self == 0 && window >= 4) window -= window / 4;
  if (g->out_seq - me->delivered >= window) return COHORT_EAGAIN;
  if (g->out_bytes + len > g->cfg.window_bytes && g->out_seq > me->delivered) return COHORT_EAGAIN;
  uint8_t ord = (uint8_t)(svc & (COHORT_MCAST_FIFO | COHORT_MCAST_CAUSAL | COHORT_MCAST_TOTAL));
  int rc = submit(g, ord, msg, len, seq);
  if (!rc && (g->cfg.unbatched || order_due(g, g->self, g->out_seq))) sequencer_run(g);
  return rc;
}

int cohort_group_send(cohort_group_t *g, const uint8_t *msg, size_t len, uint64_t *seq) {
  return cohort_group_send_svc(g, COHORT_MCAST_DEFAULT, msg, len, seq);
}

static void send_ack(cohort_group_t *g, size_t i) {
  gmem_t *m = &g->mem[i];
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_u64(&w, m->have);
  if (group_send(g, m->id, m->inc, GK_ACK, &w) == 0) g->stats.tx_acks++;
  m->acked_sent = m->have;
}

static void send_stable(cohort_group_t *g) {
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_u64(&w, g->mem[g->self].stable);
  for (size_t i = 0; i < g->n; i++)
    if (i != g->self && group_send(g, g->mem[i].id, g->mem[i].inc, GK_STABLE, &w) == 0)
      g->stats.tx_stable++;
  g->stable_sent = g->mem[g->self].stable;
  g->stable_dirty = false;
}

static bool batching(const cohort_group_t *g);

/* Store a received message in its slot (once). */
static void store_data(cohort_group_t *g, gmem_t *m, uint64_t seq, uint8_t svc,
                       const uint8_t *vec, const uint8_t *data, size_t len) {
  gslot_t *sl = group_slot(g, m, seq);
  if (!sl || sl->data) {
    g->stats.rx_dup++;
    return;
  }
  uint8_t *copy = cohort_alloc(g->alloc, len);
  uint64_t *v = vec ? cohort_calloc(g->alloc, g->n, sizeof *v) : NULL;
  if (!copy || (vec && !v)) {
    cohort_free(g->alloc, copy);
    cohort_free(g->alloc, v);
    return;
  }
  memcpy(copy, data, len);
  if (vec) {
    gr_t r = {.p = vec, .len = g->n * 8};
    for (size_t k = 0; k < g->n; k++) v[k] = gr_u64(&r);
  }
  *sl = (gslot_t){.data = copy, .len = (uint32_t)len, .seq = seq, .svc = svc, .vec = v};
  if (svc != GROUP_SVC_ORDER && cohort_node_tracing(g->node)) {
    char mid[96], vs[64];
    group_trace(g, "grecv", "{\"vid\":\"%s\",\"mid\":\"%s\",\"svc\":\"%s\"}",
                vid_s(g->vid, vs, sizeof vs), mid_str(m, seq, mid, sizeof mid),
                cohort_mcast_service_name(svc));
  }
}

/* A gap before `upto` in m's messages: ask m for it at once (a FETCH,
 * answered from its ring) instead of waiting for its retransmission
 * timeout. Each seq is asked once per retransmit interval: a burst of
 * arrivals past one loss extends the request, never repeats it. */
static void ask_again(cohort_group_t *g, gmem_t *m, uint64_t upto) {
  int64_t now = cohort_node_now(g->node);
  uint64_t from = m->have + 1;
  bool renew = now - m->nack_ns >= g->cfg.retransmit_ns || m->nacked < m->have;
  if (!renew) from = m->nacked + 1;
  if (from > upto) return;
  if (group_send_fetch(g, m->id, m->inc, m->id, from, upto) == 0) g->stats.tx_nacks++;
  if (renew) m->nack_ns = now;
  m->nacked = upto;
}

void group_mcast_recv_data(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  cohort_node_id_t sender = gr_u32(r);
  uint64_t sinc = gr_u64(r), seq = gr_u64(r), stable = gr_u64(r), base = gr_u64(r);
  uint8_t svc = gr_u8(r);
  uint16_t vn = 0;
  const uint8_t *vec = NULL;
  if (svc & 0x40) {
    vn = gr_u16(r);
    vec = gr_bytes(r, (size_t)vn * 8);
    svc &= (uint8_t)~0x40;
  }
  size_t len = r->len - r->pos;
  const uint8_t *data = gr_bytes(r, len);
  if (r->err || seq == 0 || len == 0 || len > COHORT_GROUP_MSG_MAX ||
      (svc != GROUP_SVC_ORDER && (svc & ~(COHORT_MCAST_FIFO | COHORT_MCAST_CAUSAL |
                                          COHORT_MCAST_TOTAL))) ||
      (!vec != !(svc != GROUP_SVC_ORDER && (svc & COHORT_MCAST_CAUSAL)))) {
    r->err = true;
    return;
  }
  if (!g->in_view || !vid_eq(vid, g->vid)) {
    group_on_foreign_vid(g, msg, vid);
    return;
  }
  size_t s = group_index(g, sender), from = group_index(g, msg->from);
  if (s == SIZE_MAX || from == SIZE_MAX || g->mem[s].inc != sinc || s == g->self ||
      g->mem[from].inc != msg->from_incarnation)
    return;
  if (vec && vn != g->n) { /* a vector over another member list: not this view's */
    r->err = true;
    return;
  }
  if (svc == GROUP_SVC_ORDER && s != 0) return; /* only the sequencer orders */
  gmem_t *m = &g->mem[s];
  g->stats.rx_data++;
  if (base > COHORT_COUNTER_REMOTE_MAX) {
    r->err = true;
    return;
  }
  m->base = base;
  if (sender == msg->from && stable > m->stable && stable <= seq) m->stable = stable;
  if (seq <= m->have) {
    g->stats.rx_dup++;
    m->acked_sent = 0; /* it may have missed our ack: send it again */
  } else if (seq <= m->delivered + g->ring_cap) {
    store_data(g, m, seq, svc, vec, data, len);
    while (m->have < m->delivered + g->ring_cap) {
      gslot_t *n = group_slot(g, m, m->have + 1);
      if (!n || !n->data || n->seq != m->have + 1) break;
      m->have++;
    }
    /* a gap behind GROUP_NACK_REORDER later arrivals is a loss, not a
     * reordering (TCP's three duplicate acks): ask for it */
    if (seq > m->have + GROUP_NACK_REORDER) ask_again(g, m, seq - 1);
  }
  /* Batched, a receiver still acknowledges at once when a quarter of the
   * window is unacknowledged, and the sequencer orders at once when an
   * eighth is unnumbered: under load the sender's window is never held
   * for a whole ack interval (the tick covers the idle tail). */
  uint64_t quarter = g->cfg.window / 4 ? g->cfg.window / 4 : 1;
  if (m->have > m->acked_sent && (!batching(g) || m->have - m->acked_sent >= quarter))
    send_ack(g, s);
  if (!batching(g) || order_due(g, s, m->have)) sequencer_run(g);
  group_try_deliver(g, s, 0, false);
}

void group_mcast_recv_ack(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  uint64_t have = gr_u64(r);
  if (r->err) return;
  if (!g->in_view || !vid_eq(vid, g->vid)) {
    group_on_foreign_vid(g, msg, vid);
    return;
  }
  size_t i = group_index(g, msg->from);
  if (i == SIZE_MAX || i == g->self || g->mem[i].inc != msg->from_incarnation) return;
  if (have > g->out_seq) return; /* acknowledges what we never sent */
  if (have > g->mem[i].acked) {
    g->mem[i].acked = have;
    g->mem[i].progress_ns = cohort_node_now(g->node);
    update_stable(g);
    if (!batching(g) && g->stable_dirty) send_stable(g);
  }
}

void group_mcast_recv_stable(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  uint64_t stable = gr_u64(r);
  if (r->err) return;
  if (!g->in_view || !vid_eq(vid, g->vid)) {
    group_on_foreign_vid(g, msg, vid);
    return;
  }
  size_t s = group_index(g, msg->from);
  if (s == SIZE_MAX || s == g->self || g->mem[s].inc != msg->from_incarnation) return;
  if (stable > g->mem[s].stable) g->mem[s].stable = stable;
  group_try_deliver(g, s, 0, false);
}

int group_send_fetch(cohort_group_t *g, cohort_node_id_t to_id, cohort_incarnation_t to_inc,
                     cohort_node_id_t sender, uint64_t from, uint64_t upto) {
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_u32(&w, sender);
  gw_u64(&w, from);
  gw_u64(&w, upto);
  return group_send(g, to_id, to_inc, GK_FETCH, &w);
}

/* A survivor lacks messages [from, to] of sender: we hold them. */
void group_mcast_recv_fetch(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  cohort_node_id_t sender = gr_u32(r);
  uint64_t from = gr_u64(r), to = gr_u64(r);
  if (r->err || !g->in_view || !vid_eq(vid, g->vid)) return;
  size_t s = group_index(g, sender), dst = group_index(g, msg->from);
  if (s == SIZE_MAX || dst == SIZE_MAX || from == 0 || to < from ||
      g->mem[dst].inc != msg->from_incarnation) /* another incarnation: not this view's */
    return;
  if (to - from >= g->ring_cap) to = from + g->ring_cap - 1;
  for (uint64_t q = from; q <= to && q <= g->mem[s].have; q++)
    group_send_data(g, dst, 0, s, q, true);
}

static bool batching(const cohort_group_t *g) { return !g->cfg.unbatched; }

void group_mcast_tick(cohort_group_t *g, int64_t now) {
  if (!g->in_view) return;
  sequencer_run(g); /* batched ORDERs, once per tick */
  /* batched acknowledgements */
  for (size_t i = 0; i < g->n; i++)
    if (i != g->self && g->mem[i].have > g->mem[i].acked_sent) send_ack(g, i);
  if (g->stable_dirty) send_stable(g);
  /* retransmit to members that have not acknowledged for a while */
  if (now - g->last_retx_ns < g->cfg.retransmit_ns) return;
  g->last_retx_ns = now;
  for (size_t i = 0; i < g->n; i++) {
    gmem_t *m = &g->mem[i];
    if (i == g->self || m->acked >= g->out_seq) continue;
    if (now - m->progress_ns < g->cfg.retransmit_ns) continue;
    m->progress_ns = now;
    for (uint64_t q = m->acked + 1, k = 0; q <= g->out_seq && k < 16; q++, k++)
      group_send_data(g, i, 0, g->self, q, true);
  }
}

/* ---- state transfer ------------------------------------------------------------- */

void group_state_donor_reset(cohort_group_t *g) {
  cohort_free(g->alloc, g->st_buf);
  g->st_buf = NULL;
  g->st_len = 0;
  g->st_have = false;
}

void group_state_abandon(cohort_group_t *g, const char *reason) {
  if (g->st_wait && reason) {
    char v[64];
    group_trace(g, "state_abandoned", "{\"vid\":\"%s\",\"reason\":\"%s\"}",
                vid_s(g->vid, v, sizeof v), reason);
    g->stats.state_abandoned++;
  }
  cohort_free(g->alloc, g->st_in);
  cohort_free(g->alloc, g->st_got);
  g->st_in = NULL;
  g->st_got = NULL;
  g->st_wait = false;
  g->st_total = g->st_chunks = g->st_received = g->st_next_req = 0;
}

static void request_chunks(cohort_group_t *g, size_t start, size_t n) {
  size_t d = group_index(g, g->st_donor);
  if (d == SIZE_MAX || n == 0) return;
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_u32(&w, (uint32_t)start);
  gw_u32(&w, (uint32_t)n);
  (void)group_send(g, g->mem[d].id, g->mem[d].inc, GK_STATE_REQ, &w);
  g->st_req_ns = cohort_node_now(g->node);
}

void group_state_begin(cohort_group_t *g, cohort_node_id_t donor) {
  group_state_abandon(g, NULL);
  g->st_wait = true;
  g->st_donor = donor;
  g->st_progress_ns = cohort_node_now(g->node);
  request_chunks(g, 0, 1); /* the first chunk tells the size */
  g->st_next_req = 1;
}

void group_state_recv_req(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  uint32_t start = gr_u32(r), n = gr_u32(r);
  if (r->err) return;
  size_t to = g->in_view ? group_index(g, msg->from) : SIZE_MAX;
  if (to == SIZE_MAX || g->mem[to].inc != msg->from_incarnation) return;
  if (!vid_eq(vid, g->vid) || !g->st_have || !vid_eq(g->st_vid, g->vid)) {
    gw_t w = group_writer(g);
    gw_vid(&w, vid);
    (void)group_send(g, msg->from, msg->from_incarnation, GK_STATE_GONE, &w);
    return;
  }
  size_t chunks = (g->st_len + GROUP_STATE_CHUNK - 1) / GROUP_STATE_CHUNK;
  if (chunks == 0) chunks = 1;
  if (n > g->cfg.state_window) n = g->cfg.state_window;
  for (uint64_t i = start; i < (uint64_t)start + n && i < chunks; i++) {
    size_t off = (size_t)i * GROUP_STATE_CHUNK;
    size_t len = g->st_len - off < GROUP_STATE_CHUNK ? g->st_len - off : GROUP_STATE_CHUNK;
    gw_t w = group_writer(g);
    gw_vid(&w, g->vid);
    gw_u32(&w, (uint32_t)i);
    gw_u64(&w, g->st_len);
    gw_bytes(&w, g->st_buf + off, len);
    if (group_send(g, msg->from, msg->from_incarnation, GK_STATE_CHUNK, &w) == 0)
      g->stats.state_bytes_sent += len;
  }
}

static void state_installed(cohort_group_t *g) {
  int rc = g->cb.set_state ? g->cb.set_state(g->ud, g->st_in, g->st_total) : 0;
  char v[64];
  if (rc) { /* the application refused it: out, and join again */
    group_state_abandon(g, "set_state failed");
    return;
  }
  group_trace(g, "state_installed", "{\"vid\":\"%s\",\"bytes\":%zu,\"from\":%u}",
              vid_s(g->vid, v, sizeof v), g->st_total, g->st_donor);
  g->stats.state_transfers++;
  group_state_abandon(g, NULL);
  g->status = g->blocked ? COHORT_GROUP_BLOCKED : COHORT_GROUP_MEMBER;
  for (size_t i = 0; i < g->n && g->in_view; i++) group_try_deliver(g, i, 0, false);
}

void group_state_recv_chunk(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  uint32_t idx = gr_u32(r);
  uint64_t total = gr_u64(r);
  size_t len = r->len - r->pos;
  const uint8_t *data = gr_bytes(r, len);
  if (r->err) return;
  if (!g->st_wait || !vid_eq(vid, g->vid) || msg->from != g->st_donor) return;
  if (total > COHORT_GROUP_STATE_MAX) {
    group_state_abandon(g, "state too large");
    return;
  }
  if (!g->st_got) { /* the first chunk to arrive fixes the size */
    g->st_total = (size_t)total;
    g->st_chunks = g->st_total ? (g->st_total + GROUP_STATE_CHUNK - 1) / GROUP_STATE_CHUNK : 1;
    g->st_got = cohort_calloc(g->alloc, g->st_chunks, 1);
    g->st_in = cohort_alloc(g->alloc, g->st_total ? g->st_total : 1);
    if (!g->st_got || !g->st_in) {
      group_state_abandon(g, "no memory");
      return;
    }
  }
  if (total != g->st_total || idx >= g->st_chunks) return;
  size_t off = (size_t)idx * GROUP_STATE_CHUNK;
  size_t want = g->st_total - off < GROUP_STATE_CHUNK ? g->st_total - off : GROUP_STATE_CHUNK;
  if (len != want || g->st_got[idx]) return;
  memcpy(g->st_in + off, data, len);
  g->st_got[idx] = 1;
  g->st_received++;
  g->stats.state_bytes_received += len;
  g->st_progress_ns = cohort_node_now(g->node);
  if (g->st_received == g->st_chunks) {
    state_installed(g);
    return;
  }
  /* keep state_window chunks in flight */
  size_t inflight = g->st_next_req - g->st_received;
  if (inflight < g->cfg.state_window && g->st_next_req < g->st_chunks) {
    size_t n = g->cfg.state_window - inflight;
    if (n > g->st_chunks - g->st_next_req) n = g->st_chunks - g->st_next_req;
    request_chunks(g, g->st_next_req, n);
    g->st_next_req += n;
  }
}

void group_state_recv_gone(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  if (r->err || !g->st_wait || msg->from != g->st_donor || !vid_eq(vid, g->vid)) return;
  /* A view changed while we waited and its donor took no snapshot for
   * us (we were no joiner of it): nobody will send this state. */
  if (g->status == COHORT_GROUP_STATE_WAIT) group_restart_as_new(g, "donor has no state for this view");
  else group_state_abandon(g, "donor has no state for this view");
}

void group_state_tick(cohort_group_t *g, int64_t now) {
  if (!g->st_wait) return;
  if (now - g->st_progress_ns >= g->cfg.state_timeout_ns) {
    /* the donor is silent: wait for the view change that follows; then we
     * join afresh (FLUSH_VEC says we have no state) */
    g->st_progress_ns = now;
    return;
  }
  if (now - g->st_req_ns < g->cfg.retransmit_ns) return;
  /* no progress for a while: ask again for the first missing chunks */
  if (!g->st_got) {
    request_chunks(g, 0, 1);
    return;
  }
  size_t asked = 0;
  for (size_t i = 0; i < g->st_next_req && asked < g->cfg.state_window; i++)
    if (!g->st_got[i]) {
      request_chunks(g, i, 1);
      asked++;
    }
  if (asked == 0 && g->st_next_req < g->st_chunks) {
    size_t n = g->cfg.state_window;
    if (n > g->st_chunks - g->st_next_req) n = g->st_chunks - g->st_next_req;
    request_chunks(g, g->st_next_req, n);
    g->st_next_req += n;
  }
}
