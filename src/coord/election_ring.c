/*
 * src/coord/election_ring.c — the ring algorithm (Chang and Roberts, 1979)
 * on the shared election core. Nodes form a logical ring in id order. An
 * initiator becomes a participant and sends RING(its id) to its successor;
 * a node forwards a larger candidate, replaces a smaller one with itself if
 * it is not yet participating, and discards it if it is (a duplicate lap);
 * the node whose own id comes back leads in a fresh epoch and sends an
 * ELECTED lap round the ring, which every node adopts and forwards once.
 *
 * Each hop is acknowledged (ACK). The successor is the next id that the
 * failure detector does not suspect; a hop unacknowledged after `answer`
 * and `retries` resends skips to the next successor, so a crashed node
 * that is not yet suspected costs a timeout, not the election. A lap that
 * finds nobody else reachable ends at its sender. An ELECTED lap sends
 * every node it skips a NOTICE of the new leader, so a node skipped on a
 * false suspicion converges at once, not at its next announcement.
 * Invariants: at most one pending hop per lap kind (slot 0 RING, slot 1
 * ELECTED) with its hop timer armed; phase WAIT_COORD (participant) always
 * has the ELECTION timer armed, so participation cannot outlive a lost lap.
 */
#include "election_internal.h"

/* Successor of `after` in the ring of (peers ∪ self), by id, wrapping. */
static cohort_node_id_t ring_next(cohort_election_t *e, cohort_node_id_t after) {
  size_t len = 0;
  const cohort_node_id_t *peers = cohort_node_peers(e->proto.node, &len);
  cohort_node_id_t self = el_self(e), best = COHORT_NODE_NONE, least = self;
  for (size_t i = 0; i < len; i++) {
    if (peers[i] < least) least = peers[i];
    if (peers[i] > after && peers[i] < best) best = peers[i];
  }
  if (self > after && self < best) best = self;
  return best == COHORT_NODE_NONE ? least : best;
}

/* A lap is about to pass `skipped` by (suspected, or silent after the
 * retries). An ELECTED lap tells it the result anyway, with one
 * unacknowledged NOTICE: a live node that the lap skipped on a false
 * suspicion (typically the old leader, still holding an older epoch of its
 * own) would otherwise learn of the new leader only from its next
 * announcement answered stale, up to `announce` later. */
static void tell_skipped(cohort_election_t *e, const cohort_election_hop_t *lap,
                         cohort_node_id_t skipped) {
  e->stats.skipped++;
  if (lap->kind != COHORT_ELECTION_KIND_ELECTED || skipped == lap->id) return;
  if (!cohort_node_is_peer(e->proto.node, skipped)) return; /* removed */
  el_msg_t m = {.epoch = lap->epoch, .leader = lap->id};
  el_send(e, skipped, COHORT_ELECTION_KIND_NOTICE, &m);
}

/* The first successor after `after` not suspected; self if none. Every
 * suspected node passed over is told (tell_skipped). */
static cohort_node_id_t pick_successor(cohort_election_t *e, cohort_node_id_t after,
                                       const cohort_election_hop_t *lap) {
  size_t len = 0;
  (void)cohort_node_peers(e->proto.node, &len);
  cohort_node_id_t id = after;
  for (size_t i = 0; i <= len; i++) {
    id = ring_next(e, id);
    if (id == el_self(e) || !el_suspects(e, id)) return id;
    tell_skipped(e, lap, id);
  }
  return el_self(e);
}

static void hop_send(cohort_election_t *e, size_t slot) {
  cohort_election_hop_t *h = &e->hops[slot];
  el_msg_t m = {.epoch = h->epoch, .leader = h->id};
  el_send(e, h->to, h->kind, &m);
  h->deadline = el_now(e) + e->cfg.answer_timeout_ns;
  (void)cohort_node_timer_set(e->proto.node, &e->proto, EL_TIMER_HOP + (uint32_t)slot,
                              h->deadline);
}

static void forward(cohort_election_t *e, uint32_t kind, cohort_node_id_t id, uint64_t epoch);

static void lead(cohort_election_t *e) {
  el_declare(e);
  forward(e, COHORT_ELECTION_KIND_ELECTED, el_self(e), e->epoch);
}

/* A lap found no other reachable node: it ends here. */
static void lap_ends_here(cohort_election_t *e, uint32_t kind) {
  if (kind == COHORT_ELECTION_KIND_RING && e->phase == COHORT_ELECTION_WAIT_COORD) lead(e);
}

