/*
 * tools/bench_fd.c — `cohort bench fd`: fixed timeout against phi accrual,
 * measured in the deterministic simulator.
 *
 * For each network model (jitter, loss, GC-like pauses, two sites) and each
 * detector setting of a grid (phi thresholds, fixed timeouts), one run of
 * an N-node push-heartbeat cluster: every `period` one node (round robin)
 * crashes at a random phase and restarts `down` later; every survivor's
 * time to suspect it is a detection-latency sample (a monitor that has not
 * suspected it when it comes back is counted as missed, at `down`). Every
 * suspicion of a node that is up is a false suspicion; the rate is per
 * monitored node-hour (one monitor watching one live peer for an hour).
 *
 * Within a model every setting runs on the same seed: heartbeat traffic
 * does not depend on the detector, so all settings see the very same
 * network delays, losses and pauses (common random numbers), and the
 * comparison between detectors is not blurred by sampling noise.
 *
 * Pauses are modelled as a stop-the-world pause of the whole process: for
 * the pause's length nothing the node sends gets out (its outgoing links
 * are blocked), then it carries on. Pause starts are a Poisson process per
 * node, lengths Pareto-distributed (heavy-tailed, like GC pauses).
 *
 * Output: a table per model, a summary comparing the two detectors at an
 * equal false-suspicion rate, and an SVG plot (-o, default bench-fd.svg).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cohort/prng.h"
#include "cohort/detect.h"
#include "cohort/sim.h"

#define MS COHORT_NS_PER_MS
#define SEC COHORT_NS_PER_S
#define NODES_MAX 32
#define GRID_MAX 16
#define MODELS 4
/* Detection samples per run: crashes × monitors, bounded by the options. */
#define SAMPLES_MAX (1u << 16)

typedef struct model {
  const char *name;
  const char *network; /* scenario `network` line parameters */
  const char *about;
  double pause_every_s; /* mean seconds between pauses per node; 0 = none */
  double pause_min_ms, pause_alpha, pause_max_ms;
} model_t;

static const model_t models[MODELS] = {
    {"jitter", "latency=lognormal(median=10ms,sigma=1)",
     "latency lognormal, median 10ms, sigma 1 (p99 ~100ms)", 0, 0, 0, 0},
    {"loss", "latency=lognormal(median=2ms,sigma=0.3) loss=0.05",
     "5% loss, latency lognormal median 2ms, sigma 0.3", 0, 0, 0, 0},
    {"pauses", "latency=lognormal(median=2ms,sigma=0.3)",
     "GC-like pauses: every 30s per node, Pareto(50ms, 1.5) up to 2s", 30, 50, 1.5, 2000},
    {"two-sites", "latency=lognormal(median=2ms,sigma=0.3)",
     "two sites: 2ms inside, 40ms sigma 0.8 across (odd/even ids)", 0, 0, 0, 0},
};
/* The model whose links between odd and even nodes are slow and jittery. */
#define TWO_SITES 3
#define WAN_LINK "latency=lognormal(median=40ms,sigma=0.8)"

typedef struct setting {
  cohort_fd_detector_t detector;
  double threshold;   /* phi */
  int64_t timeout_ns; /* fixed */
} setting_t;

static const double phi_grid[] = {0.5, 1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 128, 256, 512};
static const int fixed_grid_ms[] = {150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000};

_Static_assert(COHORT_ARRAY_LEN(phi_grid) <= GRID_MAX &&
                   COHORT_ARRAY_LEN(fixed_grid_ms) <= GRID_MAX,
               "a grid must fit in the result table");

typedef struct options {
  const char *svg_path;
  uint64_t seed;
  uint32_t nodes;
  int64_t duration_ns; /* per run */
  int64_t period_ns;   /* between crashes */
  int64_t down_ns;     /* how long a crashed node stays down */
  int64_t interval_ns;
} options_t;

typedef struct result {
  setting_t s;
  uint64_t detections, missed, false_susp, false_in_pause;
  double pair_hours;
  double mean_ms, p50_ms, p99_ms;
} result_t;

