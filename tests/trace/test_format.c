/*
 * tests/trace/test_format.c — the trace writer and reader: exact output
 * for the documented example, format → parse round trips over every
 * field, malformed lines refused with a reason and no change to the
 * trace, loading files with path:line errors, sorting, the data helpers,
 * and an allocation-failure loop over the parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cohort/trace_tools.h"
#include "diagram_decode.h"
#include "tracebuild.h"
#include "../support/failalloc.h"

static cohort_vc_entry_t vc_entries[] = {{1, 4, 0}, {3, 2, 0}, {70000, 9, 0}};

static cohort_trace_event_t full_event(void) {
  static cohort_vclock_t vc;
  vc = (cohort_vclock_t){vc_entries, 3, 3, NULL};
  return (cohort_trace_event_t){
      .type = COHORT_EV_STATE, .node = 7, .inc = 3, .local_ns = -5,
      .true_ns = INT64_MAX, .has_stamps = true, .lamport = UINT64_MAX,
      .hlc = {INT64_MIN, UINT32_MAX}, .vc = &vc, .proto = "f\"d\\\n\x01<é",
      .kind = "heart beat", .kind_num = 0, .peer = 2, .has_msg = true,
      .msg = {2, 18446744073709551615u, 0}, .bytes = 123456,
      .reason = "loss", .what = "suspect",
      .data_json = "{\"peer\":1,\"phi\":8.25,\"w\":{\"a\":[1,2,{\"b\":null}]}}"};
}

static void assert_same(const cohort_trace_event_t *e, const cohort_trace_rec_t *r) {
  assert_int_equal(e->type, r->type);
  assert_int_equal(e->node, r->node);
  assert_true(e->inc == r->inc);
  assert_true(e->local_ns == r->local_ns);
  assert_true(e->true_ns == r->true_ns);
  assert_int_equal(e->has_stamps, r->has_stamps);
  if (e->has_stamps) {
    assert_true(e->lamport == r->lamport);
    assert_true(e->hlc.l == r->hlc.l);
    assert_int_equal(e->hlc.c, r->hlc.c);
  }
  assert_int_equal(e->vc != NULL, r->vc != NULL);
  if (e->vc) {
    assert_int_equal(e->vc->len, r->vc_len);
    for (size_t i = 0; i < r->vc_len; i++) {
      assert_int_equal(e->vc->entries[i].node, r->vc[i].node);
      assert_true(e->vc->entries[i].counter == r->vc[i].counter);
    }
  }
  assert_true(cohort_trace_str_eq(e->proto, r->proto));
  assert_true(cohort_trace_str_eq(e->kind, r->kind));
  assert_int_equal(e->kind_num, r->kind_num);
  assert_int_equal(e->peer, r->peer);
  assert_int_equal(e->has_msg, r->has_msg);
  if (e->has_msg) {
    assert_int_equal(e->msg.from, r->msg.from);
    assert_true(e->msg.inc == r->msg.inc);
    assert_true(e->msg.seq == r->msg.seq);
  }
  assert_true(e->bytes == r->bytes);
  assert_true(cohort_trace_str_eq(e->reason, r->reason));
  assert_true(cohort_trace_str_eq(e->what, r->what));
  assert_true(cohort_trace_str_eq(e->data_json, r->data_json));
}

static void test_doc_example(void **state) {
  (void)state;
  cohort_vc_entry_t ents[] = {{1, 1, 1}}; /* node 1, counter 1, incarnation 1 */
  cohort_vclock_t vc = {ents, 1, 1, NULL};
  cohort_trace_event_t ev = {
      .type = COHORT_EV_SEND, .node = 1, .inc = 1, .local_ns = 1000000,
      .true_ns = 1000000, .has_stamps = true, .lamport = 1, .hlc = {1000000, 0},
      .vc = &vc, .proto = "fd", .kind = "heartbeat", .peer = 2, .has_msg = true,
      .msg = {1, 1, 1}, .bytes = 52};
  char buf[512];
  int n = cohort_trace_format(&ev, buf, sizeof buf);
  const char *want =
      "{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1000000,\"tt\":1000000,"
      "\"lamport\":1,\"hlc\":[1000000,0],\"vc\":{\"1.1\":1},\"proto\":\"fd\","
      "\"kind\":\"heartbeat\",\"peer\":2,\"msg\":\"1.1.1\",\"bytes\":52}";
  assert_string_equal(buf, want);
  assert_int_equal(n, (int)strlen(want));
  /* the old format (no incarnation in the key) is still written and read */
  ents[0].inc = 0;
  cohort_trace_format(&ev, buf, sizeof buf);
  assert_non_null(strstr(buf, "\"vc\":{\"1\":1}"));

  cohort_trace_event_t drop = {.type = COHORT_EV_DROP, .node = 2, .local_ns = 5,
                               .true_ns = 5, .proto = "fd", .kind_num = 3,
                               .peer = 1, .has_msg = true, .msg = {1, 1, 2},
                               .bytes = 40, .reason = "loss"};
  cohort_trace_format(&drop, buf, sizeof buf);
  assert_string_equal(buf, "{\"ev\":\"drop\",\"node\":2,\"inc\":0,\"lt\":5,\"tt\":5,"
                           "\"proto\":\"fd\",\"kind\":3,\"peer\":1,\"msg\":\"1.1.2\","
                           "\"bytes\":40,\"reason\":\"loss\"}");
}

