/*
 * tests/coord/test_mutex.c — the four mutex algorithms driven directly:
 * clusters built in the simulator from inline scenarios, the application
 * API called by hand between steps (acquire, release, cancel, renew),
 * faults injected at chosen instants (crash of the coordinator, of the
 * token holder, of a peer Lamport needs), and bad input handed straight
 * to the protocol's recv entry point (garbage, unknown kinds, kinds of
 * another algorithm, missing fields, old incarnations, stale epochs and
 * token generations) — each refused or dropped and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/check.h"
#include "cohort/mutex.h"
#include "cohort/sim.h"
#include "mutex.pb-c.h"

#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
#define NODES_MAX 8

static const cohort_proto_factory_t *const extra[] = {&cohort_mutex_factory};

typedef struct world {
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  cohort_trace_t trace;
  int status[NODES_MAX + 1];
  uint64_t token[NODES_MAX + 1];
  int calls[NODES_MAX + 1];
} world_t;

static void collect_cb(void *ud, const char *line, size_t len) {
  cohort_trace_t *t = ud;
  assert_int_equal(cohort_trace_parse_line(t, line, len, t->len + 1, NULL, 0), 0);
}

static void world_new(world_t *w, unsigned nodes, const char *proto_line, const char *extra_lines) {
  memset(w, 0, sizeof *w);
  char text[1024];
  snprintf(text, sizeof text, "nodes %u\nduration 60s\nprotocol %s\nnetwork latency=1ms\n%s",
           nodes, proto_line, extra_lines ? extra_lines : "");
  cohort_scenario_options_t opts = {.extra_factories = extra, .extra_factories_len = 1};
  char err[256] = "";
  int rc = cohort_scenario_parse(text, strlen(text), "inline", &opts, &w->sc, err, sizeof err);
  if (rc) fail_msg("scenario: %s", err);
  cohort_trace_init(&w->trace);
  /* MUTEX_TRACE=FILE keeps the trace of the last world for debugging. */
  cohort_sim_config_t cfg = {.seed = 7, .trace_fn = collect_cb, .trace_ud = &w->trace,
                             .trace_path = getenv("MUTEX_TRACE")};
  if (cohort_sim_new(w->sc, &cfg, &w->sim, err, sizeof err)) fail_msg("sim: %s", err);
}

static void world_free(world_t *w) {
  cohort_sim_free(w->sim);
  cohort_scenario_free(w->sc);
  cohort_trace_close(&w->trace);
}

static void run_for(world_t *w, int64_t ns) {
  assert_int_equal(cohort_sim_run_until(w->sim, cohort_sim_now(w->sim) + ns), 0);
}

static cohort_mutex_t *mx(world_t *w, cohort_node_id_t id) {
  cohort_mutex_t *m = cohort_mutex_from_proto(cohort_sim_proto(w->sim, id, "mutex"));
  assert_non_null(m);
  return m;
}

static world_t *cb_world;
static void on_lock(cohort_mutex_t *m, int status, uint64_t token, void *ud) {
  (void)m;
  size_t id = (size_t)(uintptr_t)ud;
  cb_world->status[id] = status;
  cb_world->token[id] = token;
  cb_world->calls[id]++;
}

static void acquire(world_t *w, cohort_node_id_t id) {
  cb_world = w;
  assert_int_equal(cohort_mutex_acquire(mx(w, id), (void *)(uintptr_t)id, on_lock), 0);
}

/* The trace so far passes the safety and fencing checkers. */
static void assert_checks(world_t *w) {
  const cohort_checker_t *const cs[] = {&cohort_check_mutex_safety,
                                        &cohort_check_mutex_fencing};
  cohort_trace_sort(&w->trace);
  for (size_t i = 0; i < 2; i++) {
    cohort_check_result_t res;
    char err[128];
    assert_int_equal(cs[i]->run(&w->trace, NULL, 0, &res, err, sizeof err), 0);
    if (res.violations) fail_msg("%s: %s", cs[i]->name, res.first);
  }
}

/* ---- every algorithm: grant, queueing, release, cancel ------------------- */

