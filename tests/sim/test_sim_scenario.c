/*
 * tests/sim/test_sim_scenario.c — the scenario parser: a full scenario with
 * every directive parses to the expected values; each bad line in a long
 * table is refused with "name:line: reason" naming the right line; the
 * shipped scenarios/ files all parse; a failing allocator never leaks.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/sim/sim_internal.h"
#include "testproto.h"

static const cohort_proto_factory_t *const extra[] = {&test_ping_factory};
static const cohort_scenario_options_t opts = {.extra_factories = extra,
                                               .extra_factories_len = 1};

static int parse(const char *text, cohort_scenario_t **out, char *err, size_t cap) {
  return cohort_scenario_parse(text, strlen(text), "t.scn", &opts, out, err, cap);
}

static const char full[] =
    "# every directive\n"
    "nodes 5\n"
    "duration 60s   # trailing comment\n"
    "cluster-id 7\n"
    "cluster-key 00ff10\n"
    "vector-clock on\n"
    "hlc-max-offset 250ms\n"
    "protocol ping interval=50ms size=16\n"
    "network latency=lognormal(median=1ms, sigma=0.5) jitter=200us loss=0.01 dup=0.001\n"
    "network reorder=0.02 reorder-delay=3ms\n"
    "link 1->2 latency=const(5ms) loss=0.5\n"
    "link 3<->4 latency=uniform(1ms,2ms)\n"
    "link *->5 loss=0.1\n"
    "clock 3 drift=+50ppm offset=2ms\n"
    "clock 4,5 drift=-20ppm\n"
    "clock random drift=100ppm offset=1ms\n"
    "at 10s crash 3\n"
    "at 20s restart 3 stable\n"
    "at 30s partition 1,2 | 3,4,5\n"
    "at 35s partition 1 -> 2\n"
    "at 40s heal\n"
    "at 15s step 2 +100ms\n"
    "at 15s step 4 -1.5ms\n"
    "at 16s slew 2 rate=500ppm for=10s\n"
    "faults random crash-mtbf=20s down=1s..3s partition-mtbf=30s partition-len=2s oneway=0.5\n"
    "check integrity\n"
    "check causality\n";

static void test_full_scenario(void **state) {
  (void)state;
  cohort_scenario_t *s = NULL;
  char err[512] = "";
  int rc = parse(full, &s, err, sizeof err);
  if (rc) fail_msg("%s", err);
  assert_int_equal(cohort_scenario_nodes(s), 5);
  assert_int_equal(cohort_scenario_duration(s), 60 * COHORT_NS_PER_S);
  assert_int_equal(s->cluster_id, 7);
  assert_int_equal(s->key_len, 3);
  assert_int_equal(s->key[1], 0xff);
  assert_true(s->vector_clock);
  assert_int_equal(s->hlc_max_offset_ns, 250 * COHORT_NS_PER_MS);
  assert_int_equal(s->protos_len, 1);
  assert_int_equal(s->protos[0].params_len, 2);
  assert_string_equal(s->protos[0].params[1].key, "size");
  assert_int_equal(s->net.latency.kind, SIM_DIST_LOGNORMAL);
  assert_int_equal(s->net.jitter_ns, 200000);
  assert_true(s->net.reorder == 0.02);
  assert_int_equal(s->links_len, 4); /* <-> counts twice */
  assert_int_equal(s->links[2].from, 4);
  assert_int_equal(s->links[3].from, 0);
  assert_int_equal(s->clocks[3].drift_ppb, 50000);
  assert_int_equal(s->clocks[3].offset_ns, 2000000);
  assert_int_equal(s->clocks[5].drift_ppb, -20000);
  assert_false(s->clocks[5].offset_set);
  assert_int_equal(s->random_drift_ppb, 100000);
  assert_int_equal(s->faults_len, 8);
  /* sorted by time, line order among equals */
  assert_int_equal(s->faults[0].kind, SIM_FAULT_CRASH);
  assert_int_equal(s->faults[1].kind, SIM_FAULT_STEP);
  assert_int_equal(s->faults[1].amount_ns, 100 * COHORT_NS_PER_MS);
  assert_int_equal(s->faults[2].amount_ns, -1500000);
  assert_int_equal(s->faults[3].kind, SIM_FAULT_SLEW);
  assert_int_equal(s->faults[3].rate_ppb, 500000);
  assert_true(s->faults[4].stable);
  assert_int_equal(s->faults[5].kind, SIM_FAULT_PARTITION);
  assert_int_equal(s->faults[5].side[2], 1);
  assert_int_equal(s->faults[5].side[4], 2);
  assert_int_equal(s->faults[6].kind, SIM_FAULT_BLOCK);
  assert_true(s->random.on);
  assert_int_equal(s->random.max_down, 2);
  assert_int_equal(s->random.end_ns, 60 * COHORT_NS_PER_S);
  assert_int_equal(cohort_scenario_checks(s), 2);
  assert_string_equal(cohort_scenario_check_text(s, 1), "causality");
  assert_null(cohort_scenario_check_text(s, 2));
  cohort_scenario_free(s);
}

