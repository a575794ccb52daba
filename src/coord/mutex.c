/*
 * src/coord/mutex.c — the part of mutual exclusion all four algorithms
 * share: configuration, the wire (proto/mutex.proto), the helper protocols
 * (failure detector, election), the application API (acquire, release,
 * cancel, renew, state), tracing, the built-in workload and the registry
 * factory. The algorithms live in mutex_central.c, mutex_perm.c (Lamport
 * and Ricart-Agrawala) and mutex_token.c.
 *
 * Invariants (see mutex_internal.h): a payload is decoded and validated
 * for its kind before any algorithm sees it, and a malformed one is
 * refused with COHORT_EPROTO (counted; the node counts and traces the
 * drop); a message from an incarnation newer than the one we knew resets
 * what we knew of that peer before it is processed; the application
 * callback runs exactly once per acquire.
 */
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "cohort/pbc.h"
#include "mutex.pb-c.h"
#include "mutex_internal.h"

#define MX_PAYLOAD_MAX 96
#define MX_JSON_MAX 192

/* The host's recorder of workload=file (cohort_mutex_set_file_host):
 * registered once by a host that may do file I/O, read at creation. */
static const cohort_mutex_file_host_t *file_host;

void cohort_mutex_set_file_host(const cohort_mutex_file_host_t *host) { file_host = host; }

static const cohort_proto_ops_t mutex_ops;

/* ---- configuration ------------------------------------------------------------ */

void cohort_mutex_config_default(cohort_mutex_config_t *cfg, cohort_mutex_algo_t algo) {
  memset(cfg, 0, sizeof *cfg);
  cfg->algo = algo;
  cfg->retry_ns = 100 * COHORT_NS_PER_MS;
  cfg->check_ns = 20 * COHORT_NS_PER_MS;
  cfg->lost_ns = COHORT_NS_PER_S;
  cfg->pass_ns = COHORT_NS_PER_MS;
  cfg->fd_interval_ns = 100 * COHORT_NS_PER_MS;
  cfg->fd_timeout_ns = COHORT_NS_PER_S;
  cfg->hold_ns = 5 * COHORT_NS_PER_MS;
  cfg->think_ns = 20 * COHORT_NS_PER_MS;
  cfg->start_ns = COHORT_NS_PER_S;
}

const char *cohort_mutex_algo_name(cohort_mutex_algo_t a) {
  switch (a) {
  case COHORT_MUTEX_CENTRALIZED: return "centralized";
  case COHORT_MUTEX_LAMPORT: return "lamport";
  case COHORT_MUTEX_RICART_AGRAWALA: return "ricart-agrawala";
  case COHORT_MUTEX_TOKEN_RING: return "token-ring";
  default: return "?";
  }
}

static int config_check(const cohort_mutex_config_t *c, char *err, size_t errcap) {
  const char *what = NULL;
  if ((unsigned)c->algo > COHORT_MUTEX_TOKEN_RING) what = "algorithm: unknown";
  else if (c->retry_ns <= 0) what = "retry: must be > 0";
  else if (c->check_ns <= 0) what = "check: must be > 0";
  else if (c->lease_ns < 0) what = "lease: must be >= 0";
  else if (c->lease_ns && c->algo != COHORT_MUTEX_CENTRALIZED)
    what = "lease: only the centralized algorithm has leases";
  else if (c->lease_ns && c->lease_ns <= c->hold_ns && c->workload)
    what = "lease: must be longer than hold";
  else if (c->lost_ns <= c->retry_ns) what = "lost: must be > retry";
  else if (c->pass_ns < 0) what = "pass: must be >= 0";
  else if (c->fd_interval_ns <= 0) what = "fd_interval: must be > 0";
  else if (c->fd_timeout_ns <= c->fd_interval_ns) what = "fd_timeout: must be > fd_interval";
  else if (c->hold_ns < 0 || c->think_ns < 0 || c->start_ns < 0)
    what = "hold, think, start: must be >= 0";
  else if (c->workload == COHORT_MUTEX_WORKLOAD_FILE && !c->path[0])
    what = "workload=file needs path=FILE";
  if (!what) return 0;
  if (err && errcap) cohort_fmt(err, errcap, "mutex: %s", what);
  return COHORT_EINVAL;
}

static int parse_enum(const cohort_param_t *p, size_t n, const char *key,
                      const char *const *names, int *out, char *err, size_t errcap) {
  const char *v = cohort_param_get(p, n, key);
  if (!v) return 0;
  for (int i = 0; names[i]; i++)
    if (!strcmp(v, names[i])) return *out = i, 0;
  if (err && errcap) cohort_fmt(err, errcap, "mutex: %s: unknown value '%s'", key, v);
  return COHORT_EINVAL;
}

