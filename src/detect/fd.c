/*
 * src/detect/fd.c — the failure detector protocol: push heartbeats or pull
 * pings, per-peer arrival windows, and the periodic check that turns φ (or
 * the silence, for the fixed detector) into suspicions and recoveries.
 *
 * Invariants: the peer table is sorted by id, follows the node's peers
 * (built at init, an entry added on COHORT_PEER_ADDED and dropped on
 * COHORT_PEER_REMOVED) and holds at most COHORT_NODES_MAX entries; each
 * window is bounded by cfg.window; time is read only through
 * cohort_node_now; a peer is suspected by the check timer, or at once when
 * the host reports it failed (COHORT_PEER_FAILED, a fail-stop
 * environment: then only a newer incarnation recovers it); it recovers
 * only when one of its messages arrives; every
 * transition is counted, traced ("suspect"/"recover" with "peer" as the
 * first key of the data) and passed to the callback, exactly once; a
 * payload that fails to decode is refused with COHORT_EPROTO and changes no
 * state. Payloads are decoded by fd_wire.c without allocating (protobuf-c
 * is its reference in tests) and encoded by protobuf-c, once per round.
 */
#include <math.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "cohort/detect.h"
#include "detect.pb-c.h"
#include "fd_wire.h"

enum { TIMER_SEND = 1, TIMER_CHECK = 2 };

/* Largest encoded fd payload: three or four varints with their tags. */
#define FD_PAYLOAD_MAX 64
/* Longest "suspect"/"recover" data object. */
#define FD_TRACE_JSON_MAX 320

struct cohort_fd_peer {
  cohort_node_id_t id;
  cohort_incarnation_t inc; /* 0 until heard (and after a reset) */
  cohort_fd_window_t window;
  int64_t last_ns; /* last arrival, or start / reset if !heard */
  /* Until this local time the peer certainly is not suspected (see
   * quiet_until): the check skips it with one comparison. Recomputed
   * whenever last_ns or the window changes. */
  int64_t quiet_until_ns;
  int64_t gap_ns;  /* last completed inter-arrival gap */
  int64_t rtt_ns;
  uint64_t last_seq; /* highest heartbeat / pong seq accepted */
  bool heard;
  bool suspected;
  /* Reported crashed (COHORT_PEER_FAILED): arrivals from incarnations up
   * to failed_inc are late messages of a dead process, not a recovery. */
  bool failed;
  cohort_incarnation_t failed_inc;
  uint64_t arrivals, suspicions, recoveries;
};

static const cohort_proto_ops_t fd_ops;

/* ---- lookups and the model ----------------------------------------------- */