typedef struct bad_case {
  const char *text;
  const char *want; /* substring of the error, with its line */
} bad_case_t;

#define HEAD "nodes 5\nduration 60s\n"

static const bad_case_t bad[] = {
    {"", "t.scn: missing 'nodes N'"},
    {"nodes 3\n", "missing 'duration D'"},
    {"bogus 1\n", "t.scn:1: unknown directive 'bogus'"},
    {HEAD "frobnicate\n", "t.scn:3: unknown directive"},
    {"nodes 0\n", ":1: nodes: expected 1..1024"},
    {"nodes 2000\n", ":1: nodes: expected"},
    {"nodes five\n", ":1: nodes"},
    {"nodes 3\nnodes 4\n", ":2: 'nodes' given twice"},
    {"nodes 3\nduration 10\n", ":2: duration: not a positive duration"},
    {"nodes 3\nduration 0s\n", ":2: duration: not a positive"},
    {"nodes 3\nduration -5s\n", ":2: duration"},
    {"nodes 3\nduration 10s 20s\n", ":2: usage: duration VALUE"},
    {"at 1s crash 1\nnodes 3\n", ":1: 'nodes N' must come before"},
    {HEAD "at 10s crash 9\n", ":3: node 9 out of range (nodes are 1..5)"},
    {HEAD "at 10s crash 0\n", ":3: node 0 out of range"},
    {HEAD "at 10s crash x\n", ":3: not a node id: 'x'"},
    {HEAD "at 10x crash 1\n", ":3: bad time '10x'"},
    {HEAD "at 70s crash 1\n", ":3: event at 70.000s is after the end of the run"},
    {HEAD "at 10s explode 1\n", ":3: unknown event 'explode'"},
    {HEAD "at 10s crash\n", ":3: crash: which node?"},
    {HEAD "at 10s crash 1 now\n", ":3: crash: unexpected 'now'"},
    {HEAD "at 10s restart 1\n", ":3: restart 1: node 1 is not down"},
    {HEAD "at 10s crash 1\nat 12s crash 1\n", ":4: crash 1: node 1 is already down"},
    {HEAD "at 30s restart 2\nat 10s crash 2\nat 20s restart 2\n", ":3: restart 2: node 2 is not"},
    {HEAD "at 10s partition 1,2\n", ":3: partition: expected groups"},
    {HEAD "at 10s partition 1,2 | 2,3\n", ":3: node 2 is in two groups"},
    {HEAD "at 10s partition 1 | 7\n", ":3: node 7 out of range"},
    {HEAD "at 10s partition 3-1 | 4\n", ":3: empty node range"},
    {HEAD "at 10s heal now\n", ":3: heal takes no arguments"},
    {HEAD "at 10s step 1 100\n", ":3: usage: at T step N +100ms"},
    {HEAD "at 10s slew 1 rate=5ppm\n", ":3: usage: at T slew"},
    {HEAD "at 10s slew 1 rate=fast for=1s\n", ":3: slew: rate"},
    {HEAD "at 10s slew 1 rate=5ppm for=1s speed=2\n", ":3: slew: unknown parameter 'speed'"},
    {HEAD "protocol\n", ":3: usage: protocol NAME"},
    {HEAD "protocol nosuch x=1\n", ":3: unknown protocol 'nosuch'"},
    {HEAD "protocol ping interval=fast\n", ":3: ping: interval: not a duration"},
    {HEAD "protocol ping colour=red\n", ":3: ping: unknown parameter 'colour'"},
    {HEAD "protocol ping size=4\n", ":3: ping: interval must be > 0 and size"},
    {HEAD "protocol ping novalue\n", ":3: expected key=value, got 'novalue'"},
    {HEAD "protocol ping\nprotocol ping\n", ":4: protocol 'ping' given twice"},
    {HEAD "network\n", ":3: network: no parameters"},
    {HEAD "network loss=1.5\n", ":3: loss: not a probability in [0, 1]"},
    {HEAD "network loss=-0.1\n", ":3: loss: not a probability"},
    {HEAD "network latency=gauss(1ms)\n", ":3: latency: unknown distribution 'gauss'"},
    {HEAD "network latency=lognormal(median=1ms)\n", ":3: latency: lognormal: missing"},
    {HEAD "network latency=const(5ms\n", ":3: unbalanced parentheses"},
    {HEAD "network latency=1ms latency=2ms\n", ":3: 'latency' given twice"},
    {HEAD "network speed=1\n", ":3: unknown network parameter 'speed'"},
    {HEAD "network jitter=lots\n", ":3: jitter: not a duration"},
    {HEAD "link 1-2 loss=0.1\n", ":3: link: expected A->B"},
    {HEAD "link 1->9 loss=0.1\n", ":3: node 9 out of range"},
    {HEAD "link 1->2\n", ":3: usage: link A->B"},
    {HEAD "clock 1 drift=50\n", ":3: drift: expected e.g. +50ppm"},
    {HEAD "clock 1 drift=+200000ppm\n", ":3: drift"},
    {HEAD "clock 1 offset=soon\n", ":3: offset"},
    {HEAD "clock 1 skew=1ppm\n", ":3: unknown clock parameter 'skew'"},
    {HEAD "clock random drift=-5ppm\n", ":3: drift"},
    {HEAD "faults crash-mtbf=1s\n", ":3: usage: faults random"},
    {HEAD "faults random down=1s\n", ":3: faults random: give crash-mtbf"},
    {HEAD "faults random crash-mtbf=1s down=5s..1s\n", ":3: down: bad value"},
    {HEAD "faults random crash-mtbf=1s max-down=5\n", ":3: max-down: bad value"},
    {HEAD "faults random crash-mtbf=1s often=yes\n", ":3: unknown fault parameter 'often'"},
    {HEAD "faults random crash-mtbf=1s start=50s end=10s\n", "start is not before end"},
    {HEAD "check nosuchchecker\n", ":3: unknown checker 'nosuchchecker'"},
    {HEAD "check\n", ":3: usage: check NAME"},
    {HEAD "cluster-key 0g\n", ":3: cluster-key: not hex"},
    {HEAD "cluster-key abc\n", ":3: cluster-key: expected"},
    {HEAD "vector-clock maybe\n", ":3: vector-clock: expected on or off"},
    {HEAD "cluster-id -1\n", ":3: cluster-id: not a number"},
    /* spans beyond COHORT_SIM_TIME_MAX_NS (10 years) overflowed the
     * simulator's int64 time arithmetic */
    {"nodes 3\nduration 9000000000s\n", ":2: duration: not a positive duration of at most"},
    {HEAD "network latency=9000000000s\n", ":3: latency: not a distribution or a duration"},
    {HEAD "network latency=uniform(1ms,9000000000s)\n", ":3: latency: uniform: max"},
    {HEAD "network latency=pareto(min=1ms,alpha=1,max=87601h)\n", ":3: latency: pareto: max"},
    {HEAD "network jitter=9000000000s\n", ":3: jitter: not a duration"},
    {HEAD "network reorder-delay=9000000000s\n", ":3: reorder-delay: not a duration"},
    {HEAD "clock 1 offset=9000000000s\n", ":3: offset"},
    {HEAD "clock 1 offset=-9000000000s\n", ":3: offset"},
    {HEAD "at 10s step 1 +9000000000s\n", ":3: usage: at T step N"},
    {HEAD "at 10s slew 1 rate=5ppm for=9000000000s\n", ":3: slew: for"},
    {HEAD "faults random crash-mtbf=9000000000s\n", ":3: crash-mtbf: bad value"},
    {HEAD "faults random crash-mtbf=1s down=1s..9000000000s\n", ":3: down: bad value"},
    {HEAD "hlc-max-offset 9000000000s\n", ":3: hlc-max-offset"},
    /* join, leave, ctl */
    {HEAD "at 10s join\n", ":3: join: which node?"},
    {HEAD "at 10s join 2 now\n", ":3: usage: at T join N"},
    {HEAD "at 10s join 7\n", ":3: node 7 out of range"},
    {HEAD "at 5s join 2\nat 10s join 2\n", ":4: join 2: node 2 joins only once"},
    {HEAD "at 5s crash 2\nat 10s join 2\n", ":3: crash 2: node 2 has not joined yet"},
    {HEAD "at 10s join 2\nat 5s restart 2\n", ":4: restart 2: node 2 has not joined yet"},
    {HEAD "at 10s join 2\nat 5s step 2 +1ms\n", ":4: step 2: node 2 has not joined"},
    {HEAD "at 10s join 2\nat 5s leave 2\n", ":4: leave 2: node 2 has not joined"},
    {HEAD "at 10s join 2\nat 10s crash 2\nat 10s join 2\n", ":5: join 2: node 2 joins only"},
    {HEAD "at 10s leave 1 now\n", ":3: usage: at T leave N"},
    {HEAD "at 5s crash 3\nat 10s leave 3\n", ":4: leave 3: node 3 is down then"},
    {HEAD "protocol ping\nat 5s crash 3\nat 10s ctl 3 ping leave\n", ":5: ctl 3: node 3 is down"},
    {HEAD "at 10s ctl 1 ping\n", ":3: usage: at T ctl N PROTO COMMAND"},
    {HEAD "at 10s ctl 1 ping leave now\n", ":3: usage: at T ctl N PROTO COMMAND"},
    {HEAD "protocol ping\nat 10s ctl 1 fd leave\n", ":4: ctl: no protocol 'fd' in this"},
    {HEAD "at 10s ctl 1 ping leaveleaveleaveleaveleaveleaveleave\n", ":3: ctl: protocol name"},
};

