/*
 * tools/bench_sim.c — `cohort bench sim`: simulated events per second of
 * the 64-node heartbeat scenario (scenarios/heartbeat-64.scn: the fd
 * protocol, push heartbeats, phi accrual, no trace), on one core.
 *
 * Beside it, two ceilings measured in the same run give the figure a
 * reference: the same traffic with a "null" protocol (sends the same
 * heartbeats, ignores what it receives: the simulator plus the node
 * layer's envelope work, without the detector), and a "tick" protocol
 * that only re-arms a timer (the bare event queue and wake path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cohort/sim.h"

#define TARGET_EVENTS_PER_S 2000000.0

/* ---- the two reference protocols ------------------------------------------------- */

typedef struct bench_proto {
  cohort_proto_t base;
  const cohort_allocator_t *alloc;
  int64_t interval_ns;
  bool send;
} bench_proto_t;

static void bench_start(cohort_proto_t *p) {
  bench_proto_t *b = (bench_proto_t *)p;
  int64_t phase = (int64_t)cohort_node_random_below(p->node, (uint64_t)b->interval_ns);
  cohort_node_timer_set(p->node, p, 1, cohort_node_now(p->node) + phase);
}

static void bench_timer(cohort_proto_t *p, uint32_t id) {
  bench_proto_t *b = (bench_proto_t *)p;
  static const uint8_t beat[16] = {1};
  if (b->send) cohort_node_broadcast(p->node, p, 1, beat, sizeof beat);
  cohort_node_timer_set(p->node, p, id, cohort_node_now(p->node) + b->interval_ns);
}

static int bench_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  (void)p;
  (void)m;
  return 0;
}

static const cohort_proto_ops_t null_ops = {.name = "null", .proto_id = COHORT_PROTO_APP,
                                            .start = bench_start, .recv = bench_recv,
                                            .timer = bench_timer};
static const cohort_proto_ops_t tick_ops = {.name = "tick", .proto_id = COHORT_PROTO_APP + 1,
                                            .start = bench_start, .recv = bench_recv,
                                            .timer = bench_timer};

static int bench_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                        cohort_proto_t **out, char *err, size_t errcap, bool send) {
  static const char *const known[] = {"interval", NULL};
  int64_t interval = 100 * COHORT_NS_PER_MS;
  const char *who = send ? "null" : "tick";
  int rc = cohort_param_check_known(params, n, known, who, err, errcap);
  if (!rc) rc = cohort_param_duration(params, n, "interval", &interval, who, err, errcap);
  if (rc) return rc;
  if (interval <= 0) {
    snprintf(err, errcap, "%s: interval must be positive", who);
    return COHORT_EINVAL;
  }
  bench_proto_t *b = cohort_calloc(cohort_node_allocator(node), 1, sizeof *b);
  if (!b) return COHORT_ENOMEM;
  b->base.ops = send ? &null_ops : &tick_ops;
  b->alloc = cohort_node_allocator(node);
  b->interval_ns = interval;
  b->send = send;
  *out = &b->base;
  return 0;
}

static int null_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                       cohort_proto_t **out, char *err, size_t errcap) {
  return bench_create(node, params, n, out, err, errcap, true);
}

static int tick_create(cohort_node_t *node, const cohort_param_t *params, size_t n,
                       cohort_proto_t **out, char *err, size_t errcap) {
  return bench_create(node, params, n, out, err, errcap, false);
}

static void bench_destroy(cohort_proto_t *p) {
  bench_proto_t *b = (bench_proto_t *)p;
  cohort_free(b->alloc, b);
}

static const cohort_proto_factory_t null_factory = {
    "null", "null interval=100ms: broadcast a heartbeat, ignore what arrives", null_create,
    bench_destroy, NULL};
static const cohort_proto_factory_t tick_factory = {
    "tick", "tick interval=100ms: re-arm a timer, nothing else", tick_create, bench_destroy,
    NULL};
static const cohort_proto_factory_t *const bench_factories[] = {&null_factory, &tick_factory};

/* ---- measuring --------------------------------------------------------------------- */

static double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the figure is "on one core", and CPU time
 * keeps it honest on a machine shared with other work. */
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct measure {
  uint64_t events;
  double wall, cpu, virt;
} measure_t;

