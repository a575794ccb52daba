/*
 * tests/core/test_node.c — the node layer driven directly, with a fake host
 * (a settable clock, a deterministic PRNG, an in-memory outbox), before
 * any simulator or socket (quicly's t/test.c style).
 *
 * Covers: delivery and clock stamps, timers and the single wake-up, every
 * refusal path (random bytes, truncation, other cluster, unknown version,
 * bad tag, unknown peer or protocol, self, stale incarnation, far-ahead
 * HLC), forward compatibility with a newer schema, restarts, and
 * allocation failure at init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../support/failalloc.h"
#include "cohort.pb-c.h"
#include "cohort/node.h"
#include "envelope_v2.pb-c.h"
#include "../../src/core/node_peer.h"

#define OUTBOX_MAX 64

typedef struct dgram {
  cohort_node_id_t to;
  uint8_t bytes[2048];
  size_t len;
} dgram_t;

typedef struct host {
  int64_t now, wall, wake;
  uint64_t rng;
  dgram_t out[OUTBOX_MAX];
  size_t out_len;
  int send_rc;
  size_t trace_lines;
  char last_trace[4096];
  /* send_addr and peer ops */
  uint8_t addr_sent[COHORT_PEER_ADDR_MAX];
  size_t addr_sent_len, addr_sends;
  cohort_node_id_t peer_op_id;
  int peer_op_adds, peer_op_removes;
  uint8_t peer_op_addr[COHORT_PEER_ADDR_MAX]; /* the last address a peer op gave */
  size_t peer_op_addr_len;
} host_t;

static int64_t h_now(void *h) { return ((host_t *)h)->now; }
static int64_t h_wall(void *h) { return ((host_t *)h)->wall; }
static uint64_t h_random(void *h) {
  host_t *x = h;
  x->rng = x->rng * 6364136223846793005ull + 1442695040888963407ull;
  return x->rng >> 11;
}
static int h_send(void *h, cohort_node_id_t to, const uint8_t *b, size_t len) {
  host_t *x = h;
  if (x->send_rc) return x->send_rc;
  assert_true(x->out_len < OUTBOX_MAX);
  assert_true(len <= sizeof x->out[0].bytes);
  x->out[x->out_len].to = to;
  memcpy(x->out[x->out_len].bytes, b, len);
  x->out[x->out_len].len = len;
  x->out_len++;
  return 0;
}
static void h_wake(void *h, int64_t deadline) { ((host_t *)h)->wake = deadline; }
static void h_trace(void *h, const char *line, size_t len) {
  host_t *x = h;
  x->trace_lines++;
  size_t n = len < sizeof x->last_trace - 1 ? len : sizeof x->last_trace - 1;
  memcpy(x->last_trace, line, n);
  x->last_trace[n] = 0;
}

static int h_send_addr(void *h, const uint8_t *addr, size_t addr_len, const uint8_t *b,
                       size_t len) {
  host_t *x = h;
  memcpy(x->addr_sent, addr, addr_len);
  x->addr_sent_len = addr_len;
  x->addr_sends++;
  return h_send(h, COHORT_NODE_NONE, b, len);
}
static void h_peer(void *h, cohort_node_id_t id, const uint8_t *addr, size_t len, bool added) {
  host_t *x = h;
  x->peer_op_id = id;
  x->peer_op_addr_len = len;
  if (len) memcpy(x->peer_op_addr, addr, len);
  if (added) x->peer_op_adds++;
  else x->peer_op_removes++;
}

static const cohort_host_ops_t host_ops = {.now = h_now, .wall = h_wall, .true_time = h_wall,
                                           .random = h_random, .send = h_send,
                                           .wake = h_wake, .trace = h_trace,
                                           .send_addr = h_send_addr, .peer = h_peer};

/* A test protocol: records what it receives and the timers that fire. */
typedef struct echo {
  cohort_proto_t base;
  int received, timers_fired, refuse;
  uint32_t last_timer, last_kind;
  uint8_t last_payload[64];
  size_t last_len;
  cohort_node_id_t last_from;
  int restarts, added, removed, failed;
  bool last_from_peer;
  size_t last_addr_len;
} echo_t;

static int echo_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  echo_t *e = (echo_t *)p;
  if (e->refuse) return COHORT_EPROTO;
  e->received++;
  e->last_kind = m->kind;
  e->last_from = m->from;
  e->last_from_peer = m->from_peer;
  e->last_addr_len = m->addr_len;
  e->last_len = m->payload_len < 64 ? m->payload_len : 64;
  if (e->last_len) memcpy(e->last_payload, m->payload, e->last_len);
  return 0;
}
static void echo_timer(cohort_proto_t *p, uint32_t id) {
  echo_t *e = (echo_t *)p;
  e->timers_fired++;
  e->last_timer = id;
}
static void echo_peer(cohort_proto_t *p, cohort_node_id_t peer, cohort_peer_event_t ev) {
  (void)peer;
  echo_t *e = (echo_t *)p;
  if (ev == COHORT_PEER_RESTARTED) e->restarts++;
  if (ev == COHORT_PEER_ADDED) e->added++;
  if (ev == COHORT_PEER_REMOVED) e->removed++;
  if (ev == COHORT_PEER_FAILED) e->failed++;
}
static const cohort_proto_ops_t echo_ops = {
    .name = "echo", .proto_id = COHORT_PROTO_APP, .recv = echo_recv,
    .timer = echo_timer, .peer = echo_peer};
/* The same protocol, opted in to datagrams from non-peers (a join). */
static const cohort_proto_ops_t open_ops = {
    .name = "open", .proto_id = COHORT_PROTO_APP + 1, .recv = echo_recv,
    .peer = echo_peer, .flags = COHORT_PROTO_ACCEPT_UNKNOWN};

typedef struct pair {
  host_t ha, hb;
  cohort_node_t *a, *b;
  echo_t ea, eb;
} pair_t;

static const uint8_t key[] = "0123456789abcdef0123456789abcdef";

