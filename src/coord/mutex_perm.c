/*
 * src/coord/mutex_perm.c — the two permission-based algorithms: Lamport's
 * (REQUEST to all, ACK from all, RELEASE to all: 3(N-1) messages) and
 * Ricart-Agrawala's (REQUEST to all, REPLY deferred by a node that holds
 * the lock or asks with priority: 2(N-1)). A request's priority is
 * (Lamport time, node id), smaller first.
 *
 * Made robust to a lossy, duplicating, reordering network and to
 * restarts, without changing the message counts of a fault-free run:
 *  - every message carries its sender's state (idle, pending with its
 *    request timestamp, held) and is applied only if its Lamport stamp is
 *    newer than the last applied from that incarnation, so duplicates and
 *    reordered messages never roll knowledge back (Lamport);
 *  - an ACK / REPLY names the request (id and timestamp) it answers;
 *  - a pending node re-sends its REQUEST every `retry` to each peer that
 *    has not answered, or (Lamport) whose reported state blocks it — the
 *    answer to that re-send repairs a lost RELEASE;
 *  - a peer's new incarnation voids everything its old one said,
 *    including its ACK / REPLY (it no longer knows our request).
 *  - Lamport: a peer reported as holding blocks entry whatever its
 *    timestamp (a restarted node's clock starts again from zero).
 * Both need every peer to answer: while one is down they block (unless
 * exclude_suspected is set, which trades safety under false suspicion for
 * liveness). Fencing tokens: max(highest token seen + 1, HLC of the
 * entry), so a token stays above one lost with a holder that crashed in
 * its critical section, given clocks within the HLC's offset bound.
 */
#include "mutex_internal.h"

static bool ignores(const cohort_mutex_t *m, const mx_peer_t *p) {
  return m->cfg.exclude_suspected && mx_gone(m, p);
}

/* (ts_a, a) < (ts_b, b) */
static bool before(uint64_t ts_a, cohort_node_id_t a, uint64_t ts_b, cohort_node_id_t b) {
  return ts_a < ts_b || (ts_a == ts_b && a < b);
}

static void send_request(cohort_mutex_t *m, mx_peer_t *p) {
  p->last_sent_ns = mx_now(m);
  mx_msg_t v = {.req = m->req, .ts = m->req_ts, .state = COHORT_MUTEX_PENDING,
                .own_ts = m->req_ts};
  mx_send(m, p->id, COHORT_MUTEX_KIND_REQUEST, &v);
}

/* Apply a peer's state report if newer than what we hold. */
static void apply_state(mx_peer_t *p, const cohort_msg_t *msg, uint32_t state, uint64_t ts,
                        uint64_t req) {
  if (msg->lamport <= p->stamp) return;
  p->stamp = msg->lamport;
  p->state = state;
  p->ts = state == COHORT_MUTEX_IDLE ? 0 : ts;
  if (req) p->req = req;
}

static void perm_request(cohort_mutex_t *m) {
  m->req_ts = cohort_node_lamport(m->node) + 1;
  for (size_t i = 0; i < m->peers_len; i++) {
    m->peers[i].answered = false;
    send_request(m, &m->peers[i]);
  }
}

/* ---- Lamport -------------------------------------------------------------------- */

static bool l_blocks(const cohort_mutex_t *m, const mx_peer_t *p) {
  if (ignores(m, p)) return false;
  if (p->state == COHORT_MUTEX_HELD) return true;
  return p->state == COHORT_MUTEX_PENDING && before(p->ts, p->id, m->req_ts, mx_self(m));
}

static void l_try_enter(cohort_mutex_t *m) {
  if (m->state != COHORT_MUTEX_PENDING) return;
  for (size_t i = 0; i < m->peers_len; i++) {
    const mx_peer_t *p = &m->peers[i];
    if ((!p->answered && !ignores(m, p)) || l_blocks(m, p)) return;
  }
  mx_granted(m, mx_fresh_token(m));
}

static int l_recv(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *v) {
  mx_peer_t *p = mx_peer(m, msg->from);
  switch (msg->kind) {
  case COHORT_MUTEX_KIND_REQUEST: {
    if (v->ts == 0) return m->stats.rx_malformed++, COHORT_EPROTO;
    apply_state(p, msg, COHORT_MUTEX_PENDING, v->ts, v->req);
    mx_msg_t a = {.req = v->req, .ts = v->ts, .state = mx_wire_state(m),
                  .own_ts = m->state == COHORT_MUTEX_IDLE ? 0 : m->req_ts};
    mx_send(m, p->id, COHORT_MUTEX_KIND_ACK, &a);
    break;
  }
  case COHORT_MUTEX_KIND_ACK:
    if (v->state != COHORT_MUTEX_IDLE && !v->own_ts) return m->stats.rx_malformed++, COHORT_EPROTO;
    apply_state(p, msg, v->state, v->own_ts, 0);
    if (m->state == COHORT_MUTEX_PENDING && v->req == m->req && v->ts == m->req_ts)
      p->answered = true;
    else m->stats.rx_stale++;
    break;
  case COHORT_MUTEX_KIND_RELEASE: apply_state(p, msg, COHORT_MUTEX_IDLE, 0, 0); break;
  default: return COHORT_EPROTO;
  }
  l_try_enter(m);
  return 0;
}