static void basic(const char *algo) {
  world_t w;
  char proto[128];
  snprintf(proto, sizeof proto, "mutex algorithm=%s", algo);
  world_new(&w, 3, proto, NULL);
  run_for(&w, 1500 * MS); /* election / first token */
  acquire(&w, 1);
  run_for(&w, 200 * MS);
  assert_int_equal(w.calls[1], 1);
  assert_int_equal(w.status[1], 0);
  assert_int_equal(cohort_mutex_state(mx(&w, 1)), COHORT_MUTEX_HELD);
  assert_int_equal(cohort_mutex_acquire(mx(&w, 1), NULL, on_lock), COHORT_ESTATE);
  acquire(&w, 2);
  acquire(&w, 3);
  run_for(&w, 200 * MS);
  assert_int_equal(cohort_mutex_state(mx(&w, 2)), COHORT_MUTEX_PENDING);
  assert_int_equal(cohort_mutex_cancel(mx(&w, 3)), 0);
  assert_int_equal(w.status[3], COHORT_ECANCELED);
  assert_int_equal(cohort_mutex_cancel(mx(&w, 3)), COHORT_ESTATE);
  assert_int_equal(cohort_mutex_release(mx(&w, 1)), 0);
  assert_int_equal(cohort_mutex_release(mx(&w, 1)), COHORT_ESTATE);
  run_for(&w, 300 * MS);
  assert_int_equal(w.status[2], 0);
  assert_true(w.token[2] > w.token[1]);
  assert_int_equal(w.calls[3], 1); /* the cancelled request is never granted */
  assert_int_equal(cohort_mutex_state(mx(&w, 3)), COHORT_MUTEX_IDLE);
  char status[128];
  assert_true(cohort_mutex_status(mx(&w, 2), status, sizeof status) > 0);
  assert_non_null(strstr(status, "held"));
  assert_int_equal(cohort_mutex_release(mx(&w, 2)), 0);
  run_for(&w, 100 * MS);
  assert_checks(&w);
  world_free(&w);
}

static void test_basic_centralized(void **s) { (void)s; basic("centralized"); }
static void test_basic_lamport(void **s) { (void)s; basic("lamport"); }
static void test_basic_ricart_agrawala(void **s) { (void)s; basic("ricart-agrawala"); }
static void test_basic_token_ring(void **s) { (void)s; basic("token-ring"); }

/* ---- centralized: the coordinator dies while a node holds the lock -------- */

static void test_centralized_failover(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 5, "mutex algorithm=centralized", NULL);
  run_for(&w, 1500 * MS);
  assert_int_equal(cohort_mutex_coordinator(mx(&w, 1)), 5);
  acquire(&w, 2);
  run_for(&w, 100 * MS);
  uint64_t first = w.token[2];
  assert_true(first > 0);
  acquire(&w, 3);
  assert_int_equal(cohort_sim_crash(w.sim, 5), 0);
  run_for(&w, 4 * S); /* detection (1s), election, recovery */
  assert_int_equal(cohort_mutex_coordinator(mx(&w, 1)), 4);
  /* The new coordinator learned that 2 holds the lock: 3 still waits. */
  assert_int_equal(cohort_mutex_state(mx(&w, 3)), COHORT_MUTEX_PENDING);
  assert_int_equal(cohort_mutex_release(mx(&w, 2)), 0);
  run_for(&w, 500 * MS);
  assert_int_equal(cohort_mutex_state(mx(&w, 3)), COHORT_MUTEX_HELD);
  assert_true(w.token[3] > first);
  assert_true(cohort_mutex_stats(mx(&w, 4))->takeovers >= 1);
  /* A holder that crashes is removed once suspected. */
  assert_int_equal(cohort_sim_crash(w.sim, 3), 0);
  acquire(&w, 1);
  run_for(&w, 3 * S);
  assert_int_equal(w.status[1], 0);
  assert_true(w.token[1] > w.token[3]);
  assert_checks(&w);
  world_free(&w);
}

/* ---- centralized with a lease: expiry and renewal ------------------------- */

