/*
 * tests/trace/test_check_group.c — the group membership and virtual
 * synchrony checkers (src/trace/check_group.c): a small correct trace
 * (a founder, two joiners with state transfer, a crash and the view that
 * excludes it) passes all of them, and each checker rejects the broken
 * variant made for it — a checker never seen failing is a defect.
 */
#include <stdlib.h>

#include "tracebuild.h"

typedef struct gl {
  unsigned node, inc;
  int ms;
  const char *proto, *what, *data;
} gl_t;

#define M3 "[[1,1],[2,1],[3,1]]"
#define M2 "[[1,1],[2,1]]"

static const gl_t base[] = {
    {1, 1, 100, "group", "view", "{\"vid\":\"1.1.1\",\"epoch\":1,\"members\":[[1,1]],\"primary\":false,\"state\":\"ok\"}"},
    {1, 1, 200, "group", "gsend", "{\"vid\":\"1.1.1\",\"mid\":\"1.1.1\",\"bytes\":8}"},
    {1, 1, 300, "group", "gdeliver", "{\"vid\":\"1.1.1\",\"mid\":\"1.1.1\",\"bytes\":8,\"stable\":true}"},
    {1, 1, 400, "group", "view", "{\"vid\":\"2.1.1\",\"epoch\":2,\"members\":" M3 ",\"primary\":true,\"state\":\"ok\"}"},
    {2, 1, 500, "group", "view", "{\"vid\":\"2.1.1\",\"epoch\":2,\"members\":" M3 ",\"primary\":true,\"state\":\"pending\"}"},
    {3, 1, 600, "group", "view", "{\"vid\":\"2.1.1\",\"epoch\":2,\"members\":" M3 ",\"primary\":true,\"state\":\"pending\"}"},
    {2, 1, 700, "group", "state_installed", "{\"vid\":\"2.1.1\",\"bytes\":10,\"from\":1}"},
    {3, 1, 800, "group", "state_installed", "{\"vid\":\"2.1.1\",\"bytes\":10,\"from\":1}"},
    {2, 1, 900, "group", "gsend", "{\"vid\":\"2.1.1\",\"mid\":\"2.1.1\",\"bytes\":8}"},
    {1, 1, 1000, "group", "gdeliver", "{\"vid\":\"2.1.1\",\"mid\":\"2.1.1\",\"bytes\":8,\"stable\":true}"},
    {2, 1, 1100, "group", "gdeliver", "{\"vid\":\"2.1.1\",\"mid\":\"2.1.1\",\"bytes\":8,\"stable\":true}"},
    {3, 1, 1200, "group", "gdeliver", "{\"vid\":\"2.1.1\",\"mid\":\"2.1.1\",\"bytes\":8,\"stable\":true}"},
    {3, 1, 1300, "sim", "crash", NULL},
    {1, 1, 2000, "group", "view", "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":" M2 ",\"primary\":true,\"state\":\"ok\"}"},
    {2, 1, 2100, "group", "view", "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":" M2 ",\"primary\":true,\"state\":\"ok\"}"},
    {1, 1, 20000, "other", "tick", NULL},
};
#define NBASE (sizeof base / sizeof base[0])

static void add(cohort_trace_t *t, const gl_t *g) {
  char line[1024];
  long long ns = (long long)g->ms * 1000000;
  snprintf(line, sizeof line,
           "{\"ev\":\"state\",\"node\":%u,\"inc\":%u,\"lt\":%lld,\"tt\":%lld,\"proto\":\"%s\","
           "\"what\":\"%s\"%s%s}",
           g->node, g->inc, ns, ns, g->proto, g->what, g->data ? ",\"data\":" : "",
           g->data ? g->data : "");
  tb_line(t, line);
}

/* The base trace with line `drop` (1-based, 0 = none) left out, line
 * `repl` replaced by *with, and `extra` lines appended before the end. */
static void build(cohort_trace_t *t, size_t drop, size_t repl, const gl_t *with,
                  const gl_t *extra, size_t nextra) {
  cohort_trace_init(t);
  for (size_t i = 0; i < NBASE; i++) {
    if (i + 1 == NBASE)
      for (size_t k = 0; k < nextra; k++) add(t, &extra[k]);
    if (i + 1 == drop) continue;
    add(t, i + 1 == repl ? with : &base[i]);
  }
  cohort_trace_sort(t);
}