static void test_round_trip(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  cohort_trace_event_t evs[4];
  evs[0] = full_event();
  evs[1] = (cohort_trace_event_t){.type = COHORT_EV_DROP, .node = 0, .local_ns = 1,
                                  .true_ns = 2, .kind_num = 77, .peer = COHORT_NODE_NONE,
                                  .reason = "partition"};
  evs[2] = (cohort_trace_event_t){.type = COHORT_EV_TIMER, .node = 4, .inc = 1,
                                  .has_stamps = true, .lamport = 0, .hlc = {0, 0},
                                  .peer = COHORT_NODE_NONE, .what = "tick"};
  cohort_vclock_t empty = {NULL, 0, 0, NULL};
  evs[3] = (cohort_trace_event_t){.type = COHORT_EV_DELIVER, .node = 4, .inc = 1,
                                  .has_stamps = true, .lamport = 9, .vc = &empty,
                                  .kind = "", .peer = 3, .bytes = 0};
  for (size_t i = 0; i < 4; i++) tb_add(&t, &evs[i]);
  assert_int_equal(t.len, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_same(&evs[i], &t.recs[i]);
    assert_int_equal(t.recs[i].line, i + 1);
  }
  /* and back again: format(parse(format(e))) == format(e), byte for byte */
  for (size_t i = 0; i < 4; i++) {
    char a[4096], b[4096];
    cohort_vclock_t holder;
    cohort_trace_event_t back;
    cohort_trace_rec_event(&t.recs[i], &holder, &back);
    int na = cohort_trace_format(&evs[i], a, sizeof a);
    int nb = cohort_trace_format(&back, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, (size_t)na);
  }
  cohort_trace_close(&t);
  cohort_trace_close(&t); /* close twice is fine */
}

static void test_efull(void **state) {
  (void)state;
  cohort_trace_event_t ev = full_event();
  char buf[1024];
  int n = cohort_trace_format(&ev, buf, sizeof buf);
  assert_true(n > 0);
  for (size_t cap = 0; cap <= (size_t)n; cap++) {
    char small[1024];
    memset(small, 'x', sizeof small);
    assert_int_equal(cohort_trace_format(&ev, small, cap), COHORT_EFULL);
    assert_int_equal(small[cap], 'x'); /* never writes past cap */
  }
  char exact[1024];
  assert_int_equal(cohort_trace_format(&ev, exact, (size_t)n + 1), n);
  assert_string_equal(exact, buf);
}

static void test_unknown_fields(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  tb_line(&t, " { \"future\" : {\"x\":[1,-2.5e3,true,false,null,\"\\u00e9\\ud83d\\ude00\"]},"
              "\"ev\":\"recv\",\"node\":2,\"inc\":1,\"lt\":10,\"tt\":11,\"lamport\":2,"
              "\"hlc\":[10,1],\"vc\":{\"2\":1,\"1\":1,\"5\":0},\"proto\":\"a\\/b\\u0041\","
              "\"kind\":\"k\",\"peer\":1,\"msg\":\"1.1.1\",\"bytes\":3,\"z\":\"\"}  ");
  assert_int_equal(t.len, 1);
  const cohort_trace_rec_t *r = &t.recs[0];
  assert_string_equal(r->proto, "a/bA");
  assert_int_equal(r->vc_len, 2); /* sorted, zero dropped */
  assert_int_equal(r->vc[0].node, 1);
  assert_int_equal(r->vc[1].node, 2);
  assert_true(r->has_stamps);
  assert_int_equal(r->hlc.c, 1);
  cohort_trace_close(&t);
}

