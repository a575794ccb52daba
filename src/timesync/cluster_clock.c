/*
 * src/timesync/cluster_clock.c — the disciplined software clock with an
 * error interval (cohort/time.h): a phase-frequency loop on a best
 * estimate est(L), an output that follows est by rate-limited slewing or
 * steps, and a TrueTime-style interval around est.
 *
 * Invariants: est is re-anchored at every update so (L − base_local) stays
 * one poll interval long and the double product keeps ns precision; the
 * output slews at most max_slew (< 1), so it never runs backwards; the
 * monotonic floors only ever rise, also across the first synchronization:
 * a step backwards (at acquisition or above the step threshold) holds the
 * output until the estimate catches up, as a monotonic clock must. Every
 * time-based quantity of a sample (interval growth, the FLL baseline, the
 * PI loop's interval) is measured from when the sample was *taken*, which
 * may be well before it is applied.
 */
#include <math.h>

#include "cohort/time.h"

#define PPB 1e-9
/* Updates over which the initial frequency is measured. */
#define COHORT_CLOCK_FLL_INTERVALS 4

void cohort_cluster_clock_config_default(cohort_cluster_clock_config_t *cfg) {
  *cfg = (cohort_cluster_clock_config_t){
      .step_threshold_ns = 128 * COHORT_NS_PER_MS,
      .max_slew_ppb = 500000,
      .drift_bound_ppb = 200000,
      .freq_max_ppb = 500000,
      .phase_gain = 0.3,
      .freq_gain = 0.0, /* phase_gain² / 4: see config_fill */
  };
}

static int config_fill(cohort_cluster_clock_config_t *out,
                       const cohort_cluster_clock_config_t *in) {
  cohort_cluster_clock_config_t d;
  cohort_cluster_clock_config_default(&d);
  if (!in) {
    *out = d;
    return 0;
  }
  *out = *in;
  if (!out->step_threshold_ns) out->step_threshold_ns = d.step_threshold_ns;
  if (!out->max_slew_ppb) out->max_slew_ppb = d.max_slew_ppb;
  if (!out->drift_bound_ppb) out->drift_bound_ppb = d.drift_bound_ppb;
  if (!out->freq_max_ppb) out->freq_max_ppb = d.freq_max_ppb;
  if (out->phase_gain == 0.0) out->phase_gain = d.phase_gain;
  /* The PI loop is a second-order loop: per update e ← e − g·θ, and
   * f ← f + k·θ/τ. Its poles coincide (critical damping: the fastest
   * settling without overshoot, and the least noise let through) at
   * k = g²/4; a larger k rings, and feeds the measurement noise into the
   * frequency, which then walks the phase around. */
  if (out->freq_gain == 0.0) out->freq_gain = out->phase_gain * out->phase_gain / 4.0;
  if (out->step_threshold_ns < 0 || out->drift_bound_ppb < 0) return COHORT_EINVAL;
  if (out->max_slew_ppb < 0 || out->max_slew_ppb >= 100000000) return COHORT_EINVAL;
  if (out->freq_max_ppb < 0 || out->freq_max_ppb >= 100000000) return COHORT_EINVAL;
  if (!(out->phase_gain > 0.0 && out->phase_gain <= 1.0)) return COHORT_EINVAL;
  if (!(out->freq_gain > 0.0 && out->freq_gain <= 1.0)) return COHORT_EINVAL;
  return 0;
}

int cohort_cluster_clock_init(cohort_cluster_clock_t *c,
                              const cohort_cluster_clock_config_t *cfg,
                              int64_t local_ns, int64_t initial_ns) {
  cohort_cluster_clock_config_t conf;
  int rc = config_fill(&conf, cfg);
  if (rc) return rc;
  *c = (cohort_cluster_clock_t){.cfg = conf,
                                .base_local = local_ns,
                                .base_est = initial_ns,
                                .rem_local = local_ns,
                                .update_local = local_ns};
  return 0;
}

int64_t cohort_cluster_clock_estimate(const cohort_cluster_clock_t *c,
                                      int64_t local_ns) {
  int64_t dl = local_ns - c->base_local;
  return c->base_est + dl + (int64_t)llround((double)dl * c->freq);
}

