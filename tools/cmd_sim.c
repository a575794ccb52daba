/*
 * tools/cmd_sim.c — `cohort sim`: run a scenario in the deterministic
 * simulator once (`--seed N`, optional trace file), shrink a failing
 * seed's fault schedule (`--seed N --shrink`), or sweep many seeds
 * (`--seeds A-B`, tools/sim_sweep.c). Budgets on events, memory and trace
 * bytes apply to every run (`--max-events`, `--max-memory`, `--max-trace`).
 *
 * Exit status: 0 every run passed its checks (or a shrink succeeded), 1 a
 * violation, a failed run or a budget that ran out (each failing seed is
 * printed with the one command that replays it), 2 bad usage or a bad
 * scenario file (reported as file:line).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sim_cli.h"

static int usage(FILE *f) {
  fprintf(f,
          "usage: cohort sim SCENARIO --seed N [-o TRACE.jsonl] [--quiet]\n"
          "       cohort sim SCENARIO --seed N --shrink [--shrink-out FILE]\n"
          "       cohort sim SCENARIO --seeds A-B [--jobs N] [--shard K/N] [--budget 10m]\n"
          "                  [--cache DIR] [--no-pin] [--quiet]\n"
          "\n"
          "Run SCENARIO (docs/scenario-format.md) in the deterministic simulator.\n"
          "The same scenario and seed give a byte-identical trace. The scenario's\n"
          "'check' lines run on the trace; exit 1 on any violation.\n"
          "\n"
          "  --seed N          run once with seed N (default 1)\n"
          "  -o, --trace F     write the trace (JSON Lines) to F\n"
          "  --shrink          reduce seed N's fault schedule to a small one that still\n"
          "                    fails the same check; print it as a scenario file\n"
          "  --shrink-out F    write the shrunk scenario to F instead of stdout\n"
          "  --seeds A-B       sweep seeds A..B, print a replay command per failure\n"
          "  --jobs N          worker processes (default: every CPU this process may use)\n"
          "  --shard K/N       run only the K-th of N interleaved slices of the seeds\n"
          "  --budget T        stop starting seeds after T of wall time (e.g. 10m)\n"
          "  --cache DIR       skip seeds already run by this binary on this scenario\n"
          "  --no-pin          do not pin workers to CPUs\n"
          "  --max-events N    stop a run after N events (default %" PRIu64 ")\n"
          "  --max-memory B    ... when it holds more than B bytes (default %" PRIu64 "M)\n"
          "  --max-trace B     ... when it wrote B bytes of trace (default %" PRIu64 "M)\n"
          "                    (B and N take K, M, G suffixes: 512M, 4G)\n"
          "  -q, --quiet       print only failures\n",
          (uint64_t)COHORT_SIM_EVENTS_BUDGET, (uint64_t)(COHORT_SIM_MEMORY_BUDGET >> 20),
          (uint64_t)(COHORT_SIM_TRACE_BUDGET >> 20));
  return f == stdout ? 0 : 2;
}

static int bad_arg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_arg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "cohort sim: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see 'cohort sim --help')\n");
  va_end(ap);
  return 2;
}

double sim_cli_wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sim_cli_cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

cohort_sim_config_t sim_cli_config(const sim_options_t *o, uint64_t seed) {
  return (cohort_sim_config_t){.seed = seed, .max_events = o->max_events,
                               .max_memory_bytes = o->max_memory_bytes,
                               .max_trace_bytes = o->max_trace_bytes};
}

/* ---- arguments ---------------------------------------------------------------------- */

static int parse_seeds(const char *s, uint64_t *lo, uint64_t *hi) {
  const char *dash = strchr(s, '-');
  char a[32];
  if (!dash || (size_t)(dash - s) >= sizeof a) return -1;
  memcpy(a, s, (size_t)(dash - s));
  a[dash - s] = '\0';
  if (cohort_parse_u64(a, lo) || cohort_parse_u64(dash + 1, hi) || *hi < *lo) return -1;
  return 0;
}

/* "K/N" with 1 <= K <= N. */
static int parse_shard(const char *s, unsigned *k, unsigned *n) {
  const char *slash = strchr(s, '/');
  char a[24];
  uint64_t x, y;
  if (!slash || (size_t)(slash - s) >= sizeof a) return -1;
  memcpy(a, s, (size_t)(slash - s));
  a[slash - s] = '\0';
  if (cohort_parse_u64(a, &x) || cohort_parse_u64(slash + 1, &y) || x < 1 || x > y ||
      y > UINT32_MAX)
    return -1;
  *k = (unsigned)x;
  *n = (unsigned)y;
  return 0;
}