/* State of one run, shared with the detector upcall. */
typedef struct run {
  const options_t *o;
  const model_t *m;
  cohort_sim_t *sim;
  cohort_node_id_t victim; /* down now, or 0 */
  int64_t crashed_at;
  bool detected[NODES_MAX + 1];
  bool paused[NODES_MAX + 1];
  int64_t pause_end[NODES_MAX + 1], pause_next[NODES_MAX + 1];
  double *lat_ms;
  size_t lat_len;
  uint64_t missed, false_susp, false_in_pause;
  double pair_ns; /* Σ live monitor × live peer time, after warm-up */
  bool measuring; /* past the warm-up */
  uint64_t rng;
} run_t;

/* ---- small helpers ------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s) { return cohort_splitmix64_next(s); }

static double rng_unit(uint64_t *s) { /* in (0, 1) */
  return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, size_t n, double q) {
  if (!n) return NAN;
  size_t i = (size_t)ceil(q * (double)n);
  return sorted[i ? i - 1 : 0];
}

static void setting_label(const setting_t *s, char *buf, size_t cap) {
  if (s->detector == COHORT_FD_PHI) snprintf(buf, cap, "phi %g", s->threshold);
  else snprintf(buf, cap, "fixed %" PRId64 "ms", s->timeout_ns / MS);
}

/* ---- one run --------------------------------------------------------------- */

static void on_fd_event(cohort_fd_t *fd, const cohort_fd_peer_info_t *in, void *ud) {
  run_t *r = ud;
  if (!in->suspected) return;
  cohort_node_id_t me = cohort_node_id(fd->proto.node), peer = in->peer;
  if (!cohort_sim_node_up(r->sim, peer)) {
    if (peer == r->victim && !r->detected[me] && r->lat_len < SAMPLES_MAX) {
      r->detected[me] = true;
      r->lat_ms[r->lat_len++] = (double)(cohort_sim_now(r->sim) - r->crashed_at) / 1e6;
    }
    return;
  }
  if (!r->measuring) return;
  r->false_susp++;
  /* Caused by a pause: during it, or before the first heartbeat after it. */
  if (r->paused[peer] || cohort_sim_now(r->sim) <= r->pause_end[peer] + 2 * r->o->interval_ns)
    r->false_in_pause++;
}

static int hook_node(run_t *r, cohort_node_id_t id) {
  cohort_fd_t *fd = cohort_fd_from_proto(cohort_sim_proto(r->sim, id, "fd"));
  if (!fd) return COHORT_ESTATE;
  cohort_fd_set_callback(fd, r, on_fd_event);
  return 0;
}

static void block_out(run_t *r, cohort_node_id_t id, bool block) {
  for (cohort_node_id_t j = 1; j <= r->o->nodes; j++)
    if (j != id) (void)cohort_sim_block(r->sim, id, j, block);
}

static int64_t pause_gap(run_t *r) {
  return (int64_t)(-log(rng_unit(&r->rng)) * r->m->pause_every_s * 1e9);
}

static int64_t pause_len(run_t *r) {
  const model_t *m = r->m;
  double ms = m->pause_min_ms / pow(rng_unit(&r->rng), 1.0 / m->pause_alpha);
  return (int64_t)(fmin(ms, m->pause_max_ms) * 1e6);
}

/* Advance to `t`, applying pause starts and ends on the way, and account
 * the live monitor × live peer time. */
static int advance(run_t *r, int64_t t) {
  for (;;) {
    int64_t next = t;
    cohort_node_id_t who = 0;
    for (cohort_node_id_t i = 1; r->m->pause_every_s > 0 && i <= r->o->nodes; i++) {
      int64_t at = r->paused[i] ? r->pause_end[i] : r->pause_next[i];
      if (at < next) next = at, who = i;
    }
    int64_t from = cohort_sim_now(r->sim);
    uint32_t up = r->o->nodes - (r->victim ? 1u : 0u);
    if (r->measuring) r->pair_ns += (double)(next - from) * up * (up - 1);
    int rc = cohort_sim_run_until(r->sim, next);
    if (rc < 0 || !who) return rc;
    if (r->paused[who]) { /* the pause ends */
      r->paused[who] = false;
      block_out(r, who, false);
      r->pause_next[who] = next + pause_gap(r);
    } else if (who == r->victim) { /* down: no pause, try later */
      r->pause_next[who] = next + pause_gap(r);
    } else {
      r->paused[who] = true;
      r->pause_end[who] = next + pause_len(r);
      block_out(r, who, true);
    }
  }
}

/* One crash of `victim` at a random phase of the next period, its detection
 * by the survivors, and its restart. */