static uint64_t check(const cohort_trace_t *t, const char *name, char *first) {
  cohort_check_result_t res;
  assert_int_equal(tb_check(t, name, NULL, &res), 0);
  if (first) snprintf(first, 512, "%s", res.first);
  if (res.violations) printf("  %s: %s\n", name, res.first);
  return res.violations;
}

static const char *const all[] = {"view-agreement", "view-order",     "view-synchrony",
                                  "vs-agreement",   "group-integrity", "self-delivery",
                                  "primary-unique", "state-transfer",  "view-liveness"};

static void test_correct_trace_passes(void **state) {
  (void)state;
  cohort_trace_t t;
  build(&t, 0, 0, NULL, NULL, 0);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    assert_int_equal(check(&t, all[i], NULL), 0);
    bool applies = cohort_checker_applies(cohort_checker_find(all[i]), &t);
    assert_true(applies == (strcmp(all[i], "view-liveness") != 0));
  }
  cohort_trace_close(&t);
}

/* One broken trace per checker: the checker named must fail, with a first
 * violation containing `want`. */
static void expect(cohort_trace_t *t, const char *name, const char *want) {
  char first[512];
  assert_true(check(t, name, first) >= 1);
  if (!strstr(first, want)) fail_msg("%s: '%s' lacks '%s'", name, first, want);
  cohort_trace_close(t);
}

