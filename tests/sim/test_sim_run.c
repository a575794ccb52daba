/*
 * tests/sim/test_sim_run.c — whole simulator runs with the "ping" test
 * protocol: determinism (same seed, same trace hash; another seed, another
 * hash), network statistics (loss, duplication, latency distribution,
 * reordering against FIFO), crash and restart (incarnations, in-flight
 * datagrams dropped as "crashed", sim state events), partitions (no
 * delivery across, healing restores it), the programmatic fault and
 * stable-storage API, and the shipped fd scenario passing its checks.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sim/sim_internal.h"
#include "cohort/trace.h"
#include "testproto.h"

static const cohort_proto_factory_t *const extra[] = {&test_ping_factory};
static const cohort_scenario_options_t opts = {.extra_factories = extra,
                                               .extra_factories_len = 1};

static cohort_scenario_t *scenario(const char *text) {
  cohort_scenario_t *s = NULL;
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "t.scn", &opts, &s, err, sizeof err))
    fail_msg("%s", err);
  return s;
}

static cohort_sim_t *sim_make(const cohort_scenario_t *s, cohort_sim_config_t *cfg) {
  cohort_sim_t *sim = NULL;
  char err[512];
  if (cohort_sim_new(s, cfg, &sim, err, sizeof err)) fail_msg("%s", err);
  return sim;
}

static test_ping_t *ping(cohort_sim_t *sim, cohort_node_id_t id) {
  return (test_ping_t *)cohort_sim_proto(sim, id, "ping");
}

/* ---- trace capture -------------------------------------------------------------- */

typedef struct capture {
  uint64_t hash, lines;
  cohort_trace_t trace;
  bool keep;
  char *text; /* concatenated lines, if wanted */
  size_t len, cap;
} capture_t;

static void capture_fn(void *ud, const char *line, size_t len) {
  capture_t *c = ud;
  for (size_t i = 0; i < len; i++) c->hash = (c->hash ^ (uint8_t)line[i]) * 0x100000001b3ull;
  c->hash = (c->hash ^ '\n') * 0x100000001b3ull;
  c->lines++;
  if (c->keep) {
    char err[128];
    if (cohort_trace_parse_line(&c->trace, line, len, (size_t)c->lines, err, sizeof err))
      fail_msg("trace line %llu does not parse: %s: %.*s", (unsigned long long)c->lines, err,
               (int)len, line);
  }
  if (c->text) {
    if (c->len + len + 1 > c->cap) return;
    memcpy(c->text + c->len, line, len);
    c->len += len;
    c->text[c->len++] = '\n';
  }
}

static const char busy[] =
    "nodes 5\nduration 8s\nvector-clock on\n"
    "protocol ping interval=20ms\n"
    "network latency=lognormal(median=1ms,sigma=0.6) jitter=300us loss=0.05 dup=0.02 "
    "reorder=0.05\n"
    "link 1->2 latency=pareto(min=1ms,alpha=1.2,max=200ms)\n"
    "clock random drift=100ppm offset=5ms\n"
    "at 1s crash 3\nat 3s restart 3\nat 2s partition 1,2 | 4,5\nat 4s heal\n"
    "at 2.5s step 4 +50ms\nat 2.5s slew 5 rate=-300ppm for=2s\n"
    "faults random crash-mtbf=2s down=200ms..1s partition-mtbf=3s partition-len=500ms\n";

static uint64_t run_hash(const cohort_scenario_t *s, uint64_t seed, uint64_t *lines) {
  capture_t c = {.hash = 0xcbf29ce484222325ull};
  cohort_sim_config_t cfg = {.seed = seed, .trace_fn = capture_fn, .trace_ud = &c};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  assert_int_equal(cohort_sim_results(sim)->virtual_ns, cohort_scenario_duration(s));
  assert_int_equal(cohort_sim_results(sim)->trace_records, c.lines);
  cohort_sim_free(sim);
  if (lines) *lines = c.lines;
  return c.hash;
}

static void test_determinism(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario(busy);
  uint64_t n1, n2;
  uint64_t h1 = run_hash(s, 7, &n1), h2 = run_hash(s, 7, &n2), h3 = run_hash(s, 8, NULL);
  assert_true(n1 > 1000);
  assert_int_equal(n1, n2);
  assert_int_equal(h1, h2);
  assert_int_not_equal(h1, h3);
  cohort_scenario_free(s);
}