static void l_tick(cohort_mutex_t *m) {
  if (m->state != COHORT_MUTEX_PENDING) return;
  int64_t now = mx_now(m);
  for (size_t i = 0; i < m->peers_len; i++) {
    mx_peer_t *p = &m->peers[i];
    if ((p->answered && !l_blocks(m, p)) || now - p->last_sent_ns < m->cfg.retry_ns) continue;
    send_request(m, p);
  }
  l_try_enter(m);
}

static void l_release(cohort_mutex_t *m) {
  mx_msg_t v = {.req = m->req, .state = COHORT_MUTEX_IDLE};
  for (size_t i = 0; i < m->peers_len; i++)
    mx_send(m, m->peers[i].id, COHORT_MUTEX_KIND_RELEASE, &v);
}

static void l_request(cohort_mutex_t *m) {
  perm_request(m);
  l_try_enter(m);
}

static void peer_reset(cohort_mutex_t *m, mx_peer_t *p) {
  p->last_sent_ns = INT64_MIN / 2; /* re-send our request on the next tick */
  (void)m;
}

const mx_algo_t mx_lamport_algo = {
    .name = "lamport",
    .kinds = MX_KIND_BIT(COHORT_MUTEX_KIND_REQUEST) | MX_KIND_BIT(COHORT_MUTEX_KIND_ACK) |
             MX_KIND_BIT(COHORT_MUTEX_KIND_RELEASE),
    .recv = l_recv,
    .tick = l_tick,
    .request = l_request,
    .release = l_release,
    .cancel = l_release, /* withdrawing looks like releasing to the others */
    .peer_reset = peer_reset,
};

/* ---- Ricart-Agrawala --------------------------------------------------------------- */

static void ra_try_enter(cohort_mutex_t *m) {
  if (m->state != COHORT_MUTEX_PENDING) return;
  for (size_t i = 0; i < m->peers_len; i++)
    if (!m->peers[i].answered && !ignores(m, &m->peers[i])) return;
  mx_granted(m, mx_fresh_token(m));
}

static void ra_reply(cohort_mutex_t *m, mx_peer_t *p) {
  p->deferred = false;
  mx_msg_t v = {.req = p->req, .ts = p->ts, .state = mx_wire_state(m)};
  mx_send(m, p->id, COHORT_MUTEX_KIND_REPLY, &v);
}

static int ra_recv_request(cohort_mutex_t *m, mx_peer_t *p, const mx_msg_t *v) {
  if (v->ts == 0) return m->stats.rx_malformed++, COHORT_EPROTO;
  if (v->req < p->req) return m->stats.rx_stale++, 0;
  if (v->req == p->req && p->deferred) return m->stats.rx_duplicate++, 0;
  p->req = v->req;
  p->ts = v->ts;
  bool defer = m->state == COHORT_MUTEX_HELD ||
               (m->state == COHORT_MUTEX_PENDING &&
                before(m->req_ts, mx_self(m), v->ts, p->id));
  if (defer) p->deferred = true;
  else ra_reply(m, p);
  return 0;
}

static int ra_recv(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *v) {
  mx_peer_t *p = mx_peer(m, msg->from);
  if (msg->kind == COHORT_MUTEX_KIND_REQUEST) return ra_recv_request(m, p, v);
  if (msg->kind != COHORT_MUTEX_KIND_REPLY) return COHORT_EPROTO;
  if (m->state == COHORT_MUTEX_PENDING && v->req == m->req && v->ts == m->req_ts) {
    if (p->answered) m->stats.rx_duplicate++;
    p->answered = true;
    ra_try_enter(m);
  } else {
    m->stats.rx_stale++;
  }
  return 0;
}

static void ra_tick(cohort_mutex_t *m) {
  if (m->state != COHORT_MUTEX_PENDING) return;
  int64_t now = mx_now(m);
  for (size_t i = 0; i < m->peers_len; i++) {
    mx_peer_t *p = &m->peers[i];
    if (!p->answered && now - p->last_sent_ns >= m->cfg.retry_ns) send_request(m, p);
  }
  ra_try_enter(m);
}

static void ra_release(cohort_mutex_t *m) {
  for (size_t i = 0; i < m->peers_len; i++)
    if (m->peers[i].deferred) ra_reply(m, &m->peers[i]);
}

static void ra_request(cohort_mutex_t *m) {
  perm_request(m);
  ra_try_enter(m);
}

const mx_algo_t mx_ricart_agrawala_algo = {
    .name = "ricart-agrawala",
    .kinds = MX_KIND_BIT(COHORT_MUTEX_KIND_REQUEST) | MX_KIND_BIT(COHORT_MUTEX_KIND_REPLY),
    .recv = ra_recv,
    .tick = ra_tick,
    .request = ra_request,
    .release = ra_release,
    .cancel = ra_release, /* answer everyone we kept waiting */
    .peer_reset = peer_reset,
};