static int crash_cycle(run_t *r, cohort_node_id_t victim, int64_t start) {
  int64_t at = start + (int64_t)(rng_unit(&r->rng) * (double)r->o->interval_ns);
  int rc = advance(r, at);
  if (rc < 0) return rc;
  if (r->paused[victim]) {
    r->paused[victim] = false;
    block_out(r, victim, false);
  }
  if ((rc = cohort_sim_crash(r->sim, victim)) < 0) return rc;
  r->victim = victim;
  r->crashed_at = cohort_sim_now(r->sim);
  memset(r->detected, 0, sizeof r->detected);
  /* Detection time is from the crash to the start of the suspicion that
   * lasts: a monitor that (falsely) suspects the victim already, and will
   * not hear from it again, detected the crash at once. */
  for (cohort_node_id_t i = 1; i <= r->o->nodes; i++) {
    cohort_fd_t *fd = cohort_fd_from_proto(cohort_sim_proto(r->sim, i, "fd"));
    if (!fd || !cohort_fd_is_suspected(fd, victim) || r->lat_len >= SAMPLES_MAX) continue;
    r->detected[i] = true;
    r->lat_ms[r->lat_len++] = 0.0;
  }
  if ((rc = advance(r, r->crashed_at + r->o->down_ns)) < 0) return rc;
  for (cohort_node_id_t i = 1; i <= r->o->nodes; i++) {
    if (i == victim || r->detected[i]) continue;
    r->missed++; /* censored: counted at the time it came back */
    if (r->lat_len < SAMPLES_MAX) r->lat_ms[r->lat_len++] = (double)r->o->down_ns / 1e6;
  }
  if ((rc = cohort_sim_restart(r->sim, victim, false)) < 0) return rc;
  r->victim = 0;
  return hook_node(r, victim);
}

static int scenario_for(const options_t *o, const model_t *m, const setting_t *s,
                        cohort_scenario_t **out, char *err, size_t errcap) {
  static char text[32768]; /* 32 nodes: 256 link lines of ~60 bytes */
  char det[96];
  if (s->detector == COHORT_FD_PHI)
    snprintf(det, sizeof det, "detector=phi threshold=%g pause=0s", s->threshold);
  else snprintf(det, sizeof det, "detector=fixed timeout=%" PRId64 "ms", s->timeout_ns / MS);
  snprintf(text, sizeof text,
           "# cohort bench fd: model %s\n"
           "nodes %u\nduration %" PRId64 "ms\n"
           "protocol fd mode=push interval=%" PRId64 "ms %s\n"
           "network %s\n",
           m->name, o->nodes, o->duration_ns / MS + 1000, o->interval_ns / MS, det,
           m->network);
  for (uint32_t a = 1; m == &models[TWO_SITES] && a <= o->nodes; a += 2)
    for (uint32_t b = 2; b <= o->nodes; b += 2) {
      size_t used = strlen(text);
      snprintf(text + used, sizeof text - used, "link %u<->%u %s\n", a, b, WAN_LINK);
    }
  return cohort_scenario_parse(text, strlen(text), m->name, NULL, out, err, errcap);
}

static int run_body(run_t *r) {
  int rc = 0;
  for (cohort_node_id_t i = 1; i <= r->o->nodes && !rc; i++) {
    rc = hook_node(r, i);
    r->pause_next[i] = r->m->pause_every_s > 0 ? pause_gap(r) : INT64_MAX;
  }
  /* Warm up: 20 s of heartbeats fill most of every window; the start-up
   * transient (windows of one or two samples) is not measured. */
  int64_t t = 20 * SEC;
  if (!rc) rc = advance(r, t);
  r->measuring = true;
  cohort_node_id_t victim = 1;
  while (!rc && t + r->o->period_ns <= r->o->duration_ns) {
    rc = crash_cycle(r, victim, t);
    victim = victim % r->o->nodes + 1;
    t += r->o->period_ns;
  }
  if (!rc) rc = advance(r, r->o->duration_ns);
  return rc;
}