/* The trace file holds exactly what the callback saw, and it parses. */
static void test_trace_file_matches_callback(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario(busy);
  char path[] = "/tmp/cohort-sim-test-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  capture_t c = {.hash = 0, .keep = true};
  cohort_trace_init(&c.trace);
  c.cap = 64 << 20;
  c.text = malloc(c.cap);
  cohort_sim_config_t cfg = {.seed = 3, .trace_path = path, .trace_fn = capture_fn,
                             .trace_ud = &c};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  cohort_sim_free(sim);
  FILE *f = fdopen(fd, "rb");
  char *buf = malloc(c.len + 2);
  size_t got = fread(buf, 1, c.len + 1, f);
  fclose(f);
  remove(path);
  assert_int_equal(got, c.len);
  assert_memory_equal(buf, c.text, c.len);
  /* Network drops and sim state events made it in, with the right shape. */
  assert_non_null(strstr(c.text, "\"reason\":\"loss\""));
  assert_non_null(strstr(c.text, "\"reason\":\"partition\""));
  assert_non_null(strstr(c.text, "\"reason\":\"crashed\""));
  assert_non_null(strstr(c.text, "\"proto\":\"sim\",\"what\":\"crash\""));
  assert_non_null(strstr(c.text, "\"what\":\"restart\""));
  assert_non_null(strstr(c.text, "\"what\":\"partition\""));
  assert_non_null(strstr(c.text, "\"what\":\"heal\""));
  assert_non_null(strstr(c.text, "\"what\":\"step\""));
  free(buf);
  free(c.text);
  cohort_trace_close(&c.trace);
  cohort_scenario_free(s);
}

/* ---- network statistics --------------------------------------------------------- */

static void test_loss_and_dup_rates(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 2\nduration 20s\nprotocol ping interval=1ms\n"
                                  "network latency=const(1ms) loss=0.2 dup=0.1\n");
  cohort_sim_config_t cfg = {.seed = 11};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  double sent = (double)r->datagrams_sent;
  assert_true(sent > 39000);
  double loss = (double)r->drop_loss / sent;
  double dup = (double)r->datagrams_duplicated / (sent - (double)r->drop_loss);
  if (fabs(loss - 0.2) > 0.01) fail_msg("loss rate %.4f, want 0.2", loss);
  if (fabs(dup - 0.1) > 0.01) fail_msg("dup rate %.4f, want 0.1", dup);
  /* every datagram the network accepted was delivered (no crash, no cut)
   * except the few still in flight when the run ended */
  uint64_t accepted = r->datagrams_sent - r->drop_loss + r->datagrams_duplicated;
  assert_true(r->datagrams_delivered <= accepted);
  assert_true(r->datagrams_delivered + 10 >= accepted);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One-way latency of every delivered message, from send/recv true times. */
static void latencies(const char *net, uint64_t seed, double *mean, double *median,
                      double *lo, double *hi) {
  char text[512];
  snprintf(text, sizeof text, "nodes 2\nduration 200s\nprotocol ping interval=10ms\n%s\n", net);
  cohort_scenario_t *s = scenario(text);
  capture_t c = {.keep = true};
  cohort_trace_init(&c.trace);
  cohort_sim_config_t cfg = {.seed = seed, .trace_fn = capture_fn, .trace_ud = &c};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  cohort_sim_free(sim);
  /* msg seq -> send time, per sender (seq numbers are small and dense) */
  size_t cap = 40000;
  int64_t *sent_at = calloc(3 * cap, sizeof *sent_at);
  double *lat = calloc(cap * 2, sizeof *lat);
  size_t n = 0;
  for (size_t i = 0; i < c.trace.len; i++) {
    const cohort_trace_rec_t *r = &c.trace.recs[i];
    if (!r->has_msg || r->msg.seq >= cap || r->msg.from > 2) continue;
    if (r->type == COHORT_EV_SEND) sent_at[r->msg.from * cap + r->msg.seq] = r->true_ns;
    if (r->type == COHORT_EV_RECV && n < 2 * cap)
      lat[n++] = (double)(r->true_ns - sent_at[r->msg.from * cap + r->msg.seq]);
  }
  assert_true(n > 30000);
  double sum = 0;
  *lo = 1e30;
  *hi = 0;
  for (size_t i = 0; i < n; i++) {
    sum += lat[i];
    if (lat[i] < *lo) *lo = lat[i];
    if (lat[i] > *hi) *hi = lat[i];
  }
  *mean = sum / (double)n;
  qsort(lat, n, sizeof *lat, cmp_double);
  *median = lat[n / 2];
  free(sent_at);
  free(lat);
  cohort_trace_close(&c.trace);
  cohort_scenario_free(s);
}

