/*
 * src/coord/mutex_central.c — the centralized algorithm: the leader of the
 * mutex's bully election is the coordinator; it keeps a FIFO queue of
 * requests and grants the lock to one node at once (REQUEST, GRANT,
 * RELEASE: 3 messages per entry).
 *
 * Failover. A node that becomes leader in epoch E first RECOVERS: it sends
 * QUERY(E) to every peer and waits for a REPORT from each one it does not
 * suspect. A node that answers QUERY(E) records E as the highest
 * coordinator epoch it has seen and from then on refuses (answers with
 * RELEASE) any GRANT of an older epoch, so once the new coordinator has
 * every report, no grant of a deposed coordinator can still be accepted.
 * The reports say who holds the lock (and its token), who waits, and the
 * highest fencing token each node saw; the new coordinator's first token
 * is above all of them, and at least its HLC (mx_fresh_token), which
 * covers a token only a crashed node knew (the old coordinator granting
 * itself, say): a failover takes far longer than clocks may be apart.
 *
 * Invariants: only an active coordinator that finished recovering, and
 * whose epoch is the highest it has seen, grants; it has at most one
 * holder; every grant takes a token larger than any it knows. A queued
 * or holding peer the failure detector suspects is removed (a holder
 * with a lease only when the lease has run out). Requests and releases
 * are retried every `retry` until answered; the coordinator re-sends
 * GRANT to its holder every `retry`, and a node that does not hold that
 * grant answers RELEASE, which repairs lost releases and grants.
 */
#include "mutex_internal.h"

static int64_t lease_margin(const cohort_mutex_t *m) {
  return m->cfg.lease_ns / 1000 + COHORT_NS_PER_MS;
}

static void send_request(cohort_mutex_t *m) {
  m->last_request_ns = mx_now(m);
  if (m->leader == COHORT_NODE_NONE || m->leader == mx_self(m)) return;
  mx_msg_t v = {.req = m->req, .state = mx_wire_state(m)};
  mx_send(m, m->leader, COHORT_MUTEX_KIND_REQUEST, &v);
}

/* ---- coordinator ------------------------------------------------------------- */

static bool co_can_grant(const cohort_mutex_t *m) {
  return m->co.active && !m->co.recovering && m->co.epoch >= m->max_epoch &&
         m->co.holder == COHORT_NODE_NONE && mx_now(m) >= m->co.grant_after_ns;
}

static void co_grant_next(cohort_mutex_t *m) {
  if (!co_can_grant(m)) return;
  mx_peer_t *best = NULL;
  for (size_t i = 0; i < m->peers_len; i++) {
    mx_peer_t *p = &m->peers[i];
    if (p->queued && (!best || p->queued_order < best->queued_order)) best = p;
  }
  bool self = m->co.self_queued && (!best || m->co.self_order < best->queued_order);
  if (!best && !self) return;
  uint64_t token = mx_fresh_token(m);
  m->max_token = token;
  m->co.holder_token = token;
  m->co.holder_until_ns =
      m->cfg.lease_ns ? mx_now(m) + m->cfg.lease_ns + lease_margin(m) : COHORT_TIME_NEVER;
  m->co.holder_poke_ns = mx_now(m);
  if (self) {
    m->co.self_queued = false;
    m->co.holder = mx_self(m);
    m->co.holder_req = m->req;
    if (m->cfg.lease_ns) m->lease_until_ns = m->req_sent_ns + m->cfg.lease_ns;
    mx_granted(m, token);
    if (m->cfg.lease_ns)
      (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_LEASE, m->lease_until_ns);
    return;
  }
  best->queued = false;
  m->co.holder = best->id;
  m->co.holder_req = best->req;
  mx_msg_t v = {.req = best->req, .token = token, .epoch = m->co.epoch};
  mx_send(m, best->id, COHORT_MUTEX_KIND_GRANT, &v);
}

static void co_free(cohort_mutex_t *m) {
  m->co.holder = COHORT_NODE_NONE;
  m->co.holder_req = 0;
  co_grant_next(m);
}

static void co_enqueue(cohort_mutex_t *m, mx_peer_t *p, uint64_t req) {
  p->req = req;
  if (p->queued || (m->co.holder == p->id && m->co.holder_req == req)) return;
  p->queued = true;
  p->queued_order = ++m->co.order;
}

