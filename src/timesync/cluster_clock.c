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
 * output until the estimate catches up, as a monotonic clock must.
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
      .freq_gain = 0.05,
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
  if (out->freq_gain == 0.0) out->freq_gain = d.freq_gain;
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

int cohort_cluster_clock_update(cohort_cluster_clock_t *c, int64_t local_ns,
                                int64_t offset_ns, int64_t distance_ns,
                                int64_t interval_ns,
                                cohort_clock_update_t *out) {
  if (distance_ns < 0 || interval_ns <= 0) return COHORT_EINVAL;
  rebase(c, local_ns);
  int64_t since = local_ns - c->update_local;
  /* The part of the previous offset still unapplied is part of θ now. */
  int64_t theta = offset_ns;
  double gain = c->cfg.phase_gain;
  bool big = offset_ns > c->cfg.step_threshold_ns || offset_ns < -c->cfg.step_threshold_ns;
  int64_t acq_span = local_ns - c->acq_local;
  bool restart = c->updates == 0 || big;
  if (restart) {
    gain = 1.0; /* acquire: take the whole offset at once, restart the FLL */
    c->acq_local = local_ns;
    c->acq_sum_ns = 0;
    c->freq_locked = false;
  } else if (!c->freq_locked) {
    /* Frequency acquisition: the whole offset is applied each time, so
     * the corrections summed over at least FLL_INTERVALS poll intervals
     * are the drift over that span. Then one frequency kick, and the
     * phase-frequency loop from there. */
    gain = 1.0;
    if (acq_span >= COHORT_CLOCK_FLL_INTERVALS * interval_ns) {
      c->freq = clamp_freq(c, c->freq + (double)(c->acq_sum_ns + theta) / (double)acq_span);
      c->freq_locked = true;
    }
  } else {
    double mu = (double)(since > interval_ns ? since : interval_ns);
    c->freq = clamp_freq(c, c->freq + c->cfg.freq_gain * (double)theta / mu);
  }
  int64_t applied = (int64_t)llround(gain * (double)theta);
  bool stepped = move_est(c, applied);
  if (!c->freq_locked && !restart) c->acq_sum_ns += applied;
  c->center_ns = theta - applied;
  c->dist_ns = distance_ns;
  c->update_local = local_ns;
  c->last_offset_ns = offset_ns;
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
