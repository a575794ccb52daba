/*
 * tests/trace/test_cli.c — `cohort trace` end to end, running the built
 * binary ($COHORT_BUILD_ROOT/tools/cohort) on a synthetic 100,000-event
 * heartbeat run with loss, a crash, a restart and suspicions, split into
 * two per-process files:
 *   diagram: runs fast, and the page is well formed (a meta block that is
 *            valid JSON counting every event, an event block that is
 *            base64 of a gzip stream inflating to the size it states, the
 *            viewer script, no stray "</script"); --hide, --at and --zoom
 *            become the page's initial view;
 *   shiviz:  regex line, blank delimiter, then description / clock pairs
 *            whose own-host entries count 1, 2, 3, ...;
 *   merge:   the two files merge back into the full, sorted trace;
 *   check:   passes on the run, fails (exit 1) on a broken copy, and bad
 *            arguments or a bad trace give a clear message and exit 2.
 * Set TRACE_TEST_KEEP=DIR to keep the generated files for a look.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../../src/trace/json.h"
#include "tracebuild.h"

#define NODES 8
#define ROUND_NS (100 * INT64_C(1000000))

static char dir[256], cohort[512];

typedef struct gnode {
  uint64_t lamport, vc[NODES + 1], seq, inc;
  cohort_hlc_ts_t hlc;
  bool up;
} gnode_t;

typedef struct pending {
  int from, to;
  int64_t at;
  uint64_t seq, lamport, vc[NODES + 1];
  cohort_hlc_ts_t hlc;
  bool lost;
  uint64_t inc;
} pending_t;

static FILE *files[2];

static void put(gnode_t *g, int n, cohort_trace_event_t ev, int64_t tt) {
  cohort_vc_entry_t ents[NODES];
  size_t len = 0;
  for (int k = 1; k <= NODES; k++)
    if (g[n].vc[k]) ents[len++] = (cohort_vc_entry_t){(cohort_node_id_t)k, g[n].vc[k], 0};
  cohort_vclock_t vc = {ents, len, len, NULL};
  ev.node = (cohort_node_id_t)n;
  ev.inc = g[n].inc;
  ev.true_ns = tt;
  ev.local_ns = tt + n * 1000;
  if (ev.type != COHORT_EV_DROP) {
    ev.has_stamps = true;
    ev.lamport = g[n].lamport;
    ev.hlc = g[n].hlc;
    ev.vc = &vc;
  }
  char line[4096];
  int len2 = cohort_trace_format(&ev, line, sizeof line);
  assert_true(len2 > 0);
  fprintf(files[n > NODES / 2], "%s\n", line);
}

static void tick(gnode_t *g, int n, int64_t tt) {
  g[n].lamport++;
  g[n].vc[n]++;
  int64_t pt = tt + n * 1000;
  g[n].hlc = pt > g[n].hlc.l ? (cohort_hlc_ts_t){pt, 0}
                             : (cohort_hlc_ts_t){g[n].hlc.l, g[n].hlc.c + 1};
}

static void state(gnode_t *g, int n, int64_t tt, const char *proto, const char *what,
                  const char *data) {
  tick(g, n, tt);
  put(g, n, (cohort_trace_event_t){.type = COHORT_EV_STATE, .proto = proto, .what = what,
                                   .data_json = data, .peer = COHORT_NODE_NONE}, tt);
}

static int pend_cmp(const void *x, const void *y) {
  const pending_t *a = x, *b = y;
  return a->at < b->at ? -1 : a->at > b->at;
}

static void deliver(gnode_t *g, const pending_t *p) {
  cohort_trace_event_t ev = {.proto = "fd", .kind = "heartbeat", .peer = (cohort_node_id_t)p->from,
                             .has_msg = true, .msg = {(cohort_node_id_t)p->from, p->inc, p->seq},
                             .bytes = 48};
  if (p->lost || !g[p->to].up) {
    ev.type = COHORT_EV_DROP;
    ev.reason = p->lost ? "loss" : "crashed";
    put(g, p->to, ev, p->at);
    return;
  }
  gnode_t *r = &g[p->to];
  r->lamport = (r->lamport > p->lamport ? r->lamport : p->lamport) + 1;
  for (int k = 1; k <= NODES; k++)
    if (p->vc[k] > r->vc[k]) r->vc[k] = p->vc[k];
  r->vc[p->to]++;
  int64_t pt = p->at + p->to * 1000;
  int64_t l = r->hlc.l > p->hlc.l ? r->hlc.l : p->hlc.l;
  if (pt > l) r->hlc = (cohort_hlc_ts_t){pt, 0};
  else if (r->hlc.l == p->hlc.l)
    r->hlc = (cohort_hlc_ts_t){l, (r->hlc.c > p->hlc.c ? r->hlc.c : p->hlc.c) + 1};
  else r->hlc = (cohort_hlc_ts_t){l, (l == r->hlc.l ? r->hlc.c : p->hlc.c) + 1};
  ev.type = COHORT_EV_RECV;
  put(g, p->to, ev, p->at);
}

/* One heartbeat round at tt: every up node ticks and sends to every other. */
static size_t round_events(gnode_t *g, int64_t tt, pending_t *pend) {
  size_t np = 0;
  for (int n = 1; n <= NODES; n++) {
    if (!g[n].up) continue;
    int64_t t = tt + n * 10000;
    tick(g, n, t);
    put(g, n, (cohort_trace_event_t){.type = COHORT_EV_TIMER, .proto = "fd", .what = "heartbeat",
                                     .peer = COHORT_NODE_NONE}, t);
    for (int to = 1; to <= NODES; to++) {
      if (to == n) continue;
      tick(g, n, t);
      pending_t p = {n, to, t + 1000000 + rand() % 4000000, ++g[n].seq, g[n].lamport, {0},
                     g[n].hlc, rand() % 50 == 0, g[n].inc};
      memcpy(p.vc, g[n].vc, sizeof p.vc);
      pend[np++] = p;
      put(g, n, (cohort_trace_event_t){.type = COHORT_EV_SEND, .proto = "fd", .kind = "heartbeat",
                                       .peer = (cohort_node_id_t)to, .has_msg = true,
                                       .msg = {(cohort_node_id_t)n, p.inc, p.seq}, .bytes = 48}, t);
    }
  }
  qsort(pend, np, sizeof *pend, pend_cmp);
  return np;
}