static const struct {
  const char *line, *why;
} bad_lines[] = {
    {"", "unexpected end"},
    {"[]", "expected '{'"},
    {"{}", "empty record"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1}", "field 'tt': missing"},
    {"{\"ev\":\"sned\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1}", "field 'ev': unknown event"},
    {"{\"ev\":\"send\",\"node\":-1,\"inc\":1,\"lt\":1,\"tt\":1}", "field 'node': negative"},
    {"{\"ev\":\"send\",\"node\":4294967295,\"inc\":1,\"lt\":1,\"tt\":1}", "out of range"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":99999999999999999999}",
     "field 'tt': integer out of range"},
    {"{\"ev\":\"send\",\"node\":1.5,\"inc\":1,\"lt\":1,\"tt\":1}", "expected an integer"},
    {"{\"ev\":\"send\",\"node\":01,\"inc\":1,\"lt\":1,\"tt\":1}", "leading zero"},
    {"{\"ev\":\"send\",\"node\":1,\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1}", "duplicate field"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"lamport\":3}",
     "lamport and hlc"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"msg\":\"1.2\"}",
     "field 'msg': message id"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"msg\":\"1.2.x\"}", "message id"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"vc\":{\"a\":1}}", "vc key"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"vc\":{\"1\":1,\"1\":2}}",
     "duplicate process in vc"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"vc\":{\"1.2\":1,\"1.2\":2}}",
     "duplicate process in vc"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"vc\":{\"1.0\":1}}", "vc key"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"vc\":{\"1.\":1}}", "vc key"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"vc\":{\"1.2.3\":1}}", "vc key"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"hlc\":[1],\"lamport\":1}",
     "field 'hlc': expected ','"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"data\":[1]}", "not an object"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"data\":{\"a\":}}", "field 'data'"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"proto\":\"a\\q\"}", "bad escape"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"proto\":\"\\u0000\"}",
     "bad escape"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"proto\":\"\\ud800x\"}",
     "bad escape"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"proto\":\"abc", "unterminated"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1} x", "text after"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,}", "expected a string"},
    {"{\"ev\":\"send\" \"node\":1}", "expected ','"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"x\":tru}", "bad literal"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"kind\":-3}", "field 'kind'"},
    {"{\"ev\":\"send\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"kind\":4294967296}",
     "kind number out of range"},
};

static void test_malformed(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  tb_line(&t, "{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1,\"what\":\"x\"}");
  for (size_t i = 0; i < COHORT_ARRAY_LEN(bad_lines); i++) {
    char err[256] = "";
    int rc = cohort_trace_parse_line(&t, bad_lines[i].line, strlen(bad_lines[i].line), 2,
                                     err, sizeof err);
    if (rc != COHORT_EPROTO || !strstr(err, bad_lines[i].why))
      fail_msg("line %zu: rc %d err '%s' want '%s'", i, rc, err, bad_lines[i].why);
    assert_int_equal(t.len, 1);
  }
  /* deep nesting is refused, not a stack overflow */
  char deep[400];
  int n = snprintf(deep, sizeof deep, "{\"ev\":\"send\",\"x\":");
  while (n < 390) deep[n++] = '[';
  char err[256];
  assert_int_equal(cohort_trace_parse_line(&t, deep, (size_t)n, 3, err, sizeof err),
                   COHORT_EPROTO);
  assert_non_null(strstr(err, "nested too deeply"));
  /* random bytes never crash and never append garbage silently */
  srand(7);
  for (int k = 0; k < 2000; k++) {
    char junk[64];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(rand() % 256);
    size_t before = t.len;
    if (cohort_trace_parse_line(&t, junk, sizeof junk, 4, err, sizeof err) != 0)
      assert_int_equal(t.len, before);
  }
  assert_string_equal(t.recs[0].what, "x");
  cohort_trace_close(&t);
}

