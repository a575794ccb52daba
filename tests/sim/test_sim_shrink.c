/*
 * tests/sim/test_sim_shrink.c — shrinking (cohort_sim_shrink). A known
 * bug behind a test-only flag (toylock bug=on: a restarted coordinator
 * forgets the holder) is found by a sweep over random faults, and the
 * failing seed's schedule — dozens of random crashes and partitions — is
 * shrunk to at most 3 faults that still fail mutex-safety, as a scenario
 * text that parses and replays. The same sweep with the bug off finds
 * nothing (the checker is not just noise). Every fault kind survives
 * being written out and read back; a passing seed is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/sim.h"
#include "testproto.h"

static const cohort_proto_factory_t *const extra[] = {&test_toylock_factory,
                                                      &test_ping_factory};
static const cohort_scenario_options_t opts = {.extra_factories = extra,
                                               .extra_factories_len = 2};

#define LOCK_SCENARIO(bug)                                                                  \
  "nodes 5\nduration 40s\n"                                                                 \
  "protocol toylock hold=1s lease=1500ms bug=" bug "\n"                                     \
  "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us loss=0.01 dup=0.01\n"       \
  "faults random crash-mtbf=2s down=100ms..400ms partition-mtbf=3s partition-len=200ms..1s " \
  "oneway=0.3 max-down=2\n"                                                                 \
  "check mutex-safety proto=toylock\n"

/* Violations of a scenario text at one seed (-1: does not parse/run). */
static long violations(const char *text, uint64_t seed) {
  cohort_scenario_t *sc = NULL;
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "t.scn", &opts, &sc, err, sizeof err)) {
    print_message("parse: %s\n", err);
    return -1;
  }
  cohort_sim_config_t cfg = {.seed = seed, .run_checks = true};
  cohort_sim_t *sim = NULL;
  long v = -1;
  if (!cohort_sim_new(sc, &cfg, &sim, err, sizeof err) && !cohort_sim_run(sim)) {
    const cohort_sim_results_t *r = cohort_sim_results(sim);
    v = (long)r->violations;
    if (v && getenv("SHRINK_TEST_VERBOSE"))
      print_message("seed %llu: %s\n", (unsigned long long)seed, r->checks[0].result.first);
  }
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  return v;
}

static size_t count_lines_starting(const char *text, const char *prefix) {
  size_t n = 0, len = strlen(prefix);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, prefix, len)) n++;
  return n;
}

static void test_sweep_finds_and_shrink_minimises(void **state) {
  (void)state;
  const char *buggy = LOCK_SCENARIO("on"), *fixed = LOCK_SCENARIO("off");
  uint64_t seed = 0;
  unsigned found = 0;
  for (uint64_t s = 1; s <= 60; s++) {
    assert_int_equal(violations(fixed, s), 0); /* the correct protocol holds */
    long v = violations(buggy, s);
    assert_true(v >= 0);
    if (v > 0 && !seed) seed = s;
    found += v > 0;
  }
  print_message("toylock bug=on: %u of 60 seeds violate mutex-safety; shrinking seed %llu\n",
                found, (unsigned long long)seed);
  assert_true(seed != 0);
  cohort_sim_config_t cfg = {.seed = seed};
  char *out = NULL, err[768];
  cohort_shrink_stats_t st;
  int rc = cohort_sim_shrink(buggy, strlen(buggy), "toylock.scn", &opts, &cfg, &out, &st, err,
                             sizeof err);
  if (rc) fail_msg("shrink: %s", err);
  print_message("shrunk %zu -> %zu faults, %u -> %u nodes, %.1f -> %.3f s, %u runs:\n%s",
                st.faults_before, st.faults_after, st.nodes_before, st.nodes_after,
                (double)st.duration_before_ns / 1e9, (double)st.duration_after_ns / 1e9, st.runs,
                out);
  assert_true(st.faults_before > 10);
  assert_true(st.faults_after <= 3);
  assert_int_equal(count_lines_starting(out, "at "), st.faults_after);
  assert_int_equal(count_lines_starting(out, "faults "), 0);
  assert_string_equal(st.check, "mutex-safety proto=toylock");
  assert_true(violations(out, seed) > 0); /* it still fails, replayed from its text */
  /* The minimal schedule involves the coordinator crashing. */
  assert_non_null(strstr(out, "crash 1"));
  cohort_free(NULL, out);
}

static void test_passing_seed_is_refused(void **state) {
  (void)state;
  const char *fixed = LOCK_SCENARIO("off");
  cohort_sim_config_t cfg = {.seed = 1};
  char *out = NULL, err[512] = "";
  assert_int_equal(cohort_sim_shrink(fixed, strlen(fixed), "t.scn", &opts, &cfg, &out, NULL, err,
                                     sizeof err),
                   COHORT_ENOTFOUND);
  assert_null(out);
  assert_non_null(strstr(err, "passes every check"));
}

/* Every fault kind is written back as a line the parser reads to the same
 * effect: a schedule of all of them, failing an impossible fd bound, keeps
 * failing after materialising (shrink would refuse it otherwise). */
static void test_every_kind_round_trips(void **state) {
  (void)state;
  static const char text[] =
      "nodes 4\nduration 10s\nprotocol ping interval=50ms\nprotocol fd interval=100ms\n"
      "at 1s crash 2\nat 1500ms restart 2 stable\nat 2s partition 1,2 | 3,4\nat 3s heal\n"
      "at 3500ms partition 1 -> 2,3\nat 4s heal\nat 4500ms step 3 -20ms\n"
      "at 5s slew 4 rate=-250.5ppm for=2s\nat 7s crash 3\n"
      "at 500ms join 4\nat 6s leave 1\nat 6500ms ctl 2 ping hello\n"
      "at 1s omit 1 send=0.5 recv=0.25 for=2s\nat 2s slow 2 delay=uniform(1ms,3ms) for=1s\n"
      "at 2s slow-link 1,2<->3 delay=lognormal(1ms,0.5)\nat 3s stuck 1 bit=20 value=1 for=1s\n"
      "at 8s crash 1 notify\n"
      "check fd bound=1ns accuracy=off\n";
  cohort_sim_config_t cfg = {.seed = 4};
  char *out = NULL, err[768];
  cohort_shrink_stats_t st;
  int rc = cohort_sim_shrink(text, strlen(text), "kinds.scn", &opts, &cfg, &out, &st, err,
                             sizeof err);
  if (rc) fail_msg("shrink: %s", err);
  assert_int_equal(st.faults_before, 17);
  assert_true(st.faults_after < st.faults_before);
  assert_true(violations(out, 4) > 0);
  cohort_free(NULL, out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sweep_finds_and_shrink_minimises),
      cmocka_unit_test(test_passing_seed_is_refused),
      cmocka_unit_test(test_every_kind_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
