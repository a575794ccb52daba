/*
 * tests/coord/test_mutex_sim.c — the four mutex scenarios swept over seeds
 * in the simulator, every run checked by the scenario's mutex checkers.
 *
 * Until the mutex factory and checkers are in the registry tables, this
 * runs scenarios/mutex-*.scn itself: the `check` lines are taken out of
 * the text before parsing (the scenario parser only knows registered
 * checkers), the factory is passed as an extra factory, the trace is kept
 * in memory and each `check` line is run here with the checker it names.
 *
 *   test_mutex_sim [A-B]                   the meson tests: every scenario,
 *                                          seeds A..B (default 1..100, or
 *                                          1..MUTEX_SEEDS); the blocking
 *                                          scenarios at most 10 of them
 *   test_mutex_sim SCENARIO A-B [-v]       a sweep; prints failing seeds
 *   test_mutex_sim SCENARIO SEED -o TRACE  one run, trace written
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
#include "cohort/trace.h"

#define CHECKS_MAX 8

static const cohort_proto_factory_t *const extra[] = {&cohort_mutex_factory};
static const cohort_checker_t *const my_checkers[] = {
    &cohort_check_mutex_safety, &cohort_check_mutex_fencing, &cohort_check_mutex_liveness,
    &cohort_check_mutex_bypass};

typedef struct loaded {
  cohort_scenario_t *sc;
  char checks[CHECKS_MAX][256];
  size_t nchecks;
} loaded_t;

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (buf) buf[n] = '\0';
  *len = n;
  return buf;
}

/* Parse a scenario, moving its `check` lines (comments kept in place so
 * line numbers stay right) into l->checks. 0 or -1 with a message. */
static int load(const char *path, loaded_t *l) {
  size_t len;
  char *text = slurp(path, &len);
  if (!text) return fprintf(stderr, "%s: cannot read\n", path), -1;
  l->nchecks = 0;
  for (char *line = text; line && *line;) {
    char *nl = strchr(line, '\n');
    if (!strncmp(line, "check ", 6)) {
      size_t n = (size_t)(nl ? nl - line : (ptrdiff_t)strlen(line));
      if (l->nchecks < CHECKS_MAX && n - 6 < sizeof l->checks[0]) {
        memcpy(l->checks[l->nchecks], line + 6, n - 6);
        l->checks[l->nchecks++][n - 6] = '\0';
      }
      line[0] = '#';
    }
    line = nl ? nl + 1 : NULL;
  }
  cohort_scenario_options_t opts = {.extra_factories = extra, .extra_factories_len = 1};
  char err[512];
  int rc = cohort_scenario_parse(text, len, path, &opts, &l->sc, err, sizeof err);
  free(text);
  if (rc) return fprintf(stderr, "%s\n", err), -1;
  return 0;
}

static void collect_cb(void *ud, const char *line, size_t len) {
  cohort_trace_t *t = ud;
  char err[128];
  if (cohort_trace_parse_line(t, line, len, t->len + 1, err, sizeof err))
    fprintf(stderr, "trace line does not parse: %s\n", err);
}

/* Run one check line ("mutex-safety bound=3s") over t. Violations, or 1
 * for a bad line. */
static uint64_t run_check(const char *text, const cohort_trace_t *t, bool verbose) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", text);
  char *save = NULL, *name = strtok_r(buf, " \t", &save);
  cohort_param_t params[8];
  size_t n = 0;
  for (char *tok; n < 8 && (tok = strtok_r(NULL, " \t", &save));) {
    char *eq = strchr(tok, '=');
    if (!eq) return fprintf(stderr, "check %s: bad parameter %s\n", name, tok), 1;
    *eq = '\0';
    params[n++] = (cohort_param_t){tok, eq + 1};
  }
  const cohort_checker_t *c = NULL;
  for (size_t i = 0; i < COHORT_ARRAY_LEN(my_checkers); i++)
    if (name && !strcmp(my_checkers[i]->name, name)) c = my_checkers[i];
  if (!c) c = name ? cohort_checker_find(name) : NULL;
  if (!c) return fprintf(stderr, "unknown checker %s\n", name ? name : "?"), 1;
  cohort_check_result_t res;
  char err[256] = "";
  if (c->run(t, params, n, &res, err, sizeof err))
    return fprintf(stderr, "check %s: %s\n", text, err), 1;
  if (verbose || res.violations)
    fprintf(stderr, "  %-40s %s%s%s\n", text, res.summary, res.violations ? ": " : "",
            res.violations ? res.first : "");
  return res.violations;
}

