/*
 * src/coord/mutex_token.c — token ring: the token goes from each node to
 * the next id of the ring (ascending, wrapping, skipping nodes the failure
 * detector suspects); a node holding it enters the critical section if it
 * asked, and passes it on. Hops are acknowledged (TOKEN / TOKEN_ACK,
 * re-sent every `retry`), so the network cannot lose the token; only a
 * crash can.
 *
 * Generations and regeneration. A token carries (gen, seq, fence): gen =
 * round << 32 | id of the node that created it; seq grows by one per hop
 * and across generations; fence is the last fencing token issued. A node
 * accepts a TOKEN only if gen >= its min_gen (else it is stale: dropped,
 * counted) and seq is above every seq it has seen (else a duplicate:
 * acknowledged again, not taken). A sender whose successor becomes gone
 * (or restarts) before acknowledging drops its copy — the successor may
 * have passed the token on — and probes at once. There is no initial
 * token: a node that has not seen the token for `lost`, and that is the
 * lowest id it does not suspect, runs a PROBE round for a new generation g:
 *   - a node answering PROBE(g) raises min_gen to g (it will refuse every
 *     older token from now on); if it holds the token (or is handing it
 *     over) it relabels it to g and answers "holding" — and keeps
 *     answering "holding" to PROBE(g) after the token moved on (sticky);
 *     a token older than the newest generation the prober has seen is
 *     dropped instead of relabelled;
 *   - every answer names where its sender last handed the token, and when;
 *   - the prober creates the token of generation g only if every node
 *     answered "not holding" and none had promised a higher generation,
 *     except nodes gone (suspected and silent) and not reported to have
 *     taken a hop within fd_timeout; a node that was sent the probe and
 *     becomes gone before answering voids the round. seq and fence start N
 *     above the highest any node reported (each node lost with the token
 *     advanced them by at most one) — the fence also at least at the
 *     prober's HLC, as in mx_fresh_token — so seq and fence keep growing;
 *   - a node that answers a higher probe abandons its own.
 * So a regeneration happens exactly once per loss: an existing token
 * among the live nodes always answers "holding" (it cannot be in transit
 * unnoticed: the sender keeps it until acknowledged, and a node that has
 * answered refuses it), and two probes cannot both complete (the lower
 * prober must answer the higher one first). This assumes the failure
 * detector suspects only crashed nodes (docs/mutex.md, which also tells
 * the three ways the rules before these let a second token appear).
 */
#include "mutex_internal.h"

#define GEN(round, id) COHORT_ELECTION_EPOCH(round, id)
#define GEN_ROUND(g) COHORT_ELECTION_EPOCH_ROUND(g)

static size_t ring_size(const cohort_mutex_t *m) { return m->peers_len + 1; }

/* Next id after self in ring order that we do not suspect; self if none. */
static cohort_node_id_t successor(cohort_mutex_t *m, cohort_node_id_t after) {
  cohort_node_id_t self = mx_self(m);
  for (size_t i = 0; i < m->peers_len; i++)
    if (m->peers[i].id > after && !mx_gone(m, &m->peers[i])) return m->peers[i].id;
  for (size_t i = 0; i < m->peers_len; i++)
    if (m->peers[i].id < self && !mx_gone(m, &m->peers[i])) return m->peers[i].id;
  return self;
}

static void note_seq(cohort_mutex_t *m, uint64_t gen, uint64_t seq) {
  if (seq > m->tk.last_seq) m->tk.last_seq = seq;
  if (gen > m->tk.last_gen) m->tk.last_gen = gen;
  if (GEN_ROUND(gen) > m->tk.rounds) m->tk.rounds = GEN_ROUND(gen);
}

static void send_token(cohort_mutex_t *m) {
  m->tk.sent_ns = mx_now(m);
  const mx_peer_t *to = mx_peer(m, m->tk.to);
  /* holder_req: the incarnation of the successor we hand it to (0 before
   * we heard from it); a restarted successor refuses a hop meant for its
   * old incarnation, which may have taken the token and passed it on. */
  mx_msg_t v = {.epoch = m->tk.gen, .seq = m->tk.seq, .token = m->tk.fence,
                .holder_req = to ? to->inc : 0};
  mx_send(m, m->tk.to, COHORT_MUTEX_KIND_TOKEN, &v);
}

