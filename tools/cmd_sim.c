/*
 * tools/cmd_sim.c — `cohort sim`: run a scenario in the deterministic
 * simulator once (`--seed N`, optional trace file) or sweep many seeds in
 * parallel worker processes (`--seeds A-B --jobs N`).
 *
 * Exit status: 0 every run passed its checks, 1 a violation or a failed
 * run (each failing seed is printed with the one command that replays
 * it), 2 bad usage or a bad scenario file (reported as file:line).
 *
 * A sweep forks `jobs` workers; worker w runs seeds A+w, A+w+jobs, ... and
 * writes one fixed-size report per seed into its own pipe. A worker that
 * dies (a crash inside a protocol) is reported with the seed it was on.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cohort/sim.h"

#define JOBS_MAX 256

typedef struct options {
  const char *scenario;
  const char *trace_path;
  uint64_t seed, seed_lo, seed_hi;
  bool have_seed, have_seeds, quiet;
  unsigned jobs;
} options_t;

static int usage(FILE *f) {
  fprintf(f,
          "usage: cohort sim SCENARIO --seed N [-o TRACE.jsonl] [--quiet]\n"
          "       cohort sim SCENARIO --seeds A-B [--jobs N] [--quiet]\n"
          "\n"
          "Run SCENARIO (docs/scenario-format.md) in the deterministic simulator.\n"
          "The same scenario and seed give a byte-identical trace. The scenario's\n"
          "'check' lines run on the trace; exit 1 on any violation.\n"
          "\n"
          "  --seed N       run once with seed N (default 1)\n"
          "  -o, --trace F  write the trace (JSON Lines) to F\n"
          "  --seeds A-B    sweep seeds A..B, print a replay command per failure\n"
          "  --jobs N       worker processes for a sweep (default: online CPUs)\n"
          "  -q, --quiet    print only failures\n");
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

static int parse_seeds(const char *s, uint64_t *lo, uint64_t *hi) {
  const char *dash = strchr(s, '-');
  char a[32];
  if (!dash || (size_t)(dash - s) >= sizeof a) return -1;
  memcpy(a, s, (size_t)(dash - s));
  a[dash - s] = '\0';
  if (cohort_parse_u64(a, lo) || cohort_parse_u64(dash + 1, hi) || *hi < *lo) return -1;
  return 0;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, options_t *o) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  o->jobs = cpus > 0 ? (unsigned)cpus : 1;
  o->seed = 1;
  bool jobs_given = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool takes = !strcmp(a, "--seed") || !strcmp(a, "--seeds") || !strcmp(a, "--jobs") ||
                 !strcmp(a, "-o") || !strcmp(a, "--trace");
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout);
    if (takes && !v) return bad_arg("%s needs a value", a);
    if (!strcmp(a, "--seed")) {
      if (cohort_parse_u64(v, &o->seed)) return bad_arg("--seed: not a number: '%s'", v);
      o->have_seed = true;
    } else if (!strcmp(a, "--seeds")) {
      if (parse_seeds(v, &o->seed_lo, &o->seed_hi))
        return bad_arg("--seeds: expected A-B with A <= B, got '%s'", v);
      o->have_seeds = true;
    } else if (!strcmp(a, "--jobs")) {
      uint64_t j;
      if (cohort_parse_u64(v, &j) || j < 1 || j > JOBS_MAX)
        return bad_arg("--jobs: expected 1..256, got '%s'", v);
      o->jobs = (unsigned)j;
      jobs_given = true;
    } else if (!strcmp(a, "-o") || !strcmp(a, "--trace")) {
      o->trace_path = v;
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      o->quiet = true;
      continue;
    } else if (a[0] == '-' && a[1]) {
      return bad_arg("unknown option '%s'", a);
    } else {
      if (o->scenario) return bad_arg("more than one scenario ('%s')", a);
      o->scenario = a;
      continue;
    }
    i++;
  }
  if (!o->scenario) return bad_arg("%s", "no scenario file given");
  if (o->have_seed && o->have_seeds) return bad_arg("%s", "give --seed or --seeds, not both");
  if (o->have_seeds && o->trace_path)
    return bad_arg("%s", "-o writes one run's trace: use it with --seed, not --seeds");
  if (jobs_given && !o->have_seeds) return bad_arg("%s", "--jobs applies to --seeds");
  return -1;
}

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static void print_summary(const options_t *o, const cohort_scenario_t *sc,
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
  if (o->trace_path)
    printf("trace     %" PRIu64 " records -> %s\n", r->trace_records, o->trace_path);
  print_checks(r, false);
}

static int run_once(const options_t *o, const cohort_scenario_t *sc) {
  char err[512];
  cohort_sim_config_t cfg = {.seed = o->seed, .trace_path = o->trace_path,
                             .run_checks = cohort_scenario_checks(sc) > 0};
  cohort_sim_t *sim;
  double t0 = wall_seconds();
  int rc = cohort_sim_new(sc, &cfg, &sim, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cohort sim: %s\n", err);
    return rc == COHORT_EINVAL ? 2 : 1;
  }
  rc = cohort_sim_run(sim);
  double wall = wall_seconds() - t0;
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  if (!o->quiet) print_summary(o, sc, r, wall);
  else if (r->violations) print_checks(r, true);
  int status = 0;
  if (rc) {
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

/* ---- sweeps ------------------------------------------------------------------------- */

