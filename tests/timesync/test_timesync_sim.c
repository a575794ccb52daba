/*
 * tests/timesync/test_timesync_sim.c — the timesync protocols inside the
 * deterministic simulator, judged by the clock checker from the trace
 * alone: NTP with a falseticker, drifting clocks and wall-clock steps over
 * a seed sweep; PTP's BMCA choosing a grandmaster and choosing again when
 * it crashes; malformed NTP and PTP payloads dropped and counted; and the
 * checker rejecting deliberately broken traces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/check.h"
#include "cohort/sim.h"
#include "cohort/timesync.h"

extern const cohort_checker_t cohort_checker_clock;

static const cohort_proto_factory_t *const extra[] = {&cohort_ntp_factory, &cohort_ptp_factory,
                                                      &cohort_cristian_factory};

static void collect(void *ud, const char *line, size_t len) {
  cohort_trace_t *t = ud;
  char err[128];
  assert_int_equal(cohort_trace_parse_line(t, line, len, t->len + 1, err, sizeof err), 0);
}

static cohort_sim_t *start(const char *text, uint64_t seed, cohort_scenario_t **sc,
                           cohort_trace_t *trace) {
  char err[512];
  cohort_scenario_options_t so = {.extra_factories = extra, .extra_factories_len = 3};
  if (cohort_scenario_parse(text, strlen(text), "test", &so, sc, err, sizeof err))
    fail_msg("%s", err);
  cohort_sim_config_t cfg = {.seed = seed, .trace_fn = trace ? collect : NULL,
                             .trace_ud = trace};
  cohort_sim_t *sim;
  if (cohort_sim_new(*sc, &cfg, &sim, err, sizeof err)) fail_msg("%s", err);
  return sim;
}

static void run_clock_check(cohort_trace_t *t, const char *skip, cohort_check_result_t *r) {
  cohort_param_t p[1] = {{"skip", skip}};
  char err[256];
  cohort_trace_sort(t);
  assert_int_equal(cohort_checker_clock.run(t, p, skip ? 1 : 0, r, err, sizeof err), 0);
}

static const char ntp_scenario[] =
    "nodes 7\n"
    "hlc-max-offset 10s\n" /* let the falseticker reach NTP */
    "duration 60s\n"
    "network latency=uniform(50us,150us)\n"
    "clock random drift=100ppm offset=50ms\n"
    "clock 1-3 drift=0ppm offset=0ms\n"
    "clock 4 drift=0ppm offset=+1s\n"
    "at 20s step 5 +300ms\n"
    "at 30s step 6 -2s\n"
    "protocol ntp ref=1-4 servers=1-4 poll=500ms maxpoll=2s sample=250ms\n";

static void test_ntp_sweep(void **st) {
  (void)st;
  for (uint64_t seed = 1; seed <= 6; seed++) {
    cohort_scenario_t *sc;
    cohort_trace_t t;
    cohort_trace_init(&t);
    cohort_sim_t *sim = start(ntp_scenario, seed, &sc, &t);
    assert_int_equal(cohort_sim_run(sim), 0);
    for (cohort_node_id_t id = 5; id <= 7; id++) {
      cohort_proto_t *p = cohort_sim_proto(sim, id, "ntp");
      assert_non_null(p);
      cohort_timesync_stats_t s;
      cohort_timesync_stats(p, &s);
      char status[256];
      cohort_ntp_factory.status(p, status, sizeof status);
      if (s.falsetickers != 1) fail_msg("seed %llu node %u: %s", (unsigned long long)seed, id,
                                        status); /* node 4, 1 s off */
      cohort_time_t now = cohort_cluster_clock_now(cohort_timesync_clock(p),
                                                   cohort_sim_node_now(sim, id));
      int64_t err = now.time_ns - (COHORT_SIM_EPOCH_NS + cohort_sim_now(sim));
      assert_true(now.synchronized);
      if (err > 200000 || err < -200000) fail_msg("seed %llu node %u error %lld ns",
                                                   (unsigned long long)seed, id, (long long)err);
    }
    cohort_check_result_t r;
    run_clock_check(&t, "4", &r); /* the falseticker lies about itself */
    if (r.violations) fail_msg("seed %llu: %s", (unsigned long long)seed, r.first);
    assert_true(r.checked > 500);
    /* Without skipping it, the falseticker's own claim is caught. */
    run_clock_check(&t, NULL, &r);
    assert_true(r.violations > 0);
    cohort_sim_free(sim);
    cohort_scenario_free(sc);
    cohort_trace_close(&t);
  }
}