static void co_takeover(cohort_mutex_t *m, uint64_t epoch) {
  m->co.active = true;
  m->co.recovering = true;
  m->co.epoch = epoch;
  m->co.holder = COHORT_NODE_NONE;
  m->co.self_queued = false;
  if (epoch > m->max_epoch) m->max_epoch = epoch;
  for (size_t i = 0; i < m->peers_len; i++) {
    m->peers[i].answered = false;
    m->peers[i].queued = false;
    m->peers[i].last_sent_ns = INT64_MIN / 2;
  }
  m->stats.takeovers++;
  char json[96];
  cohort_fmt(json, sizeof json, "{\"epoch\":%llu}", (unsigned long long)epoch);
  mx_trace(m, "coordinator", json);
}

/* Our own state, as a client of ourselves, enters recovery directly. */
static void co_recovered(cohort_mutex_t *m) {
  m->co.recovering = false;
  if (m->state == COHORT_MUTEX_HELD) {
    m->co.holder = mx_self(m);
    m->co.holder_req = m->req;
    m->co.holder_token = m->token;
    m->co.holder_until_ns = m->cfg.lease_ns ? m->lease_until_ns + lease_margin(m)
                                            : COHORT_TIME_NEVER;
  } else if (m->state == COHORT_MUTEX_PENDING) {
    m->co.self_queued = true;
    m->co.self_order = ++m->co.order;
  }
  /* With leases, a holder we could not hear from may still hold a grant of
   * the old coordinator until its lease ends: wait that out. */
  m->co.grant_after_ns = mx_now(m) + (m->cfg.lease_ns ? m->cfg.lease_ns + lease_margin(m) : 0);
  char json[128];
  cohort_fmt(json, sizeof json, "{\"epoch\":%llu,\"max_token\":%llu}",
             (unsigned long long)m->co.epoch, (unsigned long long)m->max_token);
  mx_trace(m, "recovered", json);
  co_grant_next(m);
}

static void co_recovery_tick(cohort_mutex_t *m) {
  bool all = true;
  int64_t now = mx_now(m);
  for (size_t i = 0; i < m->peers_len; i++) {
    mx_peer_t *p = &m->peers[i];
    if (p->answered || mx_gone(m, p)) continue;
    all = false;
    if (now - p->last_sent_ns < m->cfg.retry_ns) continue;
    p->last_sent_ns = now;
    mx_msg_t v = {.epoch = m->co.epoch};
    mx_send(m, p->id, COHORT_MUTEX_KIND_QUERY, &v);
  }
  if (all) co_recovered(m);
}

static void co_tick(cohort_mutex_t *m) {
  if (m->co.recovering) {
    co_recovery_tick(m);
    return;
  }
  int64_t now = mx_now(m);
  for (size_t i = 0; i < m->peers_len; i++) {
    mx_peer_t *p = &m->peers[i];
    if (p->queued && mx_gone(m, p)) p->queued = false, m->stats.removed++;
  }
  cohort_node_id_t h = m->co.holder;
  if (h != COHORT_NODE_NONE && h != mx_self(m)) {
    mx_peer_t *p = mx_peer(m, h);
    bool expired = now >= m->co.holder_until_ns;
    if (!p || expired || (mx_gone(m, p) && !m->cfg.lease_ns)) { /* !p: removed */
      m->stats.removed++;
      co_free(m);
    } else if (now - m->co.holder_poke_ns >= m->cfg.retry_ns) {
      m->co.holder_poke_ns = now;
      mx_msg_t v = {.req = m->co.holder_req, .token = m->co.holder_token,
                    .epoch = m->co.epoch};
      mx_send(m, h, COHORT_MUTEX_KIND_GRANT, &v);
    }
  }
  co_grant_next(m);
}

/* Follow the election: who is the coordinator, and are we it? */
static void sync_leader(cohort_mutex_t *m) {
  cohort_node_id_t leader = cohort_election_leader(m->elp);
  uint64_t epoch = cohort_election_epoch(m->elp);
  bool changed = leader != m->leader || epoch != m->leader_epoch;
  m->leader = leader;
  m->leader_epoch = epoch;
  if (m->co.active && (leader != mx_self(m) || epoch != m->co.epoch)) {
    m->co.active = false;
    mx_trace(m, "coordinator_end", NULL);
  }
  if (leader == mx_self(m) && !m->co.active && epoch >= m->max_epoch && epoch)
    co_takeover(m, epoch);
  if (epoch > m->max_epoch) m->max_epoch = epoch;
  if (changed && m->state == COHORT_MUTEX_PENDING) send_request(m);
}

/* ---- entry points ------------------------------------------------------------- */

