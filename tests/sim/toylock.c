/*
 * tests/sim/toylock.c — "toylock", a tiny lease-based lock for the
 * shrinker's test, with a known bug behind a test-only flag.
 *
 * Node 1 coordinates; every other node, when idle for `think`, sends
 * REQUEST(req) to node 1 (again every `retry` until granted). The
 * coordinator grants to one requester at a time and frees the lock on its
 * RELEASE or when the `lease` runs out; a holder keeps the lock for
 * `hold` < lease, then releases. Grants and releases are traced as
 * "lock_grant" / "lock_release" state events with data {"req","token"},
 * so `check mutex-safety proto=toylock` judges it.
 *
 * The coordinator keeps its state in volatile memory only, so after a
 * restart it does not know who holds the lock. The correct protocol waits
 * one lease after (re)starting before granting anything: any grant of
 * the previous incarnation has expired by then. bug=on skips that wait
 * — the restarted coordinator grants at once while the old holder may
 * still be inside: mutual exclusion is lost whenever the coordinator
 * crashes and restarts during a hold and a request arrives soon after.
 */
#include <stdio.h>
#include <string.h>

#include "testproto.h"

enum { K_REQUEST = 1, K_GRANT = 2, K_RELEASE = 3 };
enum { T_THINK = 1, T_RETRY = 2, T_HOLD = 3, T_LEASE = 4 };
enum { IDLE, WAITING, HOLDING };

typedef struct toylock {
  cohort_proto_t base;
  const cohort_allocator_t *alloc;
  int64_t think_ns, retry_ns, hold_ns, lease_ns;
  bool bug;
  /* requester */
  int state;
  uint64_t req;
  /* coordinator */
  cohort_node_id_t holder;
  uint64_t holder_req, token;
  int64_t grace_until_ns, lease_until_ns, granted_ns;
} toylock_t;

static int64_t now_of(cohort_proto_t *p) { return cohort_node_now(p->node); }

static void send_req(cohort_proto_t *p, uint32_t kind, cohort_node_id_t to, uint64_t req) {
  uint8_t buf[8];
  memcpy(buf, &req, sizeof req);
  (void)cohort_node_send(p->node, p, to, kind, buf, sizeof buf);
}

static void trace_lock(cohort_proto_t *p, const char *what, uint64_t req, uint64_t token) {
  char data[96];
  snprintf(data, sizeof data, "{\"req\":%llu,\"token\":%llu}", (unsigned long long)req,
           (unsigned long long)token);
  cohort_node_trace_state(p->node, p, what, data);
}

static void tl_start(cohort_proto_t *p) {
  toylock_t *t = (toylock_t *)p;
  int64_t now = now_of(p);
  if (cohort_node_id(p->node) == 1) {
    t->grace_until_ns = t->bug ? now : now + t->lease_ns;
    return;
  }
  int64_t phase = (int64_t)cohort_node_random_below(p->node, (uint64_t)t->think_ns);
  cohort_node_timer_set(p->node, p, T_THINK, now + phase);
}

static void tl_timer(cohort_proto_t *p, uint32_t id) {
  toylock_t *t = (toylock_t *)p;
  int64_t now = now_of(p);
  if (id == T_LEASE) {
    if (t->holder && now >= t->lease_until_ns) t->holder = 0;
  } else if (id == T_THINK || (id == T_RETRY && t->state == WAITING)) {
    if (id == T_THINK) {
      t->state = WAITING;
      t->req++;
    }
    send_req(p, K_REQUEST, 1, t->req);
    cohort_node_timer_set(p->node, p, T_RETRY, now + t->retry_ns);
  } else if (id == T_HOLD && t->state == HOLDING) {
    trace_lock(p, "lock_release", t->req, t->req);
    send_req(p, K_RELEASE, 1, t->req);
    t->state = IDLE;
    cohort_node_timer_set(p->node, p, T_THINK, now + t->think_ns);
  }
}