static void pass_on(cohort_mutex_t *m) {
  if (!m->tk.have || m->tk.passing || m->state == COHORT_MUTEX_HELD) return;
  cohort_node_id_t to = successor(m, mx_self(m));
  if (to == mx_self(m)) { /* alone: keep it, look again later */
    m->tk.used = false;
    m->tk.seen_ns = mx_now(m);
    (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_PASS, mx_now(m) + m->cfg.retry_ns);
    return;
  }
  m->tk.passing = true;
  m->tk.to = to;
  m->tk.seq++;
  note_seq(m, m->tk.gen, m->tk.seq);
  send_token(m);
}

/* We hold the token: use it if asked, else pass it after `pass`. */
static void use_token(cohort_mutex_t *m) {
  m->tk.seen_ns = mx_now(m);
  if (m->state == COHORT_MUTEX_PENDING && !m->tk.used) {
    m->tk.used = true;
    m->tk.fence++;
    mx_granted(m, m->tk.fence);
    return;
  }
  if (m->state != COHORT_MUTEX_HELD)
    (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_PASS, mx_now(m) + m->cfg.pass_ns);
}

static void end_probe(cohort_mutex_t *m, const char *why) {
  if (!m->tk.probing) return;
  m->tk.probing = false;
  char json[96];
  cohort_fmt(json, sizeof json, "{\"gen\":%llu,\"why\":\"%s\"}",
             (unsigned long long)m->tk.probe_gen, why);
  mx_trace(m, "probe_end", json);
}

/* Peer `id` acknowledged a hop of the token at `at` (our clock): it was
 * alive then, and may hold the token still. */
static void note_alive(cohort_mutex_t *m, cohort_node_id_t id, int64_t at) {
  mx_peer_t *p = id != mx_self(m) ? mx_peer(m, id) : NULL;
  if (p && at > p->alive_ns) p->alive_ns = at;
}

/* A gone peer the probe may do without: suspected and silent, and not
 * known (from a reported hop) to have been alive within fd_timeout — a
 * node that restarted and was handed the token just before the probe
 * reached the sender is still "gone" for us, but it is not crashed. */
static bool skippable(const cohort_mutex_t *m, const mx_peer_t *p) {
  return mx_gone(m, p) && mx_now(m) - p->alive_ns >= m->cfg.fd_timeout_ns;
}

/* We were handing the token to a successor that is now gone or a new
 * incarnation: it may have passed the token on, so our copy may be a
 * duplicate. Drop it, and probe at once (not only the lowest node) so that
 * a token that really died is regenerated without waiting for `lost`. */
static void drop_copy(cohort_mutex_t *m, const char *why) {
  m->tk.passing = false;
  m->tk.have = false;
  m->tk.probe_now = true;
  char json[96];
  cohort_fmt(json, sizeof json, "{\"to\":%u,\"why\":\"%s\"}", m->tk.to, why);
  mx_trace(m, "token_dropped", json);
}

static void start_probe(cohort_mutex_t *m) {
  uint64_t round = m->tk.rounds + 1;
  if (GEN_ROUND(m->tk.min_gen) >= round) round = GEN_ROUND(m->tk.min_gen) + 1;
  m->tk.rounds = round;
  m->tk.probing = true;
  m->tk.probe_now = false;
  m->tk.probe_gen = GEN(round, mx_self(m));
  m->tk.min_gen = m->tk.probe_gen;
  m->tk.probe_fence = m->tk.fence > m->max_token ? m->tk.fence : m->max_token;
  for (size_t i = 0; i < m->peers_len; i++) {
    m->peers[i].answered = false;
    m->peers[i].probed = false;
    m->peers[i].alive_ns = INT64_MIN / 2;
    m->peers[i].last_sent_ns = INT64_MIN / 2;
  }
  note_alive(m, m->tk.last_hop_to, m->tk.last_hop_ns);
  char json[64];
  cohort_fmt(json, sizeof json, "{\"gen\":%llu}", (unsigned long long)m->tk.probe_gen);
  mx_trace(m, "probe", json);
}