static void test_latency_distributions(void **state) {
  (void)state;
  double mean, median, lo, hi;
  latencies("network latency=const(5ms) jitter=2ms", 1, &mean, &median, &lo, &hi);
  assert_true(lo >= 5e6);
  assert_true(hi <= 7e6);
  if (fabs(mean - 6e6) > 0.02 * 6e6) fail_msg("const+jitter mean %.0f", mean);
  latencies("network latency=lognormal(median=1ms,sigma=0.5)", 2, &mean, &median, &lo, &hi);
  if (fabs(median - 1e6) > 0.03e6) fail_msg("lognormal median %.0f", median);
  if (fabs(mean - 1e6 * exp(0.125)) > 0.03e6) fail_msg("lognormal mean %.0f", mean);
  latencies("network latency=exp(mean=2ms)", 3, &mean, &median, &lo, &hi);
  if (fabs(mean - 2e6) > 0.05 * 2e6) fail_msg("exp mean %.0f", mean);
  if (fabs(median - 2e6 * log(2.0)) > 0.05 * 2e6) fail_msg("exp median %.0f", median);
}

static uint64_t out_of_order(const char *net) {
  char text[512];
  snprintf(text, sizeof text, "nodes 2\nduration 10s\nprotocol ping interval=1ms\n%s\n", net);
  cohort_scenario_t *s = scenario(text);
  cohort_sim_config_t cfg = {.seed = 5};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  uint64_t n = ping(sim, 1)->out_of_order + ping(sim, 2)->out_of_order;
  assert_true(ping(sim, 2)->from_count[1] > 9000);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
  return n;
}

static void test_fifo_and_reordering(void **state) {
  (void)state;
  /* random latencies, but links are FIFO unless reordering is asked for */
  assert_int_equal(out_of_order("network latency=exp(mean=3ms)"), 0);
  uint64_t n = out_of_order("network latency=const(1ms) reorder=0.1 reorder-delay=5ms");
  assert_true(n > 500);
}

/* ---- crashes, restarts, partitions ------------------------------------------------- */

static void test_crash_restart(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 3\nduration 4s\nprotocol ping interval=1ms\n"
                                  "network latency=const(5ms)\n"
                                  "at 1s crash 2\nat 2s restart 2\n");
  capture_t c = {.cap = 16 << 20};
  c.text = malloc(c.cap);
  cohort_sim_config_t cfg = {.seed = 1, .trace_fn = capture_fn, .trace_ud = &c};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_incarnation(sim, 2), 1);
  assert_int_equal(cohort_sim_run_until(sim, 1500 * COHORT_NS_PER_MS), 0);
  assert_false(cohort_sim_node_up(sim, 2));
  assert_null(cohort_sim_node(sim, 2));
  assert_null(cohort_sim_proto(sim, 2, "ping"));
  uint64_t heard = ping(sim, 1)->from_count[2];
  assert_true(heard > 900);
  /* datagrams in flight at the crash and sent while it is down: dropped */
  uint64_t crashed = cohort_sim_results(sim)->drop_crashed;
  assert_true(crashed >= 2 * 400);
  assert_int_equal(cohort_sim_run(sim), 0);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_int_equal(r->crashes, 1);
  assert_int_equal(r->restarts, 1);
  assert_true(cohort_sim_node_up(sim, 2));
  assert_int_equal(cohort_sim_incarnation(sim, 2), 2);
  /* peers hear the new incarnation; it hears them (fresh state) */
  assert_int_equal(ping(sim, 1)->from_inc[2], 2);
  assert_true(ping(sim, 1)->from_count[2] > heard + 1900);
  assert_true(ping(sim, 2)->from_count[1] > 1900 && ping(sim, 2)->from_count[1] < 2100);
  /* the state events the fd checker relies on */
  assert_non_null(strstr(c.text, "{\"ev\":\"state\",\"node\":2,\"inc\":1,"));
  assert_non_null(strstr(c.text, "\"proto\":\"sim\",\"what\":\"crash\"}"));
  assert_non_null(strstr(c.text, "{\"ev\":\"state\",\"node\":2,\"inc\":2,"));
  assert_non_null(strstr(c.text, "\"what\":\"restart\""));
  assert_non_null(strstr(c.text, "\"reason\":\"crashed\""));
  cohort_sim_free(sim);
  free(c.text);
  cohort_scenario_free(s);
}