static void make_node(host_t *h, cohort_node_id_t id, cohort_node_id_t peer,
                      cohort_incarnation_t inc, bool keyed, cohort_node_t **out, echo_t *e) {
  cohort_node_id_t peers[] = {peer, 7};
  cohort_node_config_t cfg = {.cluster_id = 42, .id = id, .incarnation = inc,
                              .peers = peers, .peers_len = 2, .vector_clock = true,
                              .key = keyed ? key : NULL, .key_len = keyed ? 32 : 0};
  h->wall = 1700000000000000000ll;
  h->wake = COHORT_TIME_NEVER;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, h, out), 0);
  memset(e, 0, sizeof *e);
  e->base.ops = &echo_ops;
  assert_int_equal(cohort_node_attach(*out, &e->base), 0);
  cohort_node_start(*out);
}

static int pair_setup(void **state) {
  pair_t *p = calloc(1, sizeof *p);
  make_node(&p->ha, 1, 2, 1, true, &p->a, &p->ea);
  make_node(&p->hb, 2, 1, 1, true, &p->b, &p->eb);
  *state = p;
  return 0;
}

static int pair_teardown(void **state) {
  pair_t *p = *state;
  cohort_node_free(p->a);
  cohort_node_free(p->b);
  free(p);
  return 0;
}

/* Deliver everything in a's outbox to b. */
static int flush(host_t *from, cohort_node_t *to) {
  int rc = 0;
  for (size_t i = 0; i < from->out_len; i++) {
    int r = cohort_node_on_datagram(to, from->out[i].bytes, from->out[i].len);
    if (r) rc = r;
  }
  from->out_len = 0;
  return rc;
}

static void test_send_receive_stamps(void **state) {
  pair_t *p = *state;
  const uint8_t msg[] = "hello";
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 9, msg, 5), 0);
  assert_int_equal(p->ha.out_len, 1);
  assert_int_equal(p->ha.out[0].to, 2);
  assert_int_equal(cohort_node_lamport(p->a), 1);
  p->hb.wall += 1000;
  assert_int_equal(flush(&p->ha, p->b), 0);
  assert_int_equal(p->eb.received, 1);
  assert_int_equal(p->eb.last_kind, 9);
  assert_int_equal(p->eb.last_from, 1);
  assert_memory_equal(p->eb.last_payload, msg, 5);
  assert_int_equal(cohort_node_lamport(p->b), 2); /* max(0,1)+1 */
  assert_int_equal(cohort_vclock_get(cohort_node_vclock(p->b), 1, 1), 1);
  assert_int_equal(cohort_vclock_get(cohort_node_vclock(p->b), 2, 1), 1);
  assert_true(cohort_hlc_compare(cohort_node_hlc(p->b), cohort_node_hlc(p->a)) > 0);
  assert_non_null(strstr(p->hb.last_trace, "\"ev\":\"recv\""));
  assert_non_null(strstr(p->hb.last_trace, "\"msg\":\"1.1.1\""));
  assert_int_equal(cohort_node_stats(p->b)->rx_delivered, 1);
}

static void test_send_to_unknown_peer_or_oversize(void **state) {
  pair_t *p = *state;
  static uint8_t big[COHORT_PAYLOAD_MAX + 1];
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 99, 1, NULL, 0), COHORT_EINVAL);
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, big, sizeof big), COHORT_EINVAL);
  assert_int_equal(p->ha.out_len, 0);
  p->ha.send_rc = COHORT_EIO;
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, NULL, 0), COHORT_EIO);
  assert_int_equal(cohort_node_stats(p->a)->tx_errors, 1);
  assert_non_null(strstr(p->ha.last_trace, "\"reason\":\"send_error\""));
}

static void test_broadcast(void **state) {
  pair_t *p = *state;
  assert_int_equal(cohort_node_broadcast(p->a, &p->ea.base, 3, (const uint8_t *)"x", 1), 0);
  assert_int_equal(p->ha.out_len, 2); /* peers 2 and 7 */
  assert_int_equal(cohort_node_lamport(p->a), 2); /* one tick per send */
}

static void test_timers_order_and_wake(void **state) {
  pair_t *p = *state;
  assert_int_equal(p->ha.wake, COHORT_TIME_NEVER);
  assert_int_equal(cohort_node_timer_set(p->a, &p->ea.base, 1, 300), 0);
  assert_int_equal(p->ha.wake, 300);
  assert_int_equal(cohort_node_timer_set(p->a, &p->ea.base, 2, 100), 0);
  assert_int_equal(p->ha.wake, 100);
  assert_int_equal(cohort_node_timer_set(p->a, &p->ea.base, 3, 200), 0);
  cohort_node_timer_cancel(p->a, &p->ea.base, 3);
  assert_int_equal(cohort_node_timer_set(p->a, &p->ea.base, 2, 250), 0); /* re-arm */
  assert_int_equal(p->ha.wake, 250);
  p->ha.now = 260;
  cohort_node_on_wake(p->a);
  assert_int_equal(p->ea.timers_fired, 1);
  assert_int_equal(p->ea.last_timer, 2);
  assert_int_equal(p->ha.wake, 300);
  p->ha.now = 1000;
  cohort_node_on_wake(p->a);
  assert_int_equal(p->ea.timers_fired, 2);
  assert_int_equal(p->ea.last_timer, 1);
  assert_int_equal(p->ha.wake, COHORT_TIME_NEVER);
  assert_non_null(strstr(p->ha.last_trace, "\"ev\":\"timer\""));
}

static void test_random_bytes_never_crash(void **state) {
  pair_t *p = *state;
  uint64_t x = 12345;
  uint8_t buf[512];
  for (int i = 0; i < 20000; i++) {
    size_t len = (size_t)(x % sizeof buf);
    for (size_t j = 0; j < len; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      buf[j] = (uint8_t)x;
    }
    if (i % 2 && len > 1) buf[0] = 0xC0, buf[1] = (uint8_t)(i % 4 == 1);
    assert_int_not_equal(cohort_node_on_datagram(p->b, buf, len), 0);
  }
  assert_int_equal(p->eb.received, 0);
  const cohort_node_stats_t *s = cohort_node_stats(p->b);
  assert_true(s->drop_malformed + s->drop_auth == 20000);
}