static void test_centralized_lease(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 3, "mutex algorithm=centralized lease=300ms", NULL);
  run_for(&w, 1500 * MS);
  acquire(&w, 1);
  run_for(&w, 100 * MS);
  assert_int_equal(w.status[1], 0);
  assert_int_equal(cohort_mutex_renew(mx(&w, 1)), 0);
  run_for(&w, 250 * MS); /* 350ms after the grant, renewed at 100ms */
  assert_int_equal(cohort_mutex_state(mx(&w, 1)), COHORT_MUTEX_HELD);
  run_for(&w, 200 * MS);
  assert_int_equal(w.status[1], COHORT_ETIMEDOUT);
  assert_int_equal(cohort_mutex_state(mx(&w, 1)), COHORT_MUTEX_IDLE);
  assert_int_equal(cohort_mutex_renew(mx(&w, 1)), COHORT_ESTATE);
  acquire(&w, 2);
  run_for(&w, 200 * MS);
  assert_int_equal(w.status[2], 0);
  assert_checks(&w);
  world_free(&w);

  world_new(&w, 3, "mutex algorithm=centralized", NULL);
  run_for(&w, 1500 * MS);
  acquire(&w, 1);
  run_for(&w, 100 * MS);
  assert_int_equal(cohort_mutex_renew(mx(&w, 1)), COHORT_EINVAL); /* no lease */
  world_free(&w);
}

/* ---- token ring: the holder dies, the token is regenerated once ---------- */

static void test_token_regeneration(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 4, "mutex algorithm=token-ring", NULL);
  run_for(&w, 1500 * MS);
  acquire(&w, 2);
  run_for(&w, 100 * MS);
  assert_int_equal(w.status[2], 0);
  uint64_t lost_fence = w.token[2];
  uint64_t gen = cohort_mutex_generation(mx(&w, 2));
  assert_int_equal(cohort_sim_crash(w.sim, 2), 0); /* the token dies with it */
  acquire(&w, 3);
  run_for(&w, 5 * S);
  assert_int_equal(w.status[3], 0);
  assert_true(w.token[3] > lost_fence);
  uint64_t regen = 0;
  for (cohort_node_id_t id = 1; id <= 4; id++)
    if (id != 2) regen += cohort_mutex_stats(mx(&w, id))->regenerations;
  assert_int_equal(regen, 2); /* the first token at start, then exactly one */
  assert_true(cohort_mutex_generation(mx(&w, 3)) > gen);
  /* The restarted node refuses nothing new and joins the ring again. */
  assert_int_equal(cohort_sim_restart(w.sim, 2, false), 0);
  assert_int_equal(cohort_mutex_release(mx(&w, 3)), 0);
  run_for(&w, 2 * S);
  acquire(&w, 2);
  run_for(&w, 500 * MS);
  assert_int_equal(w.status[2], 0);
  assert_checks(&w);
  world_free(&w);
}

/* ---- one failure detector for all; the critical-section hook ------------- */

typedef struct cs_log {
  int enters, exits;
  uint64_t seq, token;
  cohort_node_id_t node;
} cs_log_t;

static void on_cs(void *ud, cohort_node_id_t node, cohort_mutex_cs_event_t ev, uint64_t seq,
                  uint64_t token) {
  cs_log_t *l = ud;
  if (ev == COHORT_MUTEX_CS_ENTER) l->enters++;
  if (ev == COHORT_MUTEX_CS_EXIT) {
    assert_int_equal(seq, l->seq); /* the exit names the entry it ends */
    assert_int_equal(token, l->token);
    l->exits++;
  }
  l->seq = seq;
  l->token = token;
  l->node = node;
}

