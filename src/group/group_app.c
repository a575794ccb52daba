/*
 * src/group/group_app.c — cohort_group_factory: the group as a scenario
 * or `cohort node` protocol, with a built-in test application so that
 * sweeps exercise multicast and state transfer. The application's state
 * is a digest of everything it delivered (FNV-1a over sender, seq and
 * bytes) and a count, padded to state-bytes: two members that delivered
 * the same messages in the same per-sender order since the state they
 * started from hold the same digest.
 */
#include <stdlib.h>
#include <string.h>

#include "group_internal.h"

typedef struct gapp {
  cohort_group_t *g;
  const cohort_allocator_t *alloc;
  double rate;       /* messages per second per member */
  uint64_t msg_bytes, state_bytes;
  int64_t next_ns;
  uint64_t digest, count;
  uint32_t svc; /* the service of its multicasts */
  bool mix;     /* a random service per message */
} gapp_t;

COHORT_INTERNAL void group_set_founder(cohort_group_t *g, cohort_node_id_t id);

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static void app_deliver(void *ud, cohort_group_member_t from, uint64_t seq, const uint8_t *msg,
                        size_t len) {
  gapp_t *a = ud;
  a->digest = fnv(a->digest, &from.id, sizeof from.id);
  a->digest = fnv(a->digest, &seq, sizeof seq);
  a->digest = fnv(a->digest, msg, len);
  a->count++;
}

static int app_get_state(void *ud, uint8_t **state, size_t *len) {
  gapp_t *a = ud;
  size_t n = a->state_bytes < 16 ? 16 : (size_t)a->state_bytes;
  uint8_t *b = cohort_alloc(a->alloc, n);
  if (!b) return COHORT_ENOMEM;
  memcpy(b, &a->digest, 8);
  memcpy(b + 8, &a->count, 8);
  for (size_t i = 16; i < n; i++) b[i] = (uint8_t)(i * 131u + (a->digest & 0xff));
  *state = b;
  *len = n;
  return 0;
}

static int app_set_state(void *ud, const uint8_t *state, size_t len) {
  gapp_t *a = ud;
  if (len < 16) return COHORT_EPROTO;
  memcpy(&a->digest, state, 8);
  memcpy(&a->count, state + 8, 8);
  for (size_t i = 16; i < len; i++)
    if (state[i] != (uint8_t)(i * 131u + (a->digest & 0xff))) return COHORT_EPROTO;
  return 0;
}

static void app_tick(void *ud, int64_t now) {
  gapp_t *a = ud;
  if (a->rate <= 0) return;
  int64_t gap = (int64_t)(1e9 / a->rate);
  if (gap < 1) gap = 1;
  if (a->next_ns == 0) a->next_ns = now;
  uint8_t buf[COHORT_GROUP_MSG_MAX];
  for (int k = 0; now >= a->next_ns && k < 64; k++) {
    a->next_ns += gap;
    size_t n = (size_t)a->msg_bytes;
    uint64_t r = cohort_node_random(a->g->node);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(r >> (8 * (i & 7))) ^ (uint8_t)i;
    uint32_t svc = a->svc;
    if (a->mix) {
      static const char *const names[] = {"unordered", "fifo", "causal", "total",
                                          "causal-total"};
      (void)cohort_mcast_service_parse(names[(r >> 56) % 5], &svc);
    }
    if (cohort_group_send_svc(a->g, svc, buf, n, NULL)) break; /* blocked or full: skip */
  }
  if (now - a->next_ns > 10 * gap) a->next_ns = now; /* do not burst after a pause */
}

static int parse_votes(const char *v, cohort_node_id_t *nodes, uint32_t *votes, size_t *n,
                       char *err, size_t errcap) {
  *n = 0;
  const char *p = v;
  while (*p) {
    char *end;
    unsigned long id = strtoul(p, &end, 10);
    if (end == p || *end != ':' || id == 0 || id >= COHORT_NODE_NONE) goto bad;
    p = end + 1;
    unsigned long w = strtoul(p, &end, 10);
    if (end == p || w > 65536 || *n == 64) goto bad;
    nodes[*n] = (cohort_node_id_t)id;
    votes[(*n)++] = (uint32_t)w;
    p = end;
    if (*p == ',') p++;
    else if (*p) goto bad;
  }
  return 0;
bad:
  cohort_fmt(err, errcap, "group: votes=ID:N,... (at most 64 entries, N <= 65536): '%s'", v);
  return COHORT_EINVAL;
}