static void test_each_checker_catches_its_break(void **state) {
  (void)state;
  cohort_trace_t t;
  /* view-agreement: node 2 lists other members for 2.1.1; or another flag. */
  gl_t other = {2, 1, 500, "group", "view", "{\"vid\":\"2.1.1\",\"epoch\":2,\"members\":" M2 ",\"primary\":true,\"state\":\"pending\"}"};
  build(&t, 0, 5, &other, NULL, 0);
  expect(&t, "view-agreement", "view 2.1.1 has two member lists");
  gl_t flag = {2, 1, 500, "group", "view", "{\"vid\":\"2.1.1\",\"epoch\":2,\"members\":" M3 ",\"primary\":false,\"state\":\"pending\"}"};
  build(&t, 0, 5, &flag, NULL, 0);
  expect(&t, "view-agreement", "is primary at process");
  gl_t stranger = {3, 1, 2150, "group", "view", "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":" M2 ",\"primary\":true,\"state\":\"ok\"}"};
  build(&t, 0, 0, NULL, &stranger, 1);
  expect(&t, "view-agreement", "without being a member");
  /* view-order: node 1 installs 3.1.1 with an old epoch. */
  gl_t back = {1, 1, 2000, "group", "view", "{\"vid\":\"3.1.1\",\"epoch\":2,\"members\":" M2 ",\"primary\":true,\"state\":\"ok\"}"};
  build(&t, 0, 14, &back, NULL, 0);
  expect(&t, "view-order", "after 2.1.1 (epoch 2");
  /* view-synchrony: node 3 delivers 2.1.1 claiming the founder's view. */
  gl_t wrong = {3, 1, 1200, "group", "gdeliver", "{\"vid\":\"1.1.1\",\"mid\":\"2.1.1\",\"bytes\":8,\"stable\":true}"};
  build(&t, 0, 12, &wrong, NULL, 0);
  expect(&t, "view-synchrony", "delivers 2.1.1 in view 1.1.1 but is in view 2.1.1");
  /* vs-agreement: node 1 never delivers 2.1.1, node 2 does; both go on to 3.1.1. */
  build(&t, 10, 0, NULL, NULL, 0);
  expect(&t, "vs-agreement", "2.1.1 only at 2.1");
  /* group-integrity: a duplicate delivery, and a message nobody sent. */
  gl_t dup = {2, 1, 1150, "group", "gdeliver", "{\"vid\":\"2.1.1\",\"mid\":\"2.1.1\",\"bytes\":8,\"stable\":true}"};
  build(&t, 0, 0, NULL, &dup, 1);
  expect(&t, "group-integrity", "again");
  gl_t ghost = {2, 1, 1150, "group", "gdeliver", "{\"vid\":\"2.1.1\",\"mid\":\"3.1.7\",\"bytes\":8,\"stable\":true}"};
  build(&t, 0, 0, NULL, &ghost, 1);
  expect(&t, "group-integrity", "never sent");
  /* self-delivery: node 2 installs 3.1.1 without delivering its own message. */
  build(&t, 11, 0, NULL, NULL, 0);
  expect(&t, "self-delivery", "sent 2.1.1 in view 2.1.1 and installs view 3.1.1");
  /* primary-unique: a second primary view in epoch 3, and a primary view
   * that shares nobody with the one before. */
  gl_t rival[] = {{3, 2, 2200, "sim", "restart", NULL},
                  {3, 2, 2300, "group", "view", "{\"vid\":\"3.3.2\",\"epoch\":3,\"members\":[[3,2]],\"primary\":true,\"state\":\"ok\"}"}};
  build(&t, 0, 0, NULL, rival, 2);
  expect(&t, "primary-unique", "two primary views in epoch 3");
  gl_t orphan[] = {{3, 2, 2200, "sim", "restart", NULL},
                   {3, 2, 2300, "group", "view", "{\"vid\":\"4.3.2\",\"epoch\":4,\"members\":[[3,2]],\"primary\":true,\"state\":\"ok\"}"}};
  build(&t, 0, 0, NULL, orphan, 2);
  expect(&t, "primary-unique", "no process installed both");
  /* state-transfer: node 3 delivers before its state arrives. */
  build(&t, 8, 0, NULL, NULL, 0);
  expect(&t, "state-transfer", "process 3.1 delivers before its state transfer completed");
  gl_t again = {1, 1, 2500, "group", "state_installed", "{\"vid\":\"3.1.1\",\"bytes\":10,\"from\":2}"};
  build(&t, 0, 0, NULL, &again, 1);
  expect(&t, "state-transfer", "not waiting for");
  /* view-liveness: node 1 never installs the view without the crashed node. */
  build(&t, 14, 0, NULL, NULL, 0);
  expect(&t, "view-liveness", "is in view 2.1.1");
  /* ... or both stay in the view that still lists it. */
  cohort_trace_init(&t);
  for (size_t i = 0; i < 13; i++) add(&t, &base[i]);
  add(&t, &base[NBASE - 1]);
  cohort_trace_sort(&t);
  expect(&t, "view-liveness", "still lists 3.1");
  /* ... or a restarted node never gets back in. */
  gl_t back3[] = {{3, 2, 2200, "sim", "restart", NULL},
                  {3, 2, 2300, "group", "joining", "{\"founder\":false}"}};
  build(&t, 0, 0, NULL, back3, 2);
  expect(&t, "view-liveness", "live process 3.2 is in no view");
}


/* ---- the ordering checkers: group-fifo, group-causal, total-order ---- */

#define V2 "\"vid\":\"2.1.1\""
/* Node n (incarnation 1) installs view 2.1.1 of M3 at time t. */
#define VIEW2(n, t) \
  {n, 1, t, "group", "view", "{" V2 ",\"epoch\":2,\"members\":" M3 ",\"primary\":true,\"state\":\"ok\"}"}
#define D(mid, svc, extra) "{" V2 ",\"mid\":\"" mid "\",\"bytes\":8,\"stable\":true,\"svc\":\"" svc "\"" extra "}"
#define S(mid, svc) "{" V2 ",\"mid\":\"" mid "\",\"bytes\":8,\"svc\":\"" svc "\"}"

/* Three processes in view 2.1.1: node 1 sends a, b (fifo); node 2 sends
 * t1 and node 3 t2 (total, gseq 1 and 2); node 2 delivers a, then sends c
 * (causal, so a is in c's past). Everyone delivers everything. */