static void test_shared_helpers(void **state) {
  (void)state;
  world_t w;
  /* fd and bully listed first: the mutex uses them, adds nothing */
  world_new(&w, 3, "fd detector=fixed interval=100ms timeout=1s\nprotocol bully\n"
            "protocol mutex algorithm=centralized", NULL);
  cohort_fd_t *fd = cohort_fd_from_proto(cohort_sim_proto(w.sim, 2, "fd"));
  cohort_election_t *el = cohort_election_from_proto(cohort_sim_proto(w.sim, 2, "bully"));
  assert_non_null(fd);
  assert_non_null(el);
  assert_ptr_equal(cohort_mutex_fd(mx(&w, 2)), fd);
  assert_ptr_equal(cohort_mutex_election(mx(&w, 2)), el);
  cs_log_t log = {0};
  cohort_mutex_set_cs_hook(mx(&w, 2), on_cs, &log);
  run_for(&w, 1500 * MS);
  acquire(&w, 2);
  run_for(&w, 200 * MS);
  assert_int_equal(w.status[2], 0);
  assert_int_equal(log.enters, 1);
  assert_int_equal(log.node, 2);
  assert_int_equal(log.token, w.token[2]);
  assert_int_equal(cohort_mutex_release(mx(&w, 2)), 0);
  assert_int_equal(log.exits, 1);
  assert_string_equal(cohort_mutex_cs_event_name(COHORT_MUTEX_CS_EXPIRE), "expire");
  world_free(&w);
  /* mutex alone: its own detector (and no election for the token ring) */
  world_new(&w, 3, "mutex algorithm=token-ring", NULL);
  assert_non_null(cohort_mutex_fd(mx(&w, 1)));
  assert_null(cohort_sim_proto(w.sim, 1, "fd")); /* not a scenario protocol */
  assert_null(cohort_mutex_election(mx(&w, 1)));
  world_free(&w);
  /* workload=file needs a host that registered a recorder; this one has
   * none (protocol code cannot open files): refused with a message. */
  const char *text = "nodes 2\nduration 1s\nprotocol mutex workload=file path=/nonexistent\n";
  cohort_scenario_options_t opts = {.extra_factories = extra, .extra_factories_len = 1};
  cohort_scenario_t *sc;
  cohort_sim_t *sim = NULL;
  char err[256] = "";
  int rc = cohort_scenario_parse(text, strlen(text), "inline", &opts, &sc, err, sizeof err);
  if (!rc) {
    cohort_sim_config_t cfg = {.seed = 1};
    rc = cohort_sim_new(sc, &cfg, &sim, err, sizeof err);
    cohort_scenario_free(sc);
  }
  assert_int_not_equal(rc, 0);
  assert_null(sim);
  assert_non_null(strstr(err, "file recorder"));
}

/* ---- Lamport / Ricart-Agrawala block while a peer is down ---------------- */

static void blocks(const char *algo) {
  world_t w;
  char proto[128];
  snprintf(proto, sizeof proto, "mutex algorithm=%s", algo);
  world_new(&w, 3, proto, NULL);
  run_for(&w, 500 * MS);
  assert_int_equal(cohort_sim_crash(w.sim, 3), 0);
  acquire(&w, 1);
  run_for(&w, 5 * S);
  assert_int_equal(w.calls[1], 0); /* waits: node 3 must answer */
  assert_int_equal(cohort_mutex_state(mx(&w, 1)), COHORT_MUTEX_PENDING);
  assert_int_equal(cohort_sim_restart(w.sim, 3, false), 0);
  run_for(&w, 1 * S);
  assert_int_equal(w.status[1], 0); /* its new incarnation answers */
  assert_checks(&w);
  world_free(&w);
}

static void test_blocks_lamport(void **s) { (void)s; blocks("lamport"); }
static void test_blocks_ricart_agrawala(void **s) { (void)s; blocks("ricart-agrawala"); }

static void test_exclude_suspected(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 3, "mutex algorithm=ricart-agrawala exclude_suspected=true", NULL);
  run_for(&w, 500 * MS);
  assert_int_equal(cohort_sim_crash(w.sim, 3), 0);
  acquire(&w, 1);
  run_for(&w, 3 * S);
  assert_int_equal(w.status[1], 0); /* 3 is suspected: not waited for */
  world_free(&w);
}

/* ---- dynamic membership: a peer removed while a request is in flight ------ */

static void remove_everywhere(world_t *w, unsigned nodes, cohort_node_id_t gone) {
  for (cohort_node_id_t i = 1; i <= nodes; i++) {
    cohort_node_t *n = i != gone ? cohort_sim_node(w->sim, i) : NULL;
    if (n) assert_int_equal(cohort_node_peer_remove(n, gone), 0);
  }
}

/* Lamport / RA wait for every peer. Node 3 crashes for good and is then
 * removed from the membership while 1's request waits for its answer:
 * the request is granted at once (it waited only for 3), no fault
 * detector involved. Node 3 is added back as a new incarnation: it takes
 * part again (its request is answered by both others). */
