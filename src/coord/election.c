/*
 * src/coord/election.c — the part of leader election both algorithms
 * share: configuration, the wire (proto/election.proto), epochs, adopting
 * and announcing leaders, stale-epoch handling, the periodic check that
 * starts an election when the failure detector suspects the leader, the
 * public API and the two registry factories.
 *
 * Invariants (see election_internal.h): epoch only grows within an
 * incarnation and names its leader; a payload is validated for its kind
 * before any state changes, and a malformed one is refused with
 * COHORT_EPROTO (the node counts and traces the drop); a message carrying
 * an epoch older than ours changes nothing but max_epoch and is answered
 * with a NOTICE; every leader change is traced and passed to the callback
 * exactly once.
 */
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "cohort/pbc.h"
#include "election.pb-c.h"
#include "election_internal.h"

/* Largest encoded payload: two uint64, two uint32 varints with tags. */
#define EL_PAYLOAD_MAX 40
#define EL_JSON_MAX 160


static const cohort_proto_ops_t bully_ops, ring_ops;

/* ---- configuration ----------------------------------------------------------- */

void cohort_election_config_default(cohort_election_config_t *cfg,
                                    cohort_election_algo_t algo) {
  *cfg = (cohort_election_config_t){
      .algo = algo,
      .answer_timeout_ns = 100 * COHORT_NS_PER_MS,
      .retries = 1,
      .election_timeout_ns = COHORT_NS_PER_S,
      .announce_ns = COHORT_NS_PER_S,
      .check_ns = 50 * COHORT_NS_PER_MS,
      .leader_timeout_ns = 3 * COHORT_NS_PER_S,
  };
}

static const char *algo_name(cohort_election_algo_t a) {
  return a == COHORT_ELECTION_RING ? "ring-election" : "bully";
}

int cohort_election_config_check(const cohort_election_config_t *c, char *err,
                                 size_t errcap) {
  const char *who = algo_name(c->algo), *what = NULL;
  if (c->algo != COHORT_ELECTION_BULLY && c->algo != COHORT_ELECTION_RING)
    what = "algo: unknown";
  else if (c->answer_timeout_ns <= 0) what = "answer: must be > 0";
  else if (c->retries > 16) what = "retries: must be in 0..16";
  else if (c->election_timeout_ns <= c->answer_timeout_ns)
    what = "election: must be > answer";
  else if (c->announce_ns <= 0) what = "announce: must be > 0";
  else if (c->check_ns <= 0) what = "check: must be > 0";
  else if (c->leader_timeout_ns <= c->announce_ns)
    what = "leader_timeout: must be > announce";
  if (!what) return 0;
  if (err && errcap) cohort_fmt(err, errcap, "%s: %s", who, what);
  return COHORT_EINVAL;
}

int cohort_election_config_parse(cohort_election_config_t *cfg, const cohort_param_t *p,
                                 size_t n, char *err, size_t errcap) {
  static const char *const known[] = {"answer", "retries", "election", "announce",
                                      "check", "leader_timeout", NULL};
  cohort_election_config_t c = *cfg;
  const char *who = algo_name(c.algo);
  uint64_t retries = c.retries;
  int rc = cohort_param_check_known(p, n, known, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "answer", &c.answer_timeout_ns, who, err, errcap);
  if (!rc) rc = cohort_param_u64(p, n, "retries", &retries, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "election", &c.election_timeout_ns, who, err,
                                      errcap);
  if (!rc) rc = cohort_param_duration(p, n, "announce", &c.announce_ns, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "check", &c.check_ns, who, err, errcap);
  if (!rc) rc = cohort_param_duration(p, n, "leader_timeout", &c.leader_timeout_ns, who, err,
                                      errcap);
  if (rc) return rc;
  c.retries = retries > 16 ? 17 : (uint32_t)retries;
  if ((rc = cohort_election_config_check(&c, err, errcap))) return rc;
  *cfg = c;
  return 0;
}

/* ---- wire -------------------------------------------------------------------- */