/* Writes dir/a.jsonl (nodes 1-4) and dir/b.jsonl (5-8); returns events. */
static size_t generate(int rounds) {
  char pa[300], pb[300];
  snprintf(pa, sizeof pa, "%s/a.jsonl", dir);
  snprintf(pb, sizeof pb, "%s/b.jsonl", dir);
  files[0] = fopen(pa, "w");
  files[1] = fopen(pb, "w");
  assert_non_null(files[0]);
  assert_non_null(files[1]);
  srand(42);
  gnode_t g[NODES + 1] = {0};
  for (int n = 1; n <= NODES; n++) g[n].up = true, g[n].inc = 1;
  pending_t *pend = calloc(NODES * NODES, sizeof *pend);
  int crash = rounds / 3, restart = 2 * rounds / 3;
  for (int r = 0; r < rounds; r++) {
    int64_t tt = INT64_C(1700000000000000000) + r * ROUND_NS;
    size_t np = round_events(g, tt, pend);
    for (size_t i = 0; i < np; i++) deliver(g, &pend[i]);
    if (r == crash) {
      state(g, 3, tt + 50000000, "sim", "crash", NULL);
      g[3].up = false;
    }
    if (r == crash + 3)
      for (int n = 1; n <= NODES; n++)
        if (n != 3) state(g, n, tt + 60000000, "fd", "suspect", "{\"peer\":3,\"phi\":8.4}");
    if (r == restart) {
      g[3].up = true; /* clocks kept: stable storage */
      g[3].inc = 2;
      g[3].seq = 0;
      state(g, 3, tt + 50000000, "sim", "restart", NULL);
      for (int n = 1; n <= NODES; n++)
        if (n != 3) state(g, n, tt + 70000000, "fd", "recover", "{\"peer\":3}");
    }
  }
  free(pend);
  long total = ftell(files[0]) + ftell(files[1]);
  fclose(files[0]);
  fclose(files[1]);
  assert_true(total > 0);
  cohort_trace_t t;
  cohort_trace_init(&t);
  char err[512];
  assert_int_equal(cohort_trace_load(&t, pa, err, sizeof err), 0);
  assert_int_equal(cohort_trace_load(&t, pb, err, sizeof err), 0);
  size_t n = t.len;
  cohort_trace_close(&t);
  return n;
}