/* "4096", "512K", "64M", "4G" (powers of 1024); > 0. */
static int parse_amount(const char *s, uint64_t *out) {
  char num[32];
  size_t n = strlen(s);
  if (n == 0 || n >= sizeof num) return -1;
  unsigned shift = 0;
  char last = s[n - 1];
  if (last == 'K' || last == 'k') shift = 10;
  else if (last == 'M') shift = 20;
  else if (last == 'G') shift = 30;
  memcpy(num, s, n - (shift != 0));
  num[n - (shift != 0)] = '\0';
  uint64_t v;
  if (cohort_parse_u64(num, &v) || v == 0 || v > (UINT64_MAX >> shift)) return -1;
  *out = v << shift;
  return 0;
}

static bool takes_value(const char *a) {
  static const char *const with[] = {"--seed",  "--seeds",      "--jobs",       "-o",
                                     "--trace", "--shard",      "--budget",     "--cache",
                                     "--max-events", "--max-memory", "--max-trace",
                                     "--shrink-out"};
  for (size_t i = 0; i < sizeof with / sizeof with[0]; i++)
    if (!strcmp(a, with[i])) return true;
  return false;
}

/* One option with its value; -1 to go on, or an exit status. */
static int parse_valued(sim_options_t *o, const char *a, const char *v, bool *jobs_given) {
  uint64_t u;
  int64_t ns;
  if (!strcmp(a, "--seed")) {
    if (cohort_parse_u64(v, &o->seed)) return bad_arg("--seed: not a number: '%s'", v);
    o->have_seed = true;
  } else if (!strcmp(a, "--seeds")) {
    if (parse_seeds(v, &o->seed_lo, &o->seed_hi))
      return bad_arg("--seeds: expected A-B with A <= B, got '%s'", v);
    o->have_seeds = true;
  } else if (!strcmp(a, "--jobs")) {
    if (cohort_parse_u64(v, &u) || u < 1 || u > SIM_JOBS_MAX)
      return bad_arg("--jobs: expected 1..%d, got '%s'", SIM_JOBS_MAX, v);
    o->jobs = (unsigned)u;
    *jobs_given = true;
  } else if (!strcmp(a, "--shard")) {
    if (parse_shard(v, &o->shard_k, &o->shard_n))
      return bad_arg("--shard: expected K/N with 1 <= K <= N, got '%s'", v);
  } else if (!strcmp(a, "--budget")) {
    if (cohort_parse_duration(v, &ns) || ns <= 0)
      return bad_arg("--budget: expected a duration such as 10m, got '%s'", v);
    o->budget_s = (double)ns / 1e9;
  } else if (!strcmp(a, "--max-events") || !strcmp(a, "--max-memory") ||
             !strcmp(a, "--max-trace")) {
    if (parse_amount(v, &u)) return bad_arg("%s: expected a positive count, got '%s'", a, v);
    *(a[6] == 'e' ? &o->max_events : a[6] == 'm' ? &o->max_memory_bytes
                                                 : &o->max_trace_bytes) = u;
  } else if (!strcmp(a, "--cache")) {
    o->cache_dir = v;
  } else if (!strcmp(a, "--shrink-out")) {
    o->shrink_out = v;
  } else {
    o->trace_path = v; /* -o, --trace */
  }
  return -1;
}

static int check_combination(const sim_options_t *o, bool jobs_given, bool sweep_only) {
  if (!o->scenario) return bad_arg("%s", "no scenario file given");
  if (o->have_seed && o->have_seeds) return bad_arg("%s", "give --seed or --seeds, not both");
  if (o->have_seeds && o->trace_path)
    return bad_arg("%s", "-o writes one run's trace: use it with --seed, not --seeds");
  if ((jobs_given || sweep_only) && !o->have_seeds)
    return bad_arg("%s", "--jobs, --shard, --budget, --cache and --no-pin apply to --seeds");
  if (o->shrink && o->have_seeds)
    return bad_arg("%s", "--shrink shrinks one seed: use it with --seed");
  if (o->shrink_out && !o->shrink) return bad_arg("%s", "--shrink-out needs --shrink");
  if (o->shrink && o->trace_path) return bad_arg("%s", "--shrink writes no trace");
  return -1;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, sim_options_t *o) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  o->jobs = cpus > 0 ? (unsigned)(cpus > SIM_JOBS_MAX ? SIM_JOBS_MAX : cpus) : 1;
  o->seed = 1;
  o->shard_k = o->shard_n = 1;
  o->pin = true;
  bool jobs_given = false, sweep_only = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout);
    if (takes_value(a)) {
      if (i + 1 >= argc) return bad_arg("%s needs a value", a);
      int rc = parse_valued(o, a, argv[++i], &jobs_given);
      if (rc >= 0) return rc;
      sweep_only |= !strcmp(a, "--shard") || !strcmp(a, "--budget") || !strcmp(a, "--cache");
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      o->quiet = true;
    } else if (!strcmp(a, "--shrink")) {
      o->shrink = true;
    } else if (!strcmp(a, "--no-pin")) {
      o->pin = false;
      sweep_only = true;
    } else if (a[0] == '-' && a[1]) {
      return bad_arg("unknown option '%s'", a);
    } else {
      if (o->scenario) return bad_arg("more than one scenario ('%s')", a);
      o->scenario = a;
    }
  }
  return check_combination(o, jobs_given, sweep_only);
}