enum { SEED_OK = 0, SEED_VIOLATION = 1, SEED_ERROR = 2 };

typedef struct seed_report {
  uint64_t seed;
  uint64_t events;
  int32_t status;
  char msg[236];
} seed_report_t;

typedef struct worker {
  pid_t pid;
  int fd;
  uint64_t next; /* the seed it is on (the one after its last report) */
  bool done;
} worker_t;

static void run_seed(const cohort_scenario_t *sc, uint64_t seed, seed_report_t *out) {
  memset(out, 0, sizeof *out);
  out->seed = seed;
  cohort_sim_config_t cfg = {.seed = seed, .run_checks = cohort_scenario_checks(sc) > 0};
  cohort_sim_t *sim;
  int rc = cohort_sim_new(sc, &cfg, &sim, out->msg, sizeof out->msg);
  if (rc) {
    out->status = SEED_ERROR;
    return;
  }
  rc = cohort_sim_run(sim);
  const cohort_sim_results_t *r = cohort_sim_results(sim);
  out->events = r->events;
  if (rc) {
    out->status = SEED_ERROR;
    snprintf(out->msg, sizeof out->msg, "run failed: %s", cohort_strerror(rc));
  } else if (r->violations) {
    out->status = SEED_VIOLATION;
    for (size_t i = 0; i < r->checks_len; i++) {
      const cohort_sim_check_outcome_t *c = &r->checks[i];
      if (!c->rc && !c->result.violations) continue;
      snprintf(out->msg, sizeof out->msg, "%.100s: %.120s", c->text,
               c->rc ? c->err : c->result.first);
      break;
    }
  }
  cohort_sim_free(sim);
}

static void worker_main(const cohort_scenario_t *sc, const options_t *o, unsigned w, int fd) {
  for (uint64_t s = o->seed_lo + w; s <= o->seed_hi && s >= o->seed_lo; s += o->jobs) {
    seed_report_t rep;
    run_seed(sc, s, &rep);
    if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep) _exit(3);
    if (s > UINT64_MAX - o->jobs) break;
  }
  _exit(0);
}

typedef struct sweep {
  const options_t *o;
  uint64_t total, done, failed, events;
  double t0, last_print;
  bool tty;
} sweep_t;

static void progress(sweep_t *sw, bool final) {
  double now = wall_seconds();
  if (!final && now - sw->last_print < (sw->tty ? 0.1 : 5.0)) return;
  sw->last_print = now;
  double el = now - sw->t0;
  if (sw->tty) {
    int width = 30, fill = (int)((double)width * (double)sw->done / (double)sw->total);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 " seeds  %" PRIu64 " failed  %.1fs%s", bar,
            sw->done, sw->total, sw->failed, el, final ? "\n" : "");
  } else {
    fprintf(stderr, "sweep: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed, %.1fs\n",
            sw->done, sw->total, sw->failed, el);
  }
}

static void report_failure(sweep_t *sw, uint64_t seed, const char *why) {
  sw->failed++;
  if (sw->tty) fprintf(stderr, "\r\033[K");
  printf("seed %" PRIu64 " FAILED: %s\n  replay: cohort sim %s --seed %" PRIu64
         " -o seed%" PRIu64 ".jsonl\n",
         seed, why, sw->o->scenario, seed, seed);
  fflush(stdout);
}