/* Run `cohort trace ARGS...` with stdout/stderr to files; exit status. */
static int run(const char *args, double *secs) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd %s && %s trace %s >out.txt 2>err.txt", dir, cohort, args);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int st = system(cmd);
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (secs) *secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static char *slurp(const char *name, size_t *len) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return s;
}

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static size_t events;

static int setup(void **state) {
  (void)state;
  const char *root = getenv("COHORT_BUILD_ROOT"), *keep = getenv("TRACE_TEST_KEEP");
  if (!root) root = ".";
  snprintf(cohort, sizeof cohort, "%s/tools/cohort", root);
  if (keep) {
    snprintf(dir, sizeof dir, "%s", keep);
    mkdir(dir, 0755);
  } else {
    snprintf(dir, sizeof dir, "/tmp/cohort-trace-cli-XXXXXX");
    assert_non_null(mkdtemp(dir));
  }
  events = generate(900);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (!getenv("TRACE_TEST_KEEP")) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return -1;
  }
  return 0;
}

/* Decode base64 and inflate the gzip stream; returns the inflated size
 * (fails the test on a bad character or a corrupt stream). */
static size_t inflate_base64(const char *b64, size_t n) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  assert_true(n % 4 == 0);
  uint8_t *bin = malloc(n / 4 * 3 + 3), out[1 << 16];
  size_t m = 0;
  for (size_t i = 0; i < n; i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; k++) {
      const char *q = strchr(alphabet, b64[i + k]);
      if (b64[i + k] == '=') pad++;
      else assert_true(q && *q);
      v = v << 6 | (uint32_t)(q && *q ? q - alphabet : 0);
    }
    bin[m++] = (uint8_t)(v >> 16);
    if (pad < 2) bin[m++] = (uint8_t)(v >> 8);
    if (pad < 1) bin[m++] = (uint8_t)v;
  }
  z_stream z;
  memset(&z, 0, sizeof z);
  assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = bin;
  z.avail_in = (uInt)m;
  size_t total = 0;
  int zr;
  do {
    z.next_out = out;
    z.avail_out = sizeof out;
    zr = inflate(&z, Z_NO_FLUSH);
    assert_true(zr == Z_OK || zr == Z_STREAM_END);
    total += sizeof out - z.avail_out;
  } while (zr != Z_STREAM_END);
  inflateEnd(&z);
  free(bin);
  return total;
}