/* ---- one run --------------------------------------------------------------------- */

static void print_checks(const cohort_sim_results_t *r, bool failures_only) {
  for (size_t i = 0; i < r->checks_len; i++) {
    const cohort_sim_check_outcome_t *c = &r->checks[i];
    if (c->rc) {
      printf("check     %s: ERROR: %s\n", c->text, c->err[0] ? c->err : cohort_strerror(c->rc));
    } else if (c->result.violations) {
      printf("check     %s: VIOLATED (%" PRIu64 " violations)\n          first: %s\n", c->text,
             c->result.violations, c->result.first);
    } else if (!failures_only) {
      printf("check     %s: ok (%" PRIu64 " checked)%s%s\n", c->text, c->result.checked,
             c->result.summary[0] ? " — " : "", c->result.summary);
    }
  }
}

static void print_summary(const sim_options_t *o, const cohort_scenario_t *sc,
                          const cohort_sim_results_t *r, double wall) {
  double virt = (double)r->virtual_ns / 1e9;
  printf("scenario  %s (%u nodes, %.3f s)\n", o->scenario, cohort_scenario_nodes(sc),
         (double)cohort_scenario_duration(sc) / 1e9);
  printf("seed      %" PRIu64 "\n", o->seed);
  printf("events    %" PRIu64 " in %.3f s wall (%.0f events/s); virtual %.3f s (%.1fx real time)\n",
         r->events, wall, wall > 0 ? (double)r->events / wall : 0.0, virt,
         wall > 0 ? virt / wall : 0.0);
  printf("network   sent %" PRIu64 ", delivered %" PRIu64 ", lost %" PRIu64 ", cut %" PRIu64
         ", to crashed %" PRIu64 ", duplicated %" PRIu64 ", reordered %" PRIu64 "\n",
         r->datagrams_sent, r->datagrams_delivered, r->drop_loss, r->drop_partition,
         r->drop_crashed, r->datagrams_duplicated, r->datagrams_reordered);
  printf("faults    crashes %" PRIu64 ", restarts %" PRIu64 ", partitions %" PRIu64
         ", heals %" PRIu64 ", steps %" PRIu64 ", slews %" PRIu64 "\n",
         r->crashes, r->restarts, r->partitions, r->heals, r->steps, r->slews);
  if (r->omissions || r->drop_send_omission || r->drop_recv_omission || r->notices)
    printf("omission  send-omission drops %" PRIu64 ", recv-omission drops %" PRIu64
           " (%" PRIu64 " omit lines); crash notices (fail-stop) %" PRIu64 "\n",
           r->drop_send_omission, r->drop_recv_omission, r->omissions, r->notices);
  if (r->timing_faults || r->datagrams_slowed || r->timing_clamped || r->gst_ns >= 0)
  {
    printf("timing    slowed %" PRIu64 " (%" PRIu64 " slow lines), clamped to the bound %" PRIu64,
           r->datagrams_slowed, r->timing_faults, r->timing_clamped);
    if (r->gst_ns >= 0) printf(", GST at %.3f s", (double)r->gst_ns / 1e9);
    printf("\n");
  }
  if (r->datagrams_forged || r->datagrams_stuck || r->stuck_faults || r->datagrams_corrupted ||
      r->datagrams_replayed)
    printf("byzantine forged %" PRIu64 " (refused by authentication %" PRIu64 ", passed %" PRIu64
           "), stuck-bit %" PRIu64 ", corrupted %" PRIu64 ", replayed %" PRIu64 "\n",
           r->datagrams_forged, r->forged_refused, r->forged_passed, r->datagrams_stuck,
           r->datagrams_corrupted, r->datagrams_replayed);
  if (r->joins || r->leaves || r->controls || r->ignored)
    printf("members   joins %" PRIu64 ", leaves %" PRIu64 ", ctl %" PRIu64 " (%" PRIu64
           " refused), ignored (node down) %" PRIu64 "\n",
           r->joins, r->leaves, r->controls, r->control_errors, r->ignored);
  printf("memory    %.1f MiB at most; trace %" PRIu64 " bytes\n",
         (double)r->memory_bytes_peak / 1048576.0, r->trace_bytes);
  if (o->trace_path)
    printf("trace     %" PRIu64 " records -> %s\n", r->trace_records, o->trace_path);
  print_checks(r, false);
}