/* Index where peer `id` is or would be inserted (the table stays sorted). */
static size_t peer_slot(const cohort_fd_t *fd, cohort_node_id_t id) {
  size_t lo = 0, hi = fd->peers_len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (fd->peers[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static cohort_fd_peer_t *peer_find(const cohort_fd_t *fd, cohort_node_id_t id) {
  size_t i = peer_slot(fd, id);
  return i < fd->peers_len && fd->peers[i].id == id ? &fd->peers[i] : NULL;
}

/* The model and φ of one peer at local time `now`. Before any sample the
 * configured interval is the expected gap, with σ = interval/4 (a prior
 * that lets a peer never heard from be suspected, too). */
static void peer_info_at(const cohort_fd_t *fd, const cohort_fd_peer_t *p, int64_t now,
                         cohort_fd_peer_info_t *out) {
  const cohort_fd_config_t *c = &fd->cfg;
  memset(out, 0, sizeof *out);
  out->peer = p->id;
  out->incarnation = p->inc;
  out->samples = p->window.len;
  if (p->window.len == 0) {
    out->mean_ns = (double)c->interval_ns;
    out->stddev_ns = (double)c->interval_ns / 4.0;
  } else {
    out->mean_ns = cohort_fd_window_mean_ns(&p->window);
    out->stddev_ns = cohort_fd_window_stddev_ns(&p->window);
  }
  if (out->stddev_ns < (double)c->min_stddev_ns) out->stddev_ns = (double)c->min_stddev_ns;
  out->since_ns = fd->started && now > p->last_ns ? now - p->last_ns : 0;
  out->gap_ns = p->gap_ns;
  out->phi = fd->started ? cohort_fd_phi_compute((double)out->since_ns,
                                                 out->mean_ns + (double)c->pause_ns,
                                                 out->stddev_ns)
                         : 0.0;
  out->suspected = p->suspected;
  out->rtt_ns = p->rtt_ns;
  out->arrivals = p->arrivals;
  out->suspicions = p->suspicions;
  out->recoveries = p->recoveries;
}

static bool detector_suspects(const cohort_fd_t *fd, const cohort_fd_peer_info_t *in) {
  if (fd->cfg.detector == COHORT_FD_FIXED) return in->since_ns > fd->cfg.timeout_ns;
  return in->phi >= fd->cfg.threshold;
}

/* φ never exceeds this while the silence is at most the expected gap: then
 * x = (since − mean) / (σ√2) ≤ 0, erfc(x) ≥ 1 and φ ≤ −log10(½) ≈ 0.30103
 * (rounded up here, so the bound holds for the computed value too). */
#define PHI_AT_MEAN_MAX 0.302
/* Beyond this an allowed silence (ns) is not trusted to convert exactly
 * (doubles hold integers exactly below 2^53; this is ~10^4 days). */
#define QUIET_ALLOWED_MAX 9.0e17

/* The check's fast path, computed once per arrival instead of at every
 * check: the latest local time at which the detector certainly does not
 * suspect p, by the same arithmetic peer_info_at uses, so the decision is
 * unchanged while the standard deviation, erfc and log10 are skipped for
 * nearly every peer at nearly every check. For phi: while since ≤ mean +
 * pause (as doubles), φ ≤ PHI_AT_MEAN_MAX < threshold; since is an
 * integer, since ≤ ⌊mean + pause⌋ implies that. For the fixed detector:
 * since ≤ timeout. INT64_MIN: always decide by φ. */
static int64_t quiet_until(const cohort_fd_t *fd, const cohort_fd_peer_t *p) {
  const cohort_fd_config_t *c = &fd->cfg;
  int64_t allowed;
  if (c->detector == COHORT_FD_FIXED) {
    allowed = c->timeout_ns;
  } else {
    if (!(c->threshold > PHI_AT_MEAN_MAX)) return INT64_MIN;
    double mean = p->window.len ? cohort_fd_window_mean_ns(&p->window) : (double)c->interval_ns;
    double bound = floor(mean + (double)c->pause_ns);
    if (!(bound >= 0) || bound > QUIET_ALLOWED_MAX) return INT64_MIN;
    allowed = (int64_t)bound;
  }
  if (allowed < 0 || p->last_ns > INT64_MAX - allowed) return INT64_MIN;
  return p->last_ns + allowed;
}

/* ---- transitions ----------------------------------------------------------- */

/* `reported`: the suspicion comes from the host's failure report
 * (COHORT_PEER_FAILED), not from the detector's model. */
static void trace_transition(cohort_fd_t *fd, const char *what,
                             const cohort_fd_peer_info_t *in, bool reported) {
  cohort_node_t *n = fd->proto.node;
  if (!cohort_node_tracing(n)) return;
  char json[FD_TRACE_JSON_MAX], tail[80];
  if (fd->cfg.detector == COHORT_FD_FIXED)
    cohort_fmt(tail, sizeof tail, "\"detector\":\"fixed\",\"timeout_ms\":%.3f%s",
               (double)fd->cfg.timeout_ns / 1e6, reported ? ",\"reason\":\"failed\"" : "");
  else
    cohort_fmt(tail, sizeof tail, "\"detector\":\"phi\",\"threshold\":%.3f%s",
               fd->cfg.threshold, reported ? ",\"reason\":\"failed\"" : "");
  cohort_fmt(json, sizeof json,
             "{\"peer\":%u,\"phi\":%.3f,\"mean_ms\":%.3f,\"stddev_ms\":%.3f,"
             "\"samples\":%u,\"since_ms\":%.3f,\"gap_ms\":%.3f,\"inc\":%llu,%s}",
             (unsigned)in->peer, in->phi, in->mean_ns / 1e6, in->stddev_ns / 1e6,
             (unsigned)in->samples, (double)in->since_ns / 1e6, (double)in->gap_ns / 1e6,
             (unsigned long long)in->incarnation, tail);
  cohort_node_trace_state(n, &fd->proto, what, json);
}

static void peer_suspect(cohort_fd_t *fd, cohort_fd_peer_t *p, cohort_fd_peer_info_t *in) {
  p->suspected = true;
  p->suspicions++;
  fd->stats.suspicions++;
  in->suspected = true;
  in->suspicions = p->suspicions;
  trace_transition(fd, "suspect", in, p->failed);
  if (fd->cb) fd->cb(fd, in, fd->cb_ud);
}

static void peer_recover(cohort_fd_t *fd, cohort_fd_peer_t *p, int64_t now) {
  p->suspected = false;
  p->recoveries++;
  fd->stats.recoveries++;
  cohort_fd_peer_info_t in;
  peer_info_at(fd, p, now, &in);
  trace_transition(fd, "recover", &in, false);
  if (fd->cb) fd->cb(fd, &in, fd->cb_ud);
}

/* A restarted peer is a new process: what we learned about the old one
 * says nothing about it. Suspicion stays until the new one is heard. */
static void peer_reset(cohort_fd_t *fd, cohort_fd_peer_t *p, int64_t now) {
  cohort_fd_window_reset(&p->window);
  p->inc = 0;
  p->failed = false;
  p->failed_inc = 0;
  p->last_ns = now;
  p->gap_ns = 0;
  p->rtt_ns = 0;
  p->last_seq = 0;
  p->heard = false;
  p->quiet_until_ns = quiet_until(fd, p);
  fd->stats.resets++;
  if (cohort_node_tracing(fd->proto.node)) {
    char json[64];
    cohort_fmt(json, sizeof json, "{\"peer\":%u}", (unsigned)p->id);
    cohort_node_trace_state(fd->proto.node, &fd->proto, "reset", json);
  }
}

/* A heartbeat (push) or pong (pull) with sequence `seq` from `inc`;
 * rtt_ns >= 0 is the round trip it measured (pull). The recovery upcall
 * comes last: the callback may change the node's peers, and with them
 * this table, so p is not used after it. */
static void peer_arrival(cohort_fd_t *fd, cohort_fd_peer_t *p, cohort_incarnation_t inc,
                         uint64_t seq, int64_t rtt_ns, int64_t now) {
  if (p->failed && inc > p->failed_inc) peer_reset(fd, p, now); /* its next life */
  else if (p->inc != 0 && inc > p->inc) peer_reset(fd, p, now); /* no peer() upcall */
  if (p->failed || (p->inc != 0 && inc < p->inc) || seq <= p->last_seq) {
    fd->stats.rx_stale++; /* duplicated, reordered, an old or a dead incarnation */
    return;
  }
  if (rtt_ns >= 0) p->rtt_ns = rtt_ns;
  p->inc = inc;
  p->last_seq = seq;
  if (p->heard) {
    p->gap_ns = now - p->last_ns;
    /* The silence that ends a suspicion was an outage (a partition, a
     * pause), not an inter-arrival time: learning it would inflate the
     * deviation and slow every later detection (Cassandra likewise drops
     * intervals above a maximum). */
    if (!p->suspected) cohort_fd_window_push(&p->window, p->gap_ns);
  }
  p->heard = true;
  p->last_ns = now;
  p->quiet_until_ns = quiet_until(fd, p);
  p->arrivals++;
  if (p->suspected) peer_recover(fd, p, now);
}

/* ---- the peer table follows the node's peers ------------------------------ */

static void trace_peer(cohort_fd_t *fd, const char *what, cohort_node_id_t id) {
  if (!cohort_node_tracing(fd->proto.node)) return;
  char json[64];
  cohort_fmt(json, sizeof json, "{\"peer\":%u}", (unsigned)id);
  cohort_node_trace_state(fd->proto.node, &fd->proto, what, json);
}

/* Room for `need` entries: the table doubles, up to COHORT_NODES_MAX. */
static bool peers_reserve(cohort_fd_t *fd, size_t need) {
  cohort_fd_peer_t *t = cohort_array_grow(fd->alloc, fd->peers, &fd->peers_cap, need,
                                          COHORT_NODES_MAX, sizeof *t);
  if (t) fd->peers = t;
  return t != NULL;
}

/* Start monitoring `id` (a peer the node added): a fresh model, silent
 * since now. A peer we cannot hold (no memory) is counted and left
 * unmonitored: it is never suspected, which the count makes visible. */
static void peer_add(cohort_fd_t *fd, cohort_node_id_t id, int64_t now) {
  if (peer_find(fd, id)) return;
  cohort_fd_window_t w;
  if (!peers_reserve(fd, fd->peers_len + 1) ||
      cohort_fd_window_init(&w, fd->cfg.window, fd->alloc) < 0) {
    fd->stats.peers_nomem++;
    return;
  }
  size_t at = peer_slot(fd, id);
  memmove(&fd->peers[at + 1], &fd->peers[at], (fd->peers_len - at) * sizeof fd->peers[0]);
  cohort_fd_peer_t *p = &fd->peers[at];
  memset(p, 0, sizeof *p);
  p->id = id;
  p->window = w;
  p->last_ns = now;
  fd->peers_len++;
  p->quiet_until_ns = quiet_until(fd, p);
  fd->stats.peers_added++;
  trace_peer(fd, "monitor", id);
}

/* Stop monitoring `id` (the node removed it): no upcall, no recovery. */
static void peer_remove(cohort_fd_t *fd, cohort_node_id_t id) {
  cohort_fd_peer_t *p = peer_find(fd, id);
  if (!p) return;
  size_t at = (size_t)(p - fd->peers);
  cohort_fd_window_close(&p->window, fd->alloc);
  memmove(&fd->peers[at], &fd->peers[at + 1], (fd->peers_len - at - 1) * sizeof fd->peers[0]);
  fd->peers_len--;
  fd->stats.peers_removed++;
  trace_peer(fd, "unmonitor", id);
}

/* The host reports the peer crashed (fail-stop): suspect it now, and keep
 * suspecting it until a newer incarnation speaks. */
static void peer_failed(cohort_fd_t *fd, cohort_fd_peer_t *p, int64_t now) {
  cohort_incarnation_t known = cohort_node_peer_incarnation(fd->proto.node, p->id);
  fd->stats.failures_reported++;
  p->failed = true;
  p->failed_inc = known > p->inc ? known : p->inc;
  if (p->suspected) return;
  cohort_fd_peer_info_t in;
  peer_info_at(fd, p, now, &in);
  peer_suspect(fd, p, &in);
}

/* At start: take the node's peers as they are now (peers added or removed
 * between init and attach raised no event for us). */
static void peers_sync(cohort_fd_t *fd, int64_t now) {
  size_t len = 0;
  const cohort_node_id_t *ids = cohort_node_peers(fd->proto.node, &len);
  for (size_t i = fd->peers_len; i-- > 0;)
    if (!cohort_node_is_peer(fd->proto.node, fd->peers[i].id)) peer_remove(fd, fd->peers[i].id);
  for (size_t i = 0; i < len; i++) peer_add(fd, ids[i], now);
}

static void check_all(cohort_fd_t *fd, int64_t now) {
  for (size_t i = 0; i < fd->peers_len; i++) {
    cohort_fd_peer_t *p = &fd->peers[i];
    if (p->suspected || now <= p->quiet_until_ns) continue;
    cohort_fd_peer_info_t in;
    peer_info_at(fd, p, now, &in);
    if (detector_suspects(fd, &in)) peer_suspect(fd, p, &in);
  }
}

/* ---- wire ------------------------------------------------------------------ */

/* Decode a payload of `fields` varint fields (fd_wire.h): no allocation,
 * exactly protobuf-c's acceptance. COHORT_EPROTO (counted) if malformed. */
static int decode(cohort_fd_t *fd, const cohort_msg_t *msg, unsigned fields,
                  uint64_t out[COHORT_FD_WIRE_FIELDS_MAX]) {
  if (cohort_fd_wire_decode(msg->payload, msg->payload_len, fields, out) == 0) return 0;
  fd->stats.rx_malformed++;
  return COHORT_EPROTO;
}

static size_t encode(const ProtobufCMessage *m, uint8_t *buf) {
  size_t len = protobuf_c_message_get_packed_size(m);
  COHORT_ASSERT(len <= FD_PAYLOAD_MAX);
  size_t packed = protobuf_c_message_pack(m, buf);
  COHORT_ASSERT(packed == len);
  return packed;
}

/* One round: a heartbeat (push) or a ping (pull) to every peer. */
static void send_round(cohort_fd_t *fd, int64_t now) {
  cohort_node_t *n = fd->proto.node;
  uint8_t buf[FD_PAYLOAD_MAX];
  size_t len;
  uint32_t kind;
  fd->seq++;
  if (fd->cfg.mode == COHORT_FD_PUSH) {
    Cohort__Detect__Heartbeat hb = COHORT__DETECT__HEARTBEAT__INIT;
    hb.seq = fd->seq;
    hb.sent_mono_ns = now;
    hb.sent_wall_ns = cohort_node_wall(n);
    hb.interval_ns = (uint64_t)fd->cfg.interval_ns;
    len = encode(&hb.base, buf);
    kind = COHORT_FD_KIND_HEARTBEAT;
  } else {
    Cohort__Detect__Ping ping = COHORT__DETECT__PING__INIT;
    ping.seq = fd->seq;
    ping.sent_mono_ns = now;
    len = encode(&ping.base, buf);
    kind = COHORT_FD_KIND_PING;
  }
  for (size_t i = 0; i < fd->peers_len; i++) {
    /* A heartbeat or ping means the same to every incarnation of the peer:
     * a restarted peer hears us before it has spoken (cohort/node.h). */
    int rc = cohort_node_send_to(n, &fd->proto, fd->peers[i].id, COHORT_INCARNATION_ANY, kind,
                                 buf, len);
    if (rc < 0) fd->stats.tx_errors++;
    else if (kind == COHORT_FD_KIND_HEARTBEAT) fd->stats.tx_heartbeats++;
    else fd->stats.tx_pings++;
  }
}

static int recv_heartbeat(cohort_fd_t *fd, cohort_fd_peer_t *p, const cohort_msg_t *msg) {
  uint64_t f[COHORT_FD_WIRE_FIELDS_MAX]; /* Heartbeat: seq, sent_mono, sent_wall, interval */
  int rc = decode(fd, msg, 4, f);
  if (rc) return rc;
  uint64_t seq = f[0];
  if (seq == 0) {
    fd->stats.rx_malformed++;
    return COHORT_EPROTO;
  }
  fd->stats.rx_heartbeats++;
  peer_arrival(fd, p, msg->from_incarnation, seq, -1, cohort_node_now(fd->proto.node));
  return 0;
}

static int recv_ping(cohort_fd_t *fd, const cohort_msg_t *msg) {
  uint64_t f[COHORT_FD_WIRE_FIELDS_MAX]; /* Ping: seq, sent_mono */
  int rc = decode(fd, msg, 2, f);
  if (rc) return rc;
  Cohort__Detect__Pong pong = COHORT__DETECT__PONG__INIT;
  pong.seq = f[0];
  pong.ping_sent_mono_ns = cohort_fd_wire_sint(f[1]);
  if (pong.seq == 0) {
    fd->stats.rx_malformed++;
    return COHORT_EPROTO;
  }
  fd->stats.rx_pings++;
  cohort_node_t *n = fd->proto.node;
  pong.sent_wall_ns = cohort_node_wall(n);
  uint8_t buf[FD_PAYLOAD_MAX];
  size_t len = encode(&pong.base, buf);
  if (cohort_node_send_to(n, &fd->proto, msg->from, msg->from_incarnation, COHORT_FD_KIND_PONG,
                          buf, len) < 0)
    fd->stats.tx_errors++;
  else fd->stats.tx_pongs++;
  return 0;
}

static int recv_pong(cohort_fd_t *fd, cohort_fd_peer_t *p, const cohort_msg_t *msg) {
  uint64_t f[COHORT_FD_WIRE_FIELDS_MAX]; /* Pong: seq, ping_sent_mono, sent_wall */
  int rc = decode(fd, msg, 3, f);
  if (rc) return rc;
  uint64_t seq = f[0];
  int64_t sent = cohort_fd_wire_sint(f[1]);
  if (seq == 0) {
    fd->stats.rx_malformed++;
    return COHORT_EPROTO;
  }
  fd->stats.rx_pongs++;
  if (seq > fd->seq) { /* answers a ping we never sent (an earlier run of us) */
    fd->stats.rx_stale++;
    return 0;
  }
  int64_t now = cohort_node_now(fd->proto.node);
  int64_t rtt = sent <= now && sent >= fd->started_ns ? now - sent : -1;
  peer_arrival(fd, p, msg->from_incarnation, seq, rtt, now);
  return 0;
}

/* ---- protocol entry points ------------------------------------------------- */

static cohort_fd_t *fd_of(cohort_proto_t *p) {
  COHORT_ASSERT(p->ops == &fd_ops);
  return (cohort_fd_t *)p; /* proto is the first member */
}

static void fd_start(cohort_proto_t *proto) {
  cohort_fd_t *fd = fd_of(proto);
  cohort_node_t *n = proto->node;
  int64_t now = cohort_node_now(n);
  fd->started = true;
  fd->started_ns = now;
  peers_sync(fd, now);
  for (size_t i = 0; i < fd->peers_len; i++) {
    fd->peers[i].last_ns = now;
    fd->peers[i].quiet_until_ns = quiet_until(fd, &fd->peers[i]);
  }
  /* A random phase keeps a cluster started at once from sending in bursts. */
  uint64_t phase = cohort_node_random_below(n, (uint64_t)fd->cfg.interval_ns);
  fd->next_send_ns = now + (int64_t)phase;
  (void)cohort_node_timer_set(n, proto, TIMER_SEND, fd->next_send_ns);
  (void)cohort_node_timer_set(n, proto, TIMER_CHECK, now + fd->cfg.check_ns);
}

static void fd_timer(cohort_proto_t *proto, uint32_t timer_id) {
  cohort_fd_t *fd = fd_of(proto);
  cohort_node_t *n = proto->node;
  int64_t now = cohort_node_now(n);
  if (timer_id == TIMER_SEND) {
    send_round(fd, now);
    /* Keep the period exact; after a stall, resume from now, no burst. */
    fd->next_send_ns += fd->cfg.interval_ns;
    if (fd->next_send_ns <= now) fd->next_send_ns = now + fd->cfg.interval_ns;
    (void)cohort_node_timer_set(n, proto, TIMER_SEND, fd->next_send_ns);
  } else if (timer_id == TIMER_CHECK) {
    check_all(fd, now);
    (void)cohort_node_timer_set(n, proto, TIMER_CHECK, now + fd->cfg.check_ns);
  }
}

static int fd_recv(cohort_proto_t *proto, const cohort_msg_t *msg) {
  cohort_fd_t *fd = fd_of(proto);
  if (msg->kind == COHORT_FD_KIND_PING) return recv_ping(fd, msg);
  cohort_fd_peer_t *p = peer_find(fd, msg->from);
  if (!p) return COHORT_EUNKNOWN;
  switch (msg->kind) {
  case COHORT_FD_KIND_HEARTBEAT: return recv_heartbeat(fd, p, msg);
  case COHORT_FD_KIND_PONG: return recv_pong(fd, p, msg);
  default: fd->stats.rx_malformed++; return COHORT_EPROTO;
  }
}

static void fd_peer(cohort_proto_t *proto, cohort_node_id_t peer, cohort_peer_event_t ev) {
  cohort_fd_t *fd = fd_of(proto);
  int64_t now = fd->started ? cohort_node_now(proto->node) : 0;
  if (ev == COHORT_PEER_ADDED) {
    peer_add(fd, peer, now);
    return;
  }
  if (ev == COHORT_PEER_REMOVED) {
    peer_remove(fd, peer);
    return;
  }
  cohort_fd_peer_t *p = peer_find(fd, peer);
  if (!p) return;
  if (ev == COHORT_PEER_RESTARTED) peer_reset(fd, p, now);
  else if (ev == COHORT_PEER_FAILED) peer_failed(fd, p, now);
}

static const char *fd_kind_name(uint32_t kind) {
  switch (kind) {
  case COHORT_FD_KIND_HEARTBEAT: return "heartbeat";
  case COHORT_FD_KIND_PING: return "ping";
  case COHORT_FD_KIND_PONG: return "pong";
  default: return NULL;
  }
}

static const cohort_proto_ops_t fd_ops = {
    .name = "fd",
    .proto_id = COHORT_PROTO_FD,
    .kind_name = fd_kind_name,
    .start = fd_start,
    .recv = fd_recv,
    .timer = fd_timer,
    .peer = fd_peer,
};

/* ---- public API --------------------------------------------------------------- */

int cohort_fd_init(cohort_fd_t *fd, cohort_node_t *node, const cohort_fd_config_t *cfg) {
  if (!fd || !node || !cfg || cohort_fd_config_check(cfg, NULL, 0) < 0) return COHORT_EINVAL;
  size_t len = 0;
  const cohort_node_id_t *ids = cohort_node_peers(node, &len);
  const cohort_allocator_t *a = cohort_node_allocator(node);
  if (len > COHORT_NODES_MAX) return COHORT_EINVAL;
  cohort_fd_peer_t *peers = NULL;
  if (len > 0 && !(peers = cohort_calloc(a, len, sizeof *peers))) return COHORT_ENOMEM;
  for (size_t i = 0; i < len; i++) {
    peers[i].id = ids[i];
    if (cohort_fd_window_init(&peers[i].window, cfg->window, a) < 0) {
      for (size_t j = 0; j < i; j++) cohort_fd_window_close(&peers[j].window, a);
      cohort_free(a, peers);
      return COHORT_ENOMEM;
    }
  }
  memset(fd, 0, sizeof *fd);
  fd->proto.ops = &fd_ops;
  fd->proto.node = node;
  fd->cfg = *cfg;
  fd->alloc = a;
  fd->peers = peers;
  fd->peers_len = len;
  fd->peers_cap = len;
  return 0;
}

void cohort_fd_close(cohort_fd_t *fd) {
  if (!fd || !fd->alloc) return;
  for (size_t i = 0; i < fd->peers_len; i++)
    cohort_fd_window_close(&fd->peers[i].window, fd->alloc);
  if (fd->peers) cohort_free(fd->alloc, fd->peers);
  memset(fd, 0, sizeof *fd);
}

cohort_proto_t *cohort_fd_proto(cohort_fd_t *fd) { return &fd->proto; }

cohort_fd_t *cohort_fd_from_proto(cohort_proto_t *p) {
  return p && p->ops == &fd_ops ? (cohort_fd_t *)p : NULL;
}

void cohort_fd_set_callback(cohort_fd_t *fd, void *ud, cohort_fd_cb_t cb) {
  fd->cb = cb;
  fd->cb_ud = ud;
}

int cohort_fd_peer_info(cohort_fd_t *fd, cohort_node_id_t peer, cohort_fd_peer_info_t *out) {
  const cohort_fd_peer_t *p = peer_find(fd, peer);
  if (!p) return COHORT_EUNKNOWN;
  peer_info_at(fd, p, fd->started ? cohort_node_now(fd->proto.node) : 0, out);
  return 0;
}

double cohort_fd_phi(cohort_fd_t *fd, cohort_node_id_t peer) {
  cohort_fd_peer_info_t in;
  if (cohort_fd_peer_info(fd, peer, &in) < 0) return -1.0;
  return in.phi;
}

bool cohort_fd_is_suspected(const cohort_fd_t *fd, cohort_node_id_t peer) {
  const cohort_fd_peer_t *p = peer_find(fd, peer);
  return p && p->suspected;
}

const cohort_fd_stats_t *cohort_fd_stats(const cohort_fd_t *fd) { return &fd->stats; }

int cohort_fd_status(cohort_fd_t *fd, char *buf, size_t cap) {
  if (!buf && cap) return COHORT_EINVAL;
  size_t off = 0;
  if (cap) buf[0] = '\0';
  for (size_t i = 0; i < fd->peers_len; i++) {
    cohort_fd_peer_info_t in;
    peer_info_at(fd, &fd->peers[i], fd->started ? cohort_node_now(fd->proto.node) : 0, &in);
    int w = cohort_fmt(off < cap ? buf + off : NULL, off < cap ? cap - off : 0, "%s%u:%.2f%s",
                       i ? " " : "", (unsigned)in.peer, in.phi, in.suspected ? "!" : "");
    if (w < 0) return COHORT_EINVAL;
    off += (size_t)w;
  }
  return off > (size_t)INT32_MAX ? COHORT_EFULL : (int)off;
}
