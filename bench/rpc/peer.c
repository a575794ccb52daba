/*
 * bench/rpc/peer.c — command line, clocks, latency recorder and report of
 * the `cohort bench rpc` peer programs (see peer.h for the line protocol).
 * Percentiles are exact: the measured window's samples are merged and
 * sorted once at the end, so no histogram bucketing error enters p99.
 */
#include "peer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s [--host H] [--port P] [--size BYTES] [--conns N]\n"
          "          [--seconds S] [--warmup S]\n",
          prog);
  exit(2);
}

static double parse_num(const char *prog, const char *what, const char *s, double lo,
                        double hi) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "%s: bad %s '%s' (want %g..%g)\n", prog, what, s, lo, hi);
    exit(2);
  }
  return v;
}

void peer_parse(int argc, char **argv, peer_opts_t *o) {
  o->host = "127.0.0.1";
  o->port = 0;
  o->size = 64;
  o->conns = 1;
  o->seconds = 2.0;
  o->warmup_seconds = 0.2;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage(argv[0]);
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) o->host = v;
    else if (!strcmp(a, "--port")) o->port = (int)parse_num(argv[0], a, v, 0, 65535);
    else if (!strcmp(a, "--size")) o->size = (size_t)parse_num(argv[0], a, v, 1, PEER_PAYLOAD_MAX);
    else if (!strcmp(a, "--conns")) o->conns = (unsigned)parse_num(argv[0], a, v, 1, 256);
    else if (!strcmp(a, "--seconds")) o->seconds = parse_num(argv[0], a, v, 0.01, 3600);
    else if (!strcmp(a, "--warmup")) o->warmup_seconds = parse_num(argv[0], a, v, 0, 60);
    else usage(argv[0]);
  }
}

uint64_t peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double peer_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void peer_run_init(peer_run_t *r, const peer_opts_t *o) {
  memset(r, 0, sizeof *r);
  r->opts = *o;
  r->recs = calloc(o->conns, sizeof *r->recs);
  r->pool = malloc((size_t)PEER_SAMPLES_MAX * sizeof *r->pool);
  if (r->recs == NULL || r->pool == NULL) {
    fprintf(stderr, "peer: out of memory\n");
    exit(1);
  }
  size_t per = PEER_SAMPLES_MAX / o->conns;
  for (unsigned i = 0; i < o->conns; i++) {
    r->recs[i].samples = r->pool + (size_t)i * per;
    r->recs[i].cap = per;
  }
  r->t_start_ns = peer_now_ns();
  r->t_measure_ns = r->t_start_ns + (uint64_t)(o->warmup_seconds * 1e9);
  r->t_end_ns = r->t_measure_ns + (uint64_t)(o->seconds * 1e9);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

void peer_run_report(peer_run_t *r, double cpu0_us, double cpu1_us) {
  size_t n = 0;
  uint64_t total = 0, errors = 0;
  for (unsigned i = 0; i < r->opts.conns; i++) {
    /* Compact every connection's slice to the front of the pool. */
    memmove(r->pool + n, r->recs[i].samples, r->recs[i].count * sizeof *r->pool);
    n += r->recs[i].count;
    total += r->recs[i].calls_total;
    errors += r->recs[i].errors;
  }
  qsort(r->pool, n, sizeof *r->pool, cmp_u64);
  uint64_t p50 = n ? r->pool[n / 2] : 0;
  uint64_t p99 = n ? r->pool[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0;
  printf("RESULT calls=%zu seconds=%.6f p50_ns=%llu p99_ns=%llu cpu_us=%.0f "
         "total_calls=%llu errors=%llu\n",
         n, r->opts.seconds, (unsigned long long)p50, (unsigned long long)p99,
         cpu1_us - cpu0_us, (unsigned long long)total, (unsigned long long)errors);
  fflush(stdout);
  free(r->recs);
  free(r->pool);
  memset(r, 0, sizeof *r);
}

void peer_sleep_until(uint64_t t_ns) {
  struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000u),
                        .tv_nsec = (long)(t_ns % 1000000000u)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

void peer_fill(uint8_t *buf, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)('a' + i % 26);
}

void peer_listening(int port) {
  printf("LISTENING port=%d\n", port);
  fflush(stdout);
}

typedef struct blocking_thread {
  peer_run_t *run;
  const peer_blocking_ops_t *ops;
  void *conn;
  unsigned index;
  pthread_t tid;
} blocking_thread_t;

static void *blocking_main(void *arg) {
  blocking_thread_t *t = arg;
  size_t n = t->run->opts.size;
  uint8_t *req = malloc(n);
  if (req == NULL) return NULL;
  peer_fill(req, n);
  for (;;) {
    uint64_t t0 = peer_now_ns();
    if (t0 >= t->run->t_end_ns) break;
    if (t->ops->call(t->conn, req, n) != 0) {
      t->run->recs[t->index].errors++;
      break; /* a broken connection stays broken; the report shows it */
    }
    peer_rec_call(t->run, t->index, t0, peer_now_ns());
  }
  free(req);
  return NULL;
}

int peer_run_blocking(const peer_opts_t *o, const peer_blocking_ops_t *ops) {
  blocking_thread_t *th = calloc(o->conns, sizeof *th);
  if (th == NULL) return 1;
  for (unsigned i = 0; i < o->conns; i++) {
    th[i].conn = ops->connect(o, i);
    if (th[i].conn == NULL) return 1;
  }
  peer_run_t run;
  peer_run_init(&run, o);
  for (unsigned i = 0; i < o->conns; i++) {
    th[i].run = &run;
    th[i].ops = ops;
    th[i].index = i;
    if (pthread_create(&th[i].tid, NULL, blocking_main, &th[i]) != 0) {
      fprintf(stderr, "peer: pthread_create failed\n");
      return 1;
    }
  }
  peer_sleep_until(run.t_measure_ns);
  double cpu0 = peer_cpu_us();
  peer_sleep_until(run.t_end_ns);
  double cpu1 = peer_cpu_us();
  for (unsigned i = 0; i < o->conns; i++) pthread_join(th[i].tid, NULL);
  uint64_t errors = 0;
  for (unsigned i = 0; i < o->conns; i++) {
    errors += run.recs[i].errors;
    ops->close(th[i].conn);
  }
  free(th);
  peer_run_report(&run, cpu0, cpu1);
  return errors ? 1 : 0;
}