const char *cohort_election_kind_name(uint32_t kind) {
  switch (kind) {
  case COHORT_ELECTION_KIND_ELECTION: return "election";
  case COHORT_ELECTION_KIND_OK: return "ok";
  case COHORT_ELECTION_KIND_COORDINATOR: return "coordinator";
  case COHORT_ELECTION_KIND_RING: return "ring";
  case COHORT_ELECTION_KIND_ELECTED: return "elected";
  case COHORT_ELECTION_KIND_ACK: return "ack";
  case COHORT_ELECTION_KIND_NOTICE: return "notice";
  default: return NULL;
  }
}

static bool kind_valid(cohort_election_algo_t algo, uint32_t kind) {
  switch (kind) {
  case COHORT_ELECTION_KIND_COORDINATOR:
  case COHORT_ELECTION_KIND_NOTICE: return true;
  case COHORT_ELECTION_KIND_ELECTION:
  case COHORT_ELECTION_KIND_OK: return algo == COHORT_ELECTION_BULLY;
  case COHORT_ELECTION_KIND_RING:
  case COHORT_ELECTION_KIND_ELECTED:
  case COHORT_ELECTION_KIND_ACK: return algo == COHORT_ELECTION_RING;
  default: return false;
  }
}

static bool epoch_names(uint64_t epoch, cohort_node_id_t leader) {
  return COHORT_ELECTION_EPOCH_ROUND(epoch) >= 1 && leader != COHORT_NODE_NONE &&
         COHORT_ELECTION_EPOCH_LEADER(epoch) == leader;
}

/* Is a decoded message well formed for its kind? */
static bool msg_valid(uint32_t kind, const el_msg_t *m) {
  switch (kind) {
  case COHORT_ELECTION_KIND_COORDINATOR:
  case COHORT_ELECTION_KIND_ELECTED:
  case COHORT_ELECTION_KIND_NOTICE: return epoch_names(m->epoch, m->leader);
  case COHORT_ELECTION_KIND_RING: return m->leader != COHORT_NODE_NONE;
  case COHORT_ELECTION_KIND_ACK:
    return (m->acked_kind == COHORT_ELECTION_KIND_RING ||
            m->acked_kind == COHORT_ELECTION_KIND_ELECTED) &&
           m->leader != COHORT_NODE_NONE;
  default: return true;
  }
}

/* Decode and validate; 0, COHORT_EPROTO or COHORT_ENOMEM (counted). */
static int decode(cohort_election_t *e, const cohort_msg_t *msg, el_msg_t *out) {
  cohort_pbc_alloc_t d;
  int err = 0;
  Cohort__Election__Election *pb = (Cohort__Election__Election *)cohort_pbc_unpack(
      &d, cohort_node_allocator(e->proto.node), &cohort__election__election__descriptor,
      msg->payload, msg->payload_len, &err);
  if (!pb) {
    if (err == COHORT_ENOMEM) return e->stats.rx_nomem++, COHORT_ENOMEM;
    return e->stats.rx_malformed++, COHORT_EPROTO;
  }
  el_msg_t m = {.epoch = pb->epoch, .leader = pb->leader, .acked_kind = pb->acked_kind,
                .max_epoch = pb->max_epoch};
  cohort__election__election__free_unpacked(pb, &d.base);
  if (!msg_valid(msg->kind, &m)) return e->stats.rx_malformed++, COHORT_EPROTO;
  *out = m;
  return 0;
}

static size_t encode(const el_msg_t *m, uint8_t *buf) {
  Cohort__Election__Election pb = COHORT__ELECTION__ELECTION__INIT;
  pb.epoch = m->epoch;
  pb.leader = m->leader;
  pb.acked_kind = m->acked_kind;
  pb.max_epoch = m->max_epoch;
  size_t len = cohort__election__election__get_packed_size(&pb);
  COHORT_ASSERT(len <= EL_PAYLOAD_MAX);
  size_t packed = cohort__election__election__pack(&pb, buf);
  COHORT_ASSERT(packed == len);
  return packed;
}

/* ---- the core ------------------------------------------------------------------ */

cohort_node_id_t el_self(const cohort_election_t *e) { return cohort_node_id(e->proto.node); }
int64_t el_now(const cohort_election_t *e) { return cohort_node_now(e->proto.node); }

void el_send(cohort_election_t *e, cohort_node_id_t to, uint32_t kind, const el_msg_t *m) {
  uint8_t buf[EL_PAYLOAD_MAX];
  el_msg_t out = *m;
  out.max_epoch = e->max_epoch;
  size_t len = encode(&out, buf);
  if (cohort_node_send(e->proto.node, &e->proto, to, kind, buf, len) < 0) e->stats.tx_errors++;
  else e->stats.tx[kind & 7]++;
}

