/*
 * tools/bench_mutex.c — `cohort bench mutex`: the four mutual exclusion
 * algorithms in the simulator, fault-free, 1 ms links, N = 3, 5, 9, 17:
 *
 *   messages per critical-section entry (mutex messages only: the failure
 *   detector's heartbeats and the election are not counted), measured
 *   beside the study guide's 3, 3(N-1), 2(N-1), 1..N-1;
 *   synchronization delay (one node's release to the next node's grant,
 *   when someone was waiting) and response time (request to grant), under
 *   high contention (every node asks again at once) and low contention
 *   (a node asks every 100·N ms on average, so the lock is mostly free).
 *
 * Prints a table and writes an SVG plot of messages per entry against N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include "cohort/mutex.h"
#include "cohort/sim.h"

/* ---- measuring one configuration ---------------------------------------------- */

static const char *const algos[] = {"centralized", "lamport", "ricart-agrawala", "token-ring"};
static const unsigned sizes[] = {3, 5, 9, 17};
#define NALGO 4
#define NSIZE 4

typedef struct run_stats {
  double msgs_per_entry;
  double token_msgs_per_entry; /* token ring: TOKEN only */
  double sync_ms, resp_ms;
  uint64_t entries;
} run_stats_t;

typedef struct tracker {
  int64_t last_release; /* tt of the last release, or -1 */
  int64_t req_tt[32];
  double sync_sum, resp_sum;
  uint64_t sync_n, resp_n, waiting;
} tracker_t;

static int64_t field_i64(const char *line, const char *key) {
  const char *p = strstr(line, key);
  return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Only the lock events are looked at; everything else is skipped fast. */
static void on_trace(void *ud, const char *line, size_t len) {
  (void)len;
  tracker_t *t = ud;
  const char *what = strstr(line, "\"what\":\"lock_");
  if (!what) return;
  int64_t tt = field_i64(line, "\"tt\":");
  int64_t node = field_i64(line, "\"node\":");
  if (node < 0 || node >= 32) return;
  what += strlen("\"what\":\"lock_");
  if (!strncmp(what, "request", 7)) {
    t->req_tt[node] = tt;
    t->waiting++;
  } else if (!strncmp(what, "grant", 5)) {
    t->resp_sum += (double)(tt - t->req_tt[node]);
    t->resp_n++;
    if (t->waiting) t->waiting--;
    if (t->last_release >= 0 && t->waiting + 1 > 1) {
      t->sync_sum += (double)(tt - t->last_release);
      t->sync_n++;
    }
    t->last_release = -1;
  } else if (!strncmp(what, "release", 7)) {
    t->last_release = tt;
  }
}

static int measure(const char *algo, unsigned n, bool high, int64_t duration_ns,
                   run_stats_t *out) {
  char text[512];
  /* think: high contention asks again at once; low asks every ~100·N ms. */
  snprintf(text, sizeof text,
           "nodes %u\nduration %llums\nnetwork latency=1ms\n"
           "protocol mutex algorithm=%s workload=loop hold=5ms think=%ums start=1500ms\n",
           n, (unsigned long long)(duration_ns / 1000000), algo, high ? 0 : 200 * n);
  /* The factory is passed directly, so the bench works before (and after)
   * the mutex is in the registry table. */
  static const cohort_proto_factory_t *const extra[] = {&cohort_mutex_factory};
  cohort_scenario_options_t opts = {.extra_factories = extra, .extra_factories_len = 1};
  cohort_scenario_t *sc;
  char err[256];
  if (cohort_scenario_parse(text, strlen(text), algo, &opts, &sc, err, sizeof err)) {
    fprintf(stderr, "bench mutex: %s\n", err);
    return -1;
  }
  tracker_t tr = {.last_release = -1};
  cohort_sim_config_t cfg = {.seed = 1, .trace_fn = on_trace, .trace_ud = &tr};
  cohort_sim_t *sim;
  if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) {
    fprintf(stderr, "bench mutex: %s\n", err);
    cohort_scenario_free(sc);
    return -1;
  }
  cohort_sim_run(sim);
  uint64_t msgs = 0, tokens = 0, entries = 0;
  for (cohort_node_id_t id = 1; id <= n; id++) {
    cohort_mutex_t *m = cohort_mutex_from_proto(cohort_sim_proto(sim, id, "mutex"));
    if (!m) continue;
    const cohort_mutex_stats_t *st = cohort_mutex_stats(m);
    for (int k = 1; k <= COHORT_MUTEX_KIND_MAX; k++) msgs += st->tx[k];
    tokens += st->tx[COHORT_MUTEX_KIND_TOKEN];
    entries += st->grants;
  }
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  *out = (run_stats_t){.entries = entries};
  if (entries) {
    out->msgs_per_entry = (double)msgs / (double)entries;
    out->token_msgs_per_entry = (double)tokens / (double)entries;
  }
  out->sync_ms = tr.sync_n ? tr.sync_sum / (double)tr.sync_n / 1e6 : 0;
  out->resp_ms = tr.resp_n ? tr.resp_sum / (double)tr.resp_n / 1e6 : 0;
  return 0;
}