static int g_create(cohort_node_t *node, const cohort_param_t *params, size_t np,
                    cohort_proto_t **out, char *err, size_t errcap) {
  static const char *const known[] = {
      "ack", "retransmit", "join-retry", "join-delay", "flush-timeout", "merge-interval",
      "state-timeout", "window", "window-bytes", "state-window", "expected", "minority", "votes",
      "founder",
      "local-suspicion", "batch", "rate", "msg-bytes", "state-bytes", "order", NULL};
  cohort_group_config_t c;
  cohort_group_config_default(&c);
  uint64_t window = c.window, wbytes = c.window_bytes, swin = c.state_window;
  uint64_t expected = c.expected_votes, founder = 1;
  uint64_t msg_bytes = 64, state_bytes = 0;
  double rate = 0;
  bool local = false, batch = true;
  int rc = cohort_param_check_known(params, np, known, "group", err, errcap);
#define DUR(k, f) \
  if (!rc) rc = cohort_param_duration(params, np, k, &c.f, "group", err, errcap)
  DUR("ack", ack_interval_ns);
  DUR("retransmit", retransmit_ns);
  DUR("join-retry", join_retry_ns);
  DUR("join-delay", join_delay_ns);
  DUR("flush-timeout", flush_timeout_ns);
  DUR("merge-interval", merge_interval_ns);
  DUR("state-timeout", state_timeout_ns);
#undef DUR
  if (!rc) rc = cohort_param_u64(params, np, "window", &window, "group", err, errcap);
  if (!rc) rc = cohort_param_u64(params, np, "window-bytes", &wbytes, "group", err, errcap);
  if (!rc) rc = cohort_param_u64(params, np, "state-window", &swin, "group", err, errcap);
  if (!rc) rc = cohort_param_u64(params, np, "expected", &expected, "group", err, errcap);
  if (!rc) rc = cohort_param_u64(params, np, "founder", &founder, "group", err, errcap);
  if (!rc) rc = cohort_param_bool(params, np, "local-suspicion", &local, "group", err, errcap);
  if (!rc) rc = cohort_param_bool(params, np, "batch", &batch, "group", err, errcap);
  if (!rc) rc = cohort_param_double(params, np, "rate", &rate, "group", err, errcap);
  if (!rc) rc = cohort_param_u64(params, np, "msg-bytes", &msg_bytes, "group", err, errcap);
  if (!rc) rc = cohort_param_u64(params, np, "state-bytes", &state_bytes, "group", err, errcap);
  if (rc) return rc;
  const char *mv = cohort_param_get(params, np, "minority");
  if (mv && !strcmp(mv, "block")) c.minority = COHORT_GROUP_MINORITY_BLOCK;
  else if (mv && strcmp(mv, "continue")) {
    cohort_fmt(err, errcap, "group: minority=continue|block, not '%s'", mv);
    return COHORT_EINVAL;
  }
  uint32_t svc = COHORT_MCAST_DEFAULT;
  const char *order = cohort_param_get(params, np, "order");
  bool mix = order && !strcmp(order, "mix");
  if (order && !mix && cohort_mcast_service_parse(order, &svc)) {
    cohort_fmt(err, errcap, "group: order=unordered|fifo|causal|total|causal-total|mix, not '%s'",
               order);
    return COHORT_EINVAL;
  }
  cohort_node_id_t vn[64];
  uint32_t vv[64];
  size_t nv = 0;
  const char *votes = cohort_param_get(params, np, "votes");
  if (votes && (rc = parse_votes(votes, vn, vv, &nv, err, errcap))) return rc;
  if (window > COHORT_GROUP_WINDOW_MAX || wbytes > 1u << 30 || swin > 256 || expected > 1u << 20 ||
      founder >= COHORT_NODE_NONE || !(rate >= 0 && rate <= 100000) || msg_bytes == 0 ||
      msg_bytes > COHORT_GROUP_MSG_MAX || state_bytes > COHORT_GROUP_STATE_MAX) {
    cohort_fmt(err, errcap,
               "group: window <= 4096, window-bytes <= 1 GiB, state-window <= 256, rate in "
               "[0, 100000], msg-bytes in [1, %d], state-bytes <= 1 GiB",
               COHORT_GROUP_MSG_MAX);
    return COHORT_EINVAL;
  }
  c.window = (uint32_t)window;
  c.window_bytes = (uint32_t)wbytes;
  c.state_window = (uint32_t)swin;
  c.expected_votes = (uint32_t)expected;
  c.local_suspicion_only = local;
  c.unbatched = !batch;
  c.vote_nodes = vn;
  c.votes = vv;
  c.votes_len = nv;
  if ((rc = cohort_group_config_check(&c, err, errcap))) return rc;
  const cohort_allocator_t *al = cohort_node_allocator(node);
  gapp_t *a = cohort_calloc(al, 1, sizeof *a);
  if (!a) return COHORT_ENOMEM;
  *a = (gapp_t){.alloc = al, .rate = rate, .msg_bytes = msg_bytes, .state_bytes = state_bytes,
                .digest = 14695981039346656037ull, .svc = svc, .mix = mix};
  cohort_group_callbacks_t cb = {.deliver = app_deliver, .get_state = app_get_state,
                                 .set_state = app_set_state};
  rc = cohort_group_new(node, &c, &cb, a, &a->g);
  if (rc) {
    cohort_free(al, a);
    cohort_fmt(err, errcap, "group: %s", cohort_strerror(rc));
    return rc;
  }
  group_set_founder(a->g, (cohort_node_id_t)founder);
  a->g->app_tick = app_tick;
  *out = cohort_group_proto(a->g);
  return 0;
}

static void g_destroy(cohort_proto_t *p) {
  cohort_group_t *g = cohort_group_from_proto(p);
  if (!g) return;
  gapp_t *a = g->ud;
  const cohort_allocator_t *al = g->alloc;
  cohort_group_free(g);
  cohort_free(al, a);
}

static int g_status(cohort_proto_t *p, char *buf, size_t cap) {
  cohort_group_t *g = cohort_group_from_proto(p);
  return g ? cohort_group_status_line(g, buf, cap) : COHORT_EINVAL;
}

const cohort_proto_factory_t cohort_group_factory = {
    .name = "group",
    .help = "group founder=1 expected=1 minority=continue|block votes=ID:N,.. ack=5ms "
            "retransmit=50ms join-retry=300ms join-delay=20ms flush-timeout=1s "
            "merge-interval=1s state-timeout=3s window=256 window-bytes=1048576 "
            "state-window=16 batch=on "
            "local-suspicion=off; test app: rate=0 msg-bytes=64 state-bytes=0 "
            "order=fifo|unordered|causal|total|causal-total|mix",
    .create = g_create, .destroy = g_destroy, .status = g_status};
