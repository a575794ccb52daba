/*
 * bench/rpc/peer.h — what every peer program of `cohort bench rpc` shares:
 * the command line, the latency recorder and the one-line reports that
 * tools/bench_rpc.c parses. The peers are benchmark programs, not library
 * code: they print, exit on setup failure and use the C library directly.
 *
 * Protocol between the bench and a peer (all on stdout, one line each):
 *   server: "LISTENING port=<p>" once it accepts connections, then runs
 *           until killed (SIGTERM or SIGKILL).
 *   client: "RESULT calls=<n> seconds=<s> p50_ns=<n> p99_ns=<n>
 *           cpu_us=<client CPU in the measured window> total_calls=<n>
 *           errors=<n>" and exits 0, or exits non-zero with a message on
 *           stderr.
 * Invariants: a recorder never grows (its sample array is allocated once,
 * bounded by PEER_SAMPLES_MAX); calls made before the warm-up deadline
 * are counted in total_calls but never timed.
 */
#ifndef COHORT_BENCH_RPC_PEER_H
#define COHORT_BENCH_RPC_PEER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound on recorded latency samples over all connections of one
 * client run: 4 Mi samples is 32 MiB and more than 10 s at 300k calls/s;
 * later calls are still counted, just not timed. */
#define PEER_SAMPLES_MAX (4u << 20)

/* Largest payload a peer accepts on its command line. */
#define PEER_PAYLOAD_MAX (1u << 20)

typedef struct peer_opts {
  const char *host;       /* --host, default 127.0.0.1 */
  int port;               /* --port, 0 for a server means "any" */
  size_t size;            /* --size, payload bytes, default 64 */
  unsigned conns;         /* --conns, concurrent connections, default 1 */
  double seconds;         /* --seconds, measured time, default 2 */
  double warmup_seconds;  /* --warmup, untimed calls first, default 0.2 */
} peer_opts_t;

/* Parses the common options; prints usage and exits 2 on a bad one. */
void peer_parse(int argc, char **argv, peer_opts_t *o);

/* Monotonic nanoseconds. */
uint64_t peer_now_ns(void);

/* User + system CPU of the whole process, microseconds. */
double peer_cpu_us(void);

/* One connection's record of a run: its own slice of samples so that
 * threads never share a cache line while timing. */
typedef struct peer_rec {
  uint64_t *samples;
  size_t count;
  size_t cap;
  uint64_t calls_total;   /* every completed call, warm-up included */
  uint64_t errors;
} peer_rec_t;

/* A run: start, warm-up end and end deadlines plus one recorder per
 * connection, carved from one allocation. */
typedef struct peer_run {
  peer_opts_t opts;
  uint64_t t_start_ns;
  uint64_t t_measure_ns;  /* warm-up ends: first timed call starts after */
  uint64_t t_end_ns;
  peer_rec_t *recs;       /* opts.conns of them */
  uint64_t *pool;
} peer_run_t;

/* Allocates the recorders and sets the deadlines from now. */
void peer_run_init(peer_run_t *r, const peer_opts_t *o);

/* Records one call that started at t0 and ended at t1 on connection i. */
static inline void peer_rec_call(peer_run_t *r, unsigned i, uint64_t t0, uint64_t t1) {
  peer_rec_t *rec = &r->recs[i];
  rec->calls_total++;
  if (t0 >= r->t_measure_ns && t1 <= r->t_end_ns && rec->count < rec->cap)
    rec->samples[rec->count++] = t1 - t0;
}

/* Prints the RESULT line from the recorders and the CPU spent between
 * cpu0 (read at t_measure_ns) and cpu1 (at t_end_ns); frees the run. */
void peer_run_report(peer_run_t *r, double cpu0_us, double cpu1_us);

/* Sleeps until the absolute monotonic time t_ns. */
void peer_sleep_until(uint64_t t_ns);

/* Fills buf with a recognisable pattern. */
void peer_fill(uint8_t *buf, size_t n);

/* The blocking client driver: one thread per connection, each issuing
 * sequential calls until the end deadline. connect() is called for every
 * connection before the clock starts and returns NULL on failure (after
 * printing why); call() sends req (n bytes), waits for the echo, returns
 * 0 when it arrived intact. Prints the RESULT line; returns the exit
 * status for main(). */
typedef struct peer_blocking_ops {
  void *(*connect)(const peer_opts_t *o, unsigned conn_index);
  int (*call)(void *conn, const uint8_t *req, size_t n);
  void (*close)(void *conn);
} peer_blocking_ops_t;

int peer_run_blocking(const peer_opts_t *o, const peer_blocking_ops_t *ops);

/* Prints "LISTENING port=<p>" and flushes. */
void peer_listening(int port);

#ifdef __cplusplus
}
#endif

#endif