static void forward(cohort_election_t *e, uint32_t kind, cohort_node_id_t id, uint64_t epoch) {
  size_t slot = kind == COHORT_ELECTION_KIND_RING ? 0 : 1;
  cohort_election_hop_t lap = {.active = true, .kind = kind, .id = id, .epoch = epoch,
                               .tries = 1};
  lap.to = pick_successor(e, el_self(e), &lap);
  if (lap.to == el_self(e)) {
    e->hops[slot].active = false;
    lap_ends_here(e, kind);
    return;
  }
  e->hops[slot] = lap;
  hop_send(e, slot);
}

static void participate(cohort_election_t *e) {
  e->phase = COHORT_ELECTION_WAIT_COORD;
  (void)cohort_node_timer_set(e->proto.node, &e->proto, EL_TIMER_ELECTION,
                              el_now(e) + e->cfg.election_timeout_ns);
}

void el_ring_begin(cohort_election_t *e) {
  participate(e);
  forward(e, COHORT_ELECTION_KIND_RING, el_self(e), e->max_epoch);
}

static void ack(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  el_msg_t a = {.epoch = m->epoch, .leader = m->leader, .acked_kind = msg->kind};
  el_send(e, msg->from, COHORT_ELECTION_KIND_ACK, &a);
}

static int recv_ring(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  cohort_node_id_t self = el_self(e), c = m->leader;
  ack(e, msg, m);
  el_note_epoch(e, m->epoch);
  bool participant = e->phase == COHORT_ELECTION_WAIT_COORD;
  if (c == self) {
    if (participant) lead(e);
    else e->stats.rx_duplicate++;
  } else if (c > self) {
    participate(e);
    forward(e, COHORT_ELECTION_KIND_RING, c, e->max_epoch);
  } else if (participant) {
    e->stats.rx_duplicate++;
  } else {
    participate(e);
    forward(e, COHORT_ELECTION_KIND_RING, self, e->max_epoch);
  }
  return 0;
}

static int recv_elected(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  ack(e, msg, m);
  if (m->epoch < e->epoch) return el_stale(e, msg->from, m->epoch);
  el_note_epoch(e, m->epoch);
  if (m->epoch == e->epoch) { /* our own lap come home, or a duplicate */
    if (m->leader != el_self(e)) e->stats.rx_duplicate++;
    return 0;
  }
  if (m->leader == el_self(e)) { /* a lap of an earlier incarnation of ours */
    if (e->phase == COHORT_ELECTION_IDLE) el_begin(e, "old epoch");
    return 0;
  }
  el_adopt(e, m->leader, m->epoch);
  forward(e, COHORT_ELECTION_KIND_ELECTED, m->leader, m->epoch);
  return 0;
}

static void recv_ack(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  size_t slot = m->acked_kind == COHORT_ELECTION_KIND_RING ? 0 : 1;
  cohort_election_hop_t *h = &e->hops[slot];
  if (!h->active || h->to != msg->from || h->id != m->leader || h->epoch != m->epoch) return;
  h->active = false;
  cohort_node_timer_cancel(e->proto.node, &e->proto, EL_TIMER_HOP + (uint32_t)slot);
}

int el_ring_recv(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  switch (msg->kind) {
  case COHORT_ELECTION_KIND_RING: return recv_ring(e, msg, m);
  case COHORT_ELECTION_KIND_ELECTED: return recv_elected(e, msg, m);
  default: recv_ack(e, msg, m); return 0;
  }
}

void el_ring_timer(cohort_election_t *e, uint32_t timer_id) {
  if (timer_id == EL_TIMER_ELECTION) { /* the lap never came back */
    e->phase = COHORT_ELECTION_IDLE;
    return;
  }
  if (timer_id < EL_TIMER_HOP || timer_id > EL_TIMER_HOP + 1) return;
  size_t slot = timer_id - EL_TIMER_HOP;
  cohort_election_hop_t *h = &e->hops[slot];
  if (!h->active) return;
  if (h->tries <= e->cfg.retries) {
    h->tries++;
    hop_send(e, slot);
    return;
  }
  tell_skipped(e, h, h->to);
  cohort_node_id_t to = pick_successor(e, h->to, h);
  if (to == el_self(e)) {
    h->active = false;
    lap_ends_here(e, h->kind);
    return;
  }
  h->to = to;
  h->tries = 1;
  hop_send(e, slot);
}