static void c_tick(cohort_mutex_t *m) {
  sync_leader(m);
  if (m->co.active) co_tick(m);
  if (m->state == COHORT_MUTEX_PENDING && mx_now(m) - m->last_request_ns >= m->cfg.retry_ns)
    send_request(m);
}

static void c_request(cohort_mutex_t *m) {
  sync_leader(m);
  if (m->co.active && !m->co.recovering) {
    m->co.self_queued = true;
    m->co.self_order = ++m->co.order;
    co_grant_next(m);
    return;
  }
  send_request(m);
}

static void c_release(cohort_mutex_t *m) {
  if (m->co.active && m->co.holder == mx_self(m) && m->co.holder_req == m->req) {
    co_free(m);
    return;
  }
  if (m->leader == COHORT_NODE_NONE || m->leader == mx_self(m)) return;
  mx_msg_t v = {.req = m->req, .token = m->token};
  mx_send(m, m->leader, COHORT_MUTEX_KIND_RELEASE, &v);
}

static void c_cancel(cohort_mutex_t *m) {
  if (m->co.active) {
    m->co.self_queued = false;
    return;
  }
  if (m->leader == COHORT_NODE_NONE || m->leader == mx_self(m)) return;
  mx_msg_t v = {.req = m->req};
  mx_send(m, m->leader, COHORT_MUTEX_KIND_CANCEL, &v);
}

static void c_timer(cohort_mutex_t *m, uint32_t id) {
  if (id == MX_TIMER_LEASE && m->state == COHORT_MUTEX_HELD && m->cfg.lease_ns &&
      mx_now(m) >= m->lease_until_ns) {
    mx_expired(m);
    if (m->co.active && m->co.holder == mx_self(m)) co_free(m);
  }
}

/* A GRANT to us (a client). */
static int recv_grant(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *v) {
  bool stale = v->epoch < m->max_epoch;
  if (!stale && m->state == COHORT_MUTEX_PENDING && v->req == m->req && v->token > m->token) {
    m->max_epoch = v->epoch;
    if (m->cfg.lease_ns) {
      m->lease_until_ns = m->req_sent_ns + m->cfg.lease_ns;
      (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_LEASE, m->lease_until_ns);
    }
    mx_granted(m, v->token);
    return 0;
  }
  if (!stale && m->state == COHORT_MUTEX_HELD && v->req == m->req && v->token == m->token) {
    m->max_epoch = v->epoch;
    m->stats.rx_duplicate++;
    if (m->cfg.lease_ns && m->renew_sent_ns) { /* the answer to RENEW */
      m->lease_until_ns = m->renew_sent_ns + m->cfg.lease_ns;
      m->renew_sent_ns = 0;
      (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_LEASE, m->lease_until_ns);
    }
    return 0;
  }
  /* Not ours (any more): tell the sender so it frees the lock. */
  m->stats.rx_stale++;
  mx_msg_t r = {.req = v->req, .token = v->token};
  mx_send(m, msg->from, COHORT_MUTEX_KIND_RELEASE, &r);
  return 0;
}

static int recv_query(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *v) {
  if (v->epoch < m->max_epoch) return m->stats.rx_stale++, 0;
  m->max_epoch = v->epoch;
  if (m->co.active && m->co.epoch < v->epoch) {
    m->co.active = false;
    mx_trace(m, "coordinator_end", NULL);
  }
  mx_msg_t r = {.epoch = v->epoch, .state = mx_wire_state(m), .req = m->req,
                .token = m->state == COHORT_MUTEX_HELD ? m->token : 0};
  mx_send(m, msg->from, COHORT_MUTEX_KIND_REPORT, &r);
  return 0;
}

static int recv_report(cohort_mutex_t *m, mx_peer_t *p, const mx_msg_t *v) {
  if (!m->co.active || !m->co.recovering || v->epoch != m->co.epoch)
    return m->stats.rx_stale++, 0;
  if (p->answered) return m->stats.rx_duplicate++, 0;
  p->answered = true;
  mx_note_token(m, v->token);
  if (v->state == COHORT_MUTEX_HELD && v->req) {
    p->req = v->req;
    m->co.holder = p->id;
    m->co.holder_req = v->req;
    m->co.holder_token = v->token;
    m->co.holder_poke_ns = mx_now(m);
    m->co.holder_until_ns = m->cfg.lease_ns ? mx_now(m) + m->cfg.lease_ns + lease_margin(m)
                                            : COHORT_TIME_NEVER;
  } else if (v->state == COHORT_MUTEX_PENDING && v->req) {
    co_enqueue(m, p, v->req);
  }
  return 0;
}