/* ---- membership and operator events: join, leave, ctl ----------------------------- */

/* Node 3 joins at 1s: down before (no node, datagrams to it dropped as
 * crashed, not picked by random crashes), up from its join as incarnation
 * 1, traced "join" like a restart. Node 2 leaves at 2s: its protocol's
 * control op is called with "leave", the node stays up. A ctl line calls
 * one protocol's control with its command; a refused command is counted. */
static void test_join_leave_ctl(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario(
      "nodes 3\nduration 4s\nprotocol ping interval=10ms\nnetwork latency=const(1ms)\n"
      "faults random crash-mtbf=50ms down=10ms max-down=1 end=900ms\n"
      "at 1s join 3\nat 2s leave 2\nat 3s ctl 1 ping fail\nat 3500ms ctl 1 ping hello\n");
  capture_t c = {.cap = 16 << 20};
  c.text = malloc(c.cap);
  cohort_sim_config_t cfg = {.seed = 3, .trace_fn = capture_fn, .trace_ud = &c};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_false(cohort_sim_node_up(sim, 3));
  assert_int_equal(cohort_sim_incarnation(sim, 3), 0);
  assert_int_equal(cohort_sim_run_until(sim, 999 * COHORT_NS_PER_MS), 0);
  /* Down until its join: random crashes took the others (max-down=1 counts 3 as down, so
   * none), never 3. */
  assert_false(cohort_sim_node_up(sim, 3));
  assert_null(cohort_sim_proto(sim, 3, "ping"));
  assert_int_equal(cohort_sim_results(sim)->crashes, 0);
  assert_true(cohort_sim_results(sim)->drop_crashed > 150);
  assert_int_equal(cohort_sim_run_until(sim, 1500 * COHORT_NS_PER_MS), 0);
  assert_true(cohort_sim_node_up(sim, 3));
  assert_int_equal(cohort_sim_incarnation(sim, 3), 1);
  assert_true(ping(sim, 3)->from_count[1] > 40);
  assert_true(ping(sim, 1)->from_count[3] > 40);
  assert_non_null(strstr(c.text, "{\"ev\":\"state\",\"node\":3,\"inc\":1,"));
  assert_non_null(strstr(c.text, "\"proto\":\"sim\",\"what\":\"join\"}"));
  /* leave: control("leave") on node 2's ping; 2 stays up and stops sending. */
  assert_int_equal(cohort_sim_run_until(sim, 2 * COHORT_NS_PER_S), 0);
  test_ping_t *p2 = ping(sim, 2);
  assert_true(p2->left);
  assert_string_equal(p2->last_cmd, "leave");
  assert_true(cohort_sim_node_up(sim, 2));
  uint64_t sent = p2->sent;
  assert_non_null(strstr(c.text, "\"what\":\"leave\",\"data\":{\"protos\":1,\"failed\":0}"));
  assert_int_equal(cohort_sim_run(sim), 0);
  assert_int_equal(ping(sim, 2)->sent, sent);
  assert_int_equal(ping(sim, 1)->controls, 2);
  assert_string_equal(ping(sim, 1)->last_cmd, "hello");
  assert_false(ping(sim, 1)->left);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_int_equal(r->joins, 1);
  assert_int_equal(r->leaves, 1);
  assert_int_equal(r->controls, 2);
  assert_int_equal(r->control_errors, 2); /* "fail" refused, "hello" unknown */
  assert_int_equal(r->ignored, 0);
  assert_non_null(strstr(c.text, "\"what\":\"ctl\",\"data\":{\"proto\":\"ping\",\"cmd\":\"fail\","
                                 "\"rc\":-1"));
  cohort_sim_free(sim);
  free(c.text);
  cohort_scenario_free(s);
}

/* A leave that finds its node down after a random crash is skipped and
 * counted (a scripted crash before it is refused at parse time). */
static void test_leave_of_randomly_crashed_node(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 3\nduration 2s\nprotocol ping interval=10ms\n"
                                  "faults random crash-mtbf=1ms down=5s max-down=2\n"
                                  "at 1s leave 1\nat 1s leave 2\nat 1s leave 3\n");
  cohort_sim_config_t cfg = {.seed = 5};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_int_equal(r->crashes, 2);
  assert_int_equal(r->ignored, 2);
  assert_int_equal(r->leaves, 1);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