/* Output remainder at local_ns: |rem| shrinks by max_slew per ns. */
static int64_t rem_at(const cohort_cluster_clock_t *c, int64_t local_ns) {
  if (c->rem_ns == 0) return 0;
  int64_t dl = local_ns - c->rem_local;
  if (dl < 0) dl = 0;
  double done = (double)dl * (double)c->cfg.max_slew_ppb * PPB;
  double left = fabs((double)c->rem_ns) - done;
  if (left <= 0.0) return 0;
  int64_t l = (int64_t)llround(left);
  return c->rem_ns > 0 ? l : -l;
}

/* Re-anchor est and rem at local_ns (no visible change). */
static void rebase(cohort_cluster_clock_t *c, int64_t local_ns) {
  c->base_est = cohort_cluster_clock_estimate(c, local_ns);
  c->base_local = local_ns;
  c->rem_ns = rem_at(c, local_ns);
  c->rem_local = local_ns;
}

/* Move est by delta: the output keeps its value (rem grows) unless the
 * remainder then exceeds the step threshold, when the output steps. */
static bool move_est(cohort_cluster_clock_t *c, int64_t delta) {
  c->base_est += delta;
  c->rem_ns += delta;
  if (c->rem_ns > c->cfg.step_threshold_ns || c->rem_ns < -c->cfg.step_threshold_ns ||
      !c->synchronized) {
    c->rem_ns = 0;
    c->steps++;
    return true;
  }
  return false;
}

static double clamp_freq(const cohort_cluster_clock_t *c, double f) {
  double m = (double)c->cfg.freq_max_ppb * PPB;
  return f > m ? m : f < -m ? -m : f;
}

/* The frequency loop. During acquisition the whole offset is applied at
 * every update, so the corrections summed since the first sample plus the
 * current θ are the drift between the two *measurements*: their span, not
 * the span between the updates that applied them, is the baseline. Its
 * error is at most (λ_first + λ_now) / span; the FLL locks once that is
 * within half the drift bound (and the span covers FLL_INTERVALS polls),
 * so the residual rate stays inside the bound the interval assumes (a
 * zero drift bound claims a perfect oscillator: the span alone decides).
 * Then one frequency kick, and the PI loop. Its gains start at the
 * least-squares ones for a line through n samples — phase 2(2n−1)/(n(n+1)),
 * frequency 6/(n(n+1)) (the growing-memory α-β filter) — and narrow to
 * the configured ones, so the loop settles fast and then averages long. */
static void freq_loop(cohort_cluster_clock_t *c, const cohort_clock_sample_t *s, bool restart,
                      double *gain) {
  if (restart) {
    *gain = 1.0; /* acquire: take the whole offset at once, restart the FLL */
    c->acq_local = s->measured_ns;
    c->acq_sum_ns = 0;
    c->acq_dist_ns = s->distance_ns;
    c->freq_locked = false;
  } else if (!c->freq_locked) {
    *gain = 1.0;
    int64_t span = s->measured_ns - c->acq_local;
    double err_ppb = span > 0 ? (double)(c->acq_dist_ns + s->distance_ns) / (double)span * 1e9
                              : INFINITY;
    if (span >= COHORT_CLOCK_FLL_INTERVALS * s->interval_ns &&
        (err_ppb <= 0.5 * (double)c->cfg.drift_bound_ppb || c->cfg.drift_bound_ppb == 0)) {
      c->freq = clamp_freq(c, c->freq + (double)(c->acq_sum_ns + s->offset_ns) / (double)span);
      c->freq_locked = true;
      c->locked_updates = 0;
    } else if (2 * s->distance_ns < c->acq_dist_ns) {
      /* A much tighter sample (NTP's λ shrinks as its filter fills): the
       * baseline may start again from it, as every acquisition update
       * applied its θ whole. */
      c->acq_local = s->measured_ns;
      c->acq_sum_ns = -s->offset_ns;
      c->acq_dist_ns = s->distance_ns;
    }
  } else {
    int64_t since = s->measured_ns - c->update_local;
    double mu = (double)(since > s->interval_ns ? since : s->interval_ns);
    double n = (double)(c->locked_updates + COHORT_CLOCK_FLL_INTERVALS);
    double alpha = 2.0 * (2.0 * n - 1.0) / (n * (n + 1.0)), beta = 6.0 / (n * (n + 1.0));
    double fg = beta > c->cfg.freq_gain ? beta : c->cfg.freq_gain;
    c->freq = clamp_freq(c, c->freq + fg * (double)s->offset_ns / mu);
    *gain = alpha > c->cfg.phase_gain ? alpha : c->cfg.phase_gain;
    c->locked_updates++;
  }
}