static void test_diagram(void **state) {
  (void)state;
  assert_true(events >= 100000);
  double secs;
  assert_int_equal(run("diagram a.jsonl b.jsonl -o run.html --title 'synthetic <run>'", &secs), 0);
  /* Informational only: a test asserts no speed figure (the suite's
   * timeout bounds a hang). */
  print_message("diagram of %zu events in %.2f s\n", events, secs);
  size_t len;
  char *html = slurp("run.html", &len);
  assert_true(!strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32));
  assert_true(len > 20 && !strcmp(html + len - 16, "</body>\n</html>\n"));
  assert_non_null(strstr(html, "<title>synthetic &lt;run&gt;</title>"));
  assert_int_equal(count(html, "<script"), 3);
  assert_int_equal(count(html, "</script>"), 3);
  assert_null(strstr(html, "http://"));
  assert_null(strstr(html, "https://"));
  /* The meta block is one JSON value naming the event count; the event
   * block is base64 of a gzip stream that inflates to exactly "raw" bytes. */
  const char *open = "<script type=\"application/json\" id=\"meta\">";
  char *d = strstr(html, open);
  assert_non_null(d);
  d += strlen(open);
  char *end = strstr(d, "</script>");
  json_cursor_t c = {d, end, NULL};
  assert_int_equal(json_skip(&c), 0);
  json_ws(&c);
  assert_true(c.p == end);
  uint64_t n = 0, raw = 0;
  c = (json_cursor_t){d, end, NULL};
  assert_int_equal(json_find_key(&c, "n"), 0);
  assert_int_equal(json_u64(&c, &n), 0);
  assert_int_equal(n, events);
  c = (json_cursor_t){d, end, NULL};
  assert_int_equal(json_find_key(&c, "raw"), 0);
  assert_int_equal(json_u64(&c, &raw), 0);
  const char *dopen = "<script type=\"application/octet-stream\" id=\"data\">";
  char *b = strstr(end, dopen);
  assert_non_null(b);
  b += strlen(dopen);
  char *bend = strstr(b, "</script>");
  size_t inflated = inflate_base64(b, (size_t)(bend - b));
  assert_int_equal(inflated, raw);
  print_message("page %zu bytes for %zu events (%.2f bytes/event), block %zu bytes raw\n", len,
                events, (double)len / (double)events, (size_t)raw);
  assert_non_null(strstr(html, "\"view\":\"\","));
  free(html);
}

/* --hide/--at/--zoom are validated and written as the page's default
 * view, in its URL-fragment syntax ('&' escaped inside the script). */
static void test_diagram_view(void **state) {
  (void)state;
  assert_int_equal(run("diagram a.jsonl -o v.html --hide fd --at 1.5 --zoom 4", NULL), 0);
  char *html = slurp("v.html", NULL);
  assert_non_null(strstr(html, "\"view\":\"zoom=4\\u0026at=1.500000000\\u0026hide=fd\""));
  assert_non_null(strstr(html, "id=\"protos\""));
  free(html);
  assert_int_equal(run("diagram a.jsonl -o v.html --at 0", NULL), 0);
  html = slurp("v.html", NULL);
  assert_non_null(strstr(html, "\"view\":\"at=0.000000000\""));
  free(html);
}

/* A qualified parameter whose checker name holds '-' is a parameter, not a
 * file name: routed to that checker, or refused if it is not selected. */
static void test_dashed_checker_param(void **state) {
  (void)state;
  assert_int_equal(run("check a.jsonl --checker fd mutex-safety.crashes=inferred", NULL), 2);
  char *err = slurp("err.txt", NULL);
  assert_non_null(strstr(err, "no selected checker takes parameter 'mutex-safety.crashes'"));
  free(err);
  int rc = run("check a.jsonl --checker mutex-safety mutex-safety.crashes=inferred", NULL);
  err = slurp("err.txt", NULL);
  if (rc == 2) fail_msg("exit 2: %s", err);
  free(err);
  /* still a file name: '-' only in the checker part, never first */
  assert_int_equal(run("check a.jsonl --checker fd -x.y=1", NULL), 2);
  assert_int_equal(run("check a.jsonl --checker fd no-dot=1", NULL), 2);
  err = slurp("err.txt", NULL);
  assert_non_null(strstr(err, "no-dot=1: No such file"));
  free(err);
}