static void test_bad_lines(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cohort_scenario_t *s = NULL;
    char err[512] = "";
    int rc = parse(bad[i].text, &s, err, sizeof err);
    if (rc != COHORT_EINVAL) fail_msg("case %zu accepted (rc %d): %s", i, rc, bad[i].text);
    assert_null(s);
    if (!strstr(err, bad[i].want))
      fail_msg("case %zu: error '%s' lacks '%s'", i, err, bad[i].want);
    if (strncmp(err, "t.scn", 5)) fail_msg("case %zu: error '%s' lacks the file name", i, err);
  }
}

static void test_binary_and_oversize_input(void **state) {
  (void)state;
  char err[256];
  cohort_scenario_t *s = NULL;
  const char nul[] = "nodes 3\0duration 1s\n";
  assert_int_equal(cohort_scenario_parse(nul, sizeof nul - 1, "b", &opts, &s, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "NUL byte"));
  size_t big = COHORT_SIM_SCENARIO_BYTES_MAX + 1;
  char *text = malloc(big);
  assert_non_null(text);
  memset(text, '#', big);
  assert_int_equal(cohort_scenario_parse(text, big, "b", &opts, &s, err, sizeof err),
                   COHORT_EINVAL);
  free(text);
  /* random bytes never crash the parser */
  uint64_t rng = 1;
  char junk[512];
  for (int k = 0; k < 2000; k++) {
    size_t len = 1 + sim_below(&rng, sizeof junk - 1);
    for (size_t i = 0; i < len; i++) {
      static const char alphabet[] = "nodes durationat10s crash12|->,()=#\nprotocol ping";
      junk[i] = alphabet[sim_below(&rng, sizeof alphabet - 1)];
    }
    s = NULL;
    if (cohort_scenario_parse(junk, len, "j", &opts, &s, err, sizeof err) == 0)
      cohort_scenario_free(s);
  }
}