static void test_truncated_and_bit_flipped(void **state) {
  pair_t *p = *state;
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, (const uint8_t *)"abc", 3), 0);
  dgram_t d = p->ha.out[0];
  for (size_t len = 0; len < d.len; len++)
    assert_int_not_equal(cohort_node_on_datagram(p->b, d.bytes, len), 0);
  for (size_t i = 0; i < d.len; i++) {
    dgram_t f = d;
    f.bytes[i] ^= 0x20;
    assert_int_not_equal(cohort_node_on_datagram(p->b, f.bytes, f.len), 0);
  }
  assert_int_equal(p->eb.received, 0);
  assert_int_equal(cohort_node_lamport(p->b), 0); /* no clock moved */
  assert_int_equal(cohort_node_on_datagram(p->b, d.bytes, d.len), 0);
  assert_int_equal(p->eb.received, 1);
}

/* Pack an envelope with the v2 (newer) schema, unauthenticated header. */
static size_t pack_v2(Cohort__Wire__V2__Envelope *e, uint8_t *out) {
  out[0] = 0xC0;
  out[1] = 0;
  return 2 + cohort__wire__v2__envelope__pack(e, out + 2);
}

static void v2_defaults(Cohort__Wire__V2__Envelope *e) {
  *e = (Cohort__Wire__V2__Envelope)COHORT__WIRE__V2__ENVELOPE__INIT;
  e->version_major = COHORT_WIRE_VERSION_MAJOR;
  e->version_minor = 7;
  e->cluster_id = 42;
  e->sender = 1;
  e->incarnation = 1;
  e->dest = 2;
  e->proto = COHORT_PROTO_APP;
  e->kind = 4;
  e->seq = 1;
  e->lamport = 5;
  e->hlc_l = 1700000000000000000ll;
}

static void test_forward_compatible_newer_schema(void **state) {
  (void)state;
  host_t h = {0};
  cohort_node_t *b;
  echo_t eb;
  make_node(&h, 2, 1, 1, false, &b, &eb);
  Cohort__Wire__V2__Envelope e = COHORT__WIRE__V2__ENVELOPE__INIT;
  Cohort__Wire__V2__Extra extra = COHORT__WIRE__V2__EXTRA__INIT;
  uint64_t hints[] = {1, 2, 3};
  v2_defaults(&e);
  e.trace_context = "00-abc-def-01";
  e.n_hints = 3;
  e.hints = hints;
  extra.region = "eu-west";
  extra.weight = 0.5;
  e.extra = &extra;
  e.payload.data = (uint8_t *)"new";
  e.payload.len = 3;
  uint8_t buf[1024];
  size_t len = pack_v2(&e, buf);
  assert_int_equal(cohort_node_on_datagram(b, buf, len), 0);
  assert_int_equal(eb.received, 1);
  assert_memory_equal(eb.last_payload, "new", 3);
  assert_int_equal(cohort_node_lamport(b), 6);
  /* An unknown major version is refused and counted. */
  e.version_major = COHORT_WIRE_VERSION_MAJOR + 1;
  e.seq = 2;
  len = pack_v2(&e, buf);
  assert_int_equal(cohort_node_on_datagram(b, buf, len), COHORT_EVERSION);
  assert_int_equal(cohort_node_stats(b)->drop_version, 1);
  assert_non_null(strstr(h.last_trace, "\"reason\":\"version\""));
  cohort_node_free(b);
}

static void test_refusals_are_counted(void **state) {
  (void)state;
  host_t h = {0};
  cohort_node_t *b;
  echo_t eb;
  make_node(&h, 2, 1, 5, false, &b, &eb);
  Cohort__Wire__V2__Envelope e = COHORT__WIRE__V2__ENVELOPE__INIT;
  uint8_t buf[1024];
  v2_defaults(&e);
  e.cluster_id = 43;
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_ECLUSTER);
  v2_defaults(&e);
  e.sender = 2;
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_EUNKNOWN);
  v2_defaults(&e);
  e.sender = 99;
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_EUNKNOWN);
  v2_defaults(&e);
  e.proto = 200;
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_EUNKNOWN);
  v2_defaults(&e);
  e.hlc_l += 10 * COHORT_NS_PER_S; /* ten seconds ahead of our wall clock */
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_ECLOCK);
  v2_defaults(&e);
  e.vc.data = (uint8_t *)"\xff\xff\xff";
  e.vc.len = 3;
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_EPROTO);
  const cohort_node_stats_t *s = cohort_node_stats(b);
  assert_int_equal(s->drop_cluster, 1);
  assert_int_equal(s->drop_self, 1);
  assert_int_equal(s->drop_unknown_peer, 1);
  assert_int_equal(s->drop_unknown_proto, 1);
  assert_int_equal(s->drop_clock, 1);
  assert_int_equal(s->drop_malformed, 1);
  assert_int_equal(eb.received, 0);
  assert_int_equal(cohort_node_lamport(b), 0);
  eb.refuse = 1;
  v2_defaults(&e);
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_EPROTO);
  assert_int_equal(s->drop_proto, 1);
  cohort_node_free(b);
}

static void test_incarnations(void **state) {
  (void)state;
  host_t h = {0};
  cohort_node_t *b;
  echo_t eb;
  make_node(&h, 2, 1, 1, false, &b, &eb);
  Cohort__Wire__V2__Envelope e = COHORT__WIRE__V2__ENVELOPE__INIT;
  uint8_t buf[1024];
  v2_defaults(&e);
  e.incarnation = 3;
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), 0);
  e.incarnation = 2; /* an older run of node 1: a ghost */
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), COHORT_ESTALE);
  assert_int_equal(cohort_node_stats(b)->drop_stale, 1);
  assert_non_null(strstr(h.last_trace, "\"reason\":\"stale\""));
  e.incarnation = 4; /* node 1 restarted */
  assert_int_equal(cohort_node_on_datagram(b, buf, pack_v2(&e, buf)), 0);
  assert_int_equal(eb.restarts, 1);
  assert_int_equal(eb.received, 2);
  cohort_node_free(b);
}