static int run_one(const options_t *o, const model_t *m, const setting_t *s, result_t *res) {
  char err[512];
  cohort_scenario_t *sc = NULL;
  int rc = scenario_for(o, m, s, &sc, err, sizeof err);
  if (rc < 0) {
    fprintf(stderr, "cohort bench fd: scenario: %s\n", err);
    return rc;
  }
  run_t r = {.o = o, .m = m, .rng = o->seed ^ 0x5eedfdfdull};
  r.lat_ms = calloc(SAMPLES_MAX, sizeof *r.lat_ms);
  cohort_sim_config_t cfg = {.seed = o->seed};
  if (!r.lat_ms) rc = COHORT_ENOMEM;
  else if ((rc = cohort_sim_new(sc, &cfg, &r.sim, err, sizeof err)) < 0)
    fprintf(stderr, "cohort bench fd: simulator: %s\n", err);
  else if ((rc = run_body(&r)) < 0)
    fprintf(stderr, "cohort bench fd: run failed: %s\n", cohort_strerror(rc));
  if (rc == 0) {
    memset(res, 0, sizeof *res);
    res->s = *s;
    qsort(r.lat_ms, r.lat_len, sizeof *r.lat_ms, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < r.lat_len; i++) sum += r.lat_ms[i];
    res->detections = r.lat_len;
    res->missed = r.missed;
    res->mean_ms = r.lat_len ? sum / (double)r.lat_len : NAN;
    res->p50_ms = quantile(r.lat_ms, r.lat_len, 0.50);
    res->p99_ms = quantile(r.lat_ms, r.lat_len, 0.99);
    res->false_susp = r.false_susp;
    res->false_in_pause = r.false_in_pause;
    res->pair_hours = r.pair_ns / 3600e9;
  }
  cohort_sim_free(r.sim);
  cohort_scenario_free(sc);
  free(r.lat_ms);
  return rc;
}

/* ---- report ------------------------------------------------------------------ */

static double fs_rate(const result_t *x) {
  return x->pair_hours > 0 ? (double)x->false_susp / x->pair_hours : NAN;
}

static void print_table(const model_t *m, const result_t *res, size_t n, const options_t *o) {
  printf("\nmodel %s: %s\n", m->name, m->about);
  printf("  %u nodes, heartbeat every %" PRId64 "ms, %.0f s simulated per setting, "
         "%.1f monitored node-hours each\n",
         o->nodes, o->interval_ns / MS, (double)o->duration_ns / 1e9,
         n ? res[0].pair_hours : 0.0);
  printf("  %-13s %9s %9s %9s %8s %8s %12s\n", "detector", "mean ms", "p50 ms", "p99 ms",
         "samples", "missed", "false/node-h");
  for (size_t i = 0; i < n; i++) {
    char label[32];
    setting_label(&res[i].s, label, sizeof label);
    printf("  %-13s %9.1f %9.1f %9.1f %8" PRIu64 " %8" PRIu64 " %12.3f", label, res[i].mean_ms,
           res[i].p50_ms, res[i].p99_ms, res[i].detections, res[i].missed, fs_rate(&res[i]));
    if (res[i].false_in_pause) printf("  (%" PRIu64 " in pauses)", res[i].false_in_pause);
    printf("\n");
  }
}

/* Mean latency of detector `d` at false-suspicion rate `rate`, linear in
 * log10(rate) between the two settings that bracket it; NAN when the grid
 * does not reach that rate. */
static double latency_at(const result_t *res, size_t n, cohort_fd_detector_t d, double rate) {
  const result_t *lo = NULL, *hi = NULL; /* rate just below / just above */
  for (size_t i = 0; i < n; i++) {
    const result_t *x = &res[i];
    double r = fs_rate(x);
    if (x->s.detector != d || x->missed || !(r > 0)) continue;
    if (r <= rate && (!lo || r > fs_rate(lo))) lo = x;
    if (r >= rate && (!hi || r < fs_rate(hi))) hi = x;
  }
  if (!lo || !hi) return NAN;
  if (lo == hi) return lo->mean_ms;
  double t = (log10(rate) - log10(fs_rate(lo))) / (log10(fs_rate(hi)) - log10(fs_rate(lo)));
  return lo->mean_ms + t * (hi->mean_ms - lo->mean_ms);
}

/* For each fixed timeout with a measurable false-suspicion rate, the phi
 * accrual latency at that same rate. */