static void test_data_helpers(void **state) {
  (void)state;
  const char *d = "{\"w\":{\"peer\":9},\"peer\":3,\"phi\":8.5,\"s\":\"x\",\"neg\":-4}";
  int64_t i = 0;
  double x = 0;
  assert_int_equal(cohort_trace_data_i64(d, "peer", &i), 0);
  assert_int_equal(i, 3);
  assert_int_equal(cohort_trace_data_i64(d, "neg", &i), 0);
  assert_int_equal(i, -4);
  assert_int_equal(cohort_trace_data_double(d, "phi", &x), 0);
  assert_true(x == 8.5);
  assert_int_equal(cohort_trace_data_double(d, "peer", &x), 0);
  assert_true(x == 3.0);
  assert_int_equal(cohort_trace_data_i64(d, "phi", &i), COHORT_EPROTO);
  assert_int_equal(cohort_trace_data_i64(d, "s", &i), COHORT_EPROTO);
  assert_int_equal(cohort_trace_data_i64(d, "nope", &i), COHORT_ENOTFOUND);
  assert_int_equal(cohort_trace_data_i64(NULL, "peer", &i), COHORT_ENOTFOUND);
  assert_int_equal(cohort_trace_data_i64("{}", "peer", &i), COHORT_ENOTFOUND);
  assert_int_equal(cohort_trace_data_i64("{\"a\":", "peer", &i), COHORT_EPROTO);
  assert_int_equal(i, -4); /* untouched on failure */
}

static char *write_tmp(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/cohort-trace-test-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_load_and_sort(void **state) {
  (void)state;
  const char *text =
      "{\"ev\":\"timer\",\"node\":2,\"inc\":1,\"lt\":1,\"tt\":30,\"lamport\":1,\"hlc\":[1,0]}\r\n"
      "\n"
      "{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":10,\"lamport\":5,\"hlc\":[1,0]}\n"
      "{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":10,\"lamport\":4,\"hlc\":[1,0]}\n"
      "{\"ev\":\"timer\",\"node\":0,\"inc\":1,\"lt\":1,\"tt\":30,\"what\":\"a\"}\n"
      "{\"ev\":\"timer\",\"node\":0,\"inc\":1,\"lt\":1,\"tt\":30,\"what\":\"b\"}";
  char *path = write_tmp(text);
  cohort_trace_t t;
  cohort_trace_init(&t);
  char err[512];
  assert_int_equal(cohort_trace_load(&t, path, err, sizeof err), 0);
  assert_int_equal(t.len, 5);
  assert_int_equal(t.recs[1].line, 3);
  cohort_trace_sort(&t);
  assert_true(t.recs[0].lamport == 4 && t.recs[1].lamport == 5);
  assert_string_equal(t.recs[2].what, "a"); /* stable among equals */
  assert_string_equal(t.recs[3].what, "b");
  assert_int_equal(t.recs[4].node, 2);
  unlink(path);

  path = write_tmp("{\"ev\":\"timer\",\"node\":2,\"inc\":1,\"lt\":1,\"tt\":30}\n"
                   "{\"ev\":\"timer\",\"node\":2,\"inc\":1,\"lt\":1,\"tt\":\"x\"}\n");
  assert_int_equal(cohort_trace_load(&t, path, err, sizeof err), COHORT_EPROTO);
  char want[128];
  snprintf(want, sizeof want, "%s:2: field 'tt': expected a number", path);
  assert_string_equal(err, want);
  assert_int_equal(t.len, 6); /* load appends; the good line was kept */
  unlink(path);
  assert_int_equal(cohort_trace_load(&t, "/nonexistent/x.jsonl", err, sizeof err),
                   COHORT_EIO);
  assert_non_null(strstr(err, "/nonexistent/x.jsonl: "));
  cohort_trace_close(&t);
}

static void test_sort_large(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  srand(3);
  for (int i = 0; i < 5000; i++) {
    cohort_trace_event_t ev = {.type = COHORT_EV_TIMER, .node = (cohort_node_id_t)(rand() % 4),
                               .true_ns = rand() % 100, .peer = COHORT_NODE_NONE,
                               .bytes = (size_t)i};
    tb_add(&t, &ev);
  }
  cohort_trace_sort(&t);
  for (size_t i = 1; i < t.len; i++) {
    const cohort_trace_rec_t *a = &t.recs[i - 1], *b = &t.recs[i];
    assert_true(a->true_ns <= b->true_ns);
    if (a->true_ns == b->true_ns) {
      assert_true(a->node <= b->node);
      if (a->node == b->node) assert_true(a->bytes < b->bytes); /* stable */
    }
  }
  cohort_trace_close(&t);
}

/* Writes the diagram of t into a string (the caller frees it). */
static char *diagram_page(cohort_trace_t *t, const cohort_diagram_opts_t *o) {
  char *page = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&page, &len);
  assert_non_null(f);
  char err[256];
  cohort_diagram_stats_t st;
  assert_int_equal(cohort_trace_write_diagram_opts(t, f, o, &st, err, sizeof err), 0);
  fclose(f);
  assert_int_equal(st.page_bytes, len);
  return page;
}