static int run_once(const sim_options_t *o, const cohort_scenario_t *sc) {
  char err[512];
  cohort_sim_config_t cfg = sim_cli_config(o, o->seed);
  cfg.trace_path = o->trace_path;
  cfg.run_checks = cohort_scenario_checks(sc) > 0;
  cohort_sim_t *sim;
  double t0 = sim_cli_wall_seconds();
  int rc = cohort_sim_new(sc, &cfg, &sim, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cohort sim: %s\n", err);
    return rc == COHORT_EINVAL ? 2 : 1;
  }
  rc = cohort_sim_run(sim);
  double wall = sim_cli_wall_seconds() - t0;
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  if (!o->quiet) print_summary(o, sc, r, wall);
  else if (r->violations) print_checks(r, true);
  int status = 0;
  fflush(stdout);
  if (rc && r->budget) {
    fprintf(stderr, "cohort sim: stopped at virtual %.3f s after %" PRIu64 " events: %s\n",
            (double)r->virtual_ns / 1e9, r->events, r->budget_msg);
    status = 1;
  } else if (rc) {
    fprintf(stderr, "cohort sim: run failed: %s\n", cohort_strerror(rc));
    status = 1;
  } else if (r->violations) {
    printf("result    FAILED: %" PRIu64 " violations (seed %" PRIu64 ")\n", r->violations,
           o->seed);
    status = 1;
  } else if (!o->quiet) {
    printf("result    ok\n");
  }
  cohort_sim_free(sim);
  return status;
}

/* ---- shrinking ------------------------------------------------------------------------ */

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(COHORT_SIM_SCENARIO_BYTES_MAX + 1);
  size_t n = buf ? fread(buf, 1, COHORT_SIM_SCENARIO_BYTES_MAX + 1, f) : 0;
  bool bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

static int run_shrink(const sim_options_t *o) {
  size_t len = 0;
  char *text = read_text(o->scenario, &len), err[768];
  if (!text) {
    fprintf(stderr, "cohort sim: %s: %s\n", o->scenario, strerror(errno));
    return 2;
  }
  cohort_sim_config_t cfg = sim_cli_config(o, o->seed);
  char *out = NULL;
  cohort_shrink_stats_t st;
  double t0 = sim_cli_wall_seconds();
  int rc = cohort_sim_shrink(text, len, o->scenario, NULL, &cfg, &out, &st, err, sizeof err);
  free(text);
  if (rc) {
    fprintf(stderr, "cohort sim: --shrink: %s\n", err);
    return rc == COHORT_EINVAL ? 2 : 1;
  }
  FILE *f = o->shrink_out ? fopen(o->shrink_out, "w") : stdout;
  if (!f) {
    fprintf(stderr, "cohort sim: %s: %s\n", o->shrink_out, strerror(errno));
    cohort_free(NULL, out);
    return 1;
  }
  fputs(out, f);
  int wrc = o->shrink_out ? fclose(f) : fflush(f);
  cohort_free(NULL, out);
  fprintf(stderr, "shrink    %zu -> %zu faults, %u -> %u nodes, %.3f -> %.3f s in %u runs "
          "(%.1f s); still fails: %s\n", st.faults_before, st.faults_after, st.nodes_before,
          st.nodes_after, (double)st.duration_before_ns / 1e9,
          (double)st.duration_after_ns / 1e9, st.runs, sim_cli_wall_seconds() - t0, st.check);
  return wrc ? 1 : 0;
}

int cohort_cmd_sim(int argc, char **argv) {
  sim_options_t o = {0};
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  if (o.shrink) return run_shrink(&o);
  char err[512];
  cohort_scenario_t *sc;
  rc = cohort_scenario_load(o.scenario, NULL, &sc, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cohort sim: %s\n", err);
    return 2;
  }
  int status = o.have_seeds ? sim_sweep_run(&o, sc) : run_once(&o, sc);
  cohort_scenario_free(sc);
  return status;
}