static void print_summary(const result_t *res, size_t n) {
  printf("  at equal false-suspicion rates (phi interpolated on log rate):\n");
  for (size_t i = 0; i < n; i++) {
    const result_t *f = &res[i];
    double rate = fs_rate(f);
    if (f->s.detector != COHORT_FD_FIXED || !(rate > 0)) continue;
    double phi_ms = latency_at(res, n, COHORT_FD_PHI, rate);
    char label[32];
    setting_label(&f->s, label, sizeof label);
    if (isnan(phi_ms)) {
      printf("    %9.3f /node-h: %-13s %7.1f ms, phi: out of the grid\n", rate, label,
             f->mean_ms);
      continue;
    }
    double gain = (f->mean_ms - phi_ms) / f->mean_ms * 100;
    printf("    %9.3f /node-h: %-13s %7.1f ms, phi %7.1f ms: %s by %.0f%%\n", rate, label,
           f->mean_ms, phi_ms, gain > 0 ? "phi faster" : "fixed faster", fabs(gain));
  }
}

/* ---- the plot ------------------------------------------------------------------ */

#define PANEL_W 400
#define PANEL_H 330
#define PAD_L 62
#define PAD_R 16
#define PAD_T 58
#define PAD_B 48

typedef struct axes {
  double x0, y0;       /* panel origin */
  double dec_lo, dec_hi; /* log10 range of non-zero rates */
  double y_min_ms, y_max_ms; /* log scale */
} axes_t;

static double ax_x(const axes_t *a, double rate) {
  double w = PANEL_W - PAD_L - PAD_R;
  /* Zero rates sit half a decade left of the axis, at the "0" tick. */
  double d = rate > 0 ? log10(rate) : a->dec_lo - 0.6;
  return a->x0 + PAD_L + (d - (a->dec_lo - 0.8)) / (a->dec_hi - a->dec_lo + 0.8) * w;
}

static double ax_y(const axes_t *a, double ms) {
  double h = PANEL_H - PAD_T - PAD_B;
  double v = fmin(fmax(ms, a->y_min_ms), a->y_max_ms);
  return a->y0 + PAD_T + h - log10(v / a->y_min_ms) / log10(a->y_max_ms / a->y_min_ms) * h;
}

static void svg_axes(FILE *f, const axes_t *a, const model_t *m) {
  double left = a->x0 + PAD_L, right = a->x0 + PANEL_W - PAD_R;
  double top = a->y0 + PAD_T, bottom = a->y0 + PANEL_H - PAD_B;
  fprintf(f, "<text x='%.1f' y='%.1f' class='t'>%s</text>\n", left, top - 22, m->name);
  fprintf(f, "<text x='%.1f' y='%.1f' class='s'>%s</text>\n", left, top - 8, m->about);
  fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' class='frame'/>\n", left, top,
          right - left, bottom - top);
  for (double d = a->dec_lo; d <= a->dec_hi + 1e-9; d += 1) {
    double x = ax_x(a, pow(10, d));
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>\n", x, top, x,
            bottom);
    fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>%g</text>\n", x,
            bottom + 14, pow(10, d));
  }
  fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>0</text>\n",
          ax_x(a, 0), bottom + 14);
  static const double ticks[] = {10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(ticks); i++) {
    if (ticks[i] < a->y_min_ms || ticks[i] > a->y_max_ms) continue;
    double y = ax_y(a, ticks[i]);
    fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>\n", left, y,
            right, y);
    fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='end'>%.0f</text>\n", left - 4,
            y + 4, ticks[i]);
  }
  fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>false suspicions per "
             "monitored node-hour (log)</text>\n", (left + right) / 2, bottom + 32);
  fprintf(f, "<text transform='translate(%.1f,%.1f) rotate(-90)' class='tick' "
             "text-anchor='middle'>detection latency, ms (log)</text>\n",
          a->x0 + 16, (top + bottom) / 2);
}

static void svg_curve(FILE *f, const axes_t *a, const result_t *res, size_t n,
                      cohort_fd_detector_t d, bool p99) {
  const char *cls = d == COHORT_FD_PHI ? "phi" : "fixed";
  fprintf(f, "<polyline class='%s%s' points='", cls, p99 ? " p99" : "");
  for (size_t i = 0; i < n; i++)
    if (res[i].s.detector == d)
      fprintf(f, "%.1f,%.1f ", ax_x(a, fs_rate(&res[i])),
              ax_y(a, p99 ? res[i].p99_ms : res[i].mean_ms));
  fprintf(f, "'/>\n");
  if (p99) return;
  for (size_t i = 0; i < n; i++) {
    if (res[i].s.detector != d) continue;
    double x = ax_x(a, fs_rate(&res[i])), y = ax_y(a, res[i].mean_ms);
    char label[32];
    setting_label(&res[i].s, label, sizeof label);
    fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' class='%s'><title>%s: mean %.1f ms, p99 "
               "%.1f ms, %.3f false/node-h</title></circle>\n",
            x, y, cls, label, res[i].mean_ms, res[i].p99_ms, fs_rate(&res[i]));
    fprintf(f, "<text x='%.1f' y='%.1f' class='lbl %s'>%s</text>\n", x + 4, y - 4, cls,
            strchr(label, ' ') + 1);
  }
}

