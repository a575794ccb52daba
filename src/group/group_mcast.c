/*
 * src/group/group_mcast.c — view-synchronous reliable multicast (the
 * guide's stability protocol) and state transfer.
 *
 * Multicast: DATA {vid, sender, sinc, seq, stable, payload} to every
 * member; each member keeps a sender's messages in a ring of `window`
 * slots past what it delivered and acknowledges cumulatively (ACK {vid,
 * have}) once per ack interval (batch=on) or per message (batch=off); the
 * sender's `stable` is the least acknowledgement over the view, carried
 * on its next DATA or a STABLE when idle; members deliver a sender's
 * messages in order up to its announced stable point. The flush delivers
 * the rest up to the agreed cut (group.c).
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

void group_ring_free(cohort_group_t *g, gmem_t *m) {
  if (!m->ring) return;
  for (uint32_t i = 0; i < g->ring_cap; i++) cohort_free(g->alloc, m->ring[i].data);
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

/* Deliver sender s's messages in order up to `upto` (stable ones only,
 * unless the flush delivers them). A joiner waiting for its state holds
 * everything back. */
void group_try_deliver(cohort_group_t *g, size_t s, uint64_t upto, bool flush) {
  gmem_t *m = &g->mem[s];
  if (g->status == COHORT_GROUP_STATE_WAIT) return;
  /* Once we reported how far we got (FLUSH_VEC), only the agreed cut may
   * deliver: a message that turns stable later might lie beyond it. */
  if (g->blocked && !flush) return;
  uint64_t limit = flush ? upto : (m->stable < m->have ? m->stable : m->have);
  if (limit > m->have) limit = m->have;
  while (m->delivered < limit) {
    uint64_t seq = m->delivered + 1;
    gslot_t *sl = group_slot(g, m, seq);
    if (!sl || !sl->data || sl->seq != seq) break;
    m->delivered = seq;
    bool stable = seq <= m->stable;
    if (cohort_node_tracing(g->node)) {
      char mid[96], v[64];
      group_trace(g, "gdeliver", "{\"vid\":\"%s\",\"mid\":\"%s\",\"bytes\":%u,\"stable\":%s}",
                  vid_s(g->vid, v, sizeof v), mid_str(m, seq, mid, sizeof mid), sl->len,
                  stable ? "true" : "false");
    }
    g->stats.delivered++;
    if (!stable) g->stats.delivered_by_flush++;
    uint8_t *data = sl->data;
    uint32_t len = sl->len;
    sl->data = NULL;
    if (g->cb.deliver)
      g->cb.deliver(g->ud, (cohort_group_member_t){m->id, m->inc}, seq, data, len);
    cohort_free(g->alloc, data);
    if (!g->in_view || g->mem != m - s) return; /* the callback changed the view */
  }
}

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

int cohort_group_send(cohort_group_t *g, const uint8_t *msg, size_t len, uint64_t *seq) {
  if (!g || (!msg && len) || len == 0 || len > COHORT_GROUP_MSG_MAX) return COHORT_EINVAL;
  if (g->status == COHORT_GROUP_LEFT || g->leaving) return COHORT_ESTATE;
  if (!send_allowed(g)) return COHORT_EAGAIN;
  if (!g->primary && g->cfg.minority == COHORT_GROUP_MINORITY_BLOCK) return COHORT_ESTATE;
  gmem_t *me = &g->mem[g->self];
  if (g->out_seq - me->delivered >= g->cfg.window) return COHORT_EAGAIN;
  uint64_t s = g->out_seq + 1;
  gslot_t *sl = group_slot(g, me, s);
  if (!sl) return COHORT_ENOMEM;
  uint8_t *copy = cohort_alloc(g->alloc, len);
  if (!copy) return COHORT_ENOMEM;
  memcpy(copy, msg, len);
  cohort_free(g->alloc, sl->data); /* (empty: the window keeps it so) */
  *sl = (gslot_t){.data = copy, .len = (uint32_t)len, .seq = s};
  g->out_seq = s;
  me->have = s;
  g->stats.sent++;
  if (cohort_node_tracing(g->node)) {
    char mid[96], v[64];
    group_trace(g, "gsend", "{\"vid\":\"%s\",\"mid\":\"%s\",\"bytes\":%zu}",
                vid_s(g->vid, v, sizeof v), mid_str(me, s, mid, sizeof mid), len);
  }
  for (size_t i = 0; i < g->n; i++)
    if (i != g->self) group_send_data(g, i, 0, g->self, s, false);
  g->stable_dirty = false; /* the DATA carried our stable point */
  g->stable_sent = me->stable;
  if (seq) *seq = s;
  update_stable(g); /* a view of one: stable at once */
  return 0;
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

void group_mcast_recv_data(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  cohort_node_id_t sender = gr_u32(r);
  uint64_t sinc = gr_u64(r), seq = gr_u64(r), stable = gr_u64(r), base = gr_u64(r);
  size_t len = r->len - r->pos;
  const uint8_t *data = gr_bytes(r, len);
  if (r->err || seq == 0 || len == 0 || len > COHORT_GROUP_MSG_MAX) {
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
    gslot_t *sl = group_slot(g, m, seq);
    if (sl && !sl->data) {
      uint8_t *copy = cohort_alloc(g->alloc, len);
      if (copy) {
        memcpy(copy, data, len);
        *sl = (gslot_t){.data = copy, .len = (uint32_t)len, .seq = seq};
      }
    } else {
      g->stats.rx_dup++;
    }
    while (m->have < m->delivered + g->ring_cap) {
      gslot_t *n = group_slot(g, m, m->have + 1);
      if (!n || !n->data || n->seq != m->have + 1) break;
      m->have++;
    }
  }
  if (!batching(g) && m->have > m->acked_sent) send_ack(g, s);
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

/* A survivor lacks messages [from, to] of sender: we hold them. */
void group_mcast_recv_fetch(cohort_group_t *g, const cohort_msg_t *msg, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  cohort_node_id_t sender = gr_u32(r);
  uint64_t from = gr_u64(r), to = gr_u64(r);
  if (r->err || !g->in_view || !vid_eq(vid, g->vid)) return;
  size_t s = group_index(g, sender), dst = group_index(g, msg->from);
  if (s == SIZE_MAX || dst == SIZE_MAX || from == 0 || to < from) return;
  if (to - from >= g->ring_cap) to = from + g->ring_cap - 1;
  for (uint64_t q = from; q <= to && q <= g->mem[s].have; q++)
    group_send_data(g, dst, 0, s, q, true);
}

static bool batching(const cohort_group_t *g) { return !g->cfg.unbatched; }

void group_mcast_tick(cohort_group_t *g, int64_t now) {
  if (!g->in_view) return;
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
  group_state_abandon(g, "donor has no state for this view");
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
