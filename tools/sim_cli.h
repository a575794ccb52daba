/*
 * tools/sim_cli.h — what the files of `cohort sim` share: its options and
 * the entry points of one run (cmd_sim.c), a sweep (sim_sweep.c) and a
 * shrink (cmd_sim.c over src/sim/shrink.c).
 */
#ifndef COHORT_TOOLS_SIM_CLI_H
#define COHORT_TOOLS_SIM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "cohort/sim.h"

#define SIM_JOBS_MAX 256

typedef struct sim_options {
  const char *scenario;
  const char *trace_path;
  const char *cache_dir; /* --cache DIR, or NULL */
  const char *shrink_out; /* --shrink-out FILE, or NULL (stdout) */
  uint64_t seed, seed_lo, seed_hi;
  bool have_seed, have_seeds, quiet, shrink, pin;
  unsigned jobs;
  unsigned shard_k, shard_n; /* --shard K/N: 1 <= K <= N; 1/1 = all */
  double budget_s;           /* --budget: stop starting seeds after this; 0 = none */
  uint64_t max_events, max_memory_bytes, max_trace_bytes;
} sim_options_t;

/* A simulator config for seed `seed` with the options' budgets. */
cohort_sim_config_t sim_cli_config(const sim_options_t *o, uint64_t seed);
double sim_cli_wall_seconds(void);
double sim_cli_cpu_seconds(void);

/* `cohort sim --seeds`: exit status 0 (all passed) or 1. */
int sim_sweep_run(sim_options_t *o, const cohort_scenario_t *sc);

#endif
