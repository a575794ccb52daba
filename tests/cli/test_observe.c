/*
 * tests/cli/test_observe.c — unit tests of the observer (cohort/observe.h)
 * on one runtime node in this process, no scraping: the exposition
 * writer's validation (bad metric and label names are skipped and
 * counted, label values escaped), sources and their limit, the status
 * JSON of a node without protocols, listen errors with clear messages, and
 * the reply limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cohort/observe.h"

typedef struct fixture {
  uv_loop_t loop;
  cohort_runtime_t *rt;
  cohort_runtime_node_t *rn;
  cohort_observe_t *o;
} fixture_t;

static int setup(void **state) {
  static fixture_t f;
  char err[256];
  memset(&f, 0, sizeof f);
  assert_int_equal(uv_loop_init(&f.loop), 0);
  assert_int_equal(cohort_runtime_new(&f.loop, NULL, &f.rt), 0);
  cohort_runtime_node_config_t c;
  cohort_runtime_peer_t p;
  memset(&c, 0, sizeof c);
  memset(&p, 0, sizeof p);
  c.cluster_id = 5;
  c.id = 1;
  c.incarnation = 9;
  p.id = 2;
  assert_int_equal(cohort_runtime_parse_addr("127.0.0.1:9", false, &p.addr), 0);
  assert_int_equal(cohort_runtime_parse_addr("127.0.0.1:0", true, &c.listen), 0);
  c.peers = &p;
  c.peers_len = 1;
  assert_int_equal(cohort_runtime_node_add(f.rt, &c, &f.rn, err, sizeof err), 0);
  assert_int_equal(cohort_observe_new(&f.loop, f.rn, NULL, &f.o), 0);
  *state = &f;
  return 0;
}

static void closed(void *ud) { *(int *)ud = 1; }

static int teardown(void **state) {
  fixture_t *f = *state;
  int done = 0;
  cohort_observe_close(f->o, closed, &done);
  while (!done) uv_run(&f->loop, UV_RUN_ONCE);
  cohort_runtime_free(f->rt);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  return 0;
}

static void odd_source(cohort_observe_out_t *out, void *ud) {
  (void)ud;
  cohort_observe_family(out, "app_requests_total", "counter", "requests by path");
  cohort_observe_sample(out, "app_requests_total", "path=/a\"b\\c\nd", 3);
  cohort_observe_sample(out, "app_requests_total", "__reserved=x", 1); /* skipped */
  cohort_observe_sample(out, "9bad", NULL, 1);                        /* skipped */
  cohort_observe_family(out, "app bad", "gauge", "x");                /* skipped */
  cohort_observe_family(out, "app_x", "histogramm", "x");             /* skipped */
  cohort_observe_sample(out, "app_x", "k=v,bad-key=1", 2);            /* skipped */
}

static void test_metrics_and_sources(void **state) {
  fixture_t *f = *state;
  char *text;
  size_t len;
  assert_int_equal(cohort_observe_add_source(f->o, odd_source, NULL), 0);
  uint64_t before = cohort_observe_errors(f->o);
  assert_int_equal(cohort_observe_render_metrics(f->o, &text, &len), 0);
  assert_int_equal(strlen(text), len);
  assert_non_null(strstr(text, "cohort_node_info{id=\"1\",incarnation=\"9\"} 1\n"));
  assert_non_null(strstr(text, "cohort_drops_total{reason=\"malformed\"} 0\n"));
  assert_non_null(strstr(text, "cohort_peers 1\n"));
  assert_null(strstr(text, "cohort_fd_phi")); /* no detector attached */
  assert_non_null(strstr(text, "app_requests_total{path=\"/a\\\"b\\\\c\\nd\"} 3\n"));
  assert_null(strstr(text, "__reserved"));
  assert_null(strstr(text, "9bad"));
  assert_null(strstr(text, "app bad"));
  assert_null(strstr(text, "bad-key"));
  assert_int_equal(cohort_observe_errors(f->o) - before, 5);
  cohort_free(NULL, text);
  for (int i = 1; i < COHORT_OBSERVE_SOURCES_MAX; i++)
    assert_int_equal(cohort_observe_add_source(f->o, odd_source, NULL), 0);
  assert_int_equal(cohort_observe_add_source(f->o, odd_source, NULL), COHORT_EFULL);
  assert_int_equal(cohort_observe_add_source(f->o, NULL, NULL), COHORT_EINVAL);
}

static void test_status_json(void **state) {
  fixture_t *f = *state;
  char *text;
  size_t len;
  assert_int_equal(cohort_observe_render_status(f->o, &text, &len), 0);
  assert_non_null(strstr(text, "{\"id\":1,\"incarnation\":9,\"listen\":\"127.0.0.1:"));
  assert_non_null(strstr(text, "\"peers\":[{\"id\":2,\"phi\":null"));
  assert_non_null(strstr(text, "\"leader\":null,\"lock\":null"));
  assert_non_null(strstr(text, "\"clock\":null"));
  assert_true(len > 0 && text[len - 1] == '\n');
  cohort_free(NULL, text);
}

/* A source that writes more than a reply may hold: EFULL, nothing kept. */
static void huge_source(cohort_observe_out_t *out, void *ud) {
  (void)ud;
  cohort_observe_family(out, "app_big", "gauge", "many series");
  char lab[64];
  for (int i = 0; i < COHORT_OBSERVE_REPLY_MAX / 16; i++) {
    snprintf(lab, sizeof lab, "i=%d", i);
    cohort_observe_sample(out, "app_big", lab, i);
  }
}

static void test_reply_limit(void **state) {
  fixture_t *f = *state;
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(cohort_observe_add_source(f->o, huge_source, NULL), 0);
  assert_int_equal(cohort_observe_render_metrics(f->o, &text, &len), COHORT_EFULL);
  assert_null(text);
}

static void test_listen_errors(void **state) {
  fixture_t *f = *state;
  char err[256], path[200];
  int port = 0;
  assert_int_equal(cohort_observe_metrics_listen(f->o, "nonsense", &port, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "bad address 'nonsense'"));
  char longpath[300];
  memset(longpath, 'x', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = '\0';
  assert_int_equal(cohort_observe_control_listen(f->o, longpath, err, sizeof err),
                   COHORT_EINVAL);
  snprintf(path, sizeof path, "/tmp/cohort%d-observe-file", (int)getpid());
  FILE *fp = fopen(path, "w"); /* a plain file is never replaced */
  assert_non_null(fp);
  fclose(fp);
  assert_int_equal(cohort_observe_control_listen(f->o, path, err, sizeof err), COHORT_EEXIST);
  assert_non_null(strstr(err, "not a socket"));
  unlink(path);
  assert_int_equal(cohort_observe_metrics_listen(f->o, "127.0.0.1:0", &port, err, sizeof err), 0);
  assert_true(port > 0);
  assert_int_equal(cohort_observe_metrics_listen(f->o, "127.0.0.1:0", &port, err, sizeof err),
                   COHORT_ESTATE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_metrics_and_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reply_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_listen_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
