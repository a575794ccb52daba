/*
 * tests/trace/test_check_fd.c — the `fd` checker on small crash stories:
 * detection within the bound passes, late or missing detection fails, a
 * suspicion of a live node fails (unless accuracy=off or within settle),
 * restarts make a node up again, and crashes are inferred from the last
 * event when the trace has no simulator crash records.
 */
#include "tracebuild.h"

#define MS INT64_C(1000000)

static void st(cohort_trace_t *t, cohort_node_id_t node, int64_t ms, const char *proto,
               const char *what, const char *data) {
  static uint64_t lam = 0;
  cohort_trace_event_t ev = {.type = COHORT_EV_STATE, .node = node, .inc = 1,
                             .local_ns = ms * MS, .true_ns = ms * MS, .has_stamps = true,
                             .lamport = ++lam, .hlc = {ms * MS, 0}, .proto = proto,
                             .peer = COHORT_NODE_NONE, .what = what, .data_json = data};
  tb_add(t, &ev);
}

/* Three nodes run fd; node 3 crashes at 1000 ms. */
static void story(cohort_trace_t *t, int64_t suspect2_ms, int64_t suspect1_ms) {
  cohort_trace_init(t);
  for (cohort_node_id_t n = 1; n <= 3; n++) st(t, n, 0, "fd", "start", NULL);
  st(t, 3, 1000, "sim", "crash", NULL);
  if (suspect1_ms >= 0) st(t, 1, suspect1_ms, "fd", "suspect", "{\"peer\":3,\"phi\":9.1}");
  if (suspect2_ms >= 0) st(t, 2, suspect2_ms, "fd", "suspect", "{\"peer\":3,\"phi\":8.2}");
  st(t, 1, 5000, "fd", "tick", NULL);
  cohort_trace_sort(t);
}

static uint64_t run(const cohort_trace_t *t, const char *const *kv, char *first) {
  cohort_check_result_t res;
  assert_int_equal(tb_check(t, "fd", kv, &res), 0);
  if (first) snprintf(first, 512, "%s", res.first);
  return res.violations;
}

static const char *const b2s[] = {"bound=2s", NULL};

static void test_completeness(void **state) {
  (void)state;
  cohort_trace_t t;
  char first[512];
  story(&t, 1500, 1800);
  assert_true(cohort_checker_applies(cohort_checker_find("fd"), &t));
  assert_int_equal(run(&t, b2s, NULL), 0);
  cohort_trace_close(&t);
  story(&t, 3500, 1800); /* node 2 too late */
  assert_int_equal(run(&t, b2s, first), 1);
  assert_string_equal(first, "node 2 did not suspect node 3 within 2.000000s of its crash "
                             "at 1.000000s (line 4)");
  cohort_trace_close(&t);
  story(&t, -1, -1); /* nobody notices */
  assert_int_equal(run(&t, b2s, NULL), 2);
  assert_int_equal(run(&t, NULL, NULL), 0); /* completeness only with a bound */
  const char *const b10[] = {"bound=10s", NULL};
  assert_int_equal(run(&t, b10, NULL), 0); /* the run ends before the bound */
  cohort_trace_close(&t);
}

static void test_accuracy(void **state) {
  (void)state;
  cohort_trace_t t;
  char first[512];
  story(&t, 1500, 1800);
  st(&t, 2, 2000, "fd", "suspect", "{\"peer\":1}"); /* node 1 is alive */
  assert_int_equal(run(&t, b2s, first), 1);
  assert_string_equal(first, "line 8: node 2 suspects node 1, which is up (at 2.000000s)");
  const char *const off[] = {"bound=2s", "accuracy=off", NULL};
  assert_int_equal(run(&t, off, NULL), 0);
  const char *const settle[] = {"settle=3s", NULL};
  assert_int_equal(run(&t, settle, NULL), 0);
  cohort_trace_close(&t);
  /* a suspicion before the crash is a violation; one raised earlier and
   * held through the crash satisfies completeness */
  story(&t, 900, 1800);
  assert_int_equal(run(&t, b2s, first), 1);
  assert_non_null(strstr(first, "node 2 suspects node 3, which is up"));
  cohort_trace_close(&t);
  /* a suspect event must say whom */
  story(&t, 1500, 1800);
  st(&t, 2, 2000, "fd", "suspect", "{\"phi\":3}");
  assert_int_equal(run(&t, NULL, first), 1);
  assert_non_null(strstr(first, "without a valid data.peer"));
  cohort_trace_close(&t);
}

/* Times from a trace file span the whole int64 range: "tt − first event"
 * used to overflow (wrapping negative, so "still settling") and hide a
 * false suspicion; and tc + bound used to overflow past the end. */