static void removed_while_waiting(const char *algo) {
  world_t w;
  char proto[128];
  snprintf(proto, sizeof proto, "mutex algorithm=%s", algo);
  world_new(&w, 3, proto, NULL);
  run_for(&w, 500 * MS);
  assert_int_equal(cohort_sim_crash(w.sim, 3), 0);
  acquire(&w, 1);
  run_for(&w, 2 * S);
  assert_int_equal(w.calls[1], 0); /* waits for 3 */
  remove_everywhere(&w, 3, 3);
  run_for(&w, 10 * MS);
  assert_int_equal(w.calls[1], 1);
  assert_int_equal(w.status[1], 0);
  assert_int_equal(cohort_mutex_stats(mx(&w, 1))->peers_removed, 1);
  assert_int_equal(cohort_mutex_release(mx(&w, 1)), 0);
  acquire(&w, 2);
  run_for(&w, 100 * MS);
  assert_int_equal(w.status[2], 0);
  assert_int_equal(cohort_mutex_release(mx(&w, 2)), 0);
  /* Back, as a new incarnation, added by the others. */
  assert_int_equal(cohort_sim_restart(w.sim, 3, false), 0);
  for (cohort_node_id_t i = 1; i <= 2; i++)
    assert_int_equal(cohort_node_peer_add(cohort_sim_node(w.sim, i), 3, 0, NULL, 0), 0);
  assert_int_equal(cohort_mutex_stats(mx(&w, 1))->peers_added, 1);
  run_for(&w, 200 * MS);
  acquire(&w, 3);
  acquire(&w, 1);
  run_for(&w, 500 * MS);
  assert_int_equal(w.calls[3] + (w.calls[1] - 1), 1); /* one of them holds it */
  assert_checks(&w);
  world_free(&w);
}

static void test_removed_while_waiting_lamport(void **s) {
  (void)s;
  removed_while_waiting("lamport");
}
static void test_removed_while_waiting_ricart_agrawala(void **s) {
  (void)s;
  removed_while_waiting("ricart-agrawala");
}

/* Centralized: the holder crashes and is removed from the membership
 * before the detector suspects it: the coordinator frees the lock at once
 * and grants the waiting request (the holder is no longer in its table:
 * this used to read a peer entry that was not there). */
static void test_centralized_holder_removed(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 4, "mutex algorithm=centralized", NULL);
  run_for(&w, 1500 * MS);
  assert_int_equal(cohort_mutex_coordinator(mx(&w, 1)), 4);
  acquire(&w, 2);
  run_for(&w, 100 * MS);
  assert_int_equal(w.status[2], 0);
  acquire(&w, 1);
  run_for(&w, 100 * MS);
  assert_int_equal(w.calls[1], 0);
  assert_int_equal(cohort_sim_crash(w.sim, 2), 0);
  remove_everywhere(&w, 4, 2);
  run_for(&w, 100 * MS); /* far below the detector's timeout (1s) */
  assert_int_equal(w.calls[1], 1);
  assert_int_equal(w.status[1], 0);
  assert_true(w.token[1] > w.token[2]);
  assert_int_equal(cohort_mutex_release(mx(&w, 1)), 0);
  /* The coordinator itself removed: the election moves on, the mutex
   * follows the new coordinator. */
  remove_everywhere(&w, 4, 4);
  run_for(&w, 1500 * MS);
  assert_int_equal(cohort_mutex_coordinator(mx(&w, 1)), 3);
  acquire(&w, 1);
  run_for(&w, 1500 * MS);
  assert_int_equal(w.calls[1], 2);
  assert_int_equal(w.status[1], 0);
  assert_checks(&w);
  world_free(&w);
}

/* Token ring: the token is being handed to a node that is removed before
 * it acknowledges: the sender drops its copy (the removed node may have
 * passed it on), a probe regenerates it among the remaining nodes. */