static const char *formula(int a, unsigned n, char *buf, size_t cap) {
  switch (a) {
  case 0: snprintf(buf, cap, "3"); break;
  case 1: snprintf(buf, cap, "%u", 3 * (n - 1)); break;
  case 2: snprintf(buf, cap, "%u", 2 * (n - 1)); break;
  default: snprintf(buf, cap, "1..%u", n - 1); break;
  }
  return buf;
}

static double formula_value(int a, unsigned n) {
  switch (a) {
  case 0: return 3;
  case 1: return 3.0 * (n - 1);
  case 2: return 2.0 * (n - 1);
  default: return (double)(n - 1);
  }
}

/* ---- the plot ------------------------------------------------------------------- */

static void plot(const char *path, run_stats_t res[NALGO][NSIZE][2]) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "bench mutex: cannot write %s\n", path);
    return;
  }
  static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  const double W = 640, H = 400, L = 60, R = 180, T = 30, B = 50, ymax = 60;
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
             "font-family='sans-serif' font-size='12'>\n<rect width='100%%' height='100%%' "
             "fill='white'/>\n<text x='%.0f' y='18'>messages per critical-section entry "
             "(high contention; dashed: study guide)</text>\n", W, H, L);
  fprintf(f, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='black'/>\n", L, H - B,
          W - R, H - B);
  fprintf(f, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='black'/>\n", L, T, L,
          H - B);
  for (int y = 0; y <= 60; y += 10)
    fprintf(f, "<text x='%.0f' y='%.1f' text-anchor='end'>%d</text>\n", L - 6,
            H - B - (H - B - T) * y / ymax + 4, y);
  for (int i = 0; i < NSIZE; i++)
    fprintf(f, "<text x='%.1f' y='%.0f' text-anchor='middle'>N=%u</text>\n",
            L + (W - L - R) * (sizes[i] - 1) / 16.0, H - B + 18, sizes[i]);
  for (int a = 0; a < NALGO; a++) {
    for (int dashed = 0; dashed < 2; dashed++) {
      fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2'%s points='", colors[a],
              dashed ? " stroke-dasharray='5,4'" : "");
      for (int i = 0; i < NSIZE; i++) {
        double v = dashed ? formula_value(a, sizes[i]) : res[a][i][0].msgs_per_entry;
        if (v > ymax) v = ymax;
        fprintf(f, "%.1f,%.1f ", L + (W - L - R) * (sizes[i] - 1) / 16.0,
                H - B - (H - B - T) * v / ymax);
      }
      fprintf(f, "'/>\n");
    }
    fprintf(f, "<text x='%.0f' y='%.0f' fill='%s'>%s</text>\n", W - R + 10, T + 20.0 * a + 10,
            colors[a], algos[a]);
  }
  fprintf(f, "</svg>\n");
  fclose(f);
}

int cohort_bench_mutex(int argc, char **argv) {
  const char *out = "bench-mutex.svg";
  int64_t duration = 20 * INT64_C(1000000000);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) duration = 4 * INT64_C(1000000000);
    else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      puts("usage: cohort bench mutex [--quick] [-o FILE.svg]\n"
           "  messages per critical-section entry and delays, per algorithm and size,\n"
           "  beside the textbook counts; -o: SVG plot (default bench-mutex.svg)");
      return 0;
    } else {
      fprintf(stderr, "cohort bench mutex: bad argument '%s'\n"
                      "usage: cohort bench mutex [--quick] [-o FILE.svg]\n", argv[i]);
      return 2;
    }
  }
  static run_stats_t res[NALGO][NSIZE][2];
  printf("mutual exclusion, fault-free, 1ms links, hold 5ms; %.0fs simulated per cell\n",
         (double)duration / 1e9);
  printf("%-16s %3s %7s | %9s %9s %9s | %9s %9s | %9s %9s\n", "algorithm", "N", "guide",
         "msg/entry", "(low)", "token-only", "sync ms", "resp ms", "sync(low)", "resp(low)");
  tool_progress_t prog; /* "k of n" and an ETA on stderr, on a TTY only */
  tool_progress_start(&prog, "cohort bench mutex", (size_t)NALGO * NSIZE);
  for (int a = 0; a < NALGO; a++) {
    for (int i = 0; i < NSIZE; i++) {
      char what[64];
      snprintf(what, sizeof what, "%s N=%u", algos[a], sizes[i]);
      tool_progress_step(&prog, what);
      for (int c = 0; c < 2; c++)
        if (measure(algos[a], sizes[i], c == 0, duration + 1500000000, &res[a][i][c]))
          return 1;
      char f[16], tok[16] = "-";
      if (a == 3) snprintf(tok, sizeof tok, "%.2f", res[a][i][0].token_msgs_per_entry);
      printf("%-16s %3u %7s | %9.2f %9.2f %9s | %9.2f %9.2f | %9.2f %9.2f\n", algos[a],
             sizes[i], formula(a, sizes[i], f, sizeof f), res[a][i][0].msgs_per_entry,
             res[a][i][1].msgs_per_entry, tok, res[a][i][0].sync_ms, res[a][i][0].resp_ms,
             res[a][i][1].sync_ms, res[a][i][1].resp_ms);
    }
  }
  tool_progress_done(&prog);
  printf("msg/entry counts every mutex message (retries, acks, token hops and\n"
         "probes included); heartbeats and the election are not counted. See\n"
         "docs/mutex.md for why measured and guide figures differ.\n");
  plot(out, res);
  printf("plot: %s\n", out);
  return 0;
}