static void test_shiviz(void **state) {
  (void)state;
  assert_int_equal(run("shiviz a.jsonl b.jsonl -o out.log", NULL), 0);
  char *log = slurp("out.log", NULL);
  char *save = NULL, *line = strtok_r(log, "\n", &save);
  assert_string_equal(line, "(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})");
  /* strtok skips the empty delimiter line; check it is there */
  assert_non_null(strstr(log + strlen(line) + 1, "") );
  unsigned own[32] = {0};
  size_t pairs = 0;
  while ((line = strtok_r(NULL, "\n", &save))) {
    char *clock = strtok_r(NULL, "\n", &save);
    assert_non_null(clock);
    char host[32];
    assert_int_equal(sscanf(clock, "%31s {", host), 1);
    char key[40];
    snprintf(key, sizeof key, "\"%s\":", host);
    char *p = strstr(clock, key);
    assert_non_null(p);
    unsigned v = (unsigned)strtoul(p + strlen(key), NULL, 10);
    unsigned node = 0, inc = 0;
    assert_true(sscanf(host, "n%u.%u", &node, &inc) >= 1);
    unsigned h = node + 10 * inc;
    assert_int_equal(v, ++own[h]); /* own entry counts 1, 2, 3, ... */
    pairs++;
  }
  assert_true(pairs > 90000 && pairs < events); /* network drops are not events */
  assert_true(own[23] > 0 && own[13] > 0);      /* n3.1 and n3.2 */
  free(log);
}

