/*
 * tests/runtime/test_runtime.c — the libuv host in one process: two nodes
 * on loopback UDP (ephemeral ports) exchanging probe messages, the wake-up
 * timer, every fault knob (drop, per-peer override of 'all', duplicate,
 * delay), injected losses in the trace, refused configurations, allocation
 * failure at every step of node creation, and the text parsers, key file
 * and incarnation counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../support/failalloc.h"
#include "cohort/runtime.h"

/* ---- a probe protocol: counts what it receives, one timer --------------- */

typedef struct probe {
  cohort_proto_t base;
  size_t received;
  int64_t timer_at_ns; /* arm this timer at start (0 = none) */
  int64_t timer_fired_ns;
} probe_t;

static void probe_start(cohort_proto_t *p) {
  probe_t *pr = (probe_t *)p;
  if (pr->timer_at_ns)
    cohort_node_timer_set(p->node, p, 1, cohort_node_now(p->node) + pr->timer_at_ns);
}

static int probe_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  (void)m;
  ((probe_t *)p)->received++;
  return 0;
}

static void probe_timer(cohort_proto_t *p, uint32_t id) {
  (void)id;
  ((probe_t *)p)->timer_fired_ns = cohort_node_now(p->node);
}

static const cohort_proto_ops_t probe_ops = {
    .name = "probe", .proto_id = COHORT_PROTO_APP, .start = probe_start,
    .recv = probe_recv, .timer = probe_timer};

/* ---- fixture: two nodes on one loop --------------------------------------- */

typedef struct pair {
  uv_loop_t loop;
  cohort_runtime_t *rt;
  cohort_runtime_node_t *a, *b; /* ids 1 and 2 */
  probe_t pa, pb;
  char trace_a[64];
} pair_t;

static cohort_runtime_node_config_t config_for(cohort_node_id_t id, cohort_node_id_t peer,
                                               cohort_runtime_peer_t *pp) {
  cohort_runtime_node_config_t c;
  memset(&c, 0, sizeof c);
  c.cluster_id = 7;
  c.id = id;
  c.incarnation = 1;
  assert_int_equal(cohort_runtime_parse_addr("127.0.0.1:0", true, &c.listen), 0);
  pp->id = peer;
  assert_int_equal(cohort_runtime_parse_addr("127.0.0.1:9", false, &pp->addr), 0);
  c.peers = pp;
  c.peers_len = 1;
  return c;
}

static int pair_setup(void **state) {
  pair_t *p = calloc(1, sizeof *p);
  char err[256];
  assert_non_null(p);
  assert_int_equal(uv_loop_init(&p->loop), 0);
  assert_int_equal(cohort_runtime_new(&p->loop, NULL, &p->rt), 0);
  cohort_runtime_peer_t pa, pb;
  cohort_runtime_node_config_t ca = config_for(1, 2, &pa), cb = config_for(2, 1, &pb);
  snprintf(p->trace_a, sizeof p->trace_a, "/tmp/cohort-test-rt-%d.jsonl", (int)getpid());
  ca.trace_path = p->trace_a;
  assert_int_equal(cohort_runtime_node_add(p->rt, &ca, &p->a, err, sizeof err), 0);
  assert_int_equal(cohort_runtime_node_add(p->rt, &cb, &p->b, err, sizeof err), 0);
  struct sockaddr_storage sa, sb;
  assert_int_equal(cohort_runtime_node_address(p->a, &sa), 0);
  assert_int_equal(cohort_runtime_node_address(p->b, &sb), 0);
  assert_int_equal(cohort_runtime_node_set_peer(p->a, 2, &sb), 0);
  assert_int_equal(cohort_runtime_node_set_peer(p->b, 1, &sa), 0);
  p->pa.base.ops = p->pb.base.ops = &probe_ops;
  assert_int_equal(cohort_node_attach(cohort_runtime_node(p->a), &p->pa.base), 0);
  assert_int_equal(cohort_node_attach(cohort_runtime_node(p->b), &p->pb.base), 0);
  *state = p;
  return 0;
}

static int pair_teardown(void **state) {
  pair_t *p = *state;
  cohort_node_detach(cohort_runtime_node(p->a), &p->pa.base);
  cohort_node_detach(cohort_runtime_node(p->b), &p->pb.base);
  cohort_runtime_free(p->rt);
  assert_int_equal(uv_loop_close(&p->loop), 0);
  unlink(p->trace_a);
  free(p);
  return 0;
}