static void test_partition_and_heal(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 3\nduration 6s\nprotocol ping interval=10ms\n"
                                  "at 1s partition 1 | 2,3\nat 3s heal\n"
                                  "at 4s partition 1 -> 2\nat 5s heal\n");
  cohort_sim_config_t cfg = {.seed = 1};
  cohort_sim_t *sim = sim_make(s, &cfg);
  const int64_t ms = COHORT_NS_PER_MS;
  assert_int_equal(cohort_sim_run_until(sim, 1010 * ms), 0);
  uint64_t b21 = ping(sim, 2)->from_count[1], b12 = ping(sim, 1)->from_count[2],
           b23 = ping(sim, 2)->from_count[3];
  assert_int_equal(cohort_sim_run_until(sim, 2990 * ms), 0);
  assert_int_equal(ping(sim, 2)->from_count[1], b21); /* nothing crosses */
  assert_int_equal(ping(sim, 1)->from_count[2], b12);
  assert_true(ping(sim, 2)->from_count[3] >= b23 + 190); /* same side: flows */
  assert_true(cohort_sim_results(sim)->drop_partition >= 4 * 190);
  assert_int_equal(cohort_sim_run_until(sim, 3990 * ms), 0);
  assert_true(ping(sim, 2)->from_count[1] >= b21 + 95); /* healed */
  b21 = ping(sim, 2)->from_count[1];
  b12 = ping(sim, 1)->from_count[2];
  assert_int_equal(cohort_sim_run_until(sim, 4990 * ms), 0);
  assert_true(ping(sim, 2)->from_count[1] <= b21 + 1); /* one way: 1 -> 2 cut */
  assert_true(ping(sim, 1)->from_count[2] >= b12 + 95);  /* 2 -> 1 flows */
  assert_int_equal(cohort_sim_run(sim), 0);
  assert_true(ping(sim, 2)->from_count[1] >= b21 + 95);
  assert_int_equal(cohort_sim_results(sim)->partitions, 2);
  assert_int_equal(cohort_sim_results(sim)->heals, 2);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

