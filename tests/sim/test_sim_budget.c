/*
 * tests/sim/test_sim_budget.c — scenarios that are valid but explode stop
 * with an error naming the budget that ran out (issue 9, item 8): a
 * heartbeat every nanosecond (events), a crash every nanosecond with a
 * trace (trace bytes), 1024 nodes for ten years (memory, while building),
 * and a flood that fills the datagram pool (memory, while running). Each
 * stops within its budget, leaks nothing, and later calls keep failing
 * the same way; a scenario within its budgets is not affected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../support/failalloc.h"
#include "cohort/sim.h"

static failalloc_t fa;

static cohort_scenario_t *scenario(const char *text) {
  cohort_scenario_options_t opts = {.alloc = &fa.base};
  cohort_scenario_t *s = NULL;
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "budget.scn", &opts, &s, err, sizeof err))
    fail_msg("%s", err);
  return s;
}

static void count_bytes(void *ud, const char *line, size_t len) {
  (void)line;
  *(uint64_t *)ud += len + 1;
}

static void test_events(void **state) {
  (void)state;
  failalloc_init(&fa, 0);
  cohort_scenario_t *s = scenario("nodes 3\nduration 60s\nprotocol fd interval=1ns\n");
  cohort_sim_config_t cfg = {.seed = 1, .max_events = 200000};
  cohort_sim_t *sim = NULL;
  char err[256];
  assert_int_equal(cohort_sim_new(s, &cfg, &sim, err, sizeof err), 0);
  assert_int_equal(cohort_sim_run(sim), COHORT_EFULL);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_string_equal(r->budget, "events");
  assert_int_equal(r->events, 200000);
  assert_non_null(strstr(r->budget_msg, "events budget exhausted (200000 events)"));
  assert_non_null(strstr(r->budget_msg, "--max-events"));
  assert_true(r->virtual_ns < 60 * COHORT_NS_PER_S);
  assert_int_equal(cohort_sim_run_until(sim, 61 * COHORT_NS_PER_S), COHORT_EFULL);
  assert_int_equal(cohort_sim_results(sim)->events, 200000);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
  assert_int_equal(fa.live, 0);
}

static void test_trace_bytes(void **state) {
  (void)state;
  failalloc_init(&fa, 0);
  cohort_scenario_t *s = scenario("nodes 5\nduration 60s\nprotocol fd interval=100ms\n"
                                  "faults random crash-mtbf=1ns down=1ns..1ns\n");
  uint64_t bytes = 0;
  cohort_sim_config_t cfg = {.seed = 1, .trace_fn = count_bytes, .trace_ud = &bytes,
                             .max_trace_bytes = 1 << 20};
  cohort_sim_t *sim = NULL;
  char err[256];
  assert_int_equal(cohort_sim_new(s, &cfg, &sim, err, sizeof err), 0);
  assert_int_equal(cohort_sim_run(sim), COHORT_EFULL);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_string_equal(r->budget, "trace");
  assert_true(bytes <= 1 << 20 && bytes > (1 << 20) - COHORT_TRACE_LINE_MAX);
  assert_int_equal(r->trace_bytes, bytes);
  assert_non_null(strstr(r->budget_msg, "--max-trace"));
  cohort_sim_free(sim);
  cohort_scenario_free(s);
  assert_int_equal(fa.live, 0);
}

static void test_memory_while_building(void **state) {
  (void)state;
  failalloc_init(&fa, 0);
  cohort_scenario_t *s = scenario("nodes 1024\nduration 87600h\nprotocol fd interval=100ms\n");
  cohort_sim_config_t cfg = {.seed = 1, .max_memory_bytes = 256u << 20};
  cohort_sim_t *sim = NULL;
  char err[256] = "";
  assert_int_equal(cohort_sim_new(s, &cfg, &sim, err, sizeof err), COHORT_EFULL);
  assert_null(sim);
  assert_non_null(strstr(err, "memory budget exhausted (268435456 bytes of memory)"));
  cohort_scenario_free(s);
  assert_int_equal(fa.live, 0);
}

static void test_memory_while_running(void **state) {
  (void)state;
  failalloc_init(&fa, 0);
  /* Every node floods its peers every nanosecond over 10 s latency: the
   * datagram pool grows until the memory budget refuses it. */
  cohort_scenario_t *s =
      scenario("nodes 4\nduration 60s\nprotocol fd interval=1ns\nnetwork latency=10s\n");
  cohort_sim_config_t cfg = {.seed = 1, .max_memory_bytes = 64u << 20};
  cohort_sim_t *sim = NULL;
  char err[256];
  assert_int_equal(cohort_sim_new(s, &cfg, &sim, err, sizeof err), 0);
  assert_int_equal(cohort_sim_run(sim), COHORT_EFULL);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  assert_string_equal(r->budget, "memory");
  assert_true(r->memory_bytes_peak <= 64u << 20);
  cohort_sim_free(sim);
  cohort_scenario_free(s);
  assert_int_equal(fa.live, 0);
}

/* Within its budgets a run is not touched: same events as unbounded. */
static void test_within_budget(void **state) {
  (void)state;
  failalloc_init(&fa, 0);
  cohort_scenario_t *s = scenario("nodes 3\nduration 5s\nprotocol fd interval=100ms\n"
                                  "at 1s crash 2\ncheck fd bound=2s accuracy=off\n");
  uint64_t events[2];
  for (int i = 0; i < 2; i++) {
    cohort_sim_config_t cfg = {.seed = 9, .run_checks = true};
    if (i) {
      cfg.max_events = 1000000;
      cfg.max_memory_bytes = 64u << 20;
    }
    cohort_sim_t *sim = NULL;
    char err[256];
    assert_int_equal(cohort_sim_new(s, &cfg, &sim, err, sizeof err), 0);
    assert_int_equal(cohort_sim_run(sim), 0);
    assert_null(cohort_sim_results(sim)->budget);
    assert_int_equal(cohort_sim_results(sim)->violations, 0);
    events[i] = cohort_sim_results(sim)->events;
    cohort_sim_free(sim);
  }
  assert_int_equal(events[0], events[1]);
  cohort_scenario_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_events),
      cmocka_unit_test(test_trace_bytes),
      cmocka_unit_test(test_memory_while_building),
      cmocka_unit_test(test_memory_while_running),
      cmocka_unit_test(test_within_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