static void test_token_ring_successor_removed(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 4, "mutex algorithm=token-ring", NULL);
  run_for(&w, 3 * S);
  assert_int_equal(cohort_sim_crash(w.sim, 3), 0);
  remove_everywhere(&w, 4, 3);
  run_for(&w, 3 * S);
  for (cohort_node_id_t i = 1; i <= 4; i++) {
    if (i == 3) continue;
    acquire(&w, i);
    run_for(&w, 500 * MS);
    assert_int_equal(w.status[i], 0);
    assert_int_equal(cohort_mutex_state(mx(&w, i)), COHORT_MUTEX_HELD);
    assert_int_equal(cohort_mutex_release(mx(&w, i)), 0);
  }
  assert_checks(&w);
  world_free(&w);
}

/* ---- bad input, straight to recv ----------------------------------------- */

static size_t pack(uint8_t *buf, uint64_t req, uint64_t ts, uint64_t token, uint64_t epoch,
                   uint64_t seq) {
  Cohort__Mutex__Mutex pb = COHORT__MUTEX__MUTEX__INIT;
  pb.req = req;
  pb.ts = ts;
  pb.token = token;
  pb.epoch = epoch;
  pb.seq = seq;
  return cohort__mutex__mutex__pack(&pb, buf);
}

static int deliver(cohort_mutex_t *m, cohort_node_id_t from, cohort_incarnation_t inc,
                   uint32_t kind, const uint8_t *p, size_t len) {
  cohort_proto_t *pr = cohort_mutex_proto(m);
  cohort_msg_t msg = {.from = from, .from_incarnation = inc, .kind = kind, .payload = p,
                      .payload_len = len, .lamport = 1000};
  return pr->ops->recv(pr, &msg);
}

static void test_bad_input(void **state) {
  (void)state;
  world_t w;
  world_new(&w, 3, "mutex algorithm=centralized", NULL);
  run_for(&w, 1500 * MS);
  cohort_mutex_t *m = mx(&w, 1);
  const cohort_mutex_stats_t *st = cohort_mutex_stats(m);
  uint8_t buf[128], junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_REQUEST, junk, sizeof junk),
                   COHORT_EPROTO);
  assert_int_equal(deliver(m, 2, 1, 99, buf, 0), COHORT_EPROTO); /* unknown kind */
  size_t n = pack(buf, 1, 0, 0, 1, 1);
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_TOKEN, buf, n), COHORT_EPROTO);
  n = pack(buf, 0, 0, 0, 0, 0); /* REQUEST without a request id */
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_REQUEST, buf, n), COHORT_EPROTO);
  n = pack(buf, 1, 0, 0, 0, 0); /* GRANT without token and epoch */
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_GRANT, buf, n), COHORT_EPROTO);
  assert_int_equal(deliver(m, 77, 1, COHORT_MUTEX_KIND_REQUEST, buf, n), COHORT_EPROTO);
  assert_int_equal(st->rx_malformed, 6);
  /* A GRANT of an epoch older than the one we follow is stale: dropped,
   * answered with RELEASE, and the lock is not taken. */
  acquire(&w, 1);
  uint64_t stale0 = st->rx_stale;
  n = pack(buf, cohort_mutex_stats(m)->requests, 0, 5, 1, 0);
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_GRANT, buf, n), 0);
  assert_int_equal(st->rx_stale, stale0 + 1);
  /* Messages from an older incarnation than one already heard: dropped. */
  n = pack(buf, 1, 0, 0, 0, 0);
  assert_int_equal(deliver(m, 2, 9, COHORT_MUTEX_KIND_RELEASE, buf, n), 0); /* newer inc */
  assert_int_equal(st->rx_stale, stale0 + 2); /* a RELEASE to a non-coordinator */
  assert_int_equal(deliver(m, 2, 3, COHORT_MUTEX_KIND_RELEASE, buf, n), 0); /* older */
  assert_int_equal(st->rx_stale, stale0 + 3);
  world_free(&w);

  /* Token ring: a token of an old generation is refused; one already seen
   * is a duplicate (acknowledged, not taken). */
  world_new(&w, 3, "mutex algorithm=token-ring", NULL);
  run_for(&w, 2 * S);
  m = mx(&w, 3);
  st = cohort_mutex_stats(m);
  uint64_t gen = cohort_mutex_generation(m);
  assert_true(gen > 0);
  n = pack(buf, 0, 0, 1, gen - 1, 1000000);
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_TOKEN, buf, n), 0);
  assert_int_equal(st->rx_stale, 1);
  n = pack(buf, 0, 0, 1, gen, 1); /* seq 1: long past */
  uint64_t dup0 = st->rx_duplicate;
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_TOKEN, buf, n), 0);
  assert_int_equal(st->rx_duplicate, dup0 + 1);
  n = pack(buf, 0, 0, 0, 0, 0); /* TOKEN without generation */
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_TOKEN, buf, n), COHORT_EPROTO);
  assert_int_equal(deliver(m, 2, 1, COHORT_MUTEX_KIND_GRANT, buf, n), COHORT_EPROTO);
  world_free(&w);

  /* Lamport: a REQUEST without a timestamp is malformed. */
  world_new(&w, 3, "mutex algorithm=lamport", NULL);
  run_for(&w, 100 * MS);
  n = pack(buf, 1, 0, 0, 0, 0);
  assert_int_equal(deliver(mx(&w, 1), 2, 1, COHORT_MUTEX_KIND_REQUEST, buf, n),
                   COHORT_EPROTO);
  assert_int_equal(deliver(mx(&w, 1), 2, 1, COHORT_MUTEX_KIND_REPLY, buf, n), COHORT_EPROTO);
  world_free(&w);
}