static const gl_t ord[] = {
    VIEW2(1, 100),
    VIEW2(2, 101),
    VIEW2(3, 102),
    {1, 1, 200, "group", "gsend", S("1.1.1", "fifo")},
    {1, 1, 210, "group", "gsend", S("1.1.2", "fifo")},
    {2, 1, 220, "group", "gsend", S("2.1.1", "total")},
    {3, 1, 230, "group", "gsend", S("3.1.1", "total")},
    {2, 1, 300, "group", "gdeliver", D("1.1.1", "fifo", "")},
    {2, 1, 310, "group", "gsend", "{" V2 ",\"mid\":\"2.1.2\",\"bytes\":8,\"svc\":\"causal\",\"vec\":[1,1,0]}"},
    {1, 1, 400, "group", "gdeliver", D("1.1.1", "fifo", "")},
    {1, 1, 410, "group", "gdeliver", D("1.1.2", "fifo", "")},
    {1, 1, 420, "group", "gdeliver", D("2.1.1", "total", ",\"gseq\":1")},
    {1, 1, 430, "group", "gdeliver", D("3.1.1", "total", ",\"gseq\":2")},
    {1, 1, 440, "group", "gdeliver", D("2.1.2", "causal", "")},
    {2, 1, 510, "group", "gdeliver", D("1.1.2", "fifo", "")},
    {2, 1, 520, "group", "gdeliver", D("2.1.1", "total", ",\"gseq\":1")},
    {2, 1, 530, "group", "gdeliver", D("3.1.1", "total", ",\"gseq\":2")},
    {2, 1, 540, "group", "gdeliver", D("2.1.2", "causal", "")},
    {3, 1, 600, "group", "gdeliver", D("1.1.1", "fifo", "")}, /* 19 */
    {3, 1, 610, "group", "gdeliver", D("1.1.2", "fifo", "")}, /* 20 */
    {3, 1, 620, "group", "gdeliver", D("2.1.1", "total", ",\"gseq\":1")}, /* 21 */
    {3, 1, 630, "group", "gdeliver", D("3.1.1", "total", ",\"gseq\":2")}, /* 22 */
    {3, 1, 640, "group", "gdeliver", D("2.1.2", "causal", "")}, /* 23 */
};
#define NORD (sizeof ord / sizeof ord[0])

/* The ordering trace with lines x and y (1-based) trading times (0: none),
 * and line `repl` replaced by *with. */
static void build_ord(cohort_trace_t *t, size_t x, size_t y, size_t repl, const gl_t *with) {
  cohort_trace_init(t);
  for (size_t i = 0; i < NORD; i++) {
    gl_t g = i + 1 == repl ? *with : ord[i];
    if (i + 1 == x) g.ms = ord[y - 1].ms;
    if (i + 1 == y) g.ms = ord[x - 1].ms;
    add(t, &g);
  }
  cohort_trace_sort(t);
}

static void test_ordering_checkers(void **state) {
  (void)state;
  static const char *const names[] = {"group-fifo", "group-causal", "total-order"};
  cohort_trace_t t;
  build_ord(&t, 0, 0, 0, NULL);
  for (size_t i = 0; i < 3; i++) {
    char first[512];
    assert_int_equal(check(&t, names[i], first), 0);
    assert_true(cohort_checker_applies(cohort_checker_find(names[i]), &t));
  }
  cohort_trace_close(&t);
  /* group-fifo: node 3 delivers b before a. */
  build_ord(&t, 19, 20, 0, NULL);
  expect(&t, "group-fifo", "not FIFO");
  /* ... which an unordered b may do. */
  gl_t bu = {3, 1, 610, "group", "gdeliver", D("1.1.2", "unordered", "")};
  build_ord(&t, 19, 20, 20, &bu);
  assert_int_equal(check(&t, "group-fifo", NULL), 0);
  cohort_trace_close(&t);
  /* group-causal: node 3 delivers c before a (which c's sender had seen). */
  build_ord(&t, 19, 23, 0, NULL);
  expect(&t, "group-causal", "not causal");
  /* ... and before t1, sent earlier by c's own sender. */
  build_ord(&t, 21, 23, 0, NULL);
  expect(&t, "group-causal", "not causal");
  /* total-order: node 3 delivers t2 before t1, with the gseqs as they were
   * (out of gseq order), or renumbered (against the others' order). */
  build_ord(&t, 21, 22, 0, NULL);
  expect(&t, "total-order", "not in gseq order");
  gl_t t2 = {3, 1, 620, "group", "gdeliver", D("3.1.1", "total", ",\"gseq\":1")};
  gl_t t1 = {3, 1, 630, "group", "gdeliver", D("2.1.1", "total", ",\"gseq\":2")};
  cohort_trace_init(&t);
  for (size_t i = 0; i < NORD; i++) add(&t, i == 20 ? &t2 : i == 21 ? &t1 : &ord[i]);
  cohort_trace_sort(&t);
  expect(&t, "total-order", "not one total order");
  /* ... or without a gseq. */
  gl_t nog = {3, 1, 620, "group", "gdeliver", D("2.1.1", "total", "")};
  build_ord(&t, 0, 0, 21, &nog);
  expect(&t, "total-order", "without a gseq");
  /* an unknown service name is malformed */
  gl_t bad = {3, 1, 620, "group", "gdeliver", D("2.1.1", "sorted", "")};
  build_ord(&t, 0, 0, 21, &bad);
  expect(&t, "total-order", "malformed group gdeliver record (svc)");
}