/* One seed: violations (0 = all checks hold). */
static uint64_t run_seed(const loaded_t *l, uint64_t seed, const char *trace_path,
                         bool verbose) {
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_sim_config_t cfg = {.seed = seed, .trace_path = trace_path, .trace_fn = collect_cb,
                             .trace_ud = &t};
  cohort_sim_t *sim;
  char err[512];
  if (cohort_sim_new(l->sc, &cfg, &sim, err, sizeof err)) {
    fprintf(stderr, "seed %llu: %s\n", (unsigned long long)seed, err);
    cohort_trace_close(&t);
    return 1;
  }
  uint64_t v = cohort_sim_run(sim) ? 1 : 0;
  cohort_sim_free(sim);
  cohort_trace_sort(&t);
  for (size_t i = 0; i < l->nchecks; i++) v += run_check(l->checks[i], &t, verbose);
  cohort_trace_close(&t);
  return v;
}

static uint64_t sweep(const char *path, uint64_t a, uint64_t b, bool verbose) {
  loaded_t l;
  if (load(path, &l)) return 1;
  uint64_t failed = 0;
  for (uint64_t s = a; s <= b; s++) {
    if (run_seed(&l, s, NULL, verbose)) {
      failed++;
      fprintf(stderr, "FAIL %s seed %llu (replay: test_mutex_sim %s %llu -o trace.jsonl)\n",
              path, (unsigned long long)s, path, (unsigned long long)s);
    }
  }
  cohort_scenario_free(l.sc);
  fprintf(stderr, "%s: seeds %llu-%llu: %llu failed\n", path, (unsigned long long)a,
          (unsigned long long)b, (unsigned long long)failed);
  return failed;
}

/* ---- the meson test -------------------------------------------------------- */

static uint64_t seed_first = 1, seed_last = 100;

static void sweep_scenario(const char *name) {
  const char *root = getenv("COHORT_SOURCE_ROOT");
  char path[1024];
  snprintf(path, sizeof path, "%s/scenarios/%s", root ? root : ".", name);
  assert_int_equal(sweep(path, seed_first, seed_last, false), 0);
}

static void test_centralized(void **state) {
  (void)state;
  sweep_scenario("mutex-centralized.scn");
}
static void test_lamport(void **state) {
  (void)state;
  sweep_scenario("mutex-lamport.scn");
}
static void test_ricart_agrawala(void **state) {
  (void)state;
  sweep_scenario("mutex-ricart-agrawala.scn");
}
static void test_token_ring(void **state) {
  (void)state;
  sweep_scenario("mutex-token-ring.scn");
}
/* The permission algorithms under a permanent crash: they must block
 * (no grant after the crash is detected), never violate safety. */
static void test_blocking(void **state) {
  (void)state;
  const char *root = getenv("COHORT_SOURCE_ROOT");
  char path[1024];
  uint64_t last = seed_last - seed_first >= 10 ? seed_first + 9 : seed_last;
  snprintf(path, sizeof path, "%s/scenarios/mutex-lamport-crash.scn", root ? root : ".");
  assert_int_equal(sweep(path, seed_first, last, false), 0);
  snprintf(path, sizeof path, "%s/scenarios/mutex-ricart-agrawala-crash.scn",
           root ? root : ".");
  assert_int_equal(sweep(path, seed_first, last, false), 0);
}

int main(int argc, char **argv) {
  if (argc >= 3) {
    unsigned long long a, b;
    bool verbose = argc > 3 && !strcmp(argv[3], "-v");
    if (sscanf(argv[2], "%llu-%llu", &a, &b) == 2) return sweep(argv[1], a, b, verbose) ? 1 : 0;
    if (sscanf(argv[2], "%llu", &a) != 1) return fprintf(stderr, "bad seed\n"), 2;
    loaded_t l;
    if (load(argv[1], &l)) return 2;
    const char *out = argc > 4 && !strcmp(argv[3], "-o") ? argv[4] : NULL;
    uint64_t v = run_seed(&l, a, out, true);
    cohort_scenario_free(l.sc);
    return v ? 1 : 0;
  }
  unsigned long long a, b;
  const char *env = getenv("MUTEX_SEEDS");
  if (env) seed_last = strtoull(env, NULL, 10);
  if (argc == 2) {
    if (sscanf(argv[1], "%llu-%llu", &a, &b) != 2 || a == 0 || b < a)
      return fprintf(stderr, "usage: test_mutex_sim [A-B] | SCENARIO A-B [-v]\n"), 2;
    seed_first = a;
    seed_last = b;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_centralized), cmocka_unit_test(test_lamport),
      cmocka_unit_test(test_ricart_agrawala), cmocka_unit_test(test_token_ring),
      cmocka_unit_test(test_blocking),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