static void test_authentication(void **state) {
  pair_t *p = *state;
  host_t h = {0};
  cohort_node_t *open_node;
  echo_t eo;
  make_node(&h, 2, 1, 1, false, &open_node, &eo);
  /* An unauthenticated datagram is refused by a keyed node. */
  Cohort__Wire__V2__Envelope e = COHORT__WIRE__V2__ENVELOPE__INIT;
  uint8_t buf[1024];
  v2_defaults(&e);
  assert_int_equal(cohort_node_on_datagram(p->b, buf, pack_v2(&e, buf)), COHORT_EAUTH);
  /* A node with another key refuses ours. */
  cohort_node_id_t peers[] = {1};
  const uint8_t other_key[] = "another key entirely";
  cohort_node_config_t cfg = {.cluster_id = 42, .id = 2, .incarnation = 1, .peers = peers,
                              .peers_len = 1, .key = other_key, .key_len = 20};
  host_t h2 = {0};
  cohort_node_t *c;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h2, &c), 0);
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram(c, p->ha.out[0].bytes, p->ha.out[0].len),
                   COHORT_EAUTH);
  assert_int_equal(cohort_node_stats(c)->drop_auth, 1);
  assert_int_equal(cohort_node_on_datagram(p->b, p->ha.out[0].bytes, p->ha.out[0].len), 0);
  cohort_node_free(c);
  cohort_node_free(open_node);
}

static void test_bad_config(void **state) {
  (void)state;
  host_t h = {0};
  cohort_node_t *n = NULL;
  cohort_node_id_t dup[] = {3, 3};
  cohort_node_id_t self[] = {1};
  cohort_node_config_t cfg = {.cluster_id = 1, .id = 1, .incarnation = 1};
  cfg.incarnation = 0;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h, &n), COHORT_EINVAL);
  cfg.incarnation = 1;
  cfg.peers = dup;
  cfg.peers_len = 2;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h, &n), COHORT_EINVAL);
  cfg.peers = self;
  cfg.peers_len = 1;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h, &n), COHORT_EINVAL);
  assert_null(n);
  echo_t e1 = {.base.ops = &echo_ops}, e2 = {.base.ops = &echo_ops};
  cfg.peers_len = 0;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h, &n), 0);
  assert_int_equal(cohort_node_attach(n, &e1.base), 0);
  assert_int_equal(cohort_node_attach(n, &e2.base), COHORT_EEXIST);
  cohort_node_free(n);
}

static void test_init_allocation_failures(void **state) {
  (void)state;
  cohort_node_id_t peers[] = {2, 3};
  for (long fail = 1; fail < 40; fail++) {
    failalloc_t fa;
    failalloc_init(&fa, fail);
    host_t h = {0};
    cohort_node_config_t cfg = {.cluster_id = 1, .id = 1, .incarnation = 1, .peers = peers,
                                .peers_len = 2, .vector_clock = true, .alloc = &fa.base};
    cohort_node_t *n = NULL;
    int rc = cohort_node_new(&cfg, &host_ops, &h, &n);
    if (rc == 0) {
      echo_t e = {.base.ops = &echo_ops};
      assert_int_equal(cohort_node_attach(n, &e.base), 0);
      /* Sends may fail for memory; they must fail cleanly. */
      for (int i = 0; i < 3; i++) (void)cohort_node_send(n, &e.base, 2, 1, NULL, 0);
      cohort_node_free(n);
    } else {
      assert_int_equal(rc, COHORT_ENOMEM);
      assert_null(n);
    }
    assert_int_equal(fa.live, 0);
  }
}


/* ---- issue 9: safety under restart and replay -------------------------------- */

/* The window itself: in order, reordered within it, duplicates, too old,
 * and jumps by less than, exactly and more than a word and the window. */
static void test_replay_window(void **state) {
  (void)state;
  cohort_replay_window_t w;
  memset(&w, 0, sizeof w);
  assert_false(cohort_replay_check(&w, 0)); /* 0 is never a sequence */
  for (uint64_t s = 1; s <= 100; s++) {
    assert_true(cohort_replay_check(&w, s));
    cohort_replay_mark(&w, s);
    assert_false(cohort_replay_check(&w, s));
  }
  assert_true(cohort_replay_check(&w, 105));
  cohort_replay_mark(&w, 105);
  for (uint64_t s = 101; s <= 104; s++) assert_true(cohort_replay_check(&w, s)); /* holes */
  cohort_replay_mark(&w, 103);
  assert_false(cohort_replay_check(&w, 103));
  for (uint64_t s = 1; s <= 100; s++) assert_false(cohort_replay_check(&w, s));
  uint64_t jumps[] = {63, 64, 65, 127, COHORT_REPLAY_WINDOW - 1, COHORT_REPLAY_WINDOW,
                      COHORT_REPLAY_WINDOW + 1, 1000000};
  for (size_t j = 0; j < sizeof jumps / sizeof jumps[0]; j++) {
    uint64_t top = w.top, to = top + jumps[j];
    cohort_replay_mark(&w, to);
    assert_false(cohort_replay_check(&w, to));
    /* the old top is still remembered while inside the window */
    if (jumps[j] < COHORT_REPLAY_WINDOW) assert_false(cohort_replay_check(&w, top));
    else assert_false(cohort_replay_check(&w, top)); /* too old: refused too */
    if (jumps[j] >= 2 && jumps[j] < COHORT_REPLAY_WINDOW) assert_true(cohort_replay_check(&w, to - 1));
  }
  assert_false(cohort_replay_check(&w, w.top - COHORT_REPLAY_WINDOW)); /* just outside */
  assert_true(cohort_replay_check(&w, w.top - COHORT_REPLAY_WINDOW + 1)); /* just inside */
}