static void test_load_errors(void **state) {
  (void)state;
  char err[512];
  cohort_scenario_t *s = NULL;
  assert_int_equal(cohort_scenario_load("/nonexistent/x.scn", &opts, &s, err, sizeof err),
                   COHORT_EIO);
  assert_non_null(strstr(err, "/nonexistent/x.scn: "));
}

/* Every shipped scenario parses (with the registry's real protocols). */
static void test_shipped_scenarios_parse(void **state) {
  (void)state;
  const char *root = getenv("COHORT_SOURCE_ROOT");
  if (!root) skip();
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/scenarios", root);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int seen = 0;
  char errors[4096] = "";
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".scn")) continue;
    char path[2048], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    cohort_scenario_t *s = NULL;
    if (cohort_scenario_load(path, NULL, &s, err, sizeof err) == 0) cohort_scenario_free(s);
    else if (strlen(errors) + strlen(err) + 2 < sizeof errors) strcat(strcat(errors, err), "\n");
    seen++;
  }
  closedir(d); /* before any failure: fail_msg does not return */
  if (errors[0]) fail_msg("shipped scenarios that do not parse:\n%s", errors);
  assert_true(seen >= 4);
}

/* Fail the Nth allocation for every N: each is ENOMEM, nothing leaks (the
 * sanitizer build checks the leaks). */
