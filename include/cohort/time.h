/*
 * cohort/time.h — the cluster clock: a node's synchronized time with an
 * error interval, TrueTime style. A software clock per node, disciplined by
 * a timesync protocol (NTP, PTP or Cristian, cohort/timesync.h) from the
 * node's own oscillator — never the system clock.
 *
 * The model. The oscillator is a local clock L (the node's monotonic
 * clock: it drifts but never steps). The clock keeps
 *
 *   est(L) = base_est + (L − base_local)·(1 + freq)     best estimate
 *   out(L) = est(L) − rem(L)                            what now() shows
 *
 * An update with measured offset θ (true − est at the oscillator time L_m
 * of the measurement) and root distance λ moves est by part of θ and
 * corrects freq (a phase-frequency loop); out follows est by slewing — the
 * remainder rem shrinks at most at max_slew — unless |rem| exceeds the step
 * threshold, when out steps. The interval is
 *
 *   [est + c − w(L), est + c + w(L)],  w(L) = λ + drift_bound·(L − L_m)
 *
 * where c is the part of θ not yet applied: it holds true time whenever
 * the protocol's λ does (a truechimer's offset lies within λ of θ) and the
 * oscillator's residual rate error stays within drift_bound. The drift
 * term runs from the *measurement*, not from the update: a protocol may
 * apply a sample some time after it was taken (NTP's clock filter hands
 * over its minimum-delay sample, which can be several polls old), and est
 * has been drifting since the sample was true.
 *
 * Invariants: now().time_ns never decreases while synchronized (a
 * backward step holds it until the clock catches up); earliest_ns never
 * decreases (a larger earliest seen before is still a valid lower bound);
 * earliest ≤ latest. Before the first update the clock is the free-running
 * oscillator mapped to its initial reading, flagged unsynchronized, with
 * an unbounded interval.
 */
#ifndef COHORT_TIME_H
#define COHORT_TIME_H

#include <stdbool.h>

#include "cohort/clock.h"
#include "cohort/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One reading of the cluster clock. */
typedef struct cohort_time {
  int64_t time_ns;     /* ns since the Unix epoch, monotonic */
  int64_t earliest_ns; /* true time is at least this */
  int64_t latest_ns;   /* and at most this */
  bool synchronized;   /* false: the interval is unbounded */
} cohort_time_t;

typedef struct cohort_cluster_clock_config {
  int64_t step_threshold_ns; /* step above this offset (128 ms) */
  int64_t max_slew_ppb;      /* slew rate limit (500 ppm = 500000 ppb) */
  int64_t drift_bound_ppb;   /* assumed |residual rate error| (200 ppm,
                                TrueTime's assumption) */
  int64_t freq_max_ppb;      /* frequency correction clamp (500 ppm) */
  double phase_gain;         /* part of θ applied per update (0.3) */
  double freq_gain;          /* frequency gain per update (0: phase_gain²/4,
                                critically damped) */
} cohort_cluster_clock_config_t;

typedef struct cohort_cluster_clock {
  cohort_cluster_clock_config_t cfg;
  int64_t base_local, base_est; /* est(L) anchor */
  double freq;                  /* frequency correction (ratio) */
  int64_t rem_ns, rem_local;    /* output slew remainder at rem_local */
  int64_t center_ns;            /* c: part of θ not yet applied */
  int64_t dist_ns;              /* λ at the last update */
  int64_t update_local;         /* L_m: when the last applied θ was measured */
  bool synchronized;
  bool floor_valid;
  int64_t last_time_ns, last_earliest_ns;
  uint64_t updates, steps;
  int64_t last_offset_ns;
  /* Frequency acquisition: corrections summed since the sample measured
   * at acq_local. */
  bool freq_locked;
  int64_t acq_local, acq_sum_ns, acq_dist_ns;
  uint64_t locked_updates; /* updates since the FLL locked */
} cohort_cluster_clock_t;

/* One measurement handed to the clock. */
typedef struct cohort_clock_sample {
  int64_t offset_ns;   /* θ: true − est at measured_ns, re-expressed against
                          every move of est since (the protocol re-bases) */
  int64_t distance_ns; /* λ ≥ 0: |true − est − θ| ≤ λ at measured_ns */
  int64_t measured_ns; /* oscillator time of the measurement */
  int64_t interval_ns; /* the protocol's update interval (poll) > 0: scales
                          the frequency loop */
} cohort_clock_sample_t;

/* Outcome of one update, for the protocol (which re-bases its stored
 * samples on the moved estimate) and for traces. */
typedef struct cohort_clock_update {
  int64_t applied_ns; /* how far est moved (forward positive) */
  bool stepped;       /* the output stepped rather than slewed */
  double freq_ppm;    /* frequency correction after the update */
} cohort_clock_update_t;

/* Defaults (0 fields of a config mean "the default"). */
void cohort_cluster_clock_config_default(cohort_cluster_clock_config_t *cfg);
/* Start free-running: est(local_ns) = initial_ns. cfg may be NULL.
 * COHORT_EINVAL for a negative or absurd configuration value. */
int cohort_cluster_clock_init(cohort_cluster_clock_t *c,
                              const cohort_cluster_clock_config_t *cfg,
                              int64_t local_ns, int64_t initial_ns);
/* est(local): the best estimate, which protocols stamp packets with. */
int64_t cohort_cluster_clock_estimate(const cohort_cluster_clock_t *c,
                                      int64_t local_ns);
/* Apply sample s at oscillator time local_ns. COHORT_EINVAL (nothing
 * changed) for λ < 0, interval ≤ 0 or a measurement later than local_ns. */
int cohort_cluster_clock_update(cohort_cluster_clock_t *c, int64_t local_ns,
                                const cohort_clock_sample_t *s,
                                cohort_clock_update_t *out);
/* Set the clock from a reference (a stratum-1 source that *is* true time
 * within distance_ns): est = reference_ns, frequency kept, synchronized. */
void cohort_cluster_clock_set(cohort_cluster_clock_t *c, int64_t local_ns,
                              int64_t reference_ns, int64_t distance_ns);
/* The clock at local time local_ns (local_ns must not decrease between
 * calls). Not const: it keeps the monotonic floors. */
cohort_time_t cohort_cluster_clock_now(cohort_cluster_clock_t *c,
                                       int64_t local_ns);
/* Half-width of the interval at local_ns (INT64_MAX when unsynchronized). */
int64_t cohort_cluster_clock_error(const cohort_cluster_clock_t *c,
                                   int64_t local_ns);
/* The hybrid logical clock with the cluster clock as its physical time
 * source: cohort_hlc_now(h, now(c, local).time_ns). */
cohort_hlc_ts_t cohort_cluster_clock_hlc(cohort_cluster_clock_t *c,
                                         cohort_hlc_t *h, int64_t local_ns);

#ifdef __cplusplus
}
#endif
#endif
