/*
 * tools/progress.h — "k of n, elapsed, ETA" on a terminal for long tool
 * work (benches). Prints one line per step to stderr, only when
 * stderr is a TTY (and COHORT_NO_PROGRESS is unset), so piped output, logs
 * and tests see nothing. The ETA is the mean time per finished step times
 * the steps left: honest about being an estimate, never negative.
 */
#ifndef COHORT_TOOLS_PROGRESS_H
#define COHORT_TOOLS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tool_progress {
  const char *label; /* "bench all" */
  size_t n;          /* steps in all */
  size_t k;          /* steps finished */
  double t0_s;       /* monotonic start */
  bool on;           /* stderr is a terminal */
} tool_progress_t;

void tool_progress_start(tool_progress_t *p, const char *label, size_t n);
/* Step k+1 of n, named `what`, is starting: show it. */
void tool_progress_step(tool_progress_t *p, const char *what);
/* All done: clear the line. */
void tool_progress_done(tool_progress_t *p);
/* "1h02m", "3m05s", "12s" into buf. */
void tool_progress_duration(double s, char *buf, size_t cap);

#endif