static void test_programmatic_faults_and_stable_storage(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 3\nduration 10s\nprotocol ping interval=10ms\n");
  cohort_sim_config_t cfg = {.seed = 9};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_null(cohort_sim_current());
  const void *data;
  size_t len;
  assert_int_equal(cohort_sim_stable_get(sim, 1, &data, &len), COHORT_ENOTFOUND);
  assert_int_equal(cohort_sim_stable_put(sim, 1, "vote=3", 6), 0);
  assert_int_equal(cohort_sim_stable_put(sim, 4, "x", 1), COHORT_EINVAL);
  assert_int_equal(cohort_sim_crash(sim, 0), COHORT_EINVAL);
  assert_int_equal(cohort_sim_restart(sim, 1, true), COHORT_ESTATE); /* not down */
  assert_int_equal(cohort_sim_run_until(sim, COHORT_NS_PER_S), 0);
  assert_true(ping(sim, 2)->saw_sim);
  assert_int_equal(cohort_sim_crash(sim, 1), 0);
  assert_int_equal(cohort_sim_crash(sim, 1), COHORT_ESTATE);
  assert_int_equal(cohort_sim_restart(sim, 1, true), 0);
  assert_int_equal(cohort_sim_stable_get(sim, 1, &data, &len), 0);
  assert_int_equal(len, 6);
  assert_memory_equal(data, "vote=3", 6);
  assert_int_equal(cohort_sim_crash(sim, 1), 0);
  assert_int_equal(cohort_sim_restart(sim, 1, false), 0);
  assert_int_equal(cohort_sim_stable_get(sim, 1, &data, &len), COHORT_ENOTFOUND);
  assert_int_equal(cohort_sim_incarnation(sim, 1), 3);
  /* a blocked link, then unblocked */
  assert_int_equal(cohort_sim_block(sim, 2, 3, true), 0);
  assert_int_equal(cohort_sim_block(sim, 2, 2, true), COHORT_EINVAL);
  uint64_t b = ping(sim, 3)->from_count[2];
  assert_int_equal(cohort_sim_run_until(sim, 2 * COHORT_NS_PER_S), 0);
  assert_true(ping(sim, 3)->from_count[2] <= b + 1);
  assert_int_equal(cohort_sim_block(sim, 2, 3, false), 0);
  assert_int_equal(cohort_sim_run_until(sim, 3 * COHORT_NS_PER_S), 0);
  assert_true(ping(sim, 3)->from_count[2] >= b + 95);
  cohort_sim_block(sim, 1, 2, true);
  cohort_sim_heal(sim);
  assert_int_equal(cohort_sim_run(sim), 0);
  /* clocks: true time advanced to the end; node clocks follow */
  assert_int_equal(cohort_sim_now(sim), 10 * COHORT_NS_PER_S);
  assert_int_equal(cohort_sim_node_wall(sim, 2), COHORT_SIM_EPOCH_NS + 10 * COHORT_NS_PER_S);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

static void test_drift_reaches_the_node(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 2\nduration 100s\nprotocol ping interval=1s\n"
                                  "clock 1 drift=+100ppm offset=-3ms\n"
                                  "at 50s step 2 +1s\n");
  cohort_sim_config_t cfg = {.seed = 1};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  int64_t t = 100 * COHORT_NS_PER_S;
  assert_int_equal(cohort_sim_node_wall(sim, 1), COHORT_SIM_EPOCH_NS - 3000000 + t + 10000000);
  assert_int_equal(cohort_sim_node_wall(sim, 2), COHORT_SIM_EPOCH_NS + t + COHORT_NS_PER_S);
  assert_int_equal(cohort_node_wall(cohort_sim_node(sim, 2)), cohort_sim_node_wall(sim, 2));
  assert_int_equal(cohort_node_now(cohort_sim_node(sim, 1)), cohort_sim_node_now(sim, 1));
  /* a drifting node's timers run on its own clock: 100 ppm fast */
  assert_true(ping(sim, 2)->from_count[1] >= 99 && ping(sim, 2)->from_count[1] <= 101);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

static void test_new_errors(void **state) {
  (void)state;
  cohort_scenario_t *s = scenario("nodes 2\nduration 1s\nprotocol ping\n");
  cohort_sim_config_t cfg = {.seed = 1, .trace_path = "/nonexistent/dir/t.jsonl"};
  cohort_sim_t *sim = NULL;
  char err[512];
  assert_int_equal(cohort_sim_new(s, &cfg, &sim, err, sizeof err), COHORT_EIO);
  assert_null(sim);
  assert_non_null(strstr(err, "/nonexistent/dir/t.jsonl"));
  cfg.trace_path = NULL;
  sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_check(sim), COHORT_ESTATE); /* checks not kept */
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

/* The shipped failure-detector scenario passes its checks. */
static void test_shipped_fd_scenario(void **state) {
  (void)state;
  const char *root = getenv("COHORT_SOURCE_ROOT");
  if (!root) skip();
  char path[1024], err[512];
  snprintf(path, sizeof path, "%s/scenarios/fd-phi.scn", root);
  cohort_scenario_t *s = NULL;
  if (cohort_scenario_load(path, NULL, &s, err, sizeof err)) fail_msg("%s", err);
  cohort_sim_config_t cfg = {.seed = 1, .run_checks = true};
  cohort_sim_t *sim = sim_make(s, &cfg);
  assert_int_equal(cohort_sim_run(sim), 0);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_true(r->checked);
  assert_int_equal(r->checks_len, cohort_scenario_checks(s));
  for (size_t i = 0; i < r->checks_len; i++)
    if (r->checks[i].rc || r->checks[i].result.violations)
      fail_msg("%s: %s%s", r->checks[i].text, r->checks[i].err, r->checks[i].result.first);
  assert_int_equal(r->violations, 0);
  assert_int_equal(r->crashes, 1);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_join_leave_ctl),
      cmocka_unit_test(test_leave_of_randomly_crashed_node),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_trace_file_matches_callback),
      cmocka_unit_test(test_loss_and_dup_rates),
      cmocka_unit_test(test_latency_distributions),
      cmocka_unit_test(test_fifo_and_reordering),
      cmocka_unit_test(test_crash_restart),
      cmocka_unit_test(test_partition_and_heal),
      cmocka_unit_test(test_programmatic_faults_and_stable_storage),
      cmocka_unit_test(test_drift_reaches_the_node),
      cmocka_unit_test(test_new_errors),
      cmocka_unit_test(test_shipped_fd_scenario),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
