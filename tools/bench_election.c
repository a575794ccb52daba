/*
 * tools/bench_election.c — `cohort bench election`: messages per election
 * and failover time of the bully and ring elections, measured in the
 * deterministic simulator, beside the study guide's figures.
 *
 * Messages. For N = 3, 5, 9, 17 nodes on a lossless 1 ms network, the
 * highest id N leads, then crashes; once every survivor's failure detector
 * suspects it, one chosen survivor starts an election (automatic elections
 * are off: check=1h) and every election-protocol send until the cluster is
 * quiet is counted, by kind, from the trace:
 *   bully best   the second-highest id (N−1) initiates   guide: O(n), n−1
 *   bully worst  the lowest id (1) initiates              guide: O(n²)
 *   ring best    the highest live id (N−1) initiates      guide: 2n
 *   ring worst   the successor of the highest live id (1) guide: 3n−1
 * with n = N−1 live processes. The textbook counts for exactly these runs
 * are printed beside the measured ones; docs/election.md explains every
 * difference (the ring's per-hop ACKs are counted apart).
 *
 * Failover. With automatic elections (the shipped scenario's settings:
 * phi accrual threshold 8, 100 ms heartbeats, a jittery lossy network),
 * the leader crashes at a random instant; detection time D is when every
 * survivor suspects it, failover time F when every survivor holds one new
 * leader; F/D is averaged over --runs seeds.
 *
 * Output: tables on stdout and an SVG plot (-o, default bench-election.svg).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cohort/election.h"
#include "cohort/sim.h"

#define MS COHORT_NS_PER_MS
#define SEC COHORT_NS_PER_S
#define SIZES 4

static const uint32_t sizes[SIZES] = {3, 5, 9, 17};

typedef struct counter {
  bool on;
  const char *proto;
  uint64_t by_kind[8];
} counter_t;

static void count_sends(void *ud, const char *line, size_t len) {
  counter_t *c = ud;
  if (!c->on || !memmem(line, len, "\"ev\":\"send\"", 11)) return;
  char pat[64];
  int n = snprintf(pat, sizeof pat, "\"proto\":\"%s\"", c->proto);
  if (!memmem(line, len, pat, (size_t)n)) return;
  for (uint32_t k = 1; k < 8; k++) {
    n = snprintf(pat, sizeof pat, "\"kind\":\"%s\"", cohort_election_kind_name(k));
    if (memmem(line, len, pat, (size_t)n)) c->by_kind[k]++;
  }
}

static int make_sim(const char *text, uint64_t seed, counter_t *c, cohort_scenario_t **sc,
                    cohort_sim_t **sim) {
  static const cohort_proto_factory_t *const extra[] = {&cohort_bully_factory,
                                                        &cohort_ring_election_factory};
  cohort_scenario_options_t opts = {.extra_factories = extra, .extra_factories_len = 2};
  char err[512];
  if (cohort_scenario_parse(text, strlen(text), "bench-election", &opts, sc, err, sizeof err)) {
    fprintf(stderr, "cohort bench election: %s\n", err);
    return -1;
  }
  cohort_sim_config_t cfg = {.seed = seed, .trace_fn = c ? count_sends : NULL, .trace_ud = c};
  if (cohort_sim_new(*sc, &cfg, sim, err, sizeof err)) {
    fprintf(stderr, "cohort bench election: %s\n", err);
    cohort_scenario_free(*sc);
    return -1;
  }
  return 0;
}

static cohort_election_t *election_of(cohort_sim_t *sim, cohort_node_id_t id, const char *p) {
  return cohort_election_from_proto(cohort_sim_proto(sim, id, p));
}

/* ---- messages per election ---------------------------------------------------------- */

typedef struct msgs {
  uint64_t total, acks, kinds[8];
  bool agreed;
} msgs_t;

static int count_election(bool ring, uint32_t n, cohort_node_id_t initiator, msgs_t *out) {
  const char *proto = ring ? "ring-election" : "bully";
  char text[1024];
  snprintf(text, sizeof text,
           "nodes %u\nduration 30s\nnetwork latency=1ms\n"
           "protocol fd detector=fixed timeout=500ms interval=100ms\n"
           "protocol %s answer=100ms retries=0 election=1s check=1h announce=1h "
           "leader_timeout=2h\n",
           n, proto);
  counter_t c = {.proto = proto};
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, 1, &c, &sc, &sim)) return -1;
  for (cohort_node_id_t i = 1; i <= n; i++) {
    cohort_election_t *e = election_of(sim, i, proto);
    cohort_election_set_fd(e, cohort_fd_from_proto(cohort_sim_proto(sim, i, "fd")));
  }
  cohort_sim_run_until(sim, 2 * SEC);
  cohort_sim_crash(sim, n);
  cohort_sim_run_until(sim, 5 * SEC); /* every survivor suspects n by now */
  c.on = true;
  cohort_election_start(election_of(sim, initiator, proto));
  cohort_sim_run_until(sim, 10 * SEC);
  *out = (msgs_t){.agreed = true};
  for (uint32_t k = 1; k < 8; k++) {
    out->kinds[k] = c.by_kind[k];
    if (k == COHORT_ELECTION_KIND_ACK) out->acks += c.by_kind[k];
    else out->total += c.by_kind[k];
  }
  for (cohort_node_id_t i = 1; i < n; i++)
    if (cohort_election_leader(election_of(sim, i, proto)) != n - 1) out->agreed = false;
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  return 0;
}