static void test_ptp_bmca_failover(void **st) {
  (void)st;
  static const char text[] = "nodes 4\nduration 30s\nnetwork latency=uniform(100us,110us)\n"
                             "clock random drift=50ppm offset=10ms\nclock 1 drift=0ppm offset=0ms\n"
                             "protocol ptp sync=125ms priority1=1:10,3:20 ref=1 sample=500ms\n";
  cohort_scenario_t *sc;
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_sim_t *sim = start(text, 3, &sc, &t);
  cohort_sim_run_until(sim, 10 * COHORT_NS_PER_S);
  cohort_timesync_stats_t s;
  for (cohort_node_id_t id = 1; id <= 4; id++) {
    cohort_timesync_stats(cohort_sim_proto(sim, id, "ptp"), &s);
    assert_int_equal(s.master, 1);
  }
  cohort_timesync_stats(cohort_sim_proto(sim, 2, "ptp"), &s);
  assert_true(s.samples > 40);
  assert_int_equal(cohort_sim_crash(sim, 1), 0);
  cohort_sim_run_until(sim, 20 * COHORT_NS_PER_S);
  for (cohort_node_id_t id = 2; id <= 4; id++) {
    cohort_timesync_stats(cohort_sim_proto(sim, id, "ptp"), &s);
    assert_int_equal(s.master, 3); /* next best priority1 */
  }
  cohort_check_result_t r;
  run_clock_check(&t, NULL, &r);
  if (r.violations) fail_msg("%s", r.first);
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  cohort_trace_close(&t);
}

/* The PTP offset filter on the LAN model (each one-way delay
 * 100 µs ± 50 µs, software stamps): one exchange is off by up to 50 µs,
 * the per-direction minimum over the window and the slow servo bring the
 * slaves within a few µs; with window=1 (no filter) they stay tens of µs
 * off. A window out of range is refused. */
static int64_t ptp_worst_error(const char *params, uint64_t seed) {
  char text[512];
  snprintf(text, sizeof text,
           "nodes 4\nduration 200s\nnetwork latency=uniform(50us,150us)\n"
           "clock random drift=100ppm offset=10ms\nclock 1 drift=0ppm offset=0ms\n"
           "protocol ptp sync=125ms priority1=1:10 sample=0s %s\n", params);
  cohort_scenario_t *sc;
  cohort_sim_t *sim = start(text, seed, &sc, NULL);
  int64_t worst = 0;
  const int64_t S = COHORT_NS_PER_S;
  for (int64_t t = 150 * S; t <= 200 * S; t += S / 4) {
    cohort_sim_run_until(sim, t);
    for (cohort_node_id_t id = 2; id <= 4; id++) {
      cohort_time_t now = cohort_cluster_clock_now(
          cohort_timesync_clock(cohort_sim_proto(sim, id, "ptp")), cohort_sim_node_now(sim, id));
      int64_t err = now.time_ns - (COHORT_SIM_EPOCH_NS + t);
      if (err < 0) err = -err;
      if (err > worst) worst = err;
    }
  }
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  return worst;
}

static void test_ptp_offset_filter(void **st) {
  (void)st;
  int64_t filtered = ptp_worst_error("", 7), raw = ptp_worst_error("window=1 phase_gain=0.3", 7);
  print_message("worst |error| 150..200 s: filtered %lld ns, window=1 %lld ns\n",
                (long long)filtered, (long long)raw);
  if (filtered > 5000 || raw < 10000)
    fail_msg("worst |error| filtered %lld ns, unfiltered %lld ns", (long long)filtered,
             (long long)raw);
  char err[256];
  cohort_scenario_options_t so = {.extra_factories = extra, .extra_factories_len = 3};
  static const char bad[] = "nodes 2\nduration 1s\nprotocol ptp window=0\n";
  cohort_scenario_t *sc = NULL;
  cohort_sim_t *sim = NULL;
  int rc = cohort_scenario_parse(bad, strlen(bad), "bad", &so, &sc, err, sizeof err);
  if (rc == 0) {
    cohort_sim_config_t cfg = {.seed = 1};
    rc = cohort_sim_new(sc, &cfg, &sim, err, sizeof err);
    if (sim) cohort_sim_free(sim);
    cohort_scenario_free(sc);
  }
  assert_int_equal(rc, COHORT_EINVAL);
  assert_non_null(strstr(err, "window"));
}