/* The diagram writes each event's time as an offset from the first: with
 * times spanning the whole int64 range that subtraction overflowed (the
 * last event landed at -1, before the first); it saturates, and the
 * block's varints carry the full 64-bit range. */
static void test_diagram_extreme_times(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  tb_line(&t, "{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":9223372036854775807,"
              "\"tt\":-9223372036854775808,\"what\":\"a\"}");
  tb_line(&t, "{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":-9223372036854775808,"
              "\"tt\":9223372036854775807,\"what\":\"b\"}");
  char *page = diagram_page(&t, NULL);
  dd_page_t d;
  assert_int_equal(dd_decode(page, 2, 1, &d), 0);
  assert_true(d.ev[0].dt == 0);
  assert_true(d.ev[1].dt == INT64_MAX); /* event b's offset, saturated */
  assert_true(d.ev[0].skew == INT64_MAX); /* a: lt - tt */
  assert_true(d.ev[1].skew == INT64_MIN); /* b: lt - tt */
  dd_free(&d);
  free(page);
  cohort_trace_close(&t);
}

/* Every field of every event survives the columnar encoding: times,
 * lanes, kinds, stamps, the send of each receipt, message ids of the
 * event's own process and of another, vector clocks and data texts,
 * numbered kinds; and a slice (--nodes, --from/--to) keeps exactly the
 * events it selects, with receipts whose send fell outside losing it. */
static const char *const round_trip_lines[] = {
    "{\"ev\":\"send\",\"node\":1,\"inc\":7,\"lt\":1005,\"tt\":1000,\"lamport\":1,"
    "\"hlc\":[1005,0],\"vc\":{\"1\":1},\"proto\":\"fd\",\"kind\":\"heartbeat\","
    "\"peer\":2,\"msg\":\"1.7.1\",\"bytes\":40}",
    "{\"ev\":\"recv\",\"node\":2,\"inc\":3,\"lt\":1900,\"tt\":2000,\"lamport\":2,"
    "\"hlc\":[1905,1],\"vc\":{\"1\":1,\"2\":1},\"proto\":\"fd\",\"kind\":\"heartbeat\","
    "\"peer\":1,\"msg\":\"1.7.1\",\"bytes\":40}",
    "{\"ev\":\"send\",\"node\":1,\"inc\":7,\"lt\":3005,\"tt\":3000,\"lamport\":3,"
    "\"hlc\":[3005,0],\"proto\":\"app\",\"kind\":\"#9\",\"peer\":3,\"msg\":\"1.7.2\","
    "\"bytes\":7}",
    "{\"ev\":\"drop\",\"node\":3,\"inc\":0,\"lt\":3500,\"tt\":3500,\"proto\":\"app\","
    "\"kind\":\"#9\",\"peer\":1,\"msg\":\"1.7.2\",\"reason\":\"loss\"}",
    "{\"ev\":\"state\",\"node\":2,\"inc\":3,\"lt\":4000,\"tt\":4100,\"lamport\":3,"
    "\"hlc\":[4100,0],\"proto\":\"bully\",\"what\":\"leader\","
    "\"data\":{\"leader\":2,\"epoch\":4294967298}}",
};

static void check_event(const dd_ev_t *e, const cohort_trace_rec_t *r, int64_t t0) {
  assert_true(e->dt == r->true_ns - t0);
  assert_true(e->type == (uint64_t)r->type);
  assert_true(e->skew == r->local_ns - r->true_ns);
  assert_true(e->line == (int64_t)r->line);
  assert_true(e->bytes == r->bytes);
  assert_true(e->peer == (r->peer == COHORT_NODE_NONE ? -1 : (int64_t)r->peer));
  assert_true(e->lamport == (r->has_stamps ? (int64_t)r->lamport : -1));
  if (r->has_stamps) {
    assert_true(e->hlcd == r->hlc.l - r->local_ns);
    assert_true(e->hlcc == r->hlc.c);
  }
  assert_true(e->msgk == (!r->has_msg ? 0u : r->msg.from == r->node && r->msg.inc == r->inc
                                                 ? 1u : 2u));
  if (r->has_msg) assert_true(e->seq == (int64_t)r->msg.seq);
  if (e->msgk == 2) assert_true(e->mfrom == r->msg.from);
  assert_string_equal(e->data, r->data_json ? r->data_json : "");
  assert_true((r->vc != NULL) == (e->vc[0] != '\0'));
}