/* ---- configuration -------------------------------------------------------- */

static void test_config(void **state) {
  (void)state;
  static const char *const bad[][2] = {
      {"algorithm", "paxos"}, {"lease", "x"},       {"retry", "0s"},
      {"bogus", "1"},         {"workload", "disk"}, {"fd_timeout", "10ms"},
  };
  for (size_t i = 0; i < COHORT_ARRAY_LEN(bad); i++) {
    cohort_mutex_config_t cfg;
    cohort_mutex_config_default(&cfg, COHORT_MUTEX_CENTRALIZED);
    cohort_param_t p = {bad[i][0], bad[i][1]};
    char err[256] = "";
    assert_int_equal(cohort_mutex_config_parse(&cfg, &p, 1, err, sizeof err), COHORT_EINVAL);
    assert_non_null(strstr(err, "mutex"));
  }
  cohort_mutex_config_t cfg;
  cohort_mutex_config_default(&cfg, COHORT_MUTEX_CENTRALIZED);
  cohort_param_t two[] = {{"algorithm", "lamport"}, {"lease", "1s"}};
  char err[256] = "";
  assert_int_equal(cohort_mutex_config_parse(&cfg, two, 2, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "lease"));
  assert_int_equal(cfg.algo, COHORT_MUTEX_CENTRALIZED); /* untouched on error */
  cohort_param_t file[] = {{"workload", "file"}};
  assert_int_equal(cohort_mutex_config_parse(&cfg, file, 1, err, sizeof err), COHORT_EINVAL);
  assert_non_null(strstr(err, "path"));
  cohort_param_t ok[] = {{"algorithm", "token-ring"}, {"pass", "3ms"}, {"entries", "4"}};
  assert_int_equal(cohort_mutex_config_parse(&cfg, ok, 3, err, sizeof err), 0);
  assert_int_equal(cfg.algo, COHORT_MUTEX_TOKEN_RING);
  assert_int_equal(cfg.pass_ns, 3 * MS);
  assert_int_equal(cfg.entries, 4);
  assert_string_equal(cohort_mutex_kind_name(COHORT_MUTEX_KIND_PROBE), "probe");
  assert_null(cohort_mutex_kind_name(99));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic_centralized),
      cmocka_unit_test(test_basic_lamport),
      cmocka_unit_test(test_basic_ricart_agrawala),
      cmocka_unit_test(test_basic_token_ring),
      cmocka_unit_test(test_centralized_failover),
      cmocka_unit_test(test_centralized_lease),
      cmocka_unit_test(test_token_regeneration),
      cmocka_unit_test(test_blocks_lamport),
      cmocka_unit_test(test_blocks_ricart_agrawala),
      cmocka_unit_test(test_exclude_suspected),
      cmocka_unit_test(test_removed_while_waiting_lamport),
      cmocka_unit_test(test_removed_while_waiting_ricart_agrawala),
      cmocka_unit_test(test_centralized_holder_removed),
      cmocka_unit_test(test_token_ring_successor_removed),
      cmocka_unit_test(test_shared_helpers),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