/* Textbook counts for the runs above (n = N−1 live, node N dead). */
static uint64_t guide_bully_best(uint32_t N) { return 1 + (N - 2); }
static uint64_t guide_bully_worst(uint32_t N) {
  uint64_t election = (uint64_t)N * (N - 1) / 2, ok = (uint64_t)(N - 1) * (N - 2) / 2;
  return election + ok + (N - 2);
}

/* ---- failover ----------------------------------------------------------------------------- */

typedef struct failover {
  double detect_ms, failover_ms, ratio;
  uint32_t runs, failed;
} failover_t;

/* One run: crash the leader at a random instant, poll every millisecond. */
static int failover_once(bool ring, uint32_t n, uint64_t seed, double *d_ms, double *f_ms) {
  const char *proto = ring ? "ring-election" : "bully";
  char text[1024];
  snprintf(text, sizeof text,
           "nodes %u\nduration 60s\n"
           "network latency=lognormal(median=1ms,sigma=0.5) jitter=500us loss=0.01\n"
           "protocol fd detector=phi threshold=8 interval=100ms\n"
           "protocol %s\n",
           n, proto);
  cohort_scenario_t *sc;
  cohort_sim_t *sim;
  if (make_sim(text, seed, NULL, &sc, &sim)) return -1;
  int64_t t_crash = 10 * SEC + (int64_t)(seed * 7919 % 1000) * MS;
  cohort_sim_run_until(sim, t_crash);
  cohort_node_id_t old = cohort_election_leader(election_of(sim, 1, proto));
  int rc = old == COHORT_NODE_NONE ? 1 : 0;
  if (!rc) cohort_sim_crash(sim, old);
  int64_t detected = -1, agreed = -1;
  for (int64_t t = t_crash + MS; !rc && t < t_crash + 20 * SEC && (agreed < 0 || detected < 0); t += MS) {
    cohort_sim_run_until(sim, t);
    bool all_suspect = true, all_agree = true;
    cohort_node_id_t l = COHORT_NODE_NONE;
    for (cohort_node_id_t i = 1; i <= n; i++) {
      if (i == old) continue;
      cohort_fd_t *fd = cohort_fd_from_proto(cohort_sim_proto(sim, i, "fd"));
      cohort_node_id_t li = cohort_election_leader(election_of(sim, i, proto));
      if (!cohort_fd_is_suspected(fd, old)) all_suspect = false;
      if (l == COHORT_NODE_NONE) l = li;
      if (li == old || li == COHORT_NODE_NONE || li != l) all_agree = false;
    }
    if (all_suspect && detected < 0) detected = t;
    if (all_agree && agreed < 0) agreed = t;
  }
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  if (rc || detected < 0 || agreed < 0) {
    if (getenv("COHORT_BENCH_DEBUG"))
      fprintf(stderr, "%s n=%u seed=%" PRIu64 ": old=%u detected=%" PRId64 " agreed=%" PRId64
              "\n", proto, n, seed, old, detected, agreed);
    return 1;
  }
  *d_ms = (double)(detected - t_crash) / 1e6;
  *f_ms = (double)(agreed - t_crash) / 1e6;
  return 0;
}

static void failover(bool ring, uint32_t n, uint32_t runs, failover_t *out) {
  *out = (failover_t){0};
  for (uint32_t r = 0; r < runs; r++) {
    double d, f;
    if (failover_once(ring, n, 1000 + r, &d, &f)) {
      out->failed++;
      continue;
    }
    out->runs++;
    out->detect_ms += d;
    out->failover_ms += f;
    out->ratio += f / d;
  }
  if (out->runs) {
    out->detect_ms /= out->runs;
    out->failover_ms /= out->runs;
    out->ratio /= out->runs;
  }
}

/* ---- output -------------------------------------------------------------------------------- */

typedef struct row {
  uint32_t n;
  msgs_t bb, bw, rb, rw;
  failover_t fb, fr;
} row_t;

static void svg_line(FILE *f, const row_t *rows, size_t off, bool guide, int which,
                     const char *color, bool dashed) {
  fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2'%s points='", color,
          dashed ? " stroke-dasharray='6,4'" : "");
  for (size_t i = 0; i < SIZES; i++) {
    const row_t *r = &rows[i];
    double v;
    uint32_t n = r->n - 1;
    if (guide) {
      v = which == 0 ? (double)guide_bully_best(r->n)
          : which == 1 ? (double)guide_bully_worst(r->n)
          : which == 2 ? 2.0 * n : 3.0 * n - 1;
    } else {
      const msgs_t *m = (const msgs_t *)((const char *)r + off);
      v = (double)m->total;
    }
    double x = 70 + (double)(r->n - 3) / 14.0 * 560, y = 370 - v / 450.0 * 330;
    fprintf(f, "%.1f,%.1f ", x, y < 20 ? 20 : y);
  }
  fprintf(f, "'/>\n");
}