static int deliver(cohort_proto_t *p, uint32_t kind, const uint8_t *b, size_t n,
                   cohort_node_id_t from) {
  cohort_msg_t m = {.from = from, .from_incarnation = 1, .kind = kind, .payload = b,
                    .payload_len = n};
  return p->ops->recv(p, &m);
}

static void test_malformed(void **st) {
  (void)st;
  static const char text[] = "nodes 3\nduration 5s\n"
                             "protocol ntp ref=1 servers=1 poll=1s\n";
  cohort_scenario_t *sc;
  cohort_sim_t *sim = start(text, 1, &sc, NULL);
  cohort_sim_run_until(sim, 2 * COHORT_NS_PER_S);
  cohort_proto_t *client = cohort_sim_proto(sim, 2, "ntp");
  cohort_proto_t *server = cohort_sim_proto(sim, 1, "ntp");
  uint8_t junk[48] = {0x23}; /* v4 client, zero transmit */
  assert_int_equal(deliver(server, 3, junk, 10, 2), COHORT_EPROTO);  /* short */
  assert_int_equal(deliver(server, 3, junk, 48, 2), COHORT_EPROTO);  /* zero transmit */
  junk[0] = 0x3b;                                                     /* version 7 */
  assert_int_equal(deliver(server, 3, junk, 48, 2), COHORT_EPROTO);
  junk[0] = 0x24;                                                     /* mode 4 to a server */
  junk[47] = 1;
  assert_int_equal(deliver(server, 3, junk, 48, 2), COHORT_EPROTO);
  assert_true(deliver(client, 4, junk, 48, 1) < 0);                 /* replayed origin */
  assert_int_equal(deliver(client, 4, junk, 48, 3), COHORT_EPROTO);  /* not our server */
  assert_int_equal(deliver(client, 9, junk, 48, 1), COHORT_EPROTO);  /* unknown kind */
  cohort_timesync_stats_t s;
  cohort_timesync_stats(server, &s);
  assert_int_equal(s.ntp.short_packet, 1);
  assert_int_equal(s.ntp.zero_transmit, 1);
  assert_int_equal(s.ntp.version, 1);
  assert_int_equal(s.ntp.mode, 1);
  assert_int_equal(s.dropped, 4);
  cohort_timesync_stats(client, &s);
  assert_int_equal(s.ntp.bogus_origin + s.ntp.unrequested, 1);
  assert_int_equal(s.dropped, 3);
  cohort_sim_free(sim);
  cohort_scenario_free(sc);

  static const char ptext[] = "nodes 2\nduration 5s\nprotocol ptp priority1=1:1 ref=1\n";
  sim = start(ptext, 1, &sc, NULL);
  cohort_sim_run_until(sim, 3 * COHORT_NS_PER_S);
  cohort_proto_t *slave = cohort_sim_proto(sim, 2, "ptp");
  uint8_t b[64];
  cohort_ptp_msg_t m = {.type = COHORT_PTP_FOLLOW_UP, .seq = 1, .source = 1, .ts_ns = 0};
  int n = cohort_ptp_encode(&m, b, sizeof b);
  assert_int_equal(deliver(slave, COHORT_PTP_FOLLOW_UP, b, (size_t)n, 1), COHORT_EPROTO);
  assert_int_equal(deliver(slave, COHORT_PTP_FOLLOW_UP, b, 20, 1), COHORT_EPROTO);
  b[1] = 1;
  assert_int_equal(deliver(slave, COHORT_PTP_FOLLOW_UP, b, (size_t)n, 1), COHORT_EPROTO);
  b[1] = 2;
  b[0] = 0x4;
  assert_int_equal(deliver(slave, COHORT_PTP_FOLLOW_UP, b, (size_t)n, 1), COHORT_EPROTO);
  cohort_timesync_stats(slave, &s);
  assert_int_equal(s.ptp.zero_timestamp, 1);
  assert_int_equal(s.ptp.malformed, 1);
  assert_int_equal(s.ptp.version, 1);
  assert_int_equal(s.ptp.type, 1);
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
}

