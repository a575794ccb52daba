/*
 * tests/sim/testproto.c — the "ping" test protocol (see testproto.h). It
 * uses every node entry point a real protocol uses: timers, broadcast,
 * recv with payload validation, and the node's random stream.
 */
#include <stdio.h>
#include <string.h>

#include "cohort/sim.h"
#include "testproto.h"

static void ping_start(cohort_proto_t *p) {
  test_ping_t *t = (test_ping_t *)p;
  int64_t phase = (int64_t)cohort_node_random_below(p->node, (uint64_t)t->interval_ns);
  cohort_node_timer_set(p->node, p, 1, cohort_node_now(p->node) + phase);
}

static void ping_timer(cohort_proto_t *p, uint32_t id) {
  test_ping_t *t = (test_ping_t *)p;
  uint8_t buf[1024] = {0};
  uint64_t c = ++t->sent;
  memcpy(buf, &c, sizeof c);
  cohort_node_broadcast(p->node, p, 1, buf, t->size);
  cohort_node_timer_set(p->node, p, id, cohort_node_now(p->node) + t->interval_ns);
}

static int ping_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  test_ping_t *t = (test_ping_t *)p;
  if (m->payload_len < 8 || m->kind != 1) return COHORT_EPROTO;
  t->received++;
  uint64_t c;
  memcpy(&c, m->payload, sizeof c);
  if (m->from < TEST_PING_PEERS) {
    if (t->from_inc[m->from] == m->from_incarnation && c < t->last_counter[m->from])
      t->out_of_order++;
    t->from_count[m->from]++;
    t->from_inc[m->from] = m->from_incarnation;
    t->last_counter[m->from] = c;
  }
  t->saw_sim = cohort_sim_current() != NULL;
  return 0;
}

static const char *ping_kind_name(uint32_t kind) { return kind == 1 ? "ping" : NULL; }

/* "leave" stops the broadcasts (the node stays up); "fail" is refused;
 * anything else is unknown. Every call is counted and the command kept. */
static int ping_control(cohort_proto_t *p, const char *cmd) {
  test_ping_t *t = (test_ping_t *)p;
  t->controls++;
  snprintf(t->last_cmd, sizeof t->last_cmd, "%s", cmd);
  if (!strcmp(cmd, "leave")) {
    t->left = true;
    cohort_node_timer_cancel(p->node, p, 1);
    return 0;
  }
  return !strcmp(cmd, "fail") ? COHORT_EINVAL : COHORT_EUNKNOWN;
}

static const cohort_proto_ops_t ping_ops = {
    .name = "ping", .proto_id = COHORT_PROTO_APP, .kind_name = ping_kind_name,
    .start = ping_start, .recv = ping_recv, .timer = ping_timer, .control = ping_control};

static int ping_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                       cohort_proto_t **out, char *err, size_t errcap) {
  static const char *const known[] = {"interval", "size", NULL};
  int64_t interval = 100 * COHORT_NS_PER_MS;
  uint64_t size = 8;
  int rc = cohort_param_check_known(params, n, known, "ping", err, errcap);
  if (!rc) rc = cohort_param_duration(params, n, "interval", &interval, "ping", err, errcap);
  if (!rc) rc = cohort_param_u64(params, n, "size", &size, "ping", err, errcap);
  if (rc) return rc;
  if (interval <= 0 || size < 8 || size > 1024) {
    cohort_fmt(err, errcap, "ping: interval must be > 0 and size in 8..1024");
    return COHORT_EINVAL;
  }
  test_ping_t *t = cohort_calloc(cohort_node_allocator(node), 1, sizeof *t);
  if (!t) return COHORT_ENOMEM;
  t->base.ops = &ping_ops;
  t->alloc = cohort_node_allocator(node);
  t->interval_ns = interval;
  t->size = (size_t)size;
  *out = &t->base;
  return 0;
}

static void ping_destroy(cohort_proto_t *p) {
  test_ping_t *t = (test_ping_t *)p;
  cohort_free(t->alloc, t);
}

const cohort_proto_factory_t test_ping_factory = {
    .name = "ping", .help = "ping interval=100ms size=8 (tests)",
    .create = ping_create, .destroy = ping_destroy};