static void plot_range(const result_t *res, size_t n, axes_t *a) {
  double lo = INFINITY, hi = -INFINITY, ymin = INFINITY, ymax = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fs_rate(&res[i]);
    if (r > 0) lo = fmin(lo, r), hi = fmax(hi, r);
    if (isfinite(res[i].p99_ms)) ymax = fmax(ymax, res[i].p99_ms);
    if (res[i].mean_ms > 0) ymin = fmin(ymin, res[i].mean_ms);
  }
  a->dec_lo = isfinite(lo) ? floor(log10(lo)) : -2;
  a->dec_hi = isfinite(hi) ? fmax(ceil(log10(hi)), a->dec_lo + 1) : a->dec_lo + 3;
  a->y_min_ms = isfinite(ymin) ? pow(10, floor(log10(ymin) * 2) / 2) : 10;
  a->y_max_ms = fmax(a->y_min_ms * 10, pow(10, ceil(log10(ymax) * 2) / 2));
}

static int write_svg(const char *path, const result_t res[MODELS][2 * GRID_MAX],
                     const size_t len[MODELS], const options_t *o) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "cohort bench fd: %s: %s\n", path, strerror(errno));
    return COHORT_EIO;
  }
  axes_t a = {0};
  result_t all[MODELS * 2 * GRID_MAX];
  size_t all_len = 0;
  for (size_t m = 0; m < MODELS; m++)
    for (size_t i = 0; i < len[m]; i++) all[all_len++] = res[m][i];
  plot_range(all, all_len, &a);
  fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
             "font-family='sans-serif'>\n<style>"
             ".t{font-size:15px;font-weight:bold}.s,.tick{font-size:11px;fill:#333}"
             ".lbl{font-size:9px}.frame{fill:none;stroke:#444}.grid{stroke:#ddd}"
             "polyline{fill:none;stroke-width:2}polyline.p99{stroke-width:1;"
             "stroke-dasharray:4 3}polyline.phi{stroke:#c0392b}polyline.fixed{stroke:#2471a3}"
             "circle.phi,text.phi{fill:#c0392b}circle.fixed,text.fixed{fill:#2471a3}</style>\n",
          2 * PANEL_W + 20, (MODELS + 1) / 2 * PANEL_H + 60);
  fprintf(f, "<text x='12' y='20' class='t'>cohort bench fd: detection latency vs false "
             "suspicions, %u nodes, heartbeat %" PRId64 "ms, seed %" PRIu64 "</text>\n",
          o->nodes, o->interval_ns / MS, o->seed);
  fprintf(f, "<text x='12' y='36' class='s'><tspan class='phi' fill='#c0392b'>phi accrual "
             "(label: threshold)</tspan>  <tspan fill='#2471a3'>fixed timeout (label: ms)"
             "</tspan>  solid: mean, dashed: p99</text>\n");
  for (size_t m = 0; m < MODELS; m++) {
    a.x0 = 10 + (double)(m % 2) * PANEL_W;
    a.y0 = 40 + (double)(m / 2) * PANEL_H;
    svg_axes(f, &a, &models[m]);
    for (int d = 0; d < 2; d++)
      for (int p99 = 1; p99 >= 0; p99--)
        svg_curve(f, &a, res[m], len[m], d ? COHORT_FD_FIXED : COHORT_FD_PHI, p99);
  }
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    fprintf(stderr, "cohort bench fd: %s: %s\n", path, strerror(errno));
    return COHORT_EIO;
  }
  return 0;
}

/* ---- command line --------------------------------------------------------------- */