static int write_svg(const char *path, const row_t *rows) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return -1;
  }
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='760' height='420' "
             "font-family='sans-serif' font-size='12'>\n<rect width='760' height='420' "
             "fill='white'/>\n<text x='70' y='14'>messages per election (solid measured, "
             "dashed guide) vs N</text>\n<line x1='70' y1='370' x2='630' y2='370' "
             "stroke='black'/><line x1='70' y1='40' x2='70' y2='370' stroke='black'/>\n");
  for (size_t i = 0; i < SIZES; i++)
    fprintf(f, "<text x='%.1f' y='386'>%u</text>\n", 66 + (double)(sizes[i] - 3) / 14 * 560,
            sizes[i]);
  for (int v = 0; v <= 400; v += 100)
    fprintf(f, "<text x='36' y='%.1f'>%d</text>\n", 374 - v / 450.0 * 330, v);
  static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  static const char *const names[] = {"bully best", "bully worst", "ring best", "ring worst"};
  const size_t offs[] = {offsetof(row_t, bb), offsetof(row_t, bw), offsetof(row_t, rb),
                         offsetof(row_t, rw)};
  for (int k = 0; k < 4; k++) {
    svg_line(f, rows, offs[k], false, k, colors[k], false);
    svg_line(f, rows, offs[k], true, k, colors[k], true);
    fprintf(f, "<text x='645' y='%d' fill='%s'>%s</text>\n", 60 + 18 * k, colors[k], names[k]);
  }
  fprintf(f, "</svg>\n");
  return fclose(f) ? -1 : 0;
}

static void usage(void) {
  fprintf(stderr, "usage: cohort bench election [--runs K] [--quick] [-o PLOT.svg]\n");
}

int cohort_bench_election(int argc, char **argv) {
  const char *out = "bench-election.svg";
  uint32_t runs = 10;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) runs = 3;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      puts("usage: cohort bench election [--runs K] [--quick] [-o PLOT.svg]\n"
           "  messages per election and failover time, bully and ring, per size");
      return 0;
    } else if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      char *end;
      unsigned long v = strtoul(argv[++i], &end, 10);
      if (*end || v == 0 || v > 1000) return usage(), 2;
      runs = (uint32_t)v;
    } else return usage(), 2;
  }
  row_t rows[SIZES];
  printf("messages per election (N nodes, the leader N crashed and suspected by all; "
         "n = N-1 live)\n");
  printf("%4s | %11s %11s | %11s %11s | %11s %11s %5s | %11s %11s %5s\n", "N", "bully best",
         "guide n-1", "bully worst", "guide O(n2)", "ring best", "guide 2n", "acks",
         "ring worst", "guide 3n-1", "acks");
  for (size_t i = 0; i < SIZES; i++) {
    row_t *r = &rows[i];
    uint32_t N = sizes[i], n = N - 1;
    r->n = N;
    if (count_election(false, N, N - 1, &r->bb) || count_election(false, N, 1, &r->bw) ||
        count_election(true, N, N - 1, &r->rb) || count_election(true, N, 1, &r->rw))
      return 1;
    printf("%4u | %11" PRIu64 " %11" PRIu64 " | %11" PRIu64 " %11" PRIu64 " | %11" PRIu64
           " %11u %5" PRIu64 " | %11" PRIu64 " %11u %5" PRIu64 "%s\n",
           N, r->bb.total, guide_bully_best(N), r->bw.total, guide_bully_worst(N), r->rb.total,
           2 * n, r->rb.acks, r->rw.total, 3 * n - 1, r->rw.acks,
           r->bb.agreed && r->bw.agreed && r->rb.agreed && r->rw.agreed ? "" : "  (NO AGREEMENT)");
  }
  printf("  bully kinds (worst, N=%u): election %" PRIu64 ", ok %" PRIu64 ", coordinator %" PRIu64
         "\n\n",
         sizes[SIZES - 1], rows[SIZES - 1].bw.kinds[1], rows[SIZES - 1].bw.kinds[2],
         rows[SIZES - 1].bw.kinds[3]);
  printf("failover: leader crash -> all survivors hold one new leader (F), against the "
         "time until all suspect it (D); %u runs each\n", runs);
  printf("%4s | %9s %9s %7s | %9s %9s %7s\n", "N", "bully D", "F ms", "F/D", "ring D", "F ms",
         "F/D");
  for (size_t i = 0; i < SIZES; i++) {
    row_t *r = &rows[i];
    failover(false, r->n, runs, &r->fb);
    failover(true, r->n, runs, &r->fr);
    printf("%4u | %9.1f %9.1f %7.2f | %9.1f %9.1f %7.2f%s\n", r->n, r->fb.detect_ms,
           r->fb.failover_ms, r->fb.ratio, r->fr.detect_ms, r->fr.failover_ms, r->fr.ratio,
           r->fb.failed || r->fr.failed ? "  (some runs did not converge)" : "");
  }
  if (write_svg(out, rows)) return 1;
  printf("\nplot: %s\n", out);
  return 0;
}