static int parse_strings(cohort_mutex_config_t *c, const cohort_param_t *p, size_t n,
                         char *err, size_t errcap) {
  static const char *const algos[] = {"centralized", "lamport", "ricart-agrawala",
                                      "token-ring", NULL};
  static const char *const loads[] = {"none", "loop", "file", NULL};
  int algo = (int)c->algo, load = (int)c->workload;
  int rc = parse_enum(p, n, "algorithm", algos, &algo, err, errcap);
  if (!rc) rc = parse_enum(p, n, "workload", loads, &load, err, errcap);
  if (rc) return rc;
  c->algo = (cohort_mutex_algo_t)algo;
  c->workload = (cohort_mutex_workload_t)load;
  const char *path = cohort_param_get(p, n, "path");
  if (path) {
    if (strlen(path) >= sizeof c->path) {
      if (err && errcap) cohort_fmt(err, errcap, "mutex: path: too long");
      return COHORT_EINVAL;
    }
    strcpy(c->path, path);
  }
  return 0;
}

int cohort_mutex_config_parse(cohort_mutex_config_t *cfg, const cohort_param_t *p, size_t n,
                              char *err, size_t errcap) {
  static const char *const known[] = {
      "algorithm", "retry", "check", "lease", "lost", "pass", "exclude_suspected",
      "fd_interval", "fd_timeout", "workload", "entries", "hold", "think", "start", "path",
      NULL};
  static const char *const who = "mutex";
  cohort_mutex_config_t c = *cfg;
  int rc = cohort_param_check_known(p, n, known, who, err, errcap);
  if (!rc) rc = parse_strings(&c, p, n, err, errcap);
  struct {
    const char *key;
    int64_t *out;
  } durs[] = {{"retry", &c.retry_ns},         {"check", &c.check_ns},
              {"lease", &c.lease_ns},         {"lost", &c.lost_ns},
              {"pass", &c.pass_ns},           {"fd_interval", &c.fd_interval_ns},
              {"fd_timeout", &c.fd_timeout_ns}, {"hold", &c.hold_ns},
              {"think", &c.think_ns},         {"start", &c.start_ns}};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(durs) && !rc; i++)
    rc = cohort_param_duration(p, n, durs[i].key, durs[i].out, who, err, errcap);
  if (!rc) rc = cohort_param_u64(p, n, "entries", &c.entries, who, err, errcap);
  if (!rc)
    rc = cohort_param_bool(p, n, "exclude_suspected", &c.exclude_suspected, who, err, errcap);
  if (!rc) rc = config_check(&c, err, errcap);
  if (rc) return rc;
  *cfg = c;
  return 0;
}

/* ---- wire ------------------------------------------------------------------------ */

const char *cohort_mutex_kind_name(uint32_t kind) {
  static const char *const names[] = {
      NULL,     "request",   "grant", "release",     "ack",    "reply",  "token",
      "token_ack", "probe", "probe_reply", "query", "report", "renew", "cancel"};
  return kind < COHORT_ARRAY_LEN(names) ? names[kind] : NULL;
}

/* Fields each kind must carry (0 is "absent" in proto3). */
static bool msg_valid(uint32_t kind, const mx_msg_t *m) {
  if (m->state > COHORT_MUTEX_HELD) return false;
  switch (kind) {
  case COHORT_MUTEX_KIND_REQUEST: return m->req != 0;
  case COHORT_MUTEX_KIND_GRANT: return m->req != 0 && m->token != 0 && m->epoch != 0;
  case COHORT_MUTEX_KIND_RENEW:
  case COHORT_MUTEX_KIND_CANCEL: return m->req != 0;
  case COHORT_MUTEX_KIND_ACK:
  case COHORT_MUTEX_KIND_REPLY: return m->req != 0 && m->ts != 0;
  case COHORT_MUTEX_KIND_TOKEN:
  case COHORT_MUTEX_KIND_TOKEN_ACK: return m->epoch != 0 && m->seq != 0;
  case COHORT_MUTEX_KIND_PROBE:
  case COHORT_MUTEX_KIND_PROBE_REPLY:
  case COHORT_MUTEX_KIND_QUERY:
  case COHORT_MUTEX_KIND_REPORT: return m->epoch != 0;
  default: return true;
  }
}