static void stop_cb(uv_timer_t *t) { uv_stop(t->loop); }

static void run_for(uv_loop_t *loop, uint64_t ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, stop_cb, ms, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void send_n(pair_t *p, size_t n) {
  cohort_node_t *na = cohort_runtime_node(p->a);
  const uint8_t payload[] = "ping";
  for (size_t i = 0; i < n; i++)
    assert_int_equal(cohort_node_send(na, &p->pa.base, 2, 1, payload, sizeof payload), 0);
}

/* Count lines of the trace file that contain `needle`. */
static size_t count_in_file(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  char line[8192];
  size_t n = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, needle)) n++;
  fclose(f);
  return n;
}

/* ---- delivery and timers -------------------------------------------------- */

static void test_deliver(void **state) {
  pair_t *p = *state;
  cohort_node_start(cohort_runtime_node(p->a));
  cohort_node_start(cohort_runtime_node(p->b));
  send_n(p, 20);
  run_for(&p->loop, 100);
  assert_int_equal(p->pb.received, 20);
  assert_int_equal(cohort_node_stats(cohort_runtime_node(p->b))->rx_delivered, 20);
  assert_int_equal(cohort_runtime_node_flush(p->a), 0);
  assert_int_equal(count_in_file(p->trace_a, "\"ev\":\"send\""), 20);
}

static void test_wake_timer(void **state) {
  pair_t *p = *state;
  p->pa.timer_at_ns = 40 * COHORT_NS_PER_MS;
  int64_t t0 = (int64_t)uv_hrtime();
  cohort_node_start(cohort_runtime_node(p->a));
  run_for(&p->loop, 150);
  assert_true(p->pa.timer_fired_ns != 0);
  int64_t late = p->pa.timer_fired_ns - t0;
  assert_true(late >= 40 * COHORT_NS_PER_MS);  /* never early */
  assert_true(late < 120 * COHORT_NS_PER_MS); /* nor very late */
}

/* ---- fault injection ------------------------------------------------------- */

static void test_fault_drop(void **state) {
  pair_t *p = *state;
  cohort_runtime_fault_t f = {.drop = 1.0};
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &f), 0);
  send_n(p, 20);
  run_for(&p->loop, 60);
  assert_int_equal(p->pb.received, 0);
  assert_int_equal(cohort_runtime_node_stats(p->a)->fault_dropped, 20);
  assert_int_equal(cohort_runtime_node_flush(p->a), 0);
  assert_int_equal(count_in_file(p->trace_a, "\"reason\":\"loss\""), 20);
}

static void test_fault_override_all(void **state) {
  pair_t *p = *state;
  cohort_runtime_fault_t all = {.drop = 1.0}, none = {0};
  assert_int_equal(cohort_runtime_node_fault(p->a, COHORT_NODE_NONE, &all), 0);
  assert_int_equal(cohort_runtime_node_fault(p->b, COHORT_NODE_NONE, &all), 0);
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &none), 0); /* a→b heals */
  send_n(p, 10);
  const uint8_t x[] = "x";
  assert_int_equal(cohort_node_send(cohort_runtime_node(p->b), &p->pb.base, 1, 1, x, 1), 0);
  run_for(&p->loop, 60);
  assert_int_equal(p->pb.received, 10);
  assert_int_equal(p->pa.received, 0);
  assert_int_equal(cohort_runtime_node_stats(p->b)->fault_dropped, 1);
}

static void test_fault_dup(void **state) {
  pair_t *p = *state;
  cohort_runtime_fault_t f = {.dup = 1.0};
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &f), 0);
  send_n(p, 10);
  run_for(&p->loop, 60);
  assert_int_equal(cohort_runtime_node_stats(p->a)->fault_duplicated, 10);
  assert_int_equal(cohort_node_stats(cohort_runtime_node(p->b))->rx_datagrams, 20);
}

static void test_fault_delay(void **state) {
  pair_t *p = *state;
  cohort_runtime_fault_t f = {.delay_ns = 80 * COHORT_NS_PER_MS,
                              .jitter_ns = 20 * COHORT_NS_PER_MS};
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &f), 0);
  send_n(p, 20);
  run_for(&p->loop, 40);
  assert_int_equal(p->pb.received, 0); /* still held back */
  run_for(&p->loop, 160);
  assert_int_equal(p->pb.received, 20);
  assert_int_equal(cohort_runtime_node_stats(p->a)->fault_delayed, 20);
}