static void test_extreme_times(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_trace_event_t ev = {.type = COHORT_EV_STATE, .node = 1, .inc = 1,
                             .local_ns = INT64_MIN, .true_ns = INT64_MIN, .proto = "fd",
                             .peer = COHORT_NODE_NONE, .what = "start"};
  tb_add(&t, &ev);
  ev.node = 2;
  tb_add(&t, &ev);
  ev.local_ns = ev.true_ns = INT64_MAX;
  ev.what = "suspect";
  ev.data_json = "{\"peer\":1}";
  tb_add(&t, &ev);
  ev.node = 1;
  ev.what = "tick";
  ev.data_json = NULL;
  tb_add(&t, &ev); /* node 1 is up to the end */
  const char *const settle[] = {"settle=1s", NULL};
  char first[512];
  assert_int_equal(run(&t, settle, first), 1);
  assert_non_null(strstr(first, "node 2 suspects node 1, which is up"));
  const char *const huge[] = {"bound=100000h", "accuracy=off", NULL};
  assert_int_equal(run(&t, huge, first), 0);
  cohort_trace_close(&t);
}

static void test_restart_and_inference(void **state) {
  (void)state;
  cohort_trace_t t;
  story(&t, 1500, 1800);
  st(&t, 3, 2500, "sim", "restart", NULL);
  st(&t, 1, 2600, "fd", "recover", "{\"peer\":3}");
  st(&t, 1, 3000, "fd", "suspect", "{\"peer\":3}"); /* 3 is up again */
  cohort_trace_sort(&t);
  char first[512];
  assert_int_equal(run(&t, b2s, first), 1);
  assert_non_null(strstr(first, "node 1 suspects node 3, which is up (at 3.000000s)"));
  cohort_trace_close(&t);
  /* no simulator records: node 3 is down after its last event at 1 s */
  cohort_trace_init(&t);
  for (cohort_node_id_t n = 1; n <= 3; n++) st(&t, n, 1000, "fd", "tick", NULL);
  st(&t, 1, 1400, "fd", "suspect", "{\"peer\":3}");
  st(&t, 2, 1200, "fd", "tick", NULL);
  st(&t, 1, 4000, "fd", "tick", NULL);
  st(&t, 2, 4000, "fd", "tick", NULL);
  cohort_trace_sort(&t);
  assert_int_equal(run(&t, b2s, first), 1);
  assert_string_equal(first, "node 2 did not suspect node 3 within 2.000000s of its crash "
                             "at 0.000000s (line 0)");
  const char *const rec[] = {"bound=2s", "crashes=recorded", NULL};
  assert_int_equal(run(&t, rec, first), 1); /* now 1's suspicion is inaccurate */
  assert_non_null(strstr(first, "node 1 suspects node 3, which is up"));
  cohort_check_result_t res;
  const char *const bad[][2] = {{"accuracy=loose", NULL}, {"bound=2", NULL},
                                {"crashes=some", NULL}, {"x=1", NULL}};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(tb_check(&t, "fd", bad[i], &res), COHORT_EINVAL);
  cohort_trace_close(&t);
}

/* A suspicion of a node the network cut off is excused while the cut lasts
 * and for heal_grace after it; later, or of a node not cut off, it is not. */
static void test_partition_excuses(void **state) {
  (void)state;
  cohort_trace_t t;
  char first[512];
  for (int variant = 0; variant < 4; variant++) {
    cohort_trace_init(&t);
    for (cohort_node_id_t n = 1; n <= 3; n++) st(&t, n, 0, "fd", "start", NULL);
    st(&t, 2, 1000, "sim", "partition", "{\"out\":[1],\"in\":[1]}");
    st(&t, 1, 1000, "sim", "partition", "{\"out\":[2],\"in\":[2]}");
    st(&t, 2, 3000, "sim", "heal", "{\"out\":[1],\"in\":[1]}");
    st(&t, 1, 3000, "sim", "heal", "{\"out\":[2],\"in\":[2]}");
    int64_t when[] = {1500, 3800, 5000, 1500};
    const char *about = variant == 3 ? "{\"peer\":3}" : "{\"peer\":1}";
    st(&t, 2, when[variant], "fd", "suspect", about);
    st(&t, 1, 6000, "fd", "tick", NULL);
    st(&t, 3, 6000, "fd", "tick", NULL);
    cohort_trace_sort(&t);
    uint64_t v = run(&t, NULL, first);
    if (variant < 2) { /* during the cut; within the 1 s grace after it */
      assert_int_equal(v, 0);
    } else { /* 2 s after the heal; or a node never cut off */
      assert_int_equal(v, 1);
      assert_non_null(strstr(first, "which is up"));
    }
    if (variant == 1) {
      const char *const tight[] = {"heal_grace=500ms", NULL};
      assert_int_equal(run(&t, tight, NULL), 1);
    }
    cohort_trace_close(&t);
  }
  cohort_trace_init(&t);
  st(&t, 2, 1000, "sim", "partition", "{\"in\":[0]}");
  st(&t, 2, 1000, "fd", "start", NULL);
  assert_int_equal(run(&t, NULL, first), 1);
  assert_non_null(strstr(first, "malformed data.in"));
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_partition_excuses),
                                     cmocka_unit_test(test_completeness),
                                     cmocka_unit_test(test_accuracy),
                                     cmocka_unit_test(test_restart_and_inference),
                                     cmocka_unit_test(test_extreme_times)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