/* 105 of 105 replayed datagrams were accepted before the window. */
static void test_replays_refused(void **state) {
  pair_t *p = *state;
  for (int i = 0; i < 5; i++)
    assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, (const uint8_t *)"m", 1), 0);
  dgram_t d[5];
  memcpy(d, p->ha.out, sizeof d);
  p->ha.out_len = 0;
  int order[] = {4, 0, 2, 1, 3}; /* reordered: all new */
  for (int i = 0; i < 5; i++)
    assert_int_equal(cohort_node_on_datagram(p->b, d[order[i]].bytes, d[order[i]].len), 0);
  p->hb.wall += 10 * COHORT_NS_PER_S; /* replayed ten seconds later */
  for (int i = 0; i < 5; i++)
    assert_int_equal(cohort_node_on_datagram(p->b, d[i].bytes, d[i].len), COHORT_EREPLAY);
  assert_int_equal(p->eb.received, 5);
  assert_int_equal(cohort_node_stats(p->b)->drop_replay, 5);
  assert_non_null(strstr(p->hb.last_trace, "\"reason\":\"replay\""));
}

/* What was meant for one incarnation never reaches the next: a GRANT in
 * flight across a restart, and a captured datagram replayed after it. */
static void test_restart_refuses_old_traffic(void **state) {
  pair_t *p = *state;
  assert_int_equal(cohort_node_send(p->b, &p->eb.base, 1, 1, NULL, 0), 0); /* a hears b@1 */
  assert_int_equal(flush(&p->hb, p->a), 0);
  assert_int_equal(cohort_node_peer_incarnation(p->a, 2), 1);
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 7, (const uint8_t *)"grant", 5), 0);
  dgram_t grant = p->ha.out[0];
  p->ha.out_len = 0;
  /* b restarts as b@2, then the GRANT arrives. */
  cohort_node_free(p->b);
  host_t h2 = {0};
  echo_t e2;
  make_node(&h2, 2, 1, 2, true, &p->b, &e2);
  p->hb = h2;
  assert_int_equal(cohort_node_on_datagram(p->b, grant.bytes, grant.len), COHORT_ESTALE);
  const cohort_node_stats_t *s = cohort_node_stats(p->b);
  assert_int_equal(s->drop_dest, 1);
  assert_int_equal(e2.received, 0);
  /* b@2 told a it restarted; a's protocols hear of it, and its next
   * message is for b@2. */
  assert_int_equal(s->notices_sent, 1);
  assert_int_equal(h2.out_len, 1);
  assert_int_equal(cohort_node_on_datagram(p->a, h2.out[0].bytes, h2.out[0].len), 0);
  assert_int_equal(p->ea.restarts, 1);
  assert_int_equal(cohort_node_peer_incarnation(p->a, 2), 2);
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 7, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram(p->b, p->ha.out[0].bytes, p->ha.out[0].len), 0);
  assert_int_equal(e2.received, 1);
  /* A second stale datagram gets no second notice within the interval. */
  assert_int_equal(cohort_node_on_datagram(p->b, grant.bytes, grant.len), COHORT_ESTALE);
  assert_int_equal(s->notices_sent, 1);
  /* Bound to an incarnation we know is gone: not sent at all. */
  p->ha.out_len = 0;
  assert_int_equal(cohort_node_send_to(p->a, &p->ea.base, 2, 1, 7, NULL, 0), COHORT_ESTALE);
  assert_int_equal(p->ha.out_len, 0);
  assert_non_null(strstr(p->ha.last_trace, "\"reason\":\"stale_dest\""));
  cohort_node_free(p->b);
  p->b = NULL;
  make_node(&p->hb, 2, 1, 1, true, &p->b, &p->eb); /* for the teardown */
}

/* A datagram sent before its sender heard from us names no incarnation of
 * ours: accepted while fresh, refused as stale once older than
 * COHORT_FIRST_CONTACT_AGE_NS (it may have waited across our restart). */
static void test_first_contact_must_be_fresh(void **state) {
  pair_t *p = *state;
  assert_int_equal(cohort_node_send_to(p->a, &p->ea.base, 2, COHORT_INCARNATION_ANY, 1, NULL, 0),
                   0);
  assert_int_equal(cohort_node_send_to(p->a, &p->ea.base, 2, COHORT_INCARNATION_ANY, 1, NULL, 0),
                   0);
  assert_int_equal(cohort_node_on_datagram(p->b, p->ha.out[0].bytes, p->ha.out[0].len), 0);
  p->hb.wall += COHORT_FIRST_CONTACT_AGE_NS + 1;
  assert_int_equal(cohort_node_on_datagram(p->b, p->ha.out[1].bytes, p->ha.out[1].len),
                   COHORT_ESTALE);
  assert_int_equal(cohort_node_stats(p->b)->drop_stale, 1);
}

/* One datagram must not lock a node out: a Lamport stamp at the limit is
 * taken and the victim's saturated stamps are still accepted by everyone;
 * beyond it, refused. Incarnations from the future (2^63, or an hour ahead
 * of our wall clock) are refused. */