static void commit_probe(cohort_mutex_t *m) {
  uint64_t n = ring_size(m);
  m->tk.probing = false;
  m->tk.have = true;
  m->tk.passing = false;
  m->tk.used = false;
  m->tk.gen = m->tk.probe_gen;
  m->tk.seq = m->tk.last_seq + n;
  uint64_t fresh = mx_fresh_token(m) - 1; /* the next entry takes fence + 1 */
  m->tk.fence = m->tk.probe_fence + n > fresh ? m->tk.probe_fence + n : fresh;
  note_seq(m, m->tk.gen, m->tk.seq);
  mx_note_token(m, m->tk.fence);
  m->stats.regenerations++;
  char json[128];
  cohort_fmt(json, sizeof json, "{\"gen\":%llu,\"seq\":%llu,\"fence\":%llu}",
             (unsigned long long)m->tk.gen, (unsigned long long)m->tk.seq,
             (unsigned long long)m->tk.fence);
  mx_trace(m, "regenerate", json);
  use_token(m);
}

/* Every peer that is not skippable must answer: every answer names the
 * node its sender last handed the token to and how long ago, so a node
 * that is "gone" for us but took the token recently (restarted, and
 * handed the token just before the sender answered "not holding") must
 * answer too, or stay silent for fd_timeout after that hop. A peer that
 * was asked and became gone before its answer arrived may have answered
 * "holding" (the answer lost), relabelled the token to our generation and
 * passed it on to a node that had already answered "not holding": the
 * round is void, and the next tick starts a new one with a higher
 * generation. */
static void probe_tick(cohort_mutex_t *m) {
  int64_t now = mx_now(m);
  bool all = true;
  for (size_t i = 0; i < m->peers_len; i++) {
    mx_peer_t *p = &m->peers[i];
    if (p->answered) continue;
    if (skippable(m, p)) {
      if (!p->probed) continue;
      end_probe(m, "gone");
      return;
    }
    all = false;
    if (now - p->last_sent_ns < m->cfg.retry_ns) continue;
    p->last_sent_ns = now;
    p->probed = true;
    mx_msg_t v = {.epoch = m->tk.probe_gen, .ts = m->tk.last_gen};
    mx_send(m, p->id, COHORT_MUTEX_KIND_PROBE, &v);
  }
  if (all) commit_probe(m);
}

static bool lowest_trusted(const cohort_mutex_t *m) {
  for (size_t i = 0; i < m->peers_len; i++)
    if (m->peers[i].id < mx_self(m) && !m->peers[i].suspected) return false;
  return true;
}

static void t_tick(cohort_mutex_t *m) {
  int64_t now = mx_now(m);
  if (m->tk.passing) {
    mx_peer_t *to = mx_peer(m, m->tk.to);
    cohort_node_id_t next = to && mx_gone(m, to) ? successor(m, m->tk.to) : m->tk.to;
    if (next == mx_self(m)) { /* everyone else is suspected: keep it */
      m->tk.passing = false;
      use_token(m);
    } else if (next != m->tk.to) {
      /* The successor is gone without acknowledging: it may have received
       * the token (its acknowledgement lost), entered, and passed it on
       * before it died. Sending our copy to the next node could duplicate
       * the token; drop it and let a probe find out whether it lives. */
      drop_copy(m, "successor gone");
    } else if (now - m->tk.sent_ns >= m->cfg.retry_ns) {
      send_token(m);
    }
    return;
  }
  if (m->tk.have) return;
  if (m->tk.probing) {
    probe_tick(m);
  } else if (m->tk.probe_now || (now - m->tk.seen_ns > m->cfg.lost_ns && lowest_trusted(m))) {
    start_probe(m);
    probe_tick(m);
  }
}

