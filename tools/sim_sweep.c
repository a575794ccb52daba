/*
 * tools/sim_sweep.c — `cohort sim SCENARIO --seeds A-B`: many seeds of one
 * scenario on every core, with a shard of the plan (`--shard K/N`), a time
 * budget (`--budget 10m`), a result cache (`--cache DIR`) and progress.
 *
 * The plan: the seeds of A..B whose index from A is K-1 modulo N (shard
 * K of N; 1/1 is every seed), so N machines given 1/N .. N/N cover the
 * range exactly once. Worker processes (--jobs, default every CPU this
 * process may run on, each pinned to one of them) claim plan indices from
 * a counter in shared memory, so a slow seed never holds others back, and
 * write one fixed-size report per seed into their own pipe. A worker that
 * dies (a crash inside a protocol) is reported with the seed it was on.
 *
 * The cache: one file per (scenario hash, binary hash) in DIR, a line
 * "seed status events cpu_us message" per seed run. The scenario hash
 * covers the file's bytes and the budgets; the binary hash the bytes of
 * this executable, so any change to the code or the scenario starts a new
 * file. Seeds found there are not run again; their failures are reported
 * again. A torn or foreign line is ignored (the seed simply runs).
 *
 * Invariants: every seed of the plan is reported exactly once (run,
 * cached, or as the seed a dead worker was on) unless the time budget
 * stopped the sweep, which then says how many it did not start; the
 * exit status is 1 iff some reported seed failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sim_cli.h"

enum { SEED_OK = 0, SEED_VIOLATION = 1, SEED_ERROR = 2 };

typedef struct seed_report {
  uint64_t seed;
  uint64_t events;
  uint64_t cpu_us;
  int32_t status;
  char msg[228];
} seed_report_t;

typedef struct cached {
  uint64_t seed;
  int32_t status;
  char msg[120];
} cached_t;

typedef struct shared {
  _Atomic uint64_t next; /* next plan index to claim */
  _Atomic int stop;      /* the time budget ran out: claim nothing more */
} shared_t;

typedef struct worker {
  pid_t pid;
  int fd;
  uint64_t current; /* seed it is on (from its last claim), UINT64_MAX none */
  bool done;
} worker_t;

typedef struct sweep {
  const sim_options_t *o;
  const cohort_scenario_t *sc;
  uint64_t plan; /* seeds in this shard */
  shared_t *sh;
  cached_t *cache;
  size_t cache_len, cache_cap;
  FILE *cache_out;
  char cache_path[1024];
  uint64_t done, failed, cached_hits, events, cpu_us, cached_in_plan;
  double t0, last_print;
  bool tty;
  _Atomic uint64_t *current; /* per worker, in shared memory: its seed */
} sweep_t;

/* ---- the plan ----------------------------------------------------------------- */

static uint64_t plan_seed(const sim_options_t *o, uint64_t i) {
  return o->seed_lo + (o->shard_k - 1) + i * o->shard_n;
}

static uint64_t plan_size(const sim_options_t *o) {
  uint64_t span = o->seed_hi - o->seed_lo; /* seeds - 1 */
  uint64_t first = o->shard_k - 1;
  if (first > span) return 0;
  return (span - first) / o->shard_n + 1;
}

static bool in_plan(const sim_options_t *o, uint64_t seed) {
  if (seed < o->seed_lo || seed > o->seed_hi) return false;
  return (seed - o->seed_lo) % o->shard_n == o->shard_k - 1;
}

/* ---- the cache ----------------------------------------------------------------- */

/* SHA-256 of a file's bytes followed by `extra`, as 16 hex digits. */
static int hash_file(const char *path, const char *extra, char out[17]) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
  for (size_t n; ok && (n = fread(buf, 1, sizeof buf, f)) > 0;) ok = EVP_DigestUpdate(ctx, buf, n);
  ok = ok && !ferror(f) && EVP_DigestUpdate(ctx, extra, strlen(extra));
  unsigned len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, md, &len) && len >= 8;
  EVP_MD_CTX_free(ctx);
  fclose(f);
  for (unsigned i = 0; ok && i < 8; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
  return ok ? 0 : -1;
}

static int cmp_cached(const void *a, const void *b) {
  uint64_t x = ((const cached_t *)a)->seed, y = ((const cached_t *)b)->seed;
  return (x > y) - (x < y);
}