void el_note_epoch(cohort_election_t *e, uint64_t epoch) {
  if (epoch > e->max_epoch) e->max_epoch = epoch;
}

bool el_suspects(const cohort_election_t *e, cohort_node_id_t peer) {
  return e->fd && cohort_fd_is_suspected(e->fd, peer);
}

/* A state event whose data is three integer members k1, k2, k3. */
static void trace_state(cohort_election_t *e, const char *what, const char *k1, uint64_t a,
                        const char *k2, uint64_t b, const char *k3, uint64_t c) {
  if (!cohort_node_tracing(e->proto.node)) return;
  char json[EL_JSON_MAX];
  cohort_fmt(json, sizeof json, "{\"%s\":%llu,\"%s\":%llu,\"%s\":%llu}", k1,
             (unsigned long long)a, k2, (unsigned long long)b, k3, (unsigned long long)c);
  cohort_node_trace_state(e->proto.node, &e->proto, what, json);
}

static void upcall(cohort_election_t *e) {
  if (e->cb) e->cb(e, e->leader, e->epoch, e->cb_ud);
}

void el_stepdown(cohort_election_t *e, uint64_t newer) {
  if (e->leader != el_self(e)) return;
  e->stats.stepdowns++;
  trace_state(e, "stepdown", "epoch", e->epoch, "by", newer, "round",
              COHORT_ELECTION_EPOCH_ROUND(newer));
  e->leader = COHORT_NODE_NONE;
  cohort_node_timer_cancel(e->proto.node, &e->proto, EL_TIMER_ANNOUNCE);
  upcall(e);
}

void el_adopt(cohort_election_t *e, cohort_node_id_t leader, uint64_t epoch) {
  COHORT_ASSERT(epoch > e->epoch);
  COHORT_ASSERT(COHORT_ELECTION_EPOCH_LEADER(epoch) == leader);
  cohort_node_t *n = e->proto.node;
  if (leader != el_self(e)) el_stepdown(e, epoch);
  e->leader = leader;
  e->epoch = epoch;
  el_note_epoch(e, epoch);
  e->phase = COHORT_ELECTION_IDLE;
  e->leader_heard_ns = el_now(e);
  e->stats.leader_changes++;
  cohort_node_timer_cancel(n, &e->proto, EL_TIMER_ELECTION);
  trace_state(e, "leader", "leader", leader, "epoch", epoch, "round",
              COHORT_ELECTION_EPOCH_ROUND(epoch));
  if (leader == el_self(e))
    (void)cohort_node_timer_set(n, &e->proto, EL_TIMER_ANNOUNCE, el_now(e) + e->cfg.announce_ns);
  else cohort_node_timer_cancel(n, &e->proto, EL_TIMER_ANNOUNCE);
  upcall(e);
}

void el_declare(cohort_election_t *e) {
  uint64_t round = COHORT_ELECTION_EPOCH_ROUND(e->max_epoch) + 1;
  el_adopt(e, el_self(e), COHORT_ELECTION_EPOCH(round, el_self(e)));
}

int el_stale(cohort_election_t *e, cohort_node_id_t from, uint64_t epoch) {
  e->stats.rx_stale++;
  trace_state(e, "stale", "from", from, "epoch", epoch, "current", e->epoch);
  uint64_t newest = e->leader != COHORT_NODE_NONE ? e->epoch : e->max_epoch;
  if (newest > epoch) {
    el_msg_t m = {.epoch = newest, .leader = COHORT_ELECTION_EPOCH_LEADER(newest)};
    el_send(e, from, COHORT_ELECTION_KIND_NOTICE, &m);
  }
  return 0;
}

void el_begin(cohort_election_t *e, const char *reason) {
  e->stats.elections++;
  if (cohort_node_tracing(e->proto.node)) {
    char json[EL_JSON_MAX];
    cohort_fmt(json, sizeof json, "{\"epoch\":%llu,\"reason\":\"%s\"}",
               (unsigned long long)e->epoch, reason);
    cohort_node_trace_state(e->proto.node, &e->proto, "election", json);
  }
  if (e->cfg.algo == COHORT_ELECTION_BULLY) el_bully_begin(e);
  else el_ring_begin(e);
}