static int decode(cohort_mutex_t *m, const cohort_msg_t *msg, mx_msg_t *out) {
  cohort_pbc_alloc_t d;
  int err = 0;
  Cohort__Mutex__Mutex *pb = (Cohort__Mutex__Mutex *)cohort_pbc_unpack(
      &d, m->alloc, &cohort__mutex__mutex__descriptor, msg->payload, msg->payload_len, &err);
  if (!pb) {
    if (err == COHORT_ENOMEM) return m->stats.rx_nomem++, COHORT_ENOMEM;
    return m->stats.rx_malformed++, COHORT_EPROTO;
  }
  mx_msg_t v = {.req = pb->req, .ts = pb->ts, .token = pb->token, .epoch = pb->epoch,
                .seq = pb->seq, .max_token = pb->max_token, .holder_req = pb->holder_req,
                .own_ts = pb->own_ts,
                .state = pb->state, .holder = pb->holder};
  cohort__mutex__mutex__free_unpacked(pb, &d.base);
  if (!msg_valid(msg->kind, &v)) return m->stats.rx_malformed++, COHORT_EPROTO;
  *out = v;
  return 0;
}

static size_t encode(const mx_msg_t *v, uint8_t *buf) {
  Cohort__Mutex__Mutex pb = COHORT__MUTEX__MUTEX__INIT;
  pb.req = v->req;
  pb.ts = v->ts;
  pb.token = v->token;
  pb.epoch = v->epoch;
  pb.state = v->state;
  pb.seq = v->seq;
  pb.max_token = v->max_token;
  pb.holder = v->holder;
  pb.holder_req = v->holder_req;
  pb.own_ts = v->own_ts;
  size_t len = cohort__mutex__mutex__get_packed_size(&pb);
  COHORT_ASSERT(len <= MX_PAYLOAD_MAX);
  size_t packed = cohort__mutex__mutex__pack(&pb, buf);
  COHORT_ASSERT(packed == len);
  return packed;
}

/* ---- helpers for the algorithms ------------------------------------------------ */

cohort_node_id_t mx_self(const cohort_mutex_t *m) { return cohort_node_id(m->node); }
int64_t mx_now(const cohort_mutex_t *m) { return cohort_node_now(m->node); }