static void cache_add(sweep_t *sw, uint64_t seed, int status, const char *msg) {
  if (sw->cache_len == sw->cache_cap) {
    size_t cap = sw->cache_cap ? 2 * sw->cache_cap : 1024;
    cached_t *c = realloc(sw->cache, cap * sizeof *c);
    if (!c) return; /* a smaller cache only means more seeds run */
    sw->cache = c;
    sw->cache_cap = cap;
  }
  cached_t *c = &sw->cache[sw->cache_len++];
  c->seed = seed;
  c->status = status;
  snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void cache_load(sweep_t *sw) {
  FILE *f = fopen(sw->cache_path, "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    uint64_t seed, events, cpu;
    int status, used = 0;
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n') continue; /* torn */
    line[n - 1] = '\0';
    if (sscanf(line, "%" SCNu64 " %d %" SCNu64 " %" SCNu64 " %n", &seed, &status, &events,
               &cpu, &used) != 4 || status < 0 || status > SEED_ERROR)
      continue;
    cache_add(sw, seed, status, line + used);
  }
  fclose(f);
  if (sw->cache_len) qsort(sw->cache, sw->cache_len, sizeof *sw->cache, cmp_cached);
}

static const cached_t *cache_find(const sweep_t *sw, uint64_t seed) {
  if (!sw->cache_len) return NULL;
  cached_t key = {.seed = seed};
  return bsearch(&key, sw->cache, sw->cache_len, sizeof key, cmp_cached);
}

/* Open DIR/<scenario hash>-<binary hash>.seeds; 0, or -1 with a message. */
static int cache_open(sweep_t *sw) {
  const sim_options_t *o = sw->o;
  char extra[160], sh[17], bh[17];
  snprintf(extra, sizeof extra, "budgets %" PRIu64 " %" PRIu64 " %" PRIu64, o->max_events,
           o->max_memory_bytes, o->max_trace_bytes);
  if (hash_file(o->scenario, extra, sh) || hash_file("/proc/self/exe", "", bh)) {
    fprintf(stderr, "cohort sim: --cache: cannot hash the scenario or this binary\n");
    return -1;
  }
  if (mkdir(o->cache_dir, 0777) && errno != EEXIST) {
    fprintf(stderr, "cohort sim: --cache %s: %s\n", o->cache_dir, strerror(errno));
    return -1;
  }
  snprintf(sw->cache_path, sizeof sw->cache_path, "%s/%s-%s.seeds", o->cache_dir, sh, bh);
  cache_load(sw);
  sw->cache_out = fopen(sw->cache_path, "a");
  if (!sw->cache_out) {
    fprintf(stderr, "cohort sim: --cache: %s: %s\n", sw->cache_path, strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- one seed (in a worker) ------------------------------------------------------ */

static void first_failure(const cohort_sim_results_t *r, char *msg, size_t cap) {
  for (size_t i = 0; i < r->checks_len; i++) {
    const cohort_sim_check_outcome_t *c = &r->checks[i];
    if (!c->rc && !c->result.violations) continue;
    snprintf(msg, cap, "%.100s: %.120s", c->text, c->rc ? c->err : c->result.first);
    return;
  }
}

static void run_seed(const sim_options_t *o, const cohort_scenario_t *sc, uint64_t seed,
                     seed_report_t *out) {
  memset(out, 0, sizeof *out);
  out->seed = seed;
  double c0 = sim_cli_cpu_seconds();
  cohort_sim_config_t cfg = sim_cli_config(o, seed);
  cfg.run_checks = cohort_scenario_checks(sc) > 0;
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
    snprintf(out->msg, sizeof out->msg, "run failed: %s",
             r->budget ? r->budget_msg : cohort_strerror(rc));
  } else if (r->violations) {
    out->status = SEED_VIOLATION;
    first_failure(r, out->msg, sizeof out->msg);
  }
  cohort_sim_free(sim);
  out->cpu_us = (uint64_t)((sim_cli_cpu_seconds() - c0) * 1e6);
}

/* Pin this process to the w-th CPU it is allowed on (quietly skipped if
 * the set cannot be read: pinning is an optimisation). */
static void pin_worker(unsigned w) {
  cpu_set_t allowed, one;
  if (sched_getaffinity(0, sizeof allowed, &allowed)) return;
  int n = CPU_COUNT(&allowed);
  if (n <= 1) return;
  unsigned want = w % (unsigned)n;
  for (size_t cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (want > 0) {
      want--;
      continue;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    (void)sched_setaffinity(0, sizeof one, &one);
    return;
  }
}

static void worker_main(sweep_t *sw, unsigned w, int fd) {
  if (sw->o->pin) pin_worker(w);
  for (;;) {
    if (atomic_load(&sw->sh->stop)) break;
    uint64_t i = atomic_fetch_add(&sw->sh->next, 1);
    if (i >= sw->plan) break;
    uint64_t seed = plan_seed(sw->o, i);
    if (cache_find(sw, seed)) continue;
    atomic_store(&sw->current[w], seed);
    seed_report_t rep;
    run_seed(sw->o, sw->sc, seed, &rep);
    if (write(fd, &rep, sizeof rep) != (ssize_t)sizeof rep) _exit(3);
  }
  atomic_store(&sw->current[w], UINT64_MAX);
  _exit(0);
}

/* ---- the parent ------------------------------------------------------------------- */

static void progress(sweep_t *sw, bool final) {
  double now = sim_cli_wall_seconds();
  if (!final && now - sw->last_print < (sw->tty ? 0.2 : 5.0)) return;
  sw->last_print = now;
  double el = now - sw->t0;
  uint64_t ran = sw->done - sw->cached_hits;
  double rate = el > 0 ? (double)ran / el : 0;
  uint64_t left = sw->plan - sw->done;
  char eta[32] = "-";
  if (rate > 0) snprintf(eta, sizeof eta, "%.0fs", (double)left / rate);
  if (sw->tty)
    fprintf(stderr, "\r\033[K%" PRIu64 "/%" PRIu64 " seeds  %" PRIu64 " failed  %.0f seeds/s"
            "  %.1fs  ETA %s%s", sw->done, sw->plan, sw->failed, rate, el, eta,
            final ? "\n" : "");
  else
    fprintf(stderr, "sweep: %" PRIu64 "/%" PRIu64 " seeds, %" PRIu64 " failed, %.0f seeds/s, "
            "%.1fs, ETA %s\n", sw->done, sw->plan, sw->failed, rate, el, eta);
}

static void report_failure(sweep_t *sw, uint64_t seed, const char *why, bool cached) {
  sw->failed++;
  if (sw->tty) fprintf(stderr, "\r\033[K");
  printf("seed %" PRIu64 " FAILED%s: %s\n  replay: cohort sim %s --seed %" PRIu64
         " -o seed%" PRIu64 ".jsonl\n  shrink: cohort sim %s --seed %" PRIu64 " --shrink\n",
         seed, cached ? " (cached)" : "", why, sw->o->scenario, seed, seed, sw->o->scenario,
         seed);
  fflush(stdout);
}

static void take_report(sweep_t *sw, const seed_report_t *rep) {
  sw->done++;
  sw->events += rep->events;
  sw->cpu_us += rep->cpu_us;
  if (rep->status != SEED_OK)
    report_failure(sw, rep->seed, rep->msg[0] ? rep->msg : "run failed", false);
  if (sw->cache_out) {
    char msg[sizeof rep->msg];
    snprintf(msg, sizeof msg, "%s", rep->msg);
    for (char *c = msg; *c; c++)
      if (*c == '\n') *c = ' ';
    fprintf(sw->cache_out, "%" PRIu64 " %d %" PRIu64 " %" PRIu64 " %s\n", rep->seed,
            rep->status, rep->events, rep->cpu_us, msg);
  }
}

/* Read one report, or reap the worker at EOF (reporting a crash). */
static void worker_read(sweep_t *sw, worker_t *wk, unsigned w) {
  seed_report_t rep;
  ssize_t n = read(wk->fd, &rep, sizeof rep);
  if (n < 0 && errno == EINTR) return;
  if (n == (ssize_t)sizeof rep) {
    take_report(sw, &rep);
    return;
  }
  int st = 0;
  close(wk->fd);
  wk->done = true;
  waitpid(wk->pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return;
  char why[96];
  if (WIFSIGNALED(st))
    snprintf(why, sizeof why, "the simulator crashed (signal %d: %s)", WTERMSIG(st),
             strsignal(WTERMSIG(st)));
  else snprintf(why, sizeof why, "worker exited with status %d", WEXITSTATUS(st));
  uint64_t seed = atomic_load(&sw->current[w]);
  if (seed != UINT64_MAX) {
    sw->done++;
    report_failure(sw, seed, why, false);
  }
}

static int spawn_workers(sweep_t *sw, worker_t *wk, unsigned jobs) {
  fflush(stdout);
  fflush(stderr);
  if (sw->cache_out) fflush(sw->cache_out);
  for (unsigned w = 0; w < jobs; w++) {
    int p[2];
    if (pipe(p)) return -errno;
    atomic_store(&sw->current[w], UINT64_MAX);
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
      close(p[0]);
      for (unsigned k = 0; k < w; k++) close(wk[k].fd);
      worker_main(sw, w, p[1]);
    }
    close(p[1]);
    wk[w] = (worker_t){.pid = pid, .fd = p[0]};
  }
  return 0;
}

/* Cached seeds of the plan: counted as done, their failures reported. */
static void replay_cache(sweep_t *sw) {
  for (size_t i = 0; i < sw->cache_len; i++) {
    const cached_t *c = &sw->cache[i];
    if (!in_plan(sw->o, c->seed) || (i > 0 && sw->cache[i - 1].seed == c->seed)) continue;
    sw->done++;
    sw->cached_hits++;
    if (c->status != SEED_OK) report_failure(sw, c->seed, c->msg, true);
  }
}

static void wait_workers(sweep_t *sw, worker_t *wk, unsigned jobs) {
  for (unsigned live = jobs; live > 0;) {
    struct pollfd pf[SIM_JOBS_MAX];
    unsigned map[SIM_JOBS_MAX], np = 0;
    for (unsigned w = 0; w < jobs; w++)
      if (!wk[w].done) pf[np] = (struct pollfd){.fd = wk[w].fd, .events = POLLIN}, map[np++] = w;
    if (poll(pf, np, 200) < 0 && errno != EINTR) break;
    for (unsigned i = 0; i < np; i++)
      if (pf[i].revents) {
        worker_read(sw, &wk[map[i]], map[i]);
        if (wk[map[i]].done) live--;
      }
    if (sw->o->budget_s > 0 && sim_cli_wall_seconds() - sw->t0 >= sw->o->budget_s)
      atomic_store(&sw->sh->stop, 1);
    progress(sw, false);
  }
}

static void print_result(sweep_t *sw) {
  double el = sim_cli_wall_seconds() - sw->t0;
  uint64_t ran = sw->done - sw->cached_hits;
  printf("result    %" PRIu64 " seeds (%" PRIu64 " run, %" PRIu64 " cached), %" PRIu64
         " failed, %" PRIu64 " events, %.2f s cpu, %.2f s wall, %.0f seeds/s\n",
         sw->done, ran, sw->cached_hits, sw->failed, sw->events, (double)sw->cpu_us / 1e6, el,
         el > 0 ? (double)ran / el : 0.0);
  if (sw->done < sw->plan && atomic_load(&sw->sh->stop))
    printf("budget    stopped after %.0f s: %" PRIu64 " of %" PRIu64
           " seeds not started (the cache keeps what ran)\n",
           sw->o->budget_s, sw->plan - sw->done, sw->plan);
  else if (sw->done < sw->plan)
    printf("result    %" PRIu64 " seeds not run: every worker died\n", sw->plan - sw->done);
}

int sim_sweep_run(sim_options_t *o, const cohort_scenario_t *sc) {
  sweep_t sw = {.o = o, .sc = sc, .plan = plan_size(o), .t0 = sim_cli_wall_seconds(),
                .tty = isatty(2) == 1};
  if (o->cache_dir && cache_open(&sw)) return 2;
  unsigned jobs = (uint64_t)o->jobs > sw.plan ? (unsigned)(sw.plan ? sw.plan : 1) : o->jobs;
  size_t shm_len = sizeof(shared_t) + jobs * sizeof(_Atomic uint64_t);
  void *shm = mmap(NULL, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shm == MAP_FAILED) {
    fprintf(stderr, "cohort sim: cannot map shared memory: %s\n", strerror(errno));
    return 1;
  }
  sw.sh = shm;
  sw.current = (_Atomic uint64_t *)((char *)shm + sizeof(shared_t));
  if (!o->quiet)
    printf("sweep     %s, seeds %" PRIu64 "-%" PRIu64 " shard %u/%u: %" PRIu64
           " seeds, %u jobs%s%s\n", o->scenario, o->seed_lo, o->seed_hi, o->shard_k,
           o->shard_n, sw.plan, jobs, o->pin ? " pinned" : "",
           sw.cache_out ? ", cached" : "");
  replay_cache(&sw);
  worker_t wk[SIM_JOBS_MAX];
  int rc = spawn_workers(&sw, wk, jobs);
  if (rc) {
    fprintf(stderr, "cohort sim: cannot start workers: %s\n", strerror(-rc));
    return 1;
  }
  wait_workers(&sw, wk, jobs);
  progress(&sw, true);
  print_result(&sw);
  if (sw.cache_out) fclose(sw.cache_out);
  free(sw.cache);
  munmap(shm, shm_len);
  return sw.failed || sw.done < sw.plan ? 1 : 0;
}