void el_confirm(cohort_election_t *e) {
  e->leader_heard_ns = el_now(e);
  if (e->phase == COHORT_ELECTION_IDLE) return;
  e->phase = COHORT_ELECTION_IDLE;
  cohort_node_timer_cancel(e->proto.node, &e->proto, EL_TIMER_ELECTION);
  /* The leader answered although it was suspected: let the detector catch
   * up before electing again for the same suspicion. */
  e->quiet_until_ns = el_now(e) + e->cfg.election_timeout_ns;
}

/* COORDINATOR (from the leader itself) or NOTICE (from anyone): someone
 * claims that `m->leader` leads in `m->epoch`. */
static int recv_claim(cohort_election_t *e, const cohort_msg_t *msg, const el_msg_t *m) {
  cohort_node_id_t self = el_self(e);
  bool coordinator = msg->kind == COHORT_ELECTION_KIND_COORDINATOR;
  if (coordinator && msg->from != m->leader) return e->stats.rx_malformed++, COHORT_EPROTO;
  if (m->epoch < e->epoch) return el_stale(e, msg->from, m->epoch);
  el_note_epoch(e, m->epoch);
  if (m->epoch == e->epoch) {
    if (e->leader == m->leader && coordinator) el_confirm(e);
    return 0;
  }
  if (m->leader == self) { /* an epoch of an earlier incarnation of ours */
    if (e->phase == COHORT_ELECTION_IDLE) el_begin(e, "old epoch");
    return 0;
  }
  if (e->cfg.algo == COHORT_ELECTION_BULLY && m->leader < self) {
    el_bully_newer(e, m->epoch);
    return 0;
  }
  el_adopt(e, m->leader, m->epoch);
  return 0;
}

/* The periodic check: elect when there is no leader, or when the detector
 * suspects it (or, as a backstop, it has not announced for too long). */
static void check(cohort_election_t *e) {
  int64_t now = el_now(e);
  if (!e->fd_given && !e->fd) /* looked up late: attach order is free */
    e->fd = cohort_fd_from_proto(cohort_node_proto(e->proto.node, COHORT_PROTO_FD));
  if (e->leader == el_self(e) || e->phase != COHORT_ELECTION_IDLE) return;
  if (e->leader == COHORT_NODE_NONE) {
    el_begin(e, e->epoch ? "no leader" : "start");
    return;
  }
  /* The leader was removed from our peers (dynamic membership): it cannot
   * lead us any more, and the detector no longer watches it. */
  if (!cohort_node_is_peer(e->proto.node, e->leader)) {
    el_begin(e, "leader removed");
    return;
  }
  if (now < e->quiet_until_ns) return;
  if (el_suspects(e, e->leader)) el_begin(e, "suspect");
  else if (now - e->leader_heard_ns > e->cfg.leader_timeout_ns) el_begin(e, "silence");
}

/* ---- protocol entry points -------------------------------------------------------- */

static cohort_election_t *el_of(cohort_proto_t *p) {
  COHORT_ASSERT(p->ops == &bully_ops || p->ops == &ring_ops);
  return (cohort_election_t *)p; /* proto is the first member */
}

static void el_start(cohort_proto_t *p) {
  cohort_election_t *e = el_of(p);
  e->started = true;
  e->leader_heard_ns = el_now(e);
  check(e);
  (void)cohort_node_timer_set(p->node, p, EL_TIMER_CHECK, el_now(e) + e->cfg.check_ns);
}

