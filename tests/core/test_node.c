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

static const cohort_host_ops_t host_ops = {.now = h_now, .wall = h_wall, .true_time = h_wall,
                                           .random = h_random, .send = h_send,
                                           .wake = h_wake, .trace = h_trace};

/* A test protocol: records what it receives and the timers that fire. */
typedef struct echo {
  cohort_proto_t base;
  int received, timers_fired, refuse;
  uint32_t last_timer, last_kind;
  uint8_t last_payload[64];
  size_t last_len;
  cohort_node_id_t last_from;
  int restarts;
} echo_t;

static int echo_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  echo_t *e = (echo_t *)p;
  if (e->refuse) return COHORT_EPROTO;
  e->received++;
  e->last_kind = m->kind;
  e->last_from = m->from;
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
  if (ev == COHORT_PEER_RESTARTED) ((echo_t *)p)->restarts++;
}
static const cohort_proto_ops_t echo_ops = {
    .name = "echo", .proto_id = COHORT_PROTO_APP, .recv = echo_recv,
    .timer = echo_timer, .peer = echo_peer};

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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