static void test_hostile_counters(void **state) {
  (void)state;
  Cohort__Wire__V2__Envelope e = COHORT__WIRE__V2__ENVELOPE__INIT;
  uint8_t buf[1024];
  cohort_node_t *v;
  host_t hv = {0};
  echo_t ev;
  make_node(&hv, 2, 1, 1, false, &v, &ev);
  v2_defaults(&e);
  e.lamport = COHORT_LAMPORT_MAX + 1;
  assert_int_equal(cohort_node_on_datagram(v, buf, pack_v2(&e, buf)), COHORT_ECLOCK);
  v2_defaults(&e);
  e.seq = 2;
  e.lamport = COHORT_LAMPORT_MAX;
  assert_int_equal(cohort_node_on_datagram(v, buf, pack_v2(&e, buf)), 0);
  assert_true(cohort_node_lamport(v) == COHORT_LAMPORT_MAX); /* saturated */
  /* The victim still speaks: a third node accepts its saturated stamps. */
  host_t hw = {0};
  cohort_node_t *w;
  echo_t ew;
  make_node(&hw, 1, 2, 1, false, &w, &ew);
  for (int i = 0; i < 3; i++) assert_int_equal(cohort_node_send(v, &ev.base, 1, 1, NULL, 0), 0);
  assert_int_equal(flush(&hv, w), 0);
  assert_int_equal(ew.received, 3);
  v2_defaults(&e);
  e.seq = 3;
  e.incarnation = UINT64_C(1) << 63;
  assert_int_equal(cohort_node_on_datagram(v, buf, pack_v2(&e, buf)), COHORT_ESTALE);
  e.incarnation = cohort_incarnation_from_wall(hv.wall + 3600 * COHORT_NS_PER_S, 0);
  assert_int_equal(cohort_node_on_datagram(v, buf, pack_v2(&e, buf)), COHORT_ESTALE);
  assert_int_equal(cohort_node_stats(v)->drop_incarnation, 2);
  e.incarnation = cohort_incarnation_from_wall(hv.wall, 5); /* a real restart: taken */
  assert_int_equal(cohort_node_on_datagram(v, buf, pack_v2(&e, buf)), 0);
  assert_int_equal(ev.restarts, 1);
  cohort_node_free(v);
  cohort_node_free(w);
}

static void make_secure(host_t *h, cohort_node_id_t id, cohort_node_id_t peer,
                        cohort_security_t sec, cohort_cipher_t cipher, cohort_node_t **out,
                        echo_t *e) {
  cohort_node_id_t peers[] = {peer};
  cohort_node_config_t cfg = {.cluster_id = 42, .id = id, .incarnation = 1, .peers = peers,
                              .peers_len = 1, .key = key, .key_len = 32, .key_id = 3,
                              .security = sec, .cipher = cipher};
  h->wall = 1700000000000000000ll;
  h->wake = COHORT_TIME_NEVER;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, h, out), 0);
  memset(e, 0, sizeof *e);
  e->base.ops = &echo_ops;
  assert_int_equal(cohort_node_attach(*out, &e->base), 0);
  cohort_node_start(*out);
}

static bool contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!memcmp(hay + i, needle, k)) return true;
  return false;
}

/* Encrypted traffic: eavesdroppers read nothing, every flipped byte is
 * refused, and the modes accept what they promise. */
static void test_encryption(void **state) {
  (void)state;
  static const char secret[] = "the lock is granted to node 3";
  for (int c = 0; c < 2; c++) {
    host_t ha = {0}, hb = {0}, hc = {0}, hd = {0};
    cohort_node_t *a, *b, *auth_only, *both;
    echo_t ea, eb, ec, ed;
    make_secure(&ha, 1, 2, COHORT_SECURITY_ENCRYPT, (cohort_cipher_t)c, &a, &ea);
    make_secure(&hb, 2, 1, COHORT_SECURITY_ENCRYPT, (cohort_cipher_t)c, &b, &eb);
    make_secure(&hc, 2, 1, COHORT_SECURITY_AUTH, (cohort_cipher_t)c, &auth_only, &ec);
    make_secure(&hd, 2, 1, COHORT_SECURITY_ENCRYPT_ACCEPT_AUTH, (cohort_cipher_t)c, &both, &ed);
    assert_int_equal(cohort_node_send(a, &ea.base, 2, 5, (const uint8_t *)secret, sizeof secret),
                     0);
    dgram_t d = ha.out[0];
    assert_false(contains(d.bytes, d.len, "granted"));
    for (size_t i = 0; i < d.len; i++) {
      dgram_t f = d;
      f.bytes[i] ^= 0x04;
      assert_int_not_equal(cohort_node_on_datagram(b, f.bytes, f.len), 0);
    }
    assert_int_equal(cohort_node_on_datagram(b, d.bytes, d.len), 0);
    assert_memory_equal(eb.last_payload, secret, sizeof secret);
    assert_int_equal(cohort_node_on_datagram(auth_only, d.bytes, d.len), 0); /* AUTH reads AEAD */
    /* An AUTH datagram: refused by ENCRYPT, taken by ENCRYPT_ACCEPT_AUTH. */
    assert_int_equal(cohort_node_send(auth_only, &ec.base, 1, 5, NULL, 0), 0);
    host_t hx = {0};
    cohort_node_t *x, *y;
    echo_t ex, ey;
    make_secure(&hx, 1, 2, COHORT_SECURITY_ENCRYPT, (cohort_cipher_t)c, &x, &ex);
    assert_int_equal(cohort_node_on_datagram(x, hc.out[0].bytes, hc.out[0].len), COHORT_EAUTH);
    host_t hy = {0};
    make_secure(&hy, 1, 2, COHORT_SECURITY_ENCRYPT_ACCEPT_AUTH, (cohort_cipher_t)c, &y, &ey);
    assert_int_equal(cohort_node_on_datagram(y, hc.out[0].bytes, hc.out[0].len), 0);
    cohort_node_free(a);
    cohort_node_free(b);
    cohort_node_free(auth_only);
    cohort_node_free(both);
    cohort_node_free(x);
    cohort_node_free(y);
  }
}

/* Rotation without downtime: add the new key everywhere, use it, retire the
 * old one; a datagram under a retired key is refused. */