static int recv_token(cohort_mutex_t *m, mx_peer_t *p, const mx_msg_t *v) {
  if (v->epoch < m->tk.min_gen) {
    m->stats.rx_stale++;
    return 0;
  }
  if (v->holder_req && v->holder_req != cohort_node_incarnation(m->node)) {
    /* Meant for an older incarnation of ours. Answering tells the sender
     * our incarnation: it drops its copy (t_peer_reset) and, if the token
     * is really gone, a probe regenerates it. */
    m->stats.rx_stale++;
    mx_msg_t a = {.epoch = v->epoch, .seq = v->seq};
    mx_send(m, p->id, COHORT_MUTEX_KIND_TOKEN_ACK, &a);
    return 0;
  }
  mx_msg_t a = {.epoch = v->epoch, .seq = v->seq};
  if (v->seq <= m->tk.last_seq || m->tk.have) {
    m->stats.rx_duplicate++;
    if (v->seq <= m->tk.last_seq) mx_send(m, p->id, COHORT_MUTEX_KIND_TOKEN_ACK, &a);
    return 0;
  }
  mx_send(m, p->id, COHORT_MUTEX_KIND_TOKEN_ACK, &a);
  if (m->tk.probing) end_probe(m, "token");
  m->tk.min_gen = v->epoch;
  note_seq(m, v->epoch, v->seq);
  mx_note_token(m, v->token);
  m->tk.have = true;
  m->tk.gen = v->epoch;
  m->tk.seq = v->seq;
  m->tk.fence = v->token > m->tk.fence ? v->token : m->tk.fence;
  m->tk.used = false;
  use_token(m);
  return 0;
}

/* The prober has seen a token of a newer generation than ours: ours was
 * superseded while we were cut off (a false suspicion). Relabelling it
 * would revive it next to the live one; drop it instead. */
static void drop_stale(cohort_mutex_t *m, uint64_t newer) {
  if (m->state == COHORT_MUTEX_HELD) return; /* leave the CS first */
  m->tk.have = false;
  m->tk.passing = false;
  m->stats.rx_stale++;
  char json[96];
  cohort_fmt(json, sizeof json, "{\"gen\":%llu,\"newer\":%llu}",
             (unsigned long long)m->tk.gen, (unsigned long long)newer);
  mx_trace(m, "token_dropped", json);
}

/* The answer "holding" is sticky: once we answered PROBE(g) "holding"
 * (and relabelled the token to g), every re-sent PROBE(g) gets "holding"
 * again, even after the token has moved on. Otherwise the first answer
 * could be lost, the token (now of generation g, which every node that
 * answered accepts) passed to a node that had answered "not holding", and
 * our second answer "not holding" would let the prober create a second
 * token of generation g. */
static int recv_probe(cohort_mutex_t *m, mx_peer_t *p, const mx_msg_t *v) {
  if (GEN_ROUND(v->epoch) > m->tk.rounds) m->tk.rounds = GEN_ROUND(v->epoch);
  if (m->tk.have && m->tk.gen < v->ts) drop_stale(m, v->ts);
  if (v->epoch > m->tk.min_gen) {
    m->tk.min_gen = v->epoch;
    if (m->tk.probing && m->tk.probe_gen < v->epoch) end_probe(m, "higher");
    if (m->tk.have) m->tk.gen = v->epoch; /* relabel: ours is the live token */
  }
  if (m->tk.have && v->epoch == m->tk.min_gen) m->tk.held_for = v->epoch;
  bool held = m->tk.have || (m->tk.held_for && v->epoch == m->tk.held_for);
  mx_msg_t r = {.epoch = v->epoch, .state = held ? COHORT_MUTEX_HELD : COHORT_MUTEX_IDLE,
                .seq = m->tk.last_seq, .ts = m->tk.min_gen,
                .token = m->tk.fence > m->max_token ? m->tk.fence : m->max_token};
  if (m->tk.last_hop_ns) { /* where our last hop went, and its age + 1 */
    r.holder = m->tk.last_hop_to;
    r.own_ts = (uint64_t)(mx_now(m) - m->tk.last_hop_ns) + 1;
  }
  mx_send(m, p->id, COHORT_MUTEX_KIND_PROBE_REPLY, &r);
  return 0;
}

