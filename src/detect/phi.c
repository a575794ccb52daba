/*
 * src/detect/phi.c — the phi accrual arithmetic: φ from a silence and a
 * normal model of inter-arrival times, and the bounded sliding window that
 * learns the model.
 *
 * Invariants: a window holds at most `cap` samples (≤ COHORT_FD_WINDOW_MAX),
 * each ≤ COHORT_FD_SAMPLE_MAX_NS, stored in µs; sum_us and sumsq_us2 are the
 * exact integer sums of the stored samples and their squares (the bounds
 * keep them below 2^64: 1000 × (6·10^7)² = 3.6·10^18), so the mean and the
 * variance never drift however many samples slide through. φ is finite,
 * ≥ 0, ≤ COHORT_FD_PHI_MAX and non-decreasing in the silence.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cohort/detect.h"

_Static_assert((uint64_t)COHORT_FD_WINDOW_MAX * (uint64_t)(COHORT_FD_SAMPLE_MAX_NS / 1000) *
                       (uint64_t)(COHORT_FD_SAMPLE_MAX_NS / 1000) <
                   UINT64_MAX / 2,
               "a full window's sum of squares must fit in 64 bits");
_Static_assert(COHORT_FD_SAMPLE_MAX_NS / 1000 <= UINT32_MAX,
               "a sample in µs must fit in 32 bits");

/* Below this argument erfc is a normal double (erfc(26) ≈ 6e-296); above
 * it, the asymptotic expansion takes over. */
#define ERFC_DIRECT_MAX 26.0

/* ln(0.5 · erfc(x)) for large x, from erfc(x) = e^(−x²)/(x√π) ·
 * (1 − 1/(2x²) + 3/(4x⁴) − …); the next term is below 1e-9 at x = 26. */
static double log_half_erfc_tail(double x) {
  double x2 = x * x;
  return -x2 - log(x * sqrt(M_PI)) + log1p(-0.5 / x2 + 0.75 / (x2 * x2)) - M_LN2;
}

double cohort_fd_phi_compute(double since_ns, double mean_ns, double stddev_ns) {
  COHORT_ASSERT(stddev_ns > 0);
  if (isnan(since_ns) || isnan(mean_ns)) return 0.0;
  /* 1 − F(t) = ½·erfc((t − µ) / (σ√2)) for the normal CDF F. */
  double x = (since_ns - mean_ns) / (stddev_ns * M_SQRT2);
  double phi;
  if (x < ERFC_DIRECT_MAX) phi = -log10(0.5 * erfc(x));
  else phi = -log_half_erfc_tail(x) / M_LN10;
  if (!(phi > 0.0)) return 0.0; /* also catches −0 from x → −∞ */
  return phi < COHORT_FD_PHI_MAX ? phi : COHORT_FD_PHI_MAX;
}

/* ---- the window ---------------------------------------------------------- */

int cohort_fd_window_init(cohort_fd_window_t *w, uint32_t cap,
                          const cohort_allocator_t *alloc) {
  if (cap < 2 || cap > COHORT_FD_WINDOW_MAX) return COHORT_EINVAL;
  uint32_t *samples = cohort_calloc(alloc, cap, sizeof *samples);
  if (!samples) return COHORT_ENOMEM;
  memset(w, 0, sizeof *w);
  w->samples_us = samples;
  w->cap = cap;
  return 0;
}

void cohort_fd_window_close(cohort_fd_window_t *w, const cohort_allocator_t *alloc) {
  if (!w) return;
  if (w->samples_us) cohort_free(alloc, w->samples_us);
  memset(w, 0, sizeof *w);
}

void cohort_fd_window_reset(cohort_fd_window_t *w) {
  w->len = 0;
  w->head = 0;
  w->sum_us = 0;
  w->sumsq_us2 = 0;
}

void cohort_fd_window_push(cohort_fd_window_t *w, int64_t gap_ns) {
  COHORT_ASSERT(w->samples_us != NULL);
  if (gap_ns < 0) gap_ns = 0;
  if (gap_ns > COHORT_FD_SAMPLE_MAX_NS) gap_ns = COHORT_FD_SAMPLE_MAX_NS;
  uint64_t us = (uint64_t)(gap_ns + 500) / 1000;
  /* No division on this path (it runs for every heartbeat of every peer):
   * head < cap and len <= cap, so one conditional subtraction wraps. */
  if (w->len == w->cap) { /* full: the oldest, at head, makes room */
    uint64_t old = w->samples_us[w->head];
    w->sum_us -= old;
    w->sumsq_us2 -= old * old;
    w->samples_us[w->head] = (uint32_t)us;
    if (++w->head == w->cap) w->head = 0;
  } else {
    uint32_t at = w->head + w->len;
    if (at >= w->cap) at -= w->cap;
    w->samples_us[at] = (uint32_t)us;
    w->len++;
  }
  w->sum_us += us;
  w->sumsq_us2 += us * us;
  COHORT_DEBUG_ASSERT(w->len <= w->cap);
}

double cohort_fd_window_mean_ns(const cohort_fd_window_t *w) {
  if (w->len == 0) return 0.0;
  return (double)w->sum_us / (double)w->len * 1000.0;
}

double cohort_fd_window_stddev_ns(const cohort_fd_window_t *w) {
  if (w->len == 0) return 0.0;
  /* Population variance E[x²] − E[x]², in long double: the sums are exact,
   * so only this subtraction can lose digits. */
  long double n = (long double)w->len;
  long double mean = (long double)w->sum_us / n;
  long double var = (long double)w->sumsq_us2 / n - mean * mean;
  if (var <= 0) return 0.0;
  return (double)sqrtl(var) * 1000.0;
}