static int c_recv(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *v) {
  mx_peer_t *p = mx_peer(m, msg->from);
  sync_leader(m);
  switch (msg->kind) {
  case COHORT_MUTEX_KIND_GRANT: return recv_grant(m, msg, v);
  case COHORT_MUTEX_KIND_QUERY: return recv_query(m, msg, v);
  case COHORT_MUTEX_KIND_REPORT: return recv_report(m, p, v);
  default: break;
  }
  if (!m->co.active) return m->stats.rx_stale++, 0; /* we are not the coordinator */
  bool holds = m->co.holder == p->id && m->co.holder_req == v->req;
  switch (msg->kind) {
  case COHORT_MUTEX_KIND_REQUEST:
    if (v->req < p->req) return m->stats.rx_stale++, 0;
    if (holds) { /* the grant was lost: send it again */
      mx_msg_t g = {.req = v->req, .token = m->co.holder_token, .epoch = m->co.epoch};
      mx_send(m, p->id, COHORT_MUTEX_KIND_GRANT, &g);
      return m->stats.rx_duplicate++, 0;
    }
    if (m->co.holder == p->id) co_free(m); /* a newer request ends the old grant */
    co_enqueue(m, p, v->req);
    co_grant_next(m);
    return 0;
  case COHORT_MUTEX_KIND_RELEASE:
    /* The token too: a RELEASE answering an old GRANT of the same request
     * (a duplicate, a replay, a lost-release repair) must not end a newer
     * grant of it. */
    if (!holds || v->token != m->co.holder_token) return m->stats.rx_stale++, 0;
    co_free(m);
    return 0;
  case COHORT_MUTEX_KIND_CANCEL:
    if (holds) co_free(m);
    else if (p->queued && p->req == v->req) p->queued = false;
    else m->stats.rx_stale++;
    return 0;
  case COHORT_MUTEX_KIND_RENEW:
    if (!holds || !m->cfg.lease_ns) return m->stats.rx_stale++, 0;
    m->co.holder_until_ns = mx_now(m) + m->cfg.lease_ns + lease_margin(m);
    mx_msg_t g = {.req = v->req, .token = m->co.holder_token, .epoch = m->co.epoch};
    mx_send(m, p->id, COHORT_MUTEX_KIND_GRANT, &g);
    return 0;
  default: return COHORT_EPROTO;
  }
}

static void c_peer_reset(cohort_mutex_t *m, mx_peer_t *p) {
  /* Its new incarnation holds nothing and asks nothing. */
  if (m->co.active && m->co.holder == p->id) co_free(m);
  if (m->co.active && m->co.recovering) p->answered = false;
}

int cohort_mutex_renew(cohort_mutex_t *m) {
  if (!m->cfg.lease_ns) return COHORT_EINVAL;
  if (m->state != COHORT_MUTEX_HELD) return COHORT_ESTATE;
  if (m->co.active && m->co.holder == mx_self(m)) {
    m->lease_until_ns = mx_now(m) + m->cfg.lease_ns;
    m->co.holder_until_ns = m->lease_until_ns + lease_margin(m);
    (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_LEASE, m->lease_until_ns);
    return 0;
  }
  if (m->leader == COHORT_NODE_NONE || m->leader == mx_self(m)) return COHORT_ESTATE;
  m->renew_sent_ns = mx_now(m);
  mx_msg_t v = {.req = m->req, .token = m->token};
  mx_send(m, m->leader, COHORT_MUTEX_KIND_RENEW, &v);
  return 0;
}

const mx_algo_t mx_centralized_algo = {
    .name = "centralized",
    .kinds = MX_KIND_BIT(COHORT_MUTEX_KIND_REQUEST) | MX_KIND_BIT(COHORT_MUTEX_KIND_GRANT) |
             MX_KIND_BIT(COHORT_MUTEX_KIND_RELEASE) | MX_KIND_BIT(COHORT_MUTEX_KIND_QUERY) |
             MX_KIND_BIT(COHORT_MUTEX_KIND_REPORT) | MX_KIND_BIT(COHORT_MUTEX_KIND_RENEW) |
             MX_KIND_BIT(COHORT_MUTEX_KIND_CANCEL),
    .tick = c_tick,
    .request = c_request,
    .release = c_release,
    .cancel = c_cancel,
    .timer = c_timer,
    .recv = c_recv,
    .peer_reset = c_peer_reset,
};