static void test_key_rotation(void **state) {
  pair_t *p = *state;
  static const uint8_t k2[] = "the next key, 32 bytes long....";
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, NULL, 0), 0);
  dgram_t old = p->ha.out[0];
  p->ha.out_len = 0;
  assert_int_equal(cohort_node_key_add(p->b, 2, k2, 32), 0);
  assert_int_equal(cohort_node_key_add(p->b, 2, k2, 32), COHORT_EEXIST);
  assert_int_equal(cohort_node_key_use(p->a, 2), COHORT_ENOTFOUND);
  assert_int_equal(cohort_node_key_add(p->a, 2, k2, 32), 0);
  assert_int_equal(cohort_node_key_use(p->a, 2), 0);
  assert_int_equal(cohort_node_send(p->a, &p->ea.base, 2, 1, NULL, 0), 0);
  assert_int_equal(flush(&p->ha, p->b), 0); /* b holds both keys */
  assert_int_equal(cohort_node_key_remove(p->a, 2), COHORT_ESTATE); /* in use */
  assert_int_equal(cohort_node_key_remove(p->b, 0), COHORT_ESTATE); /* b sends with it */
  assert_int_equal(cohort_node_key_use(p->b, 2), 0);
  assert_int_equal(cohort_node_key_remove(p->b, 0), 0); /* the config key had id 0 */
  assert_int_equal(cohort_node_key_remove(p->b, 0), COHORT_ENOTFOUND);
  assert_int_equal(cohort_node_on_datagram(p->b, old.bytes, old.len), COHORT_EAUTH);
  assert_int_equal(p->eb.received, 1);
}

/* Peers come and go at run time; protocols hear of it through one
 * callback, the host through its peer op; non-peers reach only protocols
 * that opted in, with their source address. */
static void test_dynamic_peers(void **state) {
  (void)state;
  host_t h = {0}, hj = {0};
  cohort_node_t *n, *joiner;
  echo_t e, ej;
  cohort_node_config_t cfg = {.cluster_id = 42, .id = 1, .incarnation = 1};
  h.wall = hj.wall = 1700000000000000000ll;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h, &n), 0);
  memset(&e, 0, sizeof e);
  e.base.ops = &echo_ops;
  echo_t eo = {.base.ops = &open_ops};
  assert_int_equal(cohort_node_attach(n, &e.base), 0);
  assert_int_equal(cohort_node_attach(n, &eo.base), 0);
  cohort_node_start(n);
  cfg.id = 9;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &hj, &joiner), 0);
  echo_t ejo = {.base.ops = &open_ops};
  memset(&ej, 0, sizeof ej);
  ej.base.ops = &echo_ops;
  assert_int_equal(cohort_node_attach(joiner, &ej.base), 0);
  assert_int_equal(cohort_node_attach(joiner, &ejo.base), 0);
  /* The joiner knows only an address. */
  const uint8_t contact[] = {0, 0, 0, 1};
  assert_int_equal(cohort_node_send_addr(joiner, &ejo.base, contact, 4, 1, NULL, 0), 0);
  assert_int_equal(hj.addr_sends, 1);
  const uint8_t from[] = {10, 0, 0, 9};
  assert_int_equal(cohort_node_on_datagram_from(n, hj.out[0].bytes, hj.out[0].len, from, 4), 0);
  assert_int_equal(eo.received, 1);
  assert_false(eo.last_from_peer);
  assert_int_equal(eo.last_addr_len, 4);
  /* A non-peer's message for a protocol that did not opt in is refused. */
  assert_int_equal(cohort_node_send_addr(joiner, &ej.base, contact, 4, 1, NULL, 0), 0);
  assert_int_not_equal(cohort_node_on_datagram(n, hj.out[1].bytes, hj.out[1].len), 0);
  assert_int_equal(e.received, 0);
  /* Admitted: ADDED to every protocol, the host learns the address. */
  assert_int_equal(cohort_node_peer_add(n, 9, 1, from, 4), 0);
  assert_int_equal(cohort_node_peer_add(n, 9, 1, from, 4), COHORT_EEXIST);
  assert_int_equal(e.added, 1);
  assert_int_equal(eo.added, 1);
  assert_int_equal(h.peer_op_adds, 2); /* the add and the address update */
  assert_int_equal(cohort_node_peer_add(n, 1, 1, NULL, 0), COHORT_EINVAL); /* self */
  assert_true(cohort_node_is_peer(n, 9));
  hj.out_len = 0;
  assert_int_equal(cohort_node_peer_add(joiner, 1, 1, contact, 4), 0);
  assert_int_equal(cohort_node_send(joiner, &ej.base, 1, 1, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram(n, hj.out[0].bytes, hj.out[0].len), 0);
  assert_int_equal(e.received, 1);
  assert_true(e.last_from_peer);
  cohort_node_peer_failed(n, 9, 1);
  assert_int_equal(e.failed, 1);
  assert_int_equal(cohort_node_peer_remove(n, 9), 0);
  assert_int_equal(cohort_node_peer_remove(n, 9), COHORT_ENOTFOUND);
  assert_int_equal(e.removed, 1);
  assert_int_equal(h.peer_op_removes, 1);
  assert_int_equal(cohort_node_send(joiner, &ej.base, 1, 1, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram(n, hj.out[1].bytes, hj.out[1].len), COHORT_EUNKNOWN);
  assert_int_equal(cohort_node_stats(n)->drop_unknown_peer, 1);
  assert_int_equal(cohort_node_stats(n)->drop_malformed, 1); /* no destination, not opted in */
  cohort_node_free(n);
  cohort_node_free(joiner);
}

/* A protocol that admits every sender as a peer, without an address (as
 * a joiner adds the coordinator named in the view it is let into). */
typedef struct adder {
  cohort_proto_t base;
  cohort_node_t *node;
  int received;
} adder_t;

static int adder_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  adder_t *a = (adder_t *)p;
  a->received++;
  (void)cohort_node_peer_add(a->node, m->from, m->from_incarnation, NULL, 0);
  return 0;
}
static const cohort_proto_ops_t adder_ops = {.name = "adder", .proto_id = COHORT_PROTO_APP + 1,
                                             .recv = adder_recv,
                                             .flags = COHORT_PROTO_ACCEPT_UNKNOWN};

static void expect_addr(const cohort_node_t *n, cohort_node_id_t id, const uint8_t *want,
                        size_t len) {
  const uint8_t *a;
  size_t alen;
  assert_int_equal(cohort_node_peer_addr(n, id, &a, &alen), 0);
  assert_int_equal(alen, len);
  assert_memory_equal(a, want, len);
}