static int el_recv(cohort_proto_t *p, const cohort_msg_t *msg) {
  cohort_election_t *e = el_of(p);
  if (!kind_valid(e->cfg.algo, msg->kind)) return e->stats.rx_malformed++, COHORT_EPROTO;
  el_msg_t m;
  int rc = decode(e, msg, &m);
  if (rc) return rc;
  /* One datagram must not push rounds to where they wrap (cohort/core.h
   * cohort_advance_ok): refused, counted and traced by the node. */
  uint64_t known = COHORT_ELECTION_EPOCH_ROUND(e->max_epoch > e->epoch ? e->max_epoch : e->epoch);
  if (!cohort_advance_ok(known, COHORT_ELECTION_EPOCH_ROUND(m.epoch),
                         COHORT_ELECTION_ROUND_JUMP_MAX, COHORT_ELECTION_ROUND_MAX - 1) ||
      !cohort_advance_ok(known, COHORT_ELECTION_EPOCH_ROUND(m.max_epoch),
                         COHORT_ELECTION_ROUND_JUMP_MAX, COHORT_ELECTION_ROUND_MAX - 1))
    return e->stats.rx_malformed++, COHORT_EPROTO;
  e->stats.rx[msg->kind]++;
  el_note_epoch(e, m.max_epoch);
  if (msg->from == e->leader) e->leader_heard_ns = el_now(e);
  if (msg->kind == COHORT_ELECTION_KIND_COORDINATOR || msg->kind == COHORT_ELECTION_KIND_NOTICE)
    return recv_claim(e, msg, &m);
  if (e->cfg.algo == COHORT_ELECTION_BULLY) return el_bully_recv(e, msg, &m);
  return el_ring_recv(e, msg, &m);
}

static void el_timer(cohort_proto_t *p, uint32_t id) {
  cohort_election_t *e = el_of(p);
  if (id == EL_TIMER_CHECK) {
    check(e);
    (void)cohort_node_timer_set(p->node, p, EL_TIMER_CHECK, el_now(e) + e->cfg.check_ns);
  } else if (id == EL_TIMER_ANNOUNCE) {
    if (e->leader != el_self(e)) return;
    el_msg_t m = {.epoch = e->epoch, .leader = e->leader};
    size_t len = 0;
    const cohort_node_id_t *peers = cohort_node_peers(p->node, &len);
    for (size_t i = 0; i < len; i++) el_send(e, peers[i], COHORT_ELECTION_KIND_COORDINATOR, &m);
    (void)cohort_node_timer_set(p->node, p, EL_TIMER_ANNOUNCE, el_now(e) + e->cfg.announce_ns);
  } else if (e->cfg.algo == COHORT_ELECTION_BULLY) {
    el_bully_timer(e, id);
  } else {
    el_ring_timer(e, id);
  }
}

/* Dynamic membership. Peer sets are read from the node at every use, so
 * an added peer takes part from the next message on; what needs care is
 * state naming a removed peer: a ring hop waiting for its ACK gives up on
 * it at once (its timer fires now, after the node has dropped the peer),
 * and a removed leader is replaced at the next check. The peer is still
 * the node's during this call, so nothing is sent from here. */
static void el_peer(cohort_proto_t *p, cohort_node_id_t peer, cohort_peer_event_t ev) {
  cohort_election_t *e = el_of(p);
  if (ev != COHORT_PEER_REMOVED || !e->started) return;
  for (uint32_t slot = 0; slot < 2; slot++) {
    cohort_election_hop_t *h = &e->hops[slot];
    if (!h->active || h->to != peer) continue;
    h->tries = e->cfg.retries + 1;
    (void)cohort_node_timer_set(p->node, p, EL_TIMER_HOP + slot, el_now(e));
  }
  if (e->leader == peer)
    (void)cohort_node_timer_set(p->node, p, EL_TIMER_CHECK, el_now(e));
}

static const cohort_proto_ops_t bully_ops = {
    .name = "bully",
    .proto_id = COHORT_PROTO_ELECTION,
    .kind_name = cohort_election_kind_name,
    .start = el_start,
    .recv = el_recv,
    .timer = el_timer,
    .peer = el_peer,
};

static const cohort_proto_ops_t ring_ops = {
    .name = "ring-election",
    .proto_id = COHORT_PROTO_ELECTION,
    .kind_name = cohort_election_kind_name,
    .start = el_start,
    .recv = el_recv,
    .timer = el_timer,
    .peer = el_peer,
};

/* ---- public API ---------------------------------------------------------------------- */

int cohort_election_init(cohort_election_t *e, cohort_node_t *node,
                         const cohort_election_config_t *cfg) {
  if (!e || !node || !cfg || cohort_election_config_check(cfg, NULL, 0)) return COHORT_EINVAL;
  memset(e, 0, sizeof *e);
  e->proto.ops = cfg->algo == COHORT_ELECTION_RING ? &ring_ops : &bully_ops;
  e->proto.node = node;
  e->cfg = *cfg;
  e->leader = COHORT_NODE_NONE;
  return 0;
}