static int run_text(const char *text, const char *name, measure_t *m) {
  char err[512];
  cohort_scenario_options_t opts = {.extra_factories = bench_factories,
                                    .extra_factories_len = 2};
  cohort_scenario_t *sc;
  if (cohort_scenario_parse(text, strlen(text), name, &opts, &sc, err, sizeof err)) {
    fprintf(stderr, "cohort bench sim: %s\n", err);
    return 1;
  }
  cohort_sim_config_t cfg = {.seed = 1}; /* no trace: the fast path */
  cohort_sim_t *sim;
  double t0 = wall_seconds(), c0 = cpu_seconds();
  int rc = cohort_sim_new(sc, &cfg, &sim, err, sizeof err);
  if (rc) {
    fprintf(stderr, "cohort bench sim: %s\n", err);
    cohort_scenario_free(sc);
    return 1;
  }
  rc = cohort_sim_run(sim);
  m->wall = wall_seconds() - t0;
  m->cpu = cpu_seconds() - c0;
  m->events = cohort_sim_results(sim)->events;
  m->virt = (double)cohort_sim_results(sim)->virtual_ns / 1e9;
  cohort_sim_free(sim);
  cohort_scenario_free(sc);
  return rc ? 1 : 0;
}

/* The scenario text with its `protocol` lines replaced by `proto` and,
 * if given, its duration by `duration` (both appended at the end, after
 * `nodes`). Returns a malloc'd string or NULL. */
static char *rewrite(const char *text, const char *proto, const char *duration) {
  size_t cap = strlen(text) + 256;
  char *out = malloc(cap), *w = out;
  if (!out) return NULL;
  for (const char *l = text; *l;) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
    if (strncmp(l, "protocol ", 9) && !(duration && !strncmp(l, "duration ", 9))) {
      memcpy(w, l, n);
      w += n;
    }
    l += n;
  }
  snprintf(w, cap - (size_t)(w - out), "\nprotocol %s\n%s%s\n", proto,
           duration ? "duration " : "", duration ? duration : "");
  return out;
}

static char *read_scenario(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 16);
  size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
  fclose(f);
  if (buf) buf[n] = '\0';
  return buf;
}

static double per_cpu_s(const measure_t *m, double x) { return m->cpu > 0 ? x / m->cpu : 0; }

static void print_line(const char *what, const measure_t *m, const char *note) {
  printf("  %-24s %10.0f events/s  %9llu events  %6.2f s cpu  %6.2f s wall  %7.1fx real time"
         "  %s\n",
         what, per_cpu_s(m, (double)m->events), (unsigned long long)m->events, m->cpu, m->wall,
         per_cpu_s(m, m->virt), note);
}

int cohort_bench_sim(int argc, char **argv) {
  const char *path = NULL;
  bool queues = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scenario") && i + 1 < argc) path = argv[++i];
    else if (!strcmp(argv[i], "--queues")) return cohort_bench_queues();
    else if (!strcmp(argv[i], "--no-queues")) queues = false;
    else {
      fprintf(stderr, "usage: cohort bench sim [--scenario FILE] [--queues | --no-queues]\n");
      return !strcmp(argv[i], "--help") ? 0 : 2;
    }
  }
  char fallback[1024];
  const char *root = getenv("COHORT_SOURCE_ROOT");
  if (!path) {
    path = "scenarios/heartbeat-64.scn";
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    else if (root) snprintf(fallback, sizeof fallback, "%s/%s", root, path), path = fallback;
#ifdef COHORT_SOURCE_DIR
    else /* the source tree this binary was built from */
      snprintf(fallback, sizeof fallback, "%s/%s", COHORT_SOURCE_DIR, path), path = fallback;
#endif
  }
  char *text = read_scenario(path);
  if (!text) {
    fprintf(stderr, "cohort bench sim: cannot read %s (run from the source tree)\n", path);
    return 2;
  }
  printf("cohort bench sim: %s, one core, no trace; rates per CPU second\n", path);
  measure_t fd, null, tick;
  char *null_text = rewrite(text, "null interval=100ms", NULL);
  char *tick_text = rewrite(text, "tick interval=10us", "1s");
  if (!null_text || !tick_text) {
    free(text);
    free(null_text);
    free(tick_text);
    return 1;
  }
  int rc = run_text(text, path, &fd);
  if (!rc) rc = run_text(null_text, "null", &null);
  if (!rc) rc = run_text(tick_text, "tick", &tick);
  if (!rc) {
    print_line("fd (phi, push)", &fd, "<- the figure");
    print_line("ceiling: null protocol", &null, "same heartbeats, recv ignored");
    print_line("ceiling: timers only", &tick, "bare event queue + wake path");
    double eps = per_cpu_s(&fd, (double)fd.events);
    printf("%.0f events/s (target >= %.0f: %s); simulated/wall time ratio %.1f "
           "(%.1f per CPU second)\n",
           eps, TARGET_EVENTS_PER_S, eps >= TARGET_EVENTS_PER_S ? "met" : "NOT met",
           fd.wall > 0 ? fd.virt / fd.wall : 0, per_cpu_s(&fd, fd.virt));
  }
  free(text);
  free(null_text);
  free(tick_text);
  if (!rc && queues) rc = cohort_bench_queues();
  return rc;
}