static void test_diagram_round_trip(void **state) {
  (void)state;
  cohort_trace_t t;
  cohort_trace_init(&t);
  for (size_t i = 0; i < COHORT_ARRAY_LEN(round_trip_lines); i++) tb_line(&t, round_trip_lines[i]);
  cohort_trace_sort(&t);
  char *page = diagram_page(&t, NULL);
  dd_page_t d;
  assert_int_equal(dd_decode(page, t.len, 3, &d), 0);
  for (size_t i = 0; i < t.len; i++) check_event(&d.ev[i], &t.recs[i], t.recs[0].true_ns);
  assert_int_equal(d.ev[1].send, 0);  /* the recv's send */
  assert_int_equal(d.ev[0].send, -1);
  assert_string_equal(d.ev[1].vc, "1:1 2:1");
  assert_true(d.ev[3].msgk == 2 && d.ev[3].mfrom == 1); /* the loss, at node 3 */
  assert_non_null(strstr(page, "\"#9\"")); /* the numbered kind, in the string table */
  dd_free(&d);
  free(page);
  /* a slice: node 2 only, from 1.5 us */
  cohort_node_id_t two = 2;
  cohort_diagram_opts_t o = {.nodes = &two, .nodes_len = 1, .from_ns = 500};
  page = diagram_page(&t, &o);
  assert_non_null(strstr(page, "\"n\":2,"));
  assert_int_equal(dd_decode(page, 2, 1, &d), 0);
  check_event(&d.ev[0], &t.recs[1], t.recs[1].true_ns);
  check_event(&d.ev[1], &t.recs[4], t.recs[1].true_ns);
  assert_int_equal(d.ev[0].send, -1); /* its send is outside the slice */
  assert_int_equal(d.ev[0].lane, 0);
  dd_free(&d);
  free(page);
  /* a slice that selects nothing is an error, not an empty page */
  o.from_ns = 1000000;
  char err[256];
  FILE *f = fopen("/dev/null", "w");
  assert_int_equal(cohort_trace_write_diagram_opts(&t, f, &o, NULL, err, sizeof err),
                   COHORT_EINVAL);
  assert_non_null(strstr(err, "selects none"));
  /* past the size limit: refused, nothing written */
  cohort_diagram_opts_t tiny = {.page_max_bytes = 1000};
  long before = ftell(f);
  assert_int_equal(cohort_trace_write_diagram_opts(&t, f, &tiny, NULL, err, sizeof err),
                   COHORT_EFULL);
  assert_true(ftell(f) == before);
  assert_non_null(strstr(err, "slice"));
  fclose(f);
  cohort_trace_close(&t);
}

static void test_alloc_failures(void **state) {
  (void)state;
  char line[4096];
  cohort_trace_event_t ev = full_event();
  int n = cohort_trace_format(&ev, line, sizeof line);
  for (long fail_at = 1; fail_at < 20; fail_at++) {
    failalloc_t fa;
    failalloc_init(&fa, fail_at);
    cohort_trace_t t;
    if (cohort_trace_init_alloc(&t, &fa.base)) {
      assert_int_equal(fa.live, 0);
      continue;
    }
    char err[128];
    int ok = 0;
    for (int k = 0; k < 3; k++) {
      int rc = cohort_trace_parse_line(&t, line, (size_t)n, 1, err, sizeof err);
      if (rc == 0) ok++;
      else assert_int_equal(rc, COHORT_ENOMEM);
    }
    assert_int_equal(t.len, (size_t)ok);
    for (size_t i = 0; i < t.len; i++) assert_same(&ev, &t.recs[i]);
    cohort_trace_sort(&t);
    cohort_trace_close(&t);
    assert_int_equal(fa.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doc_example),   cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_efull),         cmocka_unit_test(test_unknown_fields),
      cmocka_unit_test(test_malformed),     cmocka_unit_test(test_data_helpers),
      cmocka_unit_test(test_load_and_sort), cmocka_unit_test(test_sort_large),
      cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_diagram_extreme_times),
      cmocka_unit_test(test_diagram_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
