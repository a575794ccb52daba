/*
 * src/coord/election_bully.c — the bully algorithm (Garcia-Molina, 1982)
 * on the shared election core: a node that wants a leader sends ELECTION
 * to every higher id; a higher node answers OK and runs its own election;
 * a node that hears no OK within `answer` (after `retries` resends) leads
 * and broadcasts COORDINATOR; a node that got an OK but no COORDINATOR
 * within `election` starts again. A node whose higher peers are all
 * suspected by the failure detector leads at once.
 *
 * With epochs: the winner leads in a fresh epoch above every epoch it has
 * heard of. A node never accepts a leader of lower id than itself: it
 * starts an election instead (and, if it led, steps down first), so once
 * failures stop and the detector is accurate the highest live id leads.
 * Invariants: phase WAIT_OK and WAIT_COORD always have the ELECTION timer
 * armed; ELECTION is only accepted from a lower id and OK from a higher id
 * (anything else is malformed).
 */
#include "election_internal.h"

/* Is some higher id possibly alive (not suspected by the detector)? The
 * textbook learns it from OK timeouts; with a detector on the node, a
 * node whose higher peers are all suspected leads without waiting. */
static bool higher_alive(cohort_election_t *e) {
  size_t len = 0;
  const cohort_node_id_t *peers = cohort_node_peers(e->proto.node, &len);
  for (size_t i = 0; i < len; i++)
    if (peers[i] > el_self(e) && !el_suspects(e, peers[i])) return true;
  return false;
}

static void send_elections(cohort_election_t *e) {
  size_t len = 0;
  const cohort_node_id_t *peers = cohort_node_peers(e->proto.node, &len);
  el_msg_t m = {.epoch = e->epoch};
  for (size_t i = 0; i < len; i++)
    if (peers[i] > el_self(e)) el_send(e, peers[i], COHORT_ELECTION_KIND_ELECTION, &m);
}

static void arm(cohort_election_t *e, int64_t after) {
  (void)cohort_node_timer_set(e->proto.node, &e->proto, EL_TIMER_ELECTION, el_now(e) + after);
}

/* Lead: a fresh epoch, announced to every peer. */
static void lead(cohort_election_t *e) {
  el_declare(e);
  size_t len = 0;
  const cohort_node_id_t *peers = cohort_node_peers(e->proto.node, &len);
  el_msg_t m = {.epoch = e->epoch, .leader = el_self(e)};
  for (size_t i = 0; i < len; i++) el_send(e, peers[i], COHORT_ELECTION_KIND_COORDINATOR, &m);
}

void el_bully_begin(cohort_election_t *e) {
  if (!higher_alive(e)) {
    lead(e);
    return;
  }
  e->phase = COHORT_ELECTION_WAIT_OK;
  e->attempts = 1;
  send_elections(e);
  arm(e, e->cfg.answer_timeout_ns);
}

void el_bully_newer(cohort_election_t *e, uint64_t epoch) {
  el_stepdown(e, epoch);
  if (e->phase == COHORT_ELECTION_IDLE) el_begin(e, "lower leader");
}

int el_bully_recv(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  (void)m;
  cohort_node_id_t self = el_self(e);
  if (msg->kind == COHORT_ELECTION_KIND_ELECTION) {
    if (msg->from > self) return e->stats.rx_malformed++, COHORT_EPROTO;
    el_msg_t ok = {.epoch = e->epoch};
    el_send(e, msg->from, COHORT_ELECTION_KIND_OK, &ok);
    if (e->leader == self) {
      el_msg_t c = {.epoch = e->epoch, .leader = self};
      el_send(e, msg->from, COHORT_ELECTION_KIND_COORDINATOR, &c);
    } else if (e->phase == COHORT_ELECTION_IDLE) {
      el_begin(e, "election");
    }
    return 0;
  }
  /* OK */
  if (msg->from < self) return e->stats.rx_malformed++, COHORT_EPROTO;
  if (e->phase == COHORT_ELECTION_WAIT_OK) {
    e->phase = COHORT_ELECTION_WAIT_COORD;
    arm(e, e->cfg.election_timeout_ns);
  }
  return 0;
}

void el_bully_timer(cohort_election_t *e, uint32_t timer_id) {
  if (timer_id != EL_TIMER_ELECTION) return;
  if (e->phase == COHORT_ELECTION_WAIT_OK) {
    if (e->attempts <= e->cfg.retries) {
      e->attempts++;
      send_elections(e);
      arm(e, e->cfg.answer_timeout_ns);
    } else {
      lead(e);
    }
  } else if (e->phase == COHORT_ELECTION_WAIT_COORD) {
    e->phase = COHORT_ELECTION_IDLE;
    el_begin(e, "timeout");
  }
}