/* A split of view 2.1.1: nodes 1 and 2 (a majority) go on to 3.1.1 and
 * deliver node 3's total message t; node 3 goes on alone to 3.3.1 and
 * drops it (its order was not agreed). */
#define DROP(mid, svc, next) "{" V2 ",\"mid\":\"" mid "\",\"bytes\":8,\"svc\":\"" svc "\",\"next\":\"" next "\",\"why\":\"x\"}"
static const gl_t split[] = {
    VIEW2(1, 100),
    VIEW2(2, 101),
    VIEW2(3, 102),
    {3, 1, 200, "group", "gsend", S("3.1.1", "total")},
    {3, 1, 210, "group", "gsend", S("3.1.2", "fifo")},
    {1, 1, 300, "group", "gdeliver", D("3.1.1", "total", ",\"gseq\":1")}, /* 6 */
    {1, 1, 310, "group", "gdeliver", D("3.1.2", "fifo", "")},
    {2, 1, 320, "group", "gdeliver", D("3.1.1", "total", ",\"gseq\":1")},
    {2, 1, 330, "group", "gdeliver", D("3.1.2", "fifo", "")}, /* 9 */
    {3, 1, 340, "group", "gdrop", DROP("3.1.1", "total", "3.3.1")},
    {3, 1, 350, "group", "gdeliver", D("3.1.2", "fifo", "")},
    {1, 1, 400, "group", "view", "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":" M2 ",\"primary\":true,\"state\":\"ok\"}"},
    {2, 1, 401, "group", "view", "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":" M2 ",\"primary\":true,\"state\":\"ok\"}"},
    {3, 1, 402, "group", "view", "{\"vid\":\"3.3.1\",\"epoch\":3,\"members\":[[3,1]],\"primary\":false,\"state\":\"ok\"}"},
};
#define NSPLIT (sizeof split / sizeof split[0])

static void build_split(cohort_trace_t *t, size_t repl, const gl_t *with) {
  cohort_trace_init(t);
  for (size_t i = 0; i < NSPLIT; i++) add(t, i + 1 == repl ? with : &split[i]);
  cohort_trace_sort(t);
}