static void worker_read(sweep_t *sw, worker_t *wk) {
  seed_report_t rep;
  ssize_t n = read(wk->fd, &rep, sizeof rep);
  if (n < 0 && errno == EINTR) return;
  if (n == (ssize_t)sizeof rep) {
    sw->done++;
    sw->events += rep.events;
    wk->next = rep.seed + sw->o->jobs;
    if (rep.status != SEED_OK)
      report_failure(sw, rep.seed, rep.msg[0] ? rep.msg : "run failed");
    return;
  }
  /* EOF (or a torn report): the worker is finished or died. */
  int st = 0;
  close(wk->fd);
  wk->done = true;
  waitpid(wk->pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return;
  char why[96];
  if (WIFSIGNALED(st)) snprintf(why, sizeof why, "the simulator crashed (signal %d: %s)",
                                WTERMSIG(st), strsignal(WTERMSIG(st)));
  else snprintf(why, sizeof why, "worker exited with status %d", WEXITSTATUS(st));
  if (wk->next <= sw->o->seed_hi) {
    sw->done++;
    report_failure(sw, wk->next, why);
  }
}

static int spawn_workers(const cohort_scenario_t *sc, const options_t *o, worker_t *wk,
                         unsigned jobs) {
  fflush(stdout);
  fflush(stderr);
  for (unsigned w = 0; w < jobs; w++) {
    int p[2];
    if (pipe(p)) return -errno;
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
      close(p[0]);
      for (unsigned k = 0; k < w; k++) close(wk[k].fd);
      worker_main(sc, o, w, p[1]);
    }
    close(p[1]);
    wk[w] = (worker_t){.pid = pid, .fd = p[0], .next = o->seed_lo + w};
  }
  return 0;
}

static int run_sweep(options_t *o, const cohort_scenario_t *sc) {
  uint64_t total = o->seed_hi - o->seed_lo + 1;
  if (total == 0) total = UINT64_MAX; /* the whole range; unlikely to finish */
  unsigned jobs = (uint64_t)o->jobs > total ? (unsigned)total : o->jobs;
  o->jobs = jobs;
  worker_t wk[JOBS_MAX];
  sweep_t sw = {.o = o, .total = total, .t0 = wall_seconds(), .tty = isatty(2) == 1};
  if (!o->quiet) printf("sweep     %s, seeds %" PRIu64 "-%" PRIu64 ", %u jobs\n", o->scenario,
                        o->seed_lo, o->seed_hi, jobs);
  fflush(stdout);
  int rc = spawn_workers(sc, o, wk, jobs);
  if (rc) {
    fprintf(stderr, "cohort sim: cannot start workers: %s\n", strerror(-rc));
    return 1;
  }
  for (unsigned live = jobs; live > 0;) {
    struct pollfd pf[JOBS_MAX];
    unsigned map[JOBS_MAX], np = 0;
    for (unsigned w = 0; w < jobs; w++)
      if (!wk[w].done) pf[np] = (struct pollfd){.fd = wk[w].fd, .events = POLLIN}, map[np++] = w;
    if (poll(pf, np, 1000) < 0 && errno != EINTR) break;
    for (unsigned i = 0; i < np; i++)
      if (pf[i].revents) {
        worker_read(&sw, &wk[map[i]]);
        if (wk[map[i]].done) live--;
      }
    progress(&sw, false);
  }
  progress(&sw, true);
  double el = wall_seconds() - sw.t0;
  printf("result    %" PRIu64 " seeds, %" PRIu64 " failed, %" PRIu64 " events in %.2f s\n",
         sw.done, sw.failed, sw.events, el);
  return sw.failed ? 1 : 0;
}

int cohort_cmd_sim(int argc, char **argv) {
  options_t o = {0};
  int rc = parse_args(argc, argv, &o);
  if (rc >= 0) return rc;
  char err[512];
  cohort_scenario_t *sc;
  rc = cohort_scenario_load(o.scenario, NULL, &sc, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cohort sim: %s\n", err);
    return 2;
  }
  int status = o.have_seeds ? run_sweep(&o, sc) : run_once(&o, sc);
  cohort_scenario_free(sc);
  return status;
}