int cohort_cluster_clock_update(cohort_cluster_clock_t *c, int64_t local_ns,
                                const cohort_clock_sample_t *s,
                                cohort_clock_update_t *out) {
  if (s->distance_ns < 0 || s->interval_ns <= 0 || s->measured_ns > local_ns)
    return COHORT_EINVAL;
  rebase(c, local_ns);
  int64_t theta = s->offset_ns;
  double gain = c->cfg.phase_gain;
  bool big = theta > c->cfg.step_threshold_ns || theta < -c->cfg.step_threshold_ns;
  bool restart = c->updates == 0 || big;
  freq_loop(c, s, restart, &gain);
  int64_t applied = (int64_t)llround(gain * (double)theta);
  bool stepped = move_est(c, applied);
  if (!c->freq_locked && !restart) c->acq_sum_ns += applied;
  /* The interval: θ − applied about est, λ wide at the measurement, and
   * growing at the drift bound from the measurement on. */
  c->center_ns = theta - applied;
  c->dist_ns = s->distance_ns;
  c->update_local = s->measured_ns;
  c->last_offset_ns = theta;
  c->synchronized = true;
  c->updates++;
  if (out) {
    out->applied_ns = applied;
    out->stepped = stepped;
    out->freq_ppm = c->freq * 1e6;
  }
  return 0;
}

void cohort_cluster_clock_set(cohort_cluster_clock_t *c, int64_t local_ns,
                              int64_t reference_ns, int64_t distance_ns) {
  rebase(c, local_ns);
  int64_t delta = reference_ns - c->base_est;
  if (delta) (void)move_est(c, delta);
  c->center_ns = 0;
  c->dist_ns = distance_ns < 0 ? 0 : distance_ns;
  c->update_local = local_ns;
  c->synchronized = true;
  c->updates++;
}

int64_t cohort_cluster_clock_error(const cohort_cluster_clock_t *c,
                                   int64_t local_ns) {
  if (!c->synchronized) return INT64_MAX;
  int64_t age = local_ns - c->update_local;
  if (age < 0) age = 0;
  double grow = (double)age * (double)c->cfg.drift_bound_ppb * PPB;
  return c->dist_ns + (int64_t)ceil(grow);
}

cohort_time_t cohort_cluster_clock_now(cohort_cluster_clock_t *c,
                                       int64_t local_ns) {
  int64_t est = cohort_cluster_clock_estimate(c, local_ns);
  cohort_time_t t = {.time_ns = est - rem_at(c, local_ns),
                     .synchronized = c->synchronized,
                     .earliest_ns = INT64_MIN, .latest_ns = INT64_MAX};
  if (c->synchronized) {
    int64_t w = cohort_cluster_clock_error(c, local_ns);
    t.earliest_ns = est + c->center_ns - w;
    t.latest_ns = est + c->center_ns + w;
  }
  /* Monotonic output, before and after synchronization alike. */
  if (c->floor_valid) {
    if (t.time_ns < c->last_time_ns) t.time_ns = c->last_time_ns;
    if (t.earliest_ns < c->last_earliest_ns) t.earliest_ns = c->last_earliest_ns;
  }
  c->floor_valid = true;
  c->last_time_ns = t.time_ns;
  c->last_earliest_ns = t.earliest_ns;
  return t;
}

cohort_hlc_ts_t cohort_cluster_clock_hlc(cohort_cluster_clock_t *c,
                                         cohort_hlc_t *h, int64_t local_ns) {
  return cohort_hlc_now(h, cohort_cluster_clock_now(c, local_ns).time_ns);
}