mx_peer_t *mx_peer(cohort_mutex_t *m, cohort_node_id_t id) {
  size_t lo = 0, hi = m->peers_len;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->peers[mid].id == id) return &m->peers[mid];
    if (m->peers[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

bool mx_suspects(const cohort_mutex_t *m, cohort_node_id_t id) {
  return m->fdp && cohort_fd_is_suspected(m->fdp, id);
}

bool mx_gone(const cohort_mutex_t *m, const mx_peer_t *p) {
  return p->suspected && cohort_node_now(m->node) - p->heard_ns > m->cfg.fd_timeout_ns;
}

uint32_t mx_wire_state(const cohort_mutex_t *m) { return (uint32_t)m->state; }

/* Answers and rights (GRANT, ACK, REPLY, TOKEN and the acknowledgements
 * of hops and probes, REPORT) are bound to the incarnation of `to` we
 * last heard from (cohort_node_send_to): a GRANT for a request of one
 * incarnation can never be taken by the next, whose request ids start
 * again at 1. Requests and questions about the sender's own state
 * (REQUEST, RELEASE, QUERY, PROBE, RENEW, CANCEL) mean the same to any
 * incarnation of `to` and go to whichever is alive, so a peer that
 * restarts faster than a slow link delivers still hears them. */
static bool bound_kind(uint32_t kind) {
  switch (kind) {
  case COHORT_MUTEX_KIND_GRANT:
  case COHORT_MUTEX_KIND_ACK:
  case COHORT_MUTEX_KIND_REPLY:
  case COHORT_MUTEX_KIND_TOKEN:
  case COHORT_MUTEX_KIND_TOKEN_ACK:
  case COHORT_MUTEX_KIND_PROBE_REPLY:
  case COHORT_MUTEX_KIND_REPORT: return true;
  default: return false;
  }
}

void mx_send(cohort_mutex_t *m, cohort_node_id_t to, uint32_t kind, const mx_msg_t *pm) {
  uint8_t buf[MX_PAYLOAD_MAX];
  mx_msg_t v = *pm;
  if (!v.max_token) v.max_token = m->max_token;
  size_t len = encode(&v, buf);
  mx_peer_t *pe = mx_peer(m, to);
  cohort_incarnation_t inc = !bound_kind(kind) ? COHORT_INCARNATION_ANY : pe ? pe->inc : 0;
  if (cohort_node_send_to(m->node, &m->proto, to, inc, kind, buf, len)) m->stats.tx_errors++;
  else m->stats.tx[kind]++;
}

/* A token from a peer is plausible if it is at most
 * COHORT_MUTEX_TOKEN_JUMP_MAX beyond both our highest token and our HLC. */
bool mx_token_plausible(const cohort_mutex_t *m, uint64_t token) {
  int64_t l = cohort_node_hlc(m->node).l;
  uint64_t known = l > 0 && (uint64_t)l > m->max_token ? (uint64_t)l : m->max_token;
  return cohort_advance_ok(known, token, COHORT_MUTEX_TOKEN_JUMP_MAX, COHORT_COUNTER_REMOTE_MAX);
}

void mx_trace(cohort_mutex_t *m, const char *what, const char *json) {
  cohort_node_trace_state(m->node, &m->proto, what, json);
}

uint64_t mx_fresh_token(cohort_mutex_t *m) {
  int64_t l = cohort_node_hlc(m->node).l;
  uint64_t hlc = l > 0 ? (uint64_t)l : 0;
  return m->max_token + 1 > hlc ? m->max_token + 1 : hlc;
}

void mx_note_token(cohort_mutex_t *m, uint64_t token) {
  if (token > m->max_token) m->max_token = token;
}

const char *cohort_mutex_cs_event_name(cohort_mutex_cs_event_t ev) {
  switch (ev) {
  case COHORT_MUTEX_CS_ENTER: return "enter";
  case COHORT_MUTEX_CS_EXIT: return "exit";
  case COHORT_MUTEX_CS_EXPIRE: return "expire";
  default: return "?";
  }
}

void cohort_mutex_set_cs_hook(cohort_mutex_t *m, cohort_mutex_cs_fn fn, void *ud) {
  COHORT_ASSERT(!m->file_host); /* workload=file owns the hook */
  m->cs_fn = fn;
  m->cs_ud = ud;
}

static void cs_event(cohort_mutex_t *m, cohort_mutex_cs_event_t ev) {
  if (m->cs_fn) m->cs_fn(m->cs_ud, mx_self(m), ev, m->req, m->token);
}

/* The grant keeps the callback (a lease may still expire); every other
 * outcome is the last of its acquire. */
static void run_cb(cohort_mutex_t *m, int status, uint64_t token) {
  cohort_mutex_cb_t cb = m->cb;
  void *ud = m->cb_ud;
  if (status != 0) {
    m->cb = NULL;
    m->cb_ud = NULL;
  }
  if (cb) cb(m, status, token, ud);
}

void mx_granted(cohort_mutex_t *m, uint64_t token) {
  COHORT_ASSERT(m->state == COHORT_MUTEX_PENDING);
  COHORT_ASSERT(token > m->token);
  m->state = COHORT_MUTEX_HELD;
  m->token = token;
  mx_note_token(m, token);
  m->stats.grants++;
  char json[MX_JSON_MAX];
  cohort_fmt(json, sizeof json, "{\"req\":%llu,\"token\":%llu}", (unsigned long long)m->req,
             (unsigned long long)token);
  mx_trace(m, "lock_grant", json);
  cs_event(m, COHORT_MUTEX_CS_ENTER);
  run_cb(m, 0, token);
}

static void trace_release(cohort_mutex_t *m, const char *reason) {
  char json[MX_JSON_MAX];
  cohort_fmt(json, sizeof json, "{\"req\":%llu,\"token\":%llu,\"reason\":\"%s\"}",
             (unsigned long long)m->req, (unsigned long long)m->token, reason);
  mx_trace(m, "lock_release", json);
}

void mx_expired(cohort_mutex_t *m) {
  COHORT_ASSERT(m->state == COHORT_MUTEX_HELD);
  m->state = COHORT_MUTEX_IDLE;
  m->stats.expiries++;
  trace_release(m, "lease");
  cs_event(m, COHORT_MUTEX_CS_EXPIRE);
  cohort_node_timer_cancel(m->node, &m->proto, MX_TIMER_LEASE);
  run_cb(m, COHORT_ETIMEDOUT, m->token);
}

/* ---- the built-in workload -------------------------------------------------------- */

static void work_schedule(cohort_mutex_t *m, int64_t delay) {
  (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_WORK, mx_now(m) + delay);
}

static void work_cb(cohort_mutex_t *m, int status, uint64_t token, void *ud) {
  (void)token;
  (void)ud;
  if (status == 0) work_schedule(m, m->cfg.hold_ns); /* hold, then release */
  else work_schedule(m, m->cfg.think_ns / 2 + 1);   /* expired: try again later */
}

static void work_timer(cohort_mutex_t *m) {
  if (m->state == COHORT_MUTEX_HELD) {
    (void)cohort_mutex_release(m);
    m->work_done++;
    if (m->cfg.entries && m->work_done >= m->cfg.entries) return;
    int64_t think = m->cfg.think_ns
                        ? (int64_t)cohort_node_random_below(m->node, (uint64_t)m->cfg.think_ns + 1)
                        : 0;
    work_schedule(m, think);
    return;
  }
  if (m->state == COHORT_MUTEX_IDLE) {
    (void)cohort_mutex_acquire(m, NULL, work_cb);
  }
}

/* ---- protocol entry points ----------------------------------------------------- */

static cohort_mutex_t *mx_of(cohort_proto_t *p) {
  COHORT_ASSERT(p->ops == &mutex_ops);
  return (cohort_mutex_t *)p; /* proto is the first member */
}

static void arm_tick(cohort_mutex_t *m) {
  (void)cohort_node_timer_set(m->node, &m->proto, MX_TIMER_TICK, mx_now(m) + m->cfg.check_ns);
}

static void mx_start(cohort_proto_t *p) {
  cohort_mutex_t *m = mx_of(p);
  if (m->started) return;
  m->started = true;
  if (m->algo->start) m->algo->start(m);
  arm_tick(m);
  if (m->cfg.workload != COHORT_MUTEX_WORKLOAD_NONE) work_schedule(m, m->cfg.start_ns);
}

/* A newer incarnation of `peer` spoke: forget what its old one told us. */
static void peer_reset(cohort_mutex_t *m, mx_peer_t *pe, cohort_incarnation_t inc) {
  pe->inc = inc;
  pe->stamp = 0;
  pe->state = COHORT_MUTEX_IDLE;
  pe->ts = 0;
  pe->req = 0;
  pe->answered = false;
  pe->deferred = false;
  pe->queued = false;
  if (m->algo->peer_reset) m->algo->peer_reset(m, pe);
}

static int mx_recv(cohort_proto_t *p, const cohort_msg_t *msg) {
  cohort_mutex_t *m = mx_of(p);
  if (msg->kind > COHORT_MUTEX_KIND_MAX || !(m->algo->kinds & MX_KIND_BIT(msg->kind)))
    return m->stats.rx_malformed++, COHORT_EPROTO;
  mx_peer_t *pe = mx_peer(m, msg->from);
  if (!pe) return m->stats.rx_malformed++, COHORT_EPROTO;
  mx_msg_t v;
  int rc = decode(m, msg, &v);
  if (rc) return rc;
  if (msg->from_incarnation < pe->inc) return m->stats.rx_stale++, 0;
  if (!mx_token_plausible(m, v.max_token) || !mx_token_plausible(m, v.token))
    return m->stats.rx_malformed++, COHORT_EPROTO; /* refused, counted and traced */
  if (pe->inc == 0) pe->inc = msg->from_incarnation; /* first contact */
  else if (msg->from_incarnation > pe->inc) peer_reset(m, pe, msg->from_incarnation);
  m->stats.rx[msg->kind]++;
  pe->heard_ns = mx_now(m);
  mx_note_token(m, v.max_token);
  if (!m->started) return 0;
  return m->algo->recv(m, msg, &v);
}

static void mx_timer(cohort_proto_t *p, uint32_t id) {
  cohort_mutex_t *m = mx_of(p);
  switch (id) {
  case MX_TIMER_TICK:
    for (size_t i = 0; i < m->peers_len; i++)
      m->peers[i].suspected = mx_suspects(m, m->peers[i].id);
    if (m->algo->tick) m->algo->tick(m);
    arm_tick(m);
    break;
  case MX_TIMER_WORK: work_timer(m); break;
  default:
    if (m->algo->timer) m->algo->timer(m, id);
  }
}

/* ---- the peer table follows the node's peers ------------------------------ */

static bool peers_reserve(cohort_mutex_t *m, size_t need) {
  mx_peer_t *t = cohort_array_grow(m->alloc, m->peers, &m->peers_cap, need, COHORT_NODES_MAX,
                                   sizeof *t);
  if (t) m->peers = t;
  return t != NULL;
}

static void trace_peer(cohort_mutex_t *m, const char *what, cohort_node_id_t id) {
  if (!cohort_node_tracing(m->node)) return;
  char json[48];
  cohort_fmt(json, sizeof json, "{\"peer\":%u}", (unsigned)id);
  mx_trace(m, what, json);
}

/* A peer joined the node: it takes part from now on. It has answered
 * nothing and reported nothing, so a pending request (Lamport, RA) or a
 * recovery / probe round now also waits for it; the next tick asks it. */
static void peer_added(cohort_mutex_t *m, cohort_node_id_t id) {
  if (mx_peer(m, id)) return;
  if (!peers_reserve(m, m->peers_len + 1)) {
    m->stats.peers_nomem++;
    return;
  }
  size_t at = 0;
  while (at < m->peers_len && m->peers[at].id < id) at++;
  memmove(&m->peers[at + 1], &m->peers[at], (m->peers_len - at) * sizeof m->peers[0]);
  m->peers[at] = (mx_peer_t){.id = id, .heard_ns = INT64_MIN / 2,
                             .last_sent_ns = INT64_MIN / 2, .alive_ns = INT64_MIN / 2};
  m->peers_len++;
  m->stats.peers_added++;
  trace_peer(m, "peer_added", id);
}

/* A peer left the node: forget everything it said, as for a restart (it
 * holds nothing and asks nothing: the algorithm frees what it held, drops
 * a token hop to it), drop it from the table, and let the algorithm look
 * again at once (a request that waited only for it may now be granted).
 * Its claims are dropped, not waited for: removing a node that is still
 * in its critical section is the membership's error, not the mutex's. */
static void peer_removed(cohort_mutex_t *m, cohort_node_id_t id) {
  mx_peer_t *pe = mx_peer(m, id);
  if (!pe) return;
  peer_reset(m, pe, pe->inc);
  pe = mx_peer(m, id); /* the algorithm's reset may have run callbacks */
  if (!pe) return;
  size_t at = (size_t)(pe - m->peers);
  memmove(&m->peers[at], &m->peers[at + 1], (m->peers_len - at - 1) * sizeof m->peers[0]);
  m->peers_len--;
  m->stats.peers_removed++;
  trace_peer(m, "peer_removed", id);
  if (m->started && m->algo->tick) m->algo->tick(m);
}

static void mx_peer_event(cohort_proto_t *p, cohort_node_id_t peer, cohort_peer_event_t ev) {
  cohort_mutex_t *m = mx_of(p);
  if (ev == COHORT_PEER_ADDED) {
    peer_added(m, peer);
    return;
  }
  if (ev == COHORT_PEER_REMOVED) {
    peer_removed(m, peer);
    return;
  }
  mx_peer_t *pe = mx_peer(m, peer);
  if (!pe || ev != COHORT_PEER_RESTARTED) return;
  /* The node tells us a newer incarnation spoke (in any protocol) and
   * knows its number: our messages are bound to it from now on. */
  peer_reset(m, pe, cohort_node_peer_incarnation(m->node, peer));
}

static const cohort_proto_ops_t mutex_ops = {
    .name = "mutex",
    .proto_id = COHORT_PROTO_MUTEX,
    .kind_name = cohort_mutex_kind_name,
    .start = mx_start,
    .recv = mx_recv,
    .timer = mx_timer,
    .peer = mx_peer_event,
};

/* ---- public API ------------------------------------------------------------------ */

int cohort_mutex_acquire(cohort_mutex_t *m, void *ud, cohort_mutex_cb_t cb) {
  if (!m->started || m->state != COHORT_MUTEX_IDLE) return COHORT_ESTATE;
  m->state = COHORT_MUTEX_PENDING;
  m->req++;
  m->cb = cb;
  m->cb_ud = ud;
  m->req_sent_ns = mx_now(m);
  m->stats.requests++;
  char json[MX_JSON_MAX];
  cohort_fmt(json, sizeof json, "{\"req\":%llu}", (unsigned long long)m->req);
  mx_trace(m, "lock_request", json);
  m->algo->request(m);
  return 0;
}

int cohort_mutex_release(cohort_mutex_t *m) {
  if (m->state != COHORT_MUTEX_HELD) return COHORT_ESTATE;
  m->state = COHORT_MUTEX_IDLE;
  m->cb = NULL;
  m->cb_ud = NULL;
  m->stats.releases++;
  cs_event(m, COHORT_MUTEX_CS_EXIT);
  trace_release(m, "release");
  cohort_node_timer_cancel(m->node, &m->proto, MX_TIMER_LEASE);
  m->algo->release(m);
  return 0;
}

int cohort_mutex_cancel(cohort_mutex_t *m) {
  if (m->state != COHORT_MUTEX_PENDING) return COHORT_ESTATE;
  m->state = COHORT_MUTEX_IDLE;
  m->stats.cancels++;
  char json[MX_JSON_MAX];
  cohort_fmt(json, sizeof json, "{\"req\":%llu}", (unsigned long long)m->req);
  mx_trace(m, "lock_cancel", json);
  m->algo->cancel(m);
  run_cb(m, COHORT_ECANCELED, 0);
  return 0;
}

cohort_mutex_state_t cohort_mutex_state(const cohort_mutex_t *m) { return m->state; }
uint64_t cohort_mutex_token(const cohort_mutex_t *m) { return m->token; }
uint64_t cohort_mutex_max_token(const cohort_mutex_t *m) { return m->max_token; }
cohort_node_id_t cohort_mutex_coordinator(const cohort_mutex_t *m) { return m->leader; }
uint64_t cohort_mutex_generation(const cohort_mutex_t *m) { return m->tk.last_gen; }
const cohort_mutex_stats_t *cohort_mutex_stats(const cohort_mutex_t *m) { return &m->stats; }
cohort_proto_t *cohort_mutex_proto(cohort_mutex_t *m) { return &m->proto; }
cohort_fd_t *cohort_mutex_fd(cohort_mutex_t *m) { return m->fdp; }
cohort_election_t *cohort_mutex_election(cohort_mutex_t *m) { return m->elp; }

cohort_mutex_t *cohort_mutex_from_proto(cohort_proto_t *p) {
  return p && p->ops == &mutex_ops ? (cohort_mutex_t *)p : NULL;
}

int cohort_mutex_status(const cohort_mutex_t *m, char *buf, size_t cap) {
  static const char *const states[] = {"idle", "pending", "held"};
  char who[32] = "";
  if (m->cfg.algo == COHORT_MUTEX_CENTRALIZED && m->leader != COHORT_NODE_NONE)
    cohort_fmt(who, sizeof who, ", coordinator %u", m->leader);
  else if (m->cfg.algo == COHORT_MUTEX_TOKEN_RING)
    cohort_fmt(who, sizeof who, ", gen %llu%s", (unsigned long long)m->tk.last_gen,
               m->tk.have ? " (token here)" : "");
  return cohort_fmt(buf, cap, "%s token %llu max %llu (%s%s) entries %llu", states[m->state],
                    (unsigned long long)m->token, (unsigned long long)m->max_token,
                    cohort_mutex_algo_name(m->cfg.algo), who,
                    (unsigned long long)m->stats.grants);
}

/* ---- creation ---------------------------------------------------------------------- */

static const mx_algo_t *algo_of(cohort_mutex_algo_t a) {
  switch (a) {
  case COHORT_MUTEX_CENTRALIZED: return &mx_centralized_algo;
  case COHORT_MUTEX_LAMPORT: return &mx_lamport_algo;
  case COHORT_MUTEX_RICART_AGRAWALA: return &mx_ricart_agrawala_algo;
  default: return &mx_token_ring_algo;
  }
}

static int attach_own_fd(cohort_mutex_t *m, char *err, size_t errcap);
static int attach_own_election(cohort_mutex_t *m, char *err, size_t errcap);

/* Use the node's detector (and, for centralized, its election) when one
 * is attached; create and attach our own only when none is. */
static int attach_helpers(cohort_mutex_t *m, char *err, size_t errcap) {
  m->fdp = cohort_fd_from_proto(cohort_node_proto(m->node, COHORT_PROTO_FD));
  if (m->cfg.algo == COHORT_MUTEX_CENTRALIZED)
    m->elp = cohort_election_from_proto(cohort_node_proto(m->node, COHORT_PROTO_ELECTION));
  int rc = m->fdp ? 0 : attach_own_fd(m, err, errcap);
  if (rc || m->cfg.algo != COHORT_MUTEX_CENTRALIZED || m->elp) return rc;
  return attach_own_election(m, err, errcap);
}

static int attach_own_fd(cohort_mutex_t *m, char *err, size_t errcap) {
  cohort_fd_config_t fc;
  cohort_fd_config_default(&fc);
  fc.detector = COHORT_FD_FIXED;
  fc.interval_ns = m->cfg.fd_interval_ns;
  fc.timeout_ns = m->cfg.fd_timeout_ns;
  fc.min_stddev_ns = fc.interval_ns / 10 + 1;
  fc.pause_ns = fc.interval_ns;
  fc.check_ns = fc.interval_ns / 4 + 1;
  int rc = cohort_fd_init(&m->fd, m->node, &fc);
  if (rc) {
    if (err && errcap) cohort_fmt(err, errcap, "mutex: failure detector: %s", cohort_strerror(rc));
    return rc;
  }
  if ((rc = cohort_node_attach(m->node, cohort_fd_proto(&m->fd)))) {
    cohort_fd_close(&m->fd);
    if (err && errcap)
      cohort_fmt(err, errcap, "mutex: cannot attach its failure detector (%s): list the "
                 "node's 'fd' before 'mutex' to share it", cohort_strerror(rc));
    return COHORT_EINVAL;
  }
  m->fd_attached = true;
  m->fdp = &m->fd;
  return 0;
}

static int attach_own_election(cohort_mutex_t *m, char *err, size_t errcap) {
  cohort_election_config_t ec;
  cohort_election_config_default(&ec, COHORT_ELECTION_BULLY);
  ec.check_ns = m->cfg.check_ns;
  int rc = cohort_election_init(&m->election, m->node, &ec);
  if (!rc) {
    cohort_election_set_fd(&m->election, m->fdp);
    rc = cohort_node_attach(m->node, cohort_election_proto(&m->election));
  }
  if (rc) {
    if (err && errcap)
      cohort_fmt(err, errcap, "mutex: cannot attach its election (%s): list the node's "
                 "election before 'mutex' to share it", cohort_strerror(rc));
    return COHORT_EINVAL;
  }
  m->election_attached = true;
  m->elp = &m->election;
  return 0;
}

static void detach_helpers(cohort_mutex_t *m) {
  if (m->election_attached) {
    cohort_node_detach(m->node, cohort_election_proto(&m->election));
    cohort_election_close(&m->election);
    m->election_attached = false;
  }
  if (m->fd_attached) {
    cohort_node_detach(m->node, cohort_fd_proto(&m->fd));
    cohort_fd_close(&m->fd);
    m->fd_attached = false;
  }
}

static int open_file(cohort_mutex_t *m, char *err, size_t errcap) {
  if (m->cfg.workload != COHORT_MUTEX_WORKLOAD_FILE) return 0;
  if (!file_host) {
    if (err && errcap)
      cohort_fmt(err, errcap, "mutex: workload=file: this program registered no file "
                 "recorder (cohort_mutex_set_file_host)");
    return COHORT_EINVAL;
  }
  char e[128] = "";
  void *h = file_host->open(m->cfg.path, e, sizeof e);
  if (!h) {
    if (err && errcap) cohort_fmt(err, errcap, "mutex: path: %s", e);
    return COHORT_EINVAL;
  }
  m->cs_fn = file_host->record;
  m->cs_ud = h;
  m->file_host = file_host;
  return 0;
}

int cohort_mutex_new(cohort_node_t *node, const cohort_mutex_config_t *cfg,
                     cohort_mutex_t **out, char *err, size_t errcap) {
  if (!node || !cfg || !out) return COHORT_EINVAL;
  int rc = config_check(cfg, err, errcap);
  if (rc) return rc;
  const cohort_allocator_t *a = cohort_node_allocator(node);
  size_t np = 0;
  const cohort_node_id_t *ids = cohort_node_peers(node, &np);
  cohort_mutex_t *m = cohort_calloc(a, 1, sizeof *m);
  mx_peer_t *peers = np ? cohort_calloc(a, np, sizeof *peers) : NULL;
  if (!m || (np && !peers)) {
    cohort_free(a, m);
    cohort_free(a, peers);
    return COHORT_ENOMEM;
  }
  m->proto.ops = &mutex_ops;
  m->proto.node = node;
  m->node = node;
  m->alloc = a;
  m->cfg = *cfg;
  m->algo = algo_of(cfg->algo);
  m->peers = peers;
  m->peers_len = np;
  m->peers_cap = np;
  for (size_t i = 0; i < np; i++)
    peers[i] = (mx_peer_t){.id = ids[i], .inc = 0, .heard_ns = INT64_MIN / 2};
  m->leader = COHORT_NODE_NONE;
  m->co.holder = COHORT_NODE_NONE;
  if ((rc = attach_helpers(m, err, errcap)) || (rc = open_file(m, err, errcap))) {
    cohort_mutex_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void cohort_mutex_free(cohort_mutex_t *m) {
  if (!m) return;
  detach_helpers(m);
  if (m->file_host) m->file_host->close(m->cs_ud);
  cohort_free(m->alloc, m->peers);
  cohort_free(m->alloc, m);
}

/* ---- factory ------------------------------------------------------------------------ */

static int factory_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                          cohort_proto_t **out, char *err, size_t errcap) {
  cohort_mutex_config_t cfg;
  cohort_mutex_config_default(&cfg, COHORT_MUTEX_CENTRALIZED);
  int rc = cohort_mutex_config_parse(&cfg, params, n, err, errcap);
  if (rc) return rc;
  cohort_mutex_t *m;
  if ((rc = cohort_mutex_new(node, &cfg, &m, err, errcap))) return rc;
  *out = &m->proto;
  return 0;
}

static void factory_destroy(cohort_proto_t *p) { cohort_mutex_free(cohort_mutex_from_proto(p)); }

static int factory_status(cohort_proto_t *p, char *buf, size_t cap) {
  cohort_mutex_t *m = cohort_mutex_from_proto(p);
  return m ? cohort_mutex_status(m, buf, cap) : COHORT_EINVAL;
}

const cohort_proto_factory_t cohort_mutex_factory = {
    "mutex",
    "mutual exclusion algorithm=centralized|lamport|ricart-agrawala|token-ring [retry=100ms "
    "check=20ms lease=0 lost=1s pass=1ms exclude_suspected=false fd_interval=100ms "
    "fd_timeout=1s workload=none|loop|file entries=0 hold=5ms think=20ms start=1s path=F]; "
    "uses the node's fd (and election, for centralized) when listed before it, else brings "
    "its own",
    factory_create, factory_destroy, factory_status};