/* The node learns where a peer is from its admitted datagrams: the sender
 * a protocol makes a peer while handling its datagram, a peer added
 * without an address, a newer incarnation; never an address change of the
 * same incarnation, nor from a refused datagram. */
static void test_learn_addr(void **state) {
  (void)state;
  host_t h = {0}, hs = {0};
  cohort_node_t *n, *s;
  cohort_node_config_t cfg = {.cluster_id = 42, .id = 1, .incarnation = 1};
  h.wall = hs.wall = 1700000000000000000ll;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &h, &n), 0);
  adder_t ad = {.base.ops = &adder_ops, .node = n};
  assert_int_equal(cohort_node_attach(n, &ad.base), 0);
  cohort_node_start(n);
  cfg.id = 9;
  cfg.incarnation = 5;
  assert_int_equal(cohort_node_new(&cfg, &host_ops, &hs, &s), 0);
  adder_t as = {.base.ops = &adder_ops, .node = s};
  assert_int_equal(cohort_node_attach(s, &as.base), 0);
  const uint8_t contact[] = {4, 0, 1, 127, 0, 0, 1};
  const uint8_t from[] = {4, 0, 9, 10, 0, 0, 9}, elsewhere[] = {4, 0, 9, 10, 0, 0, 99};
  /* 1. a non-peer's datagram; the protocol adds it without an address */
  assert_int_equal(cohort_node_send_addr(s, &as.base, contact, sizeof contact, 1, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram_from(n, hs.out[0].bytes, hs.out[0].len, from,
                                                sizeof from), 0);
  assert_int_equal(ad.received, 1);
  assert_true(cohort_node_is_peer(n, 9));
  expect_addr(n, 9, from, sizeof from);
  assert_int_equal(h.peer_op_id, 9);
  assert_int_equal(h.peer_op_addr_len, sizeof from);
  assert_memory_equal(h.peer_op_addr, from, sizeof from);
  /* 2. the same incarnation from elsewhere does not move it */
  assert_int_equal(cohort_node_peer_add(s, 1, 1, contact, sizeof contact), 0);
  assert_int_equal(cohort_node_send(s, &as.base, 1, 1, NULL, 0), 0);
  int adds = h.peer_op_adds;
  assert_int_equal(cohort_node_on_datagram_from(n, hs.out[1].bytes, hs.out[1].len, elsewhere,
                                                sizeof elsewhere), 0);
  expect_addr(n, 9, from, sizeof from);
  assert_int_equal(h.peer_op_adds, adds);
  /* 3. a refused datagram (a replay) teaches nothing either */
  assert_int_not_equal(cohort_node_on_datagram_from(n, hs.out[1].bytes, hs.out[1].len,
                                                    elsewhere, sizeof elsewhere), 0);
  expect_addr(n, 9, from, sizeof from);
  /* 4. a newer incarnation (a restart) may come back elsewhere */
  assert_int_equal(cohort_node_reincarnate(s), 0);
  assert_int_equal(cohort_node_send(s, &as.base, 1, 1, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram_from(n, hs.out[2].bytes, hs.out[2].len, elsewhere,
                                                sizeof elsewhere), 0);
  expect_addr(n, 9, elsewhere, sizeof elsewhere);
  assert_memory_equal(h.peer_op_addr, elsewhere, sizeof elsewhere);
  /* 5. a peer added without an address takes the first one it speaks from */
  assert_int_equal(cohort_node_peer_remove(n, 9), 0);
  assert_int_equal(cohort_node_peer_add(n, 9, 0, NULL, 0), 0);
  assert_int_equal(cohort_node_send(s, &as.base, 1, 1, NULL, 0), 0);
  assert_int_equal(cohort_node_on_datagram_from(n, hs.out[3].bytes, hs.out[3].len, from,
                                                sizeof from), 0);
  expect_addr(n, 9, from, sizeof from);
  cohort_node_free(n);
  cohort_node_free(s);
}

/* Longer than COHORT_DATAGRAM_MAX: counted and traced by the node (hosts
 * pass what they read, up to one byte more). */
static void test_oversize(void **state) {
  pair_t *p = *state;
  static uint8_t big[COHORT_DATAGRAM_MAX + 1];
  big[0] = 0xC0;
  assert_int_equal(cohort_node_on_datagram(p->b, big, sizeof big), COHORT_EPROTO);
  assert_int_equal(cohort_node_stats(p->b)->drop_oversize, 1);
  assert_non_null(strstr(p->hb.last_trace, "\"reason\":\"oversize\""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_send_receive_stamps, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_send_to_unknown_peer_or_oversize, pair_setup,
                                      pair_teardown),
      cmocka_unit_test_setup_teardown(test_broadcast, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_timers_order_and_wake, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_random_bytes_never_crash, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_truncated_and_bit_flipped, pair_setup, pair_teardown),
      cmocka_unit_test(test_forward_compatible_newer_schema),
      cmocka_unit_test(test_refusals_are_counted),
      cmocka_unit_test(test_incarnations),
      cmocka_unit_test_setup_teardown(test_authentication, pair_setup, pair_teardown),
      cmocka_unit_test(test_bad_config),
      cmocka_unit_test(test_init_allocation_failures),
      cmocka_unit_test(test_replay_window),
      cmocka_unit_test_setup_teardown(test_replays_refused, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_restart_refuses_old_traffic, pair_setup,
                                      pair_teardown),
      cmocka_unit_test_setup_teardown(test_first_contact_must_be_fresh, pair_setup,
                                      pair_teardown),
      cmocka_unit_test(test_hostile_counters),
      cmocka_unit_test(test_encryption),
      cmocka_unit_test_setup_teardown(test_key_rotation, pair_setup, pair_teardown),
      cmocka_unit_test(test_dynamic_peers),
      cmocka_unit_test(test_learn_addr),
      cmocka_unit_test_setup_teardown(test_oversize, pair_setup, pair_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