static void test_drops(void **state) {
  (void)state;
  static const char *const names[] = {"group-integrity", "self-delivery", "vs-agreement",
                                      "view-synchrony",  "group-fifo",    "total-order"};
  cohort_trace_t t;
  build_split(&t, 0, NULL);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    assert_int_equal(check(&t, names[i], NULL), 0);
  cohort_trace_close(&t);
  /* a drop on the majority side (node 2 goes on to 3.1.1 with node 1) */
  gl_t maj = {2, 1, 320, "group", "gdrop", DROP("3.1.1", "total", "3.1.1")};
  build_split(&t, 8, &maj);
  expect(&t, "group-integrity", "a majority decides the order");
  build_split(&t, 8, &maj);
  expect(&t, "vs-agreement", "deliver different messages");
  /* a drop of a message that is not total */
  gl_t fifo = {2, 1, 330, "group", "gdrop", DROP("3.1.2", "fifo", "3.1.1")};
  build_split(&t, 9, &fifo);
  expect(&t, "group-integrity", "not a total message");
  /* a drop naming another view than the one installed next */
  gl_t other = {3, 1, 340, "group", "gdrop", DROP("3.1.1", "total", "3.1.1")};
  build_split(&t, 10, &other);
  expect(&t, "group-integrity", "installs 3.3.1 next");
  /* without the drop, node 3 did not deliver its own message */
  gl_t none = {3, 1, 340, "other", "tick", NULL};
  build_split(&t, 10, &none);
  expect(&t, "self-delivery", "without delivering it");
  /* a drop without "next" is malformed */
  gl_t nonext = {3, 1, 340, "group", "gdrop", S("3.1.1", "total")};
  build_split(&t, 10, &nonext);
  expect(&t, "group-integrity", "malformed group gdrop record (next)");
}

static void test_malformed_records_are_violations(void **state) {
  (void)state;
  static const char *const bad[] = {
      "{\"epoch\":3,\"members\":" M2 ",\"primary\":true}",                   /* no vid */
      "{\"vid\":\"3.1.1\",\"epoch\":-1,\"members\":" M2 ",\"primary\":true}", /* epoch */
      "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":[[1]],\"primary\":true}",  /* members */
      "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":" M2 ",\"primary\":1}",    /* primary */
      "{\"vid\":\"3.1.1\",\"epoch\":3,\"members\":{},\"primary\":true}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cohort_trace_t t;
    gl_t g = {1, 1, 2000, "group", "view", bad[i]};
    build(&t, 0, 14, &g, NULL, 0);
    for (size_t k = 0; k < sizeof all / sizeof all[0] - 1; k++) {
      char first[512];
      assert_true(check(&t, all[k], first) >= 1);
      assert_non_null(strstr(first, "malformed group view record"));
    }
    cohort_trace_close(&t);
  }
  static const char *const badmid[] = {"1.1", "1.1.1.1", "a.1.1", "1..1", "99999999999999999999.1.1", ""};
  for (size_t i = 0; i < sizeof badmid / sizeof badmid[0]; i++) {
    char data[256];
    snprintf(data, sizeof data, "{\"vid\":\"2.1.1\",\"mid\":\"%s\",\"bytes\":8}", badmid[i]);
    gl_t g = {2, 1, 900, "group", "gsend", data};
    cohort_trace_t t;
    build(&t, 0, 9, &g, NULL, 0);
    char first[512];
    assert_true(check(&t, "group-integrity", first) >= 1);
    cohort_trace_close(&t);
  }
}

static void test_params(void **state) {
  (void)state;
  cohort_trace_t t;
  build(&t, 0, 0, NULL, NULL, 0);
  cohort_check_result_t res;
  const char *const unknown[] = {"bogus=1", NULL};
  assert_int_equal(tb_check(&t, "view-agreement", unknown, &res), COHORT_EINVAL);
  const char *const badsettle[] = {"settle=soon", NULL};
  assert_int_equal(tb_check(&t, "view-liveness", badsettle, &res), COHORT_EINVAL);
  /* Another proto name: nothing to check, so nothing fails. */
  const char *const other[] = {"proto=other-group", NULL};
  assert_int_equal(tb_check(&t, "view-agreement", other, &res), 0);
  assert_int_equal(res.checked, 0);
  /* A settle longer than the trace: not checked, said so. */
  const char *const longsettle[] = {"settle=60s", NULL};
  assert_int_equal(tb_check(&t, "view-liveness", longsettle, &res), 0);
  assert_non_null(strstr(res.summary, "not checked"));
  cohort_trace_close(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_correct_trace_passes),
      cmocka_unit_test(test_each_checker_catches_its_break),
      cmocka_unit_test(test_ordering_checkers),
      cmocka_unit_test(test_drops),
      cmocka_unit_test(test_malformed_records_are_violations),
      cmocka_unit_test(test_params),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