static void test_merge(void **state) {
  (void)state;
  assert_int_equal(run("merge b.jsonl a.jsonl -o merged.jsonl", NULL), 0);
  cohort_trace_t t;
  cohort_trace_init(&t);
  char err[512], path[400];
  snprintf(path, sizeof path, "%s/merged.jsonl", dir);
  assert_int_equal(cohort_trace_load(&t, path, err, sizeof err), 0);
  assert_int_equal(t.len, events);
  for (size_t i = 1; i < t.len; i++) assert_true(t.recs[i - 1].true_ns <= t.recs[i].true_ns);
  cohort_trace_close(&t);
  /* merging is idempotent: the merged file merges to itself */
  assert_int_equal(run("merge merged.jsonl -o again.jsonl", NULL), 0);
  char *a = slurp("merged.jsonl", NULL), *b = slurp("again.jsonl", NULL);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

static void test_check(void **state) {
  (void)state;
  assert_int_equal(run("check a.jsonl b.jsonl fd.bound=1s duplicates=forbid", NULL), 0);
  char *out = slurp("out.txt", NULL);
  assert_non_null(strstr(out, "causality  ok"));
  assert_non_null(strstr(out, "integrity  ok"));
  assert_non_null(strstr(out, "fd         ok"));
  free(out);
  /* node 4 never suspects node 3 within 100 ms: completeness fails */
  assert_int_equal(run("check a.jsonl b.jsonl --checker fd bound=100ms", NULL), 1);
  out = slurp("out.txt", NULL);
  assert_non_null(strstr(out, "fd         FAIL"));
  assert_non_null(strstr(out, "first: node 1 did not suspect node 3 within 0.100000s"));
  free(out);
  /* a broken trace: one receipt's Lamport time rewritten */
  char *a = slurp("a.jsonl", NULL);
  char *r = strstr(a, "{\"ev\":\"recv\"");
  char *lam = strstr(r, "\"lamport\":");
  memcpy(lam, "\"lamport\":0", 11);
  char *num_end = lam + 11;
  while (*num_end >= '0' && *num_end <= '9') *num_end++ = ' ';
  char path[400];
  snprintf(path, sizeof path, "%s/broken.jsonl", dir);
  FILE *f = fopen(path, "w");
  fputs(a, f);
  fclose(f);
  free(a);
  assert_int_equal(run("check broken.jsonl b.jsonl --checker causality,integrity", NULL), 1);
  out = slurp("out.txt", NULL);
  assert_non_null(strstr(out, "causality  FAIL"));
  assert_non_null(strstr(out, "first: line "));
  assert_non_null(strstr(out, "integrity  ok"));
  free(out);
}

static const struct {
  const char *args, *msg;
} bad[] = {
    {"", "usage: cohort trace"},
    {"frobnicate a.jsonl", "unknown command 'frobnicate'"},
    {"check", "check: no TRACE file given"},
    {"check a.jsonl --bogus", "unknown option '--bogus'"},
    {"check a.jsonl -o", "option '-o' needs a value"},
    {"check missing.jsonl", "missing.jsonl: No such file or directory"},
    {"check bad.jsonl", "bad.jsonl:2: field 'tt': expected a number"},
    {"check a.jsonl --checker nope", "unknown checker 'nope'"},
    {"check a.jsonl nope=1", "no selected checker takes parameter 'nope'"},
    {"check a.jsonl --checker fd bound=fast", "fd: bound: not a duration"},
    {"check a.jsonl --checker causality fd.bound=1s",
     "no selected checker takes parameter 'fd.bound'"},
    {"diagram a.jsonl", "diagram needs -o FILE.html"},
    {"diagram a.jsonl -o /nonexistent/dir/x.html", "/nonexistent/dir/x.html"},
    {"merge a.jsonl bound=1s", "merge takes only TRACE files and -o"},
    {"merge a.jsonl --hide fd", "merge takes only TRACE files and -o"},
    {"check a.jsonl --at 1", "check takes no -o, --title, --hide, --at or --zoom"},
    {"diagram a.jsonl -o x.html --zoom", "option '--zoom' needs a value"},
    {"diagram a.jsonl -o x.html --zoom 0", "--zoom '0': want a factor > 0"},
    {"diagram a.jsonl -o x.html --zoom 2x", "--zoom '2x': want a factor > 0"},
    {"diagram a.jsonl -o x.html --zoom inf", "--zoom 'inf': want a factor > 0"},
    {"diagram a.jsonl -o x.html --at -1", "--at '-1': want seconds after the start"},
    {"diagram a.jsonl -o x.html --at nan", "--at 'nan': want seconds"},
    {"diagram a.jsonl -o x.html --at 1e6", "--at 1e6: the trace lasts only"},
    {"diagram a.jsonl -o x.html --hide nope", "--hide: no protocol 'nope' in the trace"},
    {"diagram a.jsonl -o x.html --hide fd,", "--hide 'fd,': empty protocol name"},
    {"diagram a.jsonl -o x.html --hide 'f<d'", "--hide 'f<d': bad protocol name 'f<d'"},
};

static void test_bad_usage(void **state) {
  (void)state;
  char path[400];
  snprintf(path, sizeof path, "%s/bad.jsonl", dir);
  FILE *f = fopen(path, "w");
  fputs("{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":1}\n"
        "{\"ev\":\"timer\",\"node\":1,\"inc\":1,\"lt\":1,\"tt\":true}\n", f);
  fclose(f);
  for (size_t i = 0; i < COHORT_ARRAY_LEN(bad); i++) {
    int rc = run(bad[i].args, NULL);
    char *err = slurp("err.txt", NULL);
    if (rc != 2 || !strstr(err, bad[i].msg))
      fail_msg("'%s': exit %d, stderr '%s', want '%s'", bad[i].args, rc, err, bad[i].msg);
    free(err);
  }
  assert_int_equal(run("--help", NULL), 0);
  char *out = slurp("out.txt", NULL);
  assert_non_null(strstr(out, "fifo"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diagram), cmocka_unit_test(test_shiviz),
      cmocka_unit_test(test_merge),   cmocka_unit_test(test_check),
      cmocka_unit_test(test_bad_usage), cmocka_unit_test(test_diagram_view),
      cmocka_unit_test(test_dashed_checker_param),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
