/*
 * tools/progress.c — see progress.h. Output goes to stderr, only on a TTY:
 * one line per step, since the work itself prints between steps.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tool_progress_duration(double s, char *buf, size_t cap) {
  long t = s < 0 ? 0 : (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, cap, "%lds", t);
}

void tool_progress_start(tool_progress_t *p, const char *label, size_t n) {
  p->label = label;
  p->n = n;
  p->k = 0;
  p->t0_s = now_s();
  p->on = isatty(STDERR_FILENO) && getenv("COHORT_NO_PROGRESS") == NULL;
}

void tool_progress_step(tool_progress_t *p, const char *what) {
  double elapsed = now_s() - p->t0_s;
  char el[32], eta[32] = "?";
  tool_progress_duration(elapsed, el, sizeof el);
  if (p->k > 0) tool_progress_duration(elapsed / (double)p->k * (double)(p->n - p->k), eta,
                                       sizeof eta);
  if (p->on) {
    fprintf(stderr, "\r\033[K%s: %zu of %zu (%s), %s elapsed, ETA %s\n", p->label, p->k + 1,
            p->n, what, el, eta);
    fflush(stderr);
  }
  p->k++;
}

void tool_progress_done(tool_progress_t *p) {
  if (!p->on) return;
  char el[32];
  tool_progress_duration(now_s() - p->t0_s, el, sizeof el);
  fprintf(stderr, "\r\033[K%s: %zu of %zu done in %s\n", p->label, p->k, p->n, el);
}