static void coordinator_recv(toylock_t *t, const cohort_msg_t *m, uint64_t req) {
  cohort_proto_t *p = &t->base;
  int64_t now = now_of(p);
  if (m->kind == K_RELEASE && t->holder == m->from && t->holder_req == req) t->holder = 0;
  if (m->kind != K_REQUEST || now < t->grace_until_ns) return;
  if (t->holder && (t->holder != m->from || t->holder_req != req)) return; /* busy */
  /* A repeated request of the holder gets the grant again only while the
   * hold it starts still ends well inside the lease. */
  if (t->holder && now - t->granted_ns > (t->lease_ns - t->hold_ns) / 2) return;
  if (!t->holder) {
    t->granted_ns = now;
    t->holder = m->from;
    t->holder_req = req;
    t->token++;
    t->lease_until_ns = now + t->lease_ns;
    cohort_node_timer_set(p->node, p, T_LEASE, t->lease_until_ns);
  }
  send_req(p, K_GRANT, m->from, req);
}

static int tl_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  toylock_t *t = (toylock_t *)p;
  uint64_t req;
  if (m->payload_len != sizeof req) return COHORT_EPROTO;
  memcpy(&req, m->payload, sizeof req);
  if (cohort_node_id(p->node) == 1) {
    coordinator_recv(t, m, req);
    return 0;
  }
  if (m->kind != K_GRANT || t->state != WAITING || req != t->req) return 0;
  t->state = HOLDING;
  trace_lock(p, "lock_grant", req, req);
  cohort_node_timer_set(p->node, p, T_HOLD, now_of(p) + t->hold_ns);
  return 0;
}

static const char *tl_kind_name(uint32_t kind) {
  return kind == K_REQUEST ? "request" : kind == K_GRANT ? "grant"
       : kind == K_RELEASE ? "release" : NULL;
}

static const cohort_proto_ops_t tl_ops = {
    .name = "toylock", .proto_id = COHORT_PROTO_APP + 2, .kind_name = tl_kind_name,
    .start = tl_start, .recv = tl_recv, .timer = tl_timer};

static int tl_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                     cohort_proto_t **out, char *err, size_t errcap) {
  static const char *const known[] = {"think", "retry", "hold", "lease", "bug", NULL};
  toylock_t c = {.think_ns = 200 * COHORT_NS_PER_MS, .retry_ns = 100 * COHORT_NS_PER_MS,
                 .hold_ns = 1000 * COHORT_NS_PER_MS, .lease_ns = 1500 * COHORT_NS_PER_MS};
  int rc = cohort_param_check_known(params, n, known, "toylock", err, errcap);
  if (!rc) rc = cohort_param_duration(params, n, "think", &c.think_ns, "toylock", err, errcap);
  if (!rc) rc = cohort_param_duration(params, n, "retry", &c.retry_ns, "toylock", err, errcap);
  if (!rc) rc = cohort_param_duration(params, n, "hold", &c.hold_ns, "toylock", err, errcap);
  if (!rc) rc = cohort_param_duration(params, n, "lease", &c.lease_ns, "toylock", err, errcap);
  if (!rc) rc = cohort_param_bool(params, n, "bug", &c.bug, "toylock", err, errcap);
  if (rc) return rc;
  if (c.think_ns <= 0 || c.retry_ns <= 0 || c.hold_ns <= 0 || c.lease_ns <= c.hold_ns) {
    cohort_fmt(err, errcap, "toylock: durations must be > 0 and lease > hold");
    return COHORT_EINVAL;
  }
  toylock_t *t = cohort_calloc(cohort_node_allocator(node), 1, sizeof *t);
  if (!t) return COHORT_ENOMEM;
  *t = c;
  t->base.ops = &tl_ops;
  t->alloc = cohort_node_allocator(node);
  *out = &t->base;
  return 0;
}

static void tl_destroy(cohort_proto_t *p) {
  toylock_t *t = (toylock_t *)p;
  cohort_free(t->alloc, t);
}

const cohort_proto_factory_t test_toylock_factory = {
    .name = "toylock",
    .help = "toylock think=200ms retry=100ms hold=1s lease=1.5s bug=off (tests)",
    .create = tl_create, .destroy = tl_destroy};