static void test_fault_delayed_freed_at_close(void **state) {
  pair_t *p = *state; /* teardown must free what is still queued (ASan) */
  cohort_runtime_fault_t f = {.delay_ns = 10 * COHORT_NS_PER_S};
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &f), 0);
  send_n(p, 5);
  assert_int_equal(cohort_runtime_node_stats(p->a)->fault_delayed, 5);
}

static void test_fault_refused(void **state) {
  pair_t *p = *state;
  cohort_runtime_fault_t bad = {.drop = 1.5}, neg = {.delay_ns = -1}, ok = {0};
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &bad), COHORT_EINVAL);
  assert_int_equal(cohort_runtime_node_fault(p->a, 2, &neg), COHORT_EINVAL);
  assert_int_equal(cohort_runtime_node_fault(p->a, 9, &ok), COHORT_EUNKNOWN);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  assert_int_equal(cohort_runtime_node_set_peer(p->a, 9, &ss), COHORT_EUNKNOWN);
}

/* ---- refused configurations ------------------------------------------------- */

static void test_bind_in_use(void **state) {
  pair_t *p = *state;
  char err[256] = "";
  cohort_runtime_peer_t pp;
  cohort_runtime_node_config_t c = config_for(3, 1, &pp);
  assert_int_equal(cohort_runtime_node_address(p->a, &c.listen), 0);
  cohort_runtime_node_t *rn = NULL;
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), COHORT_EIO);
  assert_null(rn);
  assert_non_null(strstr(err, "cannot listen"));
}

static void test_bad_config(void **state) {
  pair_t *p = *state;
  char err[256];
  cohort_runtime_node_t *rn = NULL;
  cohort_runtime_peer_t peers[2];
  cohort_runtime_node_config_t c = config_for(3, 3, &peers[0]); /* self as peer */
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), COHORT_EINVAL);
  c = config_for(3, 4, &peers[0]);
  peers[1] = peers[0]; /* duplicate */
  c.peers_len = 2;
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "duplicate"));
  c.peers_len = 1;
  c.id = COHORT_NODE_NONE;
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), COHORT_EINVAL);
  c.id = 3;
  c.trace_path = "/nonexistent-dir/x.jsonl";
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), COHORT_EIO);
  assert_non_null(strstr(err, "trace"));
  assert_null(rn);
  c.trace_path = NULL;
  c.socket_buffer_bytes = COHORT_RUNTIME_SOCKET_BUFFER_MAX + 1; /* one byte too many */
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "socket buffer"));
  assert_null(rn);
}

/* The socket buffers: the default is asked for (forced as root; else the
 * kernel's cap applies) and the effective sizes are in the stats; the
 * largest allowed size is accepted. */
static void test_socket_buffers(void **state) {
  pair_t *p = *state;
  const cohort_runtime_stats_t *st = cohort_runtime_node_stats(p->a);
  assert_true(st->rcvbuf_bytes > 0 && st->sndbuf_bytes > 0);
  if (geteuid() == 0) assert_true(st->rcvbuf_bytes >= COHORT_RUNTIME_SOCKET_BUFFER);
  char err[256];
  cohort_runtime_peer_t pp;
  cohort_runtime_node_config_t c = config_for(5, 6, &pp);
  c.socket_buffer_bytes = COHORT_RUNTIME_SOCKET_BUFFER_MAX;
  cohort_runtime_node_t *rn = NULL;
  assert_int_equal(cohort_runtime_node_add(p->rt, &c, &rn, err, sizeof err), 0);
  assert_true(cohort_runtime_node_stats(rn)->rcvbuf_bytes > 0);
}

/* Fail each allocation of runtime and node creation in turn: every
 * failure is a clean error and nothing leaks. */