/* ---- the checker on hand-made traces -------------------------------------- */

static void add_clock(cohort_trace_t *t, unsigned node, long long tt, long long time,
                      long long earliest, long long latest, long long hlc) {
  char line[512];
  int n = snprintf(line, sizeof line,
                   "{\"ev\":\"state\",\"node\":%u,\"inc\":1,\"lt\":%lld,\"tt\":%lld,"
                   "\"lamport\":%zu,\"hlc\":[%lld,0],\"proto\":\"ntp\",\"what\":\"clock\","
                   "\"data\":{\"offset_ns\":0,\"time\":%lld,\"earliest\":%lld,\"latest\":%lld,"
                   "\"synced\":true,\"hlc_l\":%lld,\"stratum\":2}}",
                   node, time, tt, t->len + 1, time, time, earliest, latest, hlc);
  char err[128];
  if (cohort_trace_parse_line(t, line, (size_t)n, t->len + 1, err, sizeof err))
    fail_msg("%s", err);
}

static void test_checker_broken(void **st) {
  (void)st;
  cohort_check_result_t r;
  cohort_trace_t t;
  /* Good: monotonic, true time inside, HLC close. */
  cohort_trace_init(&t);
  add_clock(&t, 1, 1000, 1001, 900, 1100, 1001);
  add_clock(&t, 1, 2000, 2002, 1900, 2100, 2002);
  run_clock_check(&t, NULL, &r);
  assert_int_equal(r.violations, 0);
  assert_int_equal(r.checked, 2);
  cohort_trace_close(&t);
  /* Backwards. */
  cohort_trace_init(&t);
  add_clock(&t, 1, 1000, 1500, 900, 1600, 1500);
  add_clock(&t, 1, 2000, 1400, 1300, 2100, 1500);
  run_clock_check(&t, NULL, &r);
  assert_int_equal(r.violations, 1);
  assert_non_null(strstr(r.first, "backwards"));
  cohort_trace_close(&t);
  /* True time outside the interval. */
  cohort_trace_init(&t);
  add_clock(&t, 2, 5000, 4000, 3900, 4100, 4000);
  run_clock_check(&t, NULL, &r);
  assert_true(r.violations >= 1);
  assert_non_null(strstr(r.first, "outside"));
  cohort_trace_close(&t);
  /* HLC far from true time. */
  cohort_trace_init(&t);
  add_clock(&t, 3, 5000, 5000, 4900, 5100, 9000);
  run_clock_check(&t, NULL, &r);
  assert_int_equal(r.violations, 1);
  assert_non_null(strstr(r.first, "HLC"));
  cohort_trace_close(&t);
  /* Times at the ends of int64 (from a trace file): |hlc − tt| used to
   * overflow to INT64_MIN and pass as "close". */
  cohort_trace_init(&t);
  add_clock(&t, 3, 0, 0, -100, 100, INT64_MIN);
  add_clock(&t, 4, 0, INT64_MAX, -100, 100, 0);
  add_clock(&t, 4, 0, INT64_MIN, INT64_MIN + 1, INT64_MAX, 0);
  run_clock_check(&t, NULL, &r);
  assert_int_equal(r.violations, 2); /* the HLC, and going backwards */
  assert_non_null(strstr(r.first, "HLC 9223372036854775807 ns from true time"));
  /* Bad parameters. */
  char err[128];
  cohort_param_t bad[1] = {{"nope", "1"}};
  assert_int_equal(cohort_checker_clock.run(&t, bad, 1, &r, err, sizeof err), COHORT_EINVAL);
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ntp_sweep),
      cmocka_unit_test(test_ptp_bmca_failover),
      cmocka_unit_test(test_ptp_offset_filter),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_checker_broken),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