static int usage(FILE *f) {
  fprintf(f,
          "usage: cohort bench fd [-o FILE.svg] [--seed N] [--nodes N] [--duration D]\n"
          "                       [--period D] [--down D] [--quick]\n"
          "  Fixed timeout against phi accrual in the simulator, over four network\n"
          "  models (jitter, loss, GC-like pauses, two sites): detection latency after\n"
          "  a crash and false suspicions per monitored node-hour, per setting.\n"
          "  -o FILE      SVG plot (default bench-fd.svg)\n"
          "  --seed N     simulator seed (default 1)\n"
          "  --nodes N    cluster size, 3..%d (default 6)\n"
          "  --duration D simulated time per setting (default 900s)\n"
          "  --period D   time between crashes (default 15s); --down D: downtime (5s)\n"
          "  --quick      a short run (120s per setting), for smoke tests\n",
          NODES_MAX);
  return f == stdout ? 0 : 2;
}

static int parse_args(int argc, char **argv, options_t *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t u;
    int rc = 0;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout) ? 2 : 1;
    if (!strcmp(a, "--quick")) {
      o->duration_ns = 120 * SEC;
      continue;
    }
    if (!v) {
      fprintf(stderr, "cohort bench fd: %s: missing value (or unknown option)\n", a);
      return 2;
    }
    i++;
    if (!strcmp(a, "-o")) o->svg_path = v;
    else if (!strcmp(a, "--seed")) rc = cohort_parse_u64(v, &o->seed);
    else if (!strcmp(a, "--nodes"))
      rc = cohort_parse_u64(v, &u) || u < 3 || u > NODES_MAX ? COHORT_EINVAL
                                                             : (o->nodes = (uint32_t)u, 0);
    else if (!strcmp(a, "--duration")) rc = cohort_parse_duration(v, &o->duration_ns);
    else if (!strcmp(a, "--period")) rc = cohort_parse_duration(v, &o->period_ns);
    else if (!strcmp(a, "--down")) rc = cohort_parse_duration(v, &o->down_ns);
    else {
      fprintf(stderr, "cohort bench fd: unknown option '%s'\n", a);
      return usage(stderr);
    }
    if (rc) {
      fprintf(stderr, "cohort bench fd: %s: bad value '%s'\n", a, v);
      return 2;
    }
  }
  if (o->down_ns < 2 * SEC || o->period_ns <= o->down_ns + o->interval_ns ||
      o->duration_ns < 20 * SEC + o->period_ns || o->duration_ns > 100 * 3600 * SEC) {
    fprintf(stderr, "cohort bench fd: need --down >= 2s, --period > --down, "
                    "--duration >= 20s + period (and <= 100h)\n");
    return 2;
  }
  return 0;
}

static size_t grid(setting_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < COHORT_ARRAY_LEN(phi_grid); i++)
    out[n++] = (setting_t){.detector = COHORT_FD_PHI, .threshold = phi_grid[i]};
  for (size_t i = 0; i < COHORT_ARRAY_LEN(fixed_grid_ms); i++)
    out[n++] = (setting_t){.detector = COHORT_FD_FIXED, .timeout_ns = fixed_grid_ms[i] * MS};
  return n;
}

int cohort_bench_fd(int argc, char **argv) {
  options_t o = {.svg_path = "bench-fd.svg", .seed = 1, .nodes = 6, .duration_ns = 900 * SEC,
                 .period_ns = 15 * SEC, .down_ns = 5 * SEC, .interval_ns = 100 * MS};
  int rc = parse_args(argc, argv, &o);
  if (rc) return rc == 1 ? 0 : rc;
  static result_t res[MODELS][2 * GRID_MAX];
  size_t len[MODELS] = {0};
  setting_t settings[2 * GRID_MAX];
  size_t n = grid(settings);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t m = 0; m < MODELS; m++) {
    for (size_t i = 0; i < n; i++) {
      if (run_one(&o, &models[m], &settings[i], &res[m][len[m]]) < 0) return 1;
      len[m]++;
    }
    print_table(&models[m], res[m], len[m], &o);
    print_summary(res[m], len[m]);
    fflush(stdout);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("\n%zu runs, %.0f s simulated each, in %.1f s of wall time; seed %" PRIu64 "\n",
         MODELS * n, (double)o.duration_ns / 1e9, wall, o.seed);
  if (write_svg(o.svg_path, res, len, &o) < 0) return 1;
  printf("plot: %s\n", o.svg_path);
  return 0;
}