void cohort_election_close(cohort_election_t *e) {
  if (e) memset(e, 0, sizeof *e);
}

cohort_proto_t *cohort_election_proto(cohort_election_t *e) { return &e->proto; }

cohort_election_t *cohort_election_from_proto(cohort_proto_t *p) {
  return p && (p->ops == &bully_ops || p->ops == &ring_ops) ? (cohort_election_t *)p : NULL;
}

void cohort_election_set_fd(cohort_election_t *e, cohort_fd_t *fd) {
  e->fd = fd;
  e->fd_given = true;
}

void cohort_election_set_callback(cohort_election_t *e, void *ud, cohort_election_cb_t cb) {
  e->cb = cb;
  e->cb_ud = ud;
}

cohort_node_id_t cohort_election_leader(const cohort_election_t *e) { return e->leader; }
uint64_t cohort_election_epoch(const cohort_election_t *e) { return e->epoch; }

bool cohort_election_is_leader(const cohort_election_t *e) {
  return e->leader != COHORT_NODE_NONE && e->leader == cohort_node_id(e->proto.node);
}

int cohort_election_start(cohort_election_t *e) {
  if (!e->started) return COHORT_ESTATE;
  if (e->phase == COHORT_ELECTION_IDLE) el_begin(e, "request");
  return 0;
}

const cohort_election_stats_t *cohort_election_stats(const cohort_election_t *e) {
  return &e->stats;
}

int cohort_election_status(const cohort_election_t *e, char *buf, size_t cap) {
  static const char *const phases[] = {"idle", "wait-ok", "electing"};
  char leader[16] = "none";
  if (e->leader != COHORT_NODE_NONE) cohort_fmt(leader, sizeof leader, "%u", e->leader);
  return cohort_fmt(buf, cap, "leader %s epoch %llu.%u %s", leader,
                    (unsigned long long)COHORT_ELECTION_EPOCH_ROUND(e->epoch),
                    (unsigned)COHORT_ELECTION_EPOCH_LEADER(e->epoch), phases[e->phase]);
}

/* ---- factories ------------------------------------------------------------------------- */

static int create(cohort_election_algo_t algo, cohort_node_t *node, const cohort_param_t *params,
                  size_t n, cohort_proto_t **out, char *err, size_t errcap) {
  cohort_election_config_t cfg;
  cohort_election_config_default(&cfg, algo);
  int rc = cohort_election_config_parse(&cfg, params, n, err, errcap);
  if (rc) return rc;
  const cohort_allocator_t *a = cohort_node_allocator(node);
  cohort_election_t *e = cohort_alloc(a, sizeof *e);
  if (!e) return COHORT_ENOMEM;
  if ((rc = cohort_election_init(e, node, &cfg))) {
    cohort_free(a, e);
    return rc;
  }
  *out = &e->proto;
  return 0;
}

static int bully_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                        cohort_proto_t **out, char *err, size_t errcap) {
  return create(COHORT_ELECTION_BULLY, node, params, n, out, err, errcap);
}

static int ring_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                       cohort_proto_t **out, char *err, size_t errcap) {
  return create(COHORT_ELECTION_RING, node, params, n, out, err, errcap);
}

static void destroy(cohort_proto_t *p) {
  cohort_election_t *e = cohort_election_from_proto(p);
  if (!e) return;
  const cohort_allocator_t *a = cohort_node_allocator(p->node);
  cohort_election_close(e);
  cohort_free(a, e);
}

static int status(cohort_proto_t *p, char *buf, size_t cap) {
  cohort_election_t *e = cohort_election_from_proto(p);
  return e ? cohort_election_status(e, buf, cap) : COHORT_EINVAL;
}

#define EL_HELP                                                                          \
  "[answer=100ms retries=1 election=1s announce=1s check=50ms leader_timeout=3s]; uses " \
  "the node's fd protocol to suspect the leader"

const cohort_proto_factory_t cohort_bully_factory = {
    "bully", "bully leader election (ELECTION/OK/COORDINATOR, epochs) " EL_HELP, bully_create,
    destroy, status};

const cohort_proto_factory_t cohort_ring_election_factory = {
    "ring-election", "ring leader election (Chang-Roberts lap + ELECTED lap, epochs) " EL_HELP,
    ring_create, destroy, status};