static int fail_at, allocs;
static void *failing_realloc(void *ud, void *p, size_t n) {
  (void)ud;
  if (n == 0) {
    free(p);
    return NULL;
  }
  if (++allocs == fail_at) return NULL;
  return realloc(p, n);
}

static void test_allocation_failures(void **state) {
  (void)state;
  cohort_allocator_t a = {failing_realloc, NULL};
  cohort_scenario_options_t o = opts;
  o.alloc = &a;
  int ok = 0;
  for (fail_at = 1; fail_at < 200 && !ok; fail_at++) {
    allocs = 0;
    cohort_scenario_t *s = NULL;
    char err[512];
    int rc = cohort_scenario_parse(full, strlen(full), "a", &o, &s, err, sizeof err);
    if (rc == 0) {
      ok = 1;
      cohort_scenario_free(s);
    } else {
      assert_int_equal(rc, COHORT_ENOMEM);
    }
  }
  assert_true(ok);
  /* loading: the read buffer's failure is reported too (cohort sim prints
   * err; it used to be left unwritten) */
  allocs = 0;
  fail_at = 1;
  cohort_scenario_t *s = NULL;
  char err[512] = "untouched";
  assert_int_equal(cohort_scenario_load("/dev/null", &o, &s, err, sizeof err), COHORT_ENOMEM);
  assert_string_equal(err, "/dev/null: out of memory");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_scenario),
      cmocka_unit_test(test_bad_lines),
      cmocka_unit_test(test_binary_and_oversize_input),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_shipped_scenarios_parse),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