static void test_alloc_failure(void **state) {
  (void)state;
  bool succeeded = false;
  for (long n = 1; n < 200 && !succeeded; n++) {
    failalloc_t fa;
    failalloc_init(&fa, n);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    cohort_runtime_t *rt = NULL;
    cohort_runtime_node_t *rn = NULL;
    char err[256];
    cohort_runtime_peer_t pp;
    cohort_runtime_node_config_t c = config_for(1, 2, &pp);
    int rc = cohort_runtime_new(&loop, &fa.base, &rt);
    if (rc == 0) {
      rc = cohort_runtime_node_add(rt, &c, &rn, err, sizeof err);
      if (rc == 0) succeeded = true;
      else assert_true(rc == COHORT_ENOMEM);
      cohort_runtime_free(rt);
    } else {
      assert_int_equal(rc, COHORT_ENOMEM);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(fa.live, 0);
  }
  assert_true(succeeded);
}

/* ---- a join through a contact point ------------------------------------------ */

/* Opted in to non-peers. The member side admits a JOIN (adds the sender
 * with the address it came from) and answers; the joiner side adds the
 * member that answered as a peer without an address (as a group joiner
 * adds the coordinator named in its first view) and answers in turn. */
typedef struct joinp {
  cohort_proto_t base;
  size_t received, from_non_peer;
  bool member;
} joinp_t;

static int joinp_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  joinp_t *j = (joinp_t *)p;
  j->received++;
  if (!m->from_peer) j->from_non_peer++;
  if (j->received > 2) return 0;
  if (j->member) (void)cohort_node_peer_add(p->node, m->from, m->from_incarnation, m->addr,
                                            m->addr_len);
  else (void)cohort_node_peer_add(p->node, m->from, m->from_incarnation, NULL, 0);
  return cohort_node_send(p->node, p, m->from, m->kind + 1, NULL, 0);
}

static const cohort_proto_ops_t joinp_ops = {.name = "joinp", .proto_id = COHORT_PROTO_APP + 1,
                                             .recv = joinp_recv,
                                             .flags = COHORT_PROTO_ACCEPT_UNKNOWN};

/* A node with no peers and one contact reaches the member there, and the
 * member's answer, and all traffic after it, reach the joiner and back:
 * the runtime learns both addresses from the datagrams. */
static void test_join_contact(void **state) {
  (void)state;
  uv_loop_t loop;
  cohort_runtime_t *rt;
  cohort_runtime_node_t *member, *joiner;
  char err[256];
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cohort_runtime_new(&loop, NULL, &rt), 0);
  cohort_runtime_node_config_t c;
  memset(&c, 0, sizeof c);
  c.cluster_id = 7;
  c.id = 1;
  c.incarnation = 1;
  assert_int_equal(cohort_runtime_parse_addr("127.0.0.1:0", true, &c.listen), 0);
  assert_int_equal(cohort_runtime_node_add(rt, &c, &member, err, sizeof err), 0);
  struct sockaddr_storage contact;
  assert_int_equal(cohort_runtime_node_address(member, &contact), 0);
  c.id = 3;
  c.contacts = &contact;
  c.contacts_len = 1;
  assert_int_equal(cohort_runtime_node_add(rt, &c, &joiner, err, sizeof err), 0);
  size_t nc;
  const cohort_contact_t *ct = cohort_node_contacts(cohort_runtime_node(joiner), &nc);
  assert_int_equal(nc, 1);
  uint8_t enc[COHORT_PEER_ADDR_MAX];
  assert_int_equal(cohort_runtime_addr_encode(&contact, enc, sizeof enc), ct[0].len);
  assert_memory_equal(ct[0].addr, enc, ct[0].len);
  joinp_t jm = {.base.ops = &joinp_ops, .member = true}, jj = {.base.ops = &joinp_ops};
  cohort_node_t *nm = cohort_runtime_node(member), *nj = cohort_runtime_node(joiner);
  assert_int_equal(cohort_node_attach(nm, &jm.base), 0);
  assert_int_equal(cohort_node_attach(nj, &jj.base), 0);
  cohort_node_start(nm);
  cohort_node_start(nj);
  assert_int_equal(cohort_node_send_addr(nj, &jj.base, ct[0].addr, ct[0].len, 10, NULL, 0), 0);
  for (int i = 0; i < 50 && jm.received < 3; i++) run_for(&loop, 10);
  /* JOIN (10) -> member; 11 -> joiner; 12 -> member; 13 -> joiner; 14 -> member */
  assert_int_equal(jm.received, 3);
  assert_int_equal(jm.from_non_peer, 1);
  assert_int_equal(jj.received, 2);
  assert_int_equal(jj.from_non_peer, 1);
  assert_int_equal(cohort_node_stats(nj)->tx_errors, 0);
  assert_int_equal(cohort_node_stats(nm)->tx_errors, 0);
  cohort_node_detach(nm, &jm.base);
  cohort_node_detach(nj, &jj.base);
  cohort_runtime_free(rt);
  assert_int_equal(uv_loop_close(&loop), 0);
  /* contact points are checked */
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(cohort_runtime_new(&loop, NULL, &rt), 0);
  struct sockaddr_storage unix_addr;
  memset(&unix_addr, 0, sizeof unix_addr);
  unix_addr.ss_family = AF_UNIX;
  c.contacts = &unix_addr;
  assert_int_equal(cohort_runtime_node_add(rt, &c, &joiner, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "contact"));
  c.contacts = &contact;
  c.contacts_len = COHORT_CONTACTS_MAX + 1;
  assert_int_equal(cohort_runtime_node_add(rt, &c, &joiner, err, sizeof err), COHORT_EINVAL);
  cohort_runtime_free(rt);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- parsers, key file, incarnation ----------------------------------------- */