static int recv_probe_reply(cohort_mutex_t *m, mx_peer_t *p, const mx_msg_t *v) {
  if (!m->tk.probing || v->epoch != m->tk.probe_gen) return m->stats.rx_stale++, 0;
  if (v->state == COHORT_MUTEX_HELD) {
    m->tk.seen_ns = mx_now(m); /* it exists: wait `lost` again before probing */
    end_probe(m, "held");
  }
  else if (v->ts > m->tk.probe_gen) end_probe(m, "outbid");
  if (!m->tk.probing) return 0;
  if (v->own_ts && v->own_ts < (uint64_t)INT64_MAX)
    note_alive(m, v->holder, mx_now(m) - (int64_t)(v->own_ts - 1));
  if (p->answered) return m->stats.rx_duplicate++, 0;
  p->answered = true;
  if (v->seq > m->tk.last_seq) m->tk.last_seq = v->seq;
  if (v->token > m->tk.probe_fence) m->tk.probe_fence = v->token;
  probe_tick(m);
  return 0;
}

static int t_recv(cohort_mutex_t *m, const cohort_msg_t *msg, const mx_msg_t *v) {
  mx_peer_t *p = mx_peer(m, msg->from);
  switch (msg->kind) {
  case COHORT_MUTEX_KIND_TOKEN: return recv_token(m, p, v);
  case COHORT_MUTEX_KIND_TOKEN_ACK:
    if (!m->tk.passing || msg->from != m->tk.to || v->seq != m->tk.seq)
      return m->stats.rx_stale++, 0;
    m->tk.passing = false;
    m->tk.have = false;
    m->tk.last_hop_to = msg->from;
    m->tk.last_hop_ns = mx_now(m);
    return 0;
  case COHORT_MUTEX_KIND_PROBE: return recv_probe(m, p, v);
  case COHORT_MUTEX_KIND_PROBE_REPLY: return recv_probe_reply(m, p, v);
  default: return COHORT_EPROTO;
  }
}

static void t_timer(cohort_mutex_t *m, uint32_t id) {
  if (id == MX_TIMER_PASS && m->tk.have && !m->tk.passing && m->state != COHORT_MUTEX_HELD) {
    if (m->state == COHORT_MUTEX_PENDING && !m->tk.used) use_token(m);
    else pass_on(m);
  }
}

static void t_start(cohort_mutex_t *m) { m->tk.seen_ns = mx_now(m); }

static void t_request(cohort_mutex_t *m) {
  if (m->tk.have && !m->tk.passing) {
    m->tk.used = false; /* a new request may use the token we are idling with */
    use_token(m);
  }
}

static void t_release(cohort_mutex_t *m) { pass_on(m); }
static void t_cancel(cohort_mutex_t *m) { (void)m; }

static void t_peer_reset(cohort_mutex_t *m, mx_peer_t *p) {
  /* Its old incarnation may have taken the token and passed it on before
   * its acknowledgement reached us: re-sending could duplicate it. Drop
   * ours; if the token died with the old incarnation, a probe finds out. */
  if (m->tk.passing && m->tk.to == p->id) drop_copy(m, "successor restarted");
  if (m->tk.probing) p->answered = false;
}

const mx_algo_t mx_token_ring_algo = {
    .name = "token-ring",
    .kinds = MX_KIND_BIT(COHORT_MUTEX_KIND_TOKEN) | MX_KIND_BIT(COHORT_MUTEX_KIND_TOKEN_ACK) |
             MX_KIND_BIT(COHORT_MUTEX_KIND_PROBE) | MX_KIND_BIT(COHORT_MUTEX_KIND_PROBE_REPLY),
    .start = t_start,
    .recv = t_recv,
    .tick = t_tick,
    .request = t_request,
    .release = t_release,
    .cancel = t_cancel,
    .timer = t_timer,
    .peer_reset = t_peer_reset,
};