static void test_parse_addr(void **state) {
  (void)state;
  struct sockaddr_storage ss;
  assert_int_equal(cohort_runtime_parse_addr("127.0.0.1:7001", false, &ss), 0);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7001);
  assert_int_equal(cohort_runtime_parse_addr("[::1]:7001", false, &ss), 0);
  assert_int_equal(ss.ss_family, AF_INET6);
  assert_int_equal(cohort_runtime_parse_addr("198.18.0.1:0", true, &ss), 0);
  const char *bad[] = {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:0",
                       "127.0.0.1:65536", "127.0.0.1:-1", "localhost:80", "1.2.3:80",
                       "[::1]7001", "[::1:7001", "127.0.0.1:80x", "300.0.0.1:80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cohort_runtime_parse_addr(bad[i], false, &ss), COHORT_EINVAL);
}

static void test_parse_contacts(void **state) {
  (void)state;
  struct sockaddr_storage c[COHORT_CONTACTS_MAX];
  size_t n = 0;
  char err[256];
  assert_int_equal(cohort_runtime_parse_contacts("127.0.0.1:7001,[::1]:7002", c, &n,
                                                 COHORT_CONTACTS_MAX, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(c[0].ss_family, AF_INET);
  assert_int_equal(c[1].ss_family, AF_INET6);
  assert_int_equal(ntohs(((struct sockaddr_in6 *)&c[1])->sin6_port), 7002);
  /* round trip through the node's opaque encoding */
  uint8_t enc[COHORT_PEER_ADDR_MAX];
  struct sockaddr_storage back;
  int len = cohort_runtime_addr_encode(&c[1], enc, sizeof enc);
  assert_int_equal(len, 19);
  assert_int_equal(cohort_runtime_addr_decode(enc, (size_t)len, &back), 0);
  assert_memory_equal(&((struct sockaddr_in6 *)&back)->sin6_addr,
                      &((struct sockaddr_in6 *)&c[1])->sin6_addr, 16);
  struct {
    const char *text, *why;
  } bad[] = {{"", "empty"},
             {",", "empty"},
             {"127.0.0.1:1,", "empty"},
             {"127.0.0.1", "bad address"},
             {"127.0.0.1:0", "bad address"},
             {"localhost:80", "bad address"},
             {"2@127.0.0.1:80", "bad address"},
             {"127.0.0.1:1,127.0.0.1:1", "duplicate"},
             {"[::1]:5,[0:0::1]:5", "duplicate"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t m = 7;
    assert_int_equal(cohort_runtime_parse_contacts(bad[i].text, c, &m, COHORT_CONTACTS_MAX, err,
                                                   sizeof err),
                     COHORT_EINVAL);
    assert_non_null(strstr(err, bad[i].why));
    assert_int_equal(m, 7); /* unchanged on error */
  }
  char many[COHORT_CONTACTS_MAX * 24 + 32] = "";
  for (int i = 0; i <= COHORT_CONTACTS_MAX; i++) {
    char one[24];
    snprintf(one, sizeof one, "%s127.0.0.1:%d", i ? "," : "", 7000 + i);
    strcat(many, one);
  }
  assert_int_equal(cohort_runtime_parse_contacts(many, c, &n, COHORT_CONTACTS_MAX, err,
                                                 sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "too many"));
  *strrchr(many, ',') = '\0'; /* exactly COHORT_CONTACTS_MAX */
  assert_int_equal(cohort_runtime_parse_contacts(many, c, &n, COHORT_CONTACTS_MAX, err,
                                                 sizeof err), 0);
  assert_int_equal(n, COHORT_CONTACTS_MAX);
}

static void test_parse_peers(void **state) {
  (void)state;
  cohort_runtime_peer_t peers[3];
  size_t n = 0;
  char err[256];
  assert_int_equal(cohort_runtime_parse_peers("2@127.0.0.1:7002,3@127.0.0.1:7003", peers,
                                              &n, 3, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_int_equal(peers[1].id, 3);
  assert_int_equal(cohort_runtime_parse_peers("2@127.0.0.1:7009", peers, &n, 3, err,
                                              sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "duplicate"));
  assert_int_equal(n, 2); /* unchanged on error */
  const char *bad[] = {"", ",", "x@127.0.0.1:1", "4@", "4@127.0.0.1", "4127.0.0.1:1",
                       "4@127.0.0.1:1,", "4294967295@127.0.0.1:1", "-1@127.0.0.1:1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t m = 0;
    assert_int_equal(cohort_runtime_parse_peers(bad[i], peers, &m, 3, err, sizeof err),
                     COHORT_EINVAL);
  }
  size_t m = 0; /* capacity */
  assert_int_equal(cohort_runtime_parse_peers("1@1.1.1.1:1,2@1.1.1.1:2", peers, &m, 1,
                                              err, sizeof err), COHORT_EINVAL);
}

static void test_parse_fault(void **state) {
  (void)state;
  cohort_node_id_t peer;
  cohort_runtime_fault_t f;
  char err[256];
  assert_int_equal(cohort_runtime_parse_fault("3:drop=0.2,delay=5ms,jitter=2ms,dup=0.01",
                                              &peer, &f, err, sizeof err), 0);
  assert_int_equal(peer, 3);
  assert_true(f.drop > 0.19 && f.drop < 0.21 && f.dup > 0.009 && f.dup < 0.011);
  assert_int_equal(f.delay_ns, 5 * COHORT_NS_PER_MS);
  assert_int_equal(f.jitter_ns, 2 * COHORT_NS_PER_MS);
  assert_int_equal(cohort_runtime_parse_fault("all:drop=1", &peer, &f, err, sizeof err), 0);
  assert_int_equal(peer, COHORT_NODE_NONE);
  const char *bad[] = {"", "3", "3:", "x:drop=0.1", "3:drop=2", "3:drop=-0.1",
                       "3:drop", "3:loss=0.1", "3:delay=5", "3:delay=-5ms",
                       "3:drop=0.1,", "all:dup=nan"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cohort_runtime_parse_fault(bad[i], &peer, &f, err, sizeof err),
                     COHORT_EINVAL);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void write_key(const char *path, const char *text, mode_t mode) {
  write_file(path, text);
  assert_int_equal(chmod(path, mode), 0);
}

static int read_keys(const char *path, cohort_runtime_keys_t *k, char *err) {
  return cohort_runtime_read_keys(path, k, err, 256);
}

/* Key files: the ring format, every refusal with a message, and the
 * permission check (keys never world- or group-readable). */
static void test_key_file(void **state) {
  (void)state;
  char path[64], err[256];
  cohort_runtime_keys_t k;
  snprintf(path, sizeof path, "/tmp/cohort-test-key-%d", (int)getpid());
  write_key(path, "# ring\n1 0011aabb\n\n7 ffee  \nuse 7\n", 0600);
  assert_int_equal(read_keys(path, &k, err), 0);
  assert_int_equal(k.len, 2);
  assert_int_equal(k.ids[0], 1);
  assert_int_equal(k.lens[0], 4);
  assert_memory_equal(k.keys[0], "\x00\x11\xaa\xbb", 4);
  assert_int_equal(k.use, 7);
  write_key(path, "3 abcd\n", 0400);
  assert_int_equal(read_keys(path, &k, err), 0);
  assert_int_equal(k.use, 3); /* the first, when no 'use' line */
  static const struct {
    const char *text;
    const char *msg;
  } bad[] = {{"", "holds no key"},
             {"1 abc\n", "hex digits"},
             {"1 zz\n", "not hexadecimal"},
             {"256 aa\n", "not in 0..255"},
             {"1 aa\n1 bb\n", "given twice"},
             {"1 aa\nuse 2\n", "names no key"},
             {"1 aa bb\n", "expected"},
             {"x aa\n", "expected"},
             {"1 aa\n2 bb\n3 cc\n4 dd\n5 ee\n", "more than"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_key(path, bad[i].text, 0600);
    assert_int_equal(read_keys(path, &k, err), COHORT_EINVAL);
    assert_non_null(strstr(err, bad[i].msg));
  }
  char longkey[200] = "1 ";
  memset(longkey + 2, 'a', 2 * COHORT_CLUSTER_KEY_MAX + 2);
  write_key(path, longkey, 0600);
  assert_int_equal(read_keys(path, &k, err), COHORT_EINVAL);
  write_key(path, "1 aabb\n", 0640); /* group may read: refused */
  assert_int_equal(read_keys(path, &k, err), COHORT_EINVAL);
  assert_non_null(strstr(err, "chmod 600"));
  write_key(path, "1 aabb\n", 0604);
  assert_int_equal(read_keys(path, &k, err), COHORT_EINVAL);
  unlink(path);
  assert_int_equal(read_keys(path, &k, err), COHORT_EIO);
  assert_non_null(strstr(err, "cannot read"));
}

static void test_incarnation(void **state) {
  (void)state;
  char dir[] = "/tmp/cohort-test-inc-XXXXXX", path[128], err[256];
  assert_non_null(mkdtemp(dir));
  cohort_incarnation_t inc = 0, prev = 0;
  /* Strictly increasing, from the wall clock (µs << 10 | random bits). */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cohort_runtime_incarnation(dir, 4, &inc, err, sizeof err), 0);
    assert_true(inc > prev);
    assert_true(inc >> 10 > UINT64_C(1700000000000000)); /* after 2023, in µs */
    prev = inc;
  }
  /* The durable floor wins over a clock that stepped back (here: a floor
   * far in the future). */
  snprintf(path, sizeof path, "%s/node-4.incarnation", dir);
  write_file(path, "4000000000000000000\n");
  assert_int_equal(cohort_runtime_incarnation(dir, 4, &inc, err, sizeof err), 0);
  assert_true(inc == UINT64_C(4000000000000000001));
  write_file(path, "4611686018427387904\n"); /* 2^62: no room left */
  prev = inc;
  assert_int_equal(cohort_runtime_incarnation(dir, 4, &inc, err, sizeof err), COHORT_EINVAL);
  write_file(path, "garbage\n");
  assert_int_equal(cohort_runtime_incarnation(dir, 4, &inc, err, sizeof err), COHORT_EIO);
  assert_true(prev == inc); /* untouched */
  unlink(path);
  rmdir(dir);
  assert_int_equal(cohort_runtime_incarnation("/nonexistent/dir", 4, &inc, err, sizeof err),
                   COHORT_EIO);
  cohort_incarnation_t w1, w2;
  assert_int_equal(cohort_runtime_incarnation(NULL, 4, &w1, err, sizeof err), 0);
  usleep(1000);
  assert_int_equal(cohort_runtime_incarnation(NULL, 4, &w2, err, sizeof err), 0);
  assert_true(w2 > w1);
  assert_true(w1 > UINT64_C(1500000000) * 1000000000u); /* ns since the epoch */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_deliver, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_wake_timer, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_fault_drop, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_fault_override_all, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_fault_dup, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_fault_delay, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_fault_delayed_freed_at_close, pair_setup,
                                      pair_teardown),
      cmocka_unit_test_setup_teardown(test_fault_refused, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_bind_in_use, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_bad_config, pair_setup, pair_teardown),
      cmocka_unit_test_setup_teardown(test_socket_buffers, pair_setup, pair_teardown),
      cmocka_unit_test(test_alloc_failure),
      cmocka_unit_test(test_join_contact),
      cmocka_unit_test(test_parse_addr),
      cmocka_unit_test(test_parse_peers),
      cmocka_unit_test(test_parse_contacts),
      cmocka_unit_test(test_parse_fault),
      cmocka_unit_test(test_key_file),
      cmocka_unit_test(test_incarnation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
