/*
 * tools/bench_rpc.c — `cohort bench rpc`: unary echo over 127.0.0.1,
 * cohort against gRPC C++ (sync and async clients), ONC RPC (rpcgen +
 * libtirpc) and a raw TCP ping-pong (the ceiling), all in one run.
 *
 * Each row is one fresh server process and one client process, both
 * peers built in bench/rpc (see bench/rpc/peer.h for their line protocol).
 * Modes: one connection issuing sequential calls with server and client
 * pinned to the same CPU (on a 2-vCPU VM a cross-CPU wake-up costs tens of
 * microseconds per round trip and hides software differences), the same
 * unpinned, and 8 concurrent connections unpinned; 64 B and 4 KiB payloads.
 * Client CPU comes from the client's getrusage over the measured window,
 * server CPU from /proc/PID/stat over the client's whole life divided by
 * every call it made (warm-up included).
 *
 * Invariants: every child is reaped; a peer that does not answer in time
 * is killed and its row marked failed; a missing peer is named with the
 * path where it was looked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

#define SYSTEMS 5
#define MODES 3
#define SIZES 2
#define LINE_MAX_BYTES 512

typedef struct system_desc {
  const char *name;   /* as printed and as given to --only */
  const char *server; /* peer program names in bench/rpc */
  const char *client;
} system_desc_t;

static const system_desc_t systems[SYSTEMS] = {
    {"raw-tcp", "raw_server", "raw_client"},
    {"onc-rpc", "onc_server", "onc_client"},
    {"grpc-sync", "grpc_server", "grpc_client_sync"},
    {"grpc-async", "grpc_server", "grpc_client_async"},
    {"cohort", "cohort_server", "cohort_client"},
};

enum { RAW, ONC, GRPC_SYNC, GRPC_ASYNC, COHORT };
enum { SEQ_PINNED, SEQ, CONC8 };

static const char *const mode_names[MODES] = {"seq pinned", "seq", "8 conns"};
static const unsigned mode_conns[MODES] = {1, 1, 8};
static const size_t sizes[SIZES] = {64, 4096};

typedef struct result {
  int ok;
  double calls_per_s, p50_us, p99_us, client_us, server_us;
} result_t;

typedef struct bench_opts {
  double seconds, warmup;
  char dir[PATH_MAX];
  int only[SYSTEMS]; /* 1: run this system */
  int pin_cpu;
} bench_opts_t;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system, all threads) of a process, in microseconds. */
static int proc_cpu_us(pid_t pid, double *us) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long utime = 0, stime = 0;
  if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                          &stime) != 2)
    return -1;
  *us = (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
  return 0;
}

/* Starts `path` with its stdout on a pipe; pins it to `cpu` if >= 0. */
static pid_t spawn(const char *path, char *const argv[], int cpu, int *out_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET((size_t)cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) _exit(126);
    }
    execv(path, argv);
    fprintf(stderr, "cohort bench rpc: cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

/* Reads one line (without '\n') from fd within `timeout_s`. 0 or -1. */
static int read_line(int fd, char *line, size_t cap, double timeout_s) {
  size_t n = 0;
  double end = now_s() + timeout_s;
  while (n + 1 < cap) {
    int left_ms = (int)((end - now_s()) * 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left_ms <= 0 || poll(&p, 1, left_ms) <= 0) return -1;
    ssize_t r = read(fd, line + n, 1);
    if (r <= 0) return -1;
    if (line[n] == '\n') break;
    n++;
  }
  line[n] = '\0';
  return 0;
}

static void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(pid, NULL, WNOHANG) == pid) return;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

static void peer_path(const bench_opts_t *o, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", o->dir, name);
}

static int peer_exists(const bench_opts_t *o, const char *name) {
  char path[PATH_MAX + 64];
  peer_path(o, name, path, sizeof path);
  return access(path, X_OK) == 0;
}

/* Parses the client's RESULT line into r (server CPU filled by caller). */
static int parse_result(const char *line, const bench_opts_t *o, result_t *r,
                        unsigned long long *total) {
  unsigned long long calls, p50, p99, errors;
  double secs, cpu;
  if (sscanf(line,
             "RESULT calls=%llu seconds=%lf p50_ns=%llu p99_ns=%llu cpu_us=%lf "
             "total_calls=%llu errors=%llu",
             &calls, &secs, &p50, &p99, &cpu, total, &errors) != 7 ||
      calls == 0 || errors != 0)
    return -1;
  (void)o;
  r->calls_per_s = (double)calls / secs;
  r->p50_us = (double)p50 / 1e3;
  r->p99_us = (double)p99 / 1e3;
  r->client_us = cpu / (double)calls;
  return 0;
}

/* Runs the client against a started server; fills r. */
static int run_client(const bench_opts_t *o, const system_desc_t *s, int port, unsigned conns,
                      size_t size, int cpu, pid_t server, result_t *r) {
  char path[PATH_MAX + 64], a_port[16], a_size[24], a_conns[16], a_secs[32], a_warm[32];
  peer_path(o, s->client, path, sizeof path);
  snprintf(a_port, sizeof a_port, "%d", port);
  snprintf(a_size, sizeof a_size, "%zu", size);
  snprintf(a_conns, sizeof a_conns, "%u", conns);
  snprintf(a_secs, sizeof a_secs, "%g", o->seconds);
  snprintf(a_warm, sizeof a_warm, "%g", o->warmup);
  char *argv[] = {path,    "--port",    a_port, "--size",   a_size, "--conns",
                  a_conns, "--seconds", a_secs, "--warmup", a_warm, NULL};
  double cpu0 = 0, cpu1 = 0;
  if (proc_cpu_us(server, &cpu0) != 0) return -1;
  int fd = -1;
  pid_t pid = spawn(path, argv, cpu, &fd);
  if (pid < 0) return -1;
  char line[LINE_MAX_BYTES] = "";
  int rc = -1;
  unsigned long long total = 0;
  double limit = o->seconds + o->warmup + 30;
  while (read_line(fd, line, sizeof line, limit) == 0)
    if (strncmp(line, "RESULT ", 7) == 0) {
      rc = parse_result(line, o, r, &total);
      break;
    }
  close(fd);
  int status = 0;
  if (rc != 0) kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (rc == 0 && WIFSIGNALED(status))
      fprintf(stderr, "cohort bench rpc: %s killed by signal %d after its report\n", s->client,
              WTERMSIG(status));
    else if (rc == 0)
      fprintf(stderr, "cohort bench rpc: %s exited %d\n", s->client, WEXITSTATUS(status));
    rc = -1;
  } else if (rc != 0) {
    fprintf(stderr, "cohort bench rpc: %s gave no valid report (last line: %.120s)\n",
            s->client, line);
  }
  if (rc == 0 && proc_cpu_us(server, &cpu1) == 0 && total > 0)
    r->server_us = (cpu1 - cpu0) / (double)total;
  return rc;
}

/* One row: a fresh server, one client run, the server stopped. */
static void run_one(const bench_opts_t *o, int sys, int mode, size_t size, result_t *r) {
  const system_desc_t *s = &systems[sys];
  memset(r, 0, sizeof *r);
  char path[PATH_MAX + 64];
  peer_path(o, s->server, path, sizeof path);
  char *argv[] = {path, "--port", "0", NULL};
  int cpu = mode == SEQ_PINNED ? o->pin_cpu : -1, fd = -1, port = 0;
  pid_t server = spawn(path, argv, cpu, &fd);
  if (server < 0) return;
  char line[LINE_MAX_BYTES];
  if (read_line(fd, line, sizeof line, 20) != 0 || sscanf(line, "LISTENING port=%d", &port) != 1) {
    fprintf(stderr, "cohort bench rpc: %s did not start listening\n", s->server);
  } else if (run_client(o, s, port, mode_conns[mode], size, cpu, server, r) == 0) {
    r->ok = 1;
  } else {
    fprintf(stderr, "cohort bench rpc: %s, %s, %zu B: the client failed\n", s->name,
            mode_names[mode], size);
  }
  close(fd);
  stop(server);
}

static void print_row(int sys, int mode, size_t size, const result_t *r) {
  if (!r->ok) {
    printf("  %-10s %5zu  %-11s %10s\n", mode_names[mode], size, systems[sys].name, "FAILED");
    return;
  }
  printf("  %-10s %5zu  %-11s %10.0f %9.1f %9.1f %9.2f %9.2f\n", mode_names[mode], size,
         systems[sys].name, r->calls_per_s, r->p50_us, r->p99_us, r->client_us, r->server_us);
}

static int usage(FILE *f) {
  fprintf(f,
          "usage: cohort bench rpc [--seconds S] [--warmup S] [--short] [--only LIST]\n"
          "                        [--peers DIR] [--cpu N]\n"
          "  unary echo over 127.0.0.1: cohort vs gRPC C++ (sync, async) vs ONC RPC vs\n"
          "  raw TCP; 64 B and 4 KiB; sequential pinned, sequential, 8 connections.\n"
          "  --seconds S  measured time per run (default 2)\n"
          "  --warmup S   untimed calls first (default 0.3)\n"
          "  --short      0.2 s runs (for tests)\n"
          "  --only LIST  comma-separated: raw-tcp,onc-rpc,grpc-sync,grpc-async,cohort\n"
          "  --peers DIR  where the peer programs are (default: $COHORT_BENCH_RPC_DIR,\n"
          "               else ../bench/rpc next to this cohort binary)\n"
          "  --cpu N      the CPU of pinned runs (default: the last one)\n");
  return f == stdout ? 0 : 2;
}

static int parse_only(const char *list, int only[SYSTEMS]) {
  memset(only, 0, SYSTEMS * sizeof only[0]);
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int i = 0; i < SYSTEMS; i++)
      if (strcmp(t, systems[i].name) == 0) only[i] = found = 1;
    if (!found) {
      fprintf(stderr, "cohort bench rpc: unknown system '%s'\n", t);
      return -1;
    }
  }
  return 0;
}


static double parse_number(const char *s, int *bad) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= 0.0 && v <= 3600)) *bad = 1;
  return v;
}

static int parse_args(int argc, char **argv, bench_opts_t *o) {
  o->seconds = 2.0;
  o->warmup = 0.3;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  o->pin_cpu = ncpu > 0 ? (int)ncpu - 1 : 0;
  for (int i = 0; i < SYSTEMS; i++) o->only[i] = 1;
  if (cohort_bench_peer_dir("COHORT_BENCH_RPC_DIR", "rpc", o->dir, sizeof o->dir) != 0)
    o->dir[0] = '\0';
  int bad = 0;
  for (int i = 1; i < argc && !bad; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout) - 1; /* -1 */
    if (!strcmp(a, "--short")) {
      o->seconds = 0.2;
      o->warmup = 0.05;
      continue;
    }
    if (v == NULL) return usage(stderr);
    i++;
    if (!strcmp(a, "--seconds")) o->seconds = parse_number(v, &bad);
    else if (!strcmp(a, "--warmup")) o->warmup = parse_number(v, &bad);
    else if (!strcmp(a, "--only")) bad = parse_only(v, o->only) != 0;
    else if (!strcmp(a, "--peers")) snprintf(o->dir, sizeof o->dir, "%s", v);
    else if (!strcmp(a, "--cpu")) o->pin_cpu = (int)parse_number(v, &bad);
    else return usage(stderr);
  }
  if (bad || o->seconds < 0.01 || o->dir[0] == '\0' || o->pin_cpu >= CPU_SETSIZE) {
    fprintf(stderr, "cohort bench rpc: bad arguments\n");
    return usage(stderr);
  }
  return 0;
}

/* Best gRPC figure of a row: higher calls/s, or lower p99. */
static const result_t *grpc_best(const result_t *sync_r, const result_t *async_r, int by_p99) {
  if (!sync_r->ok) return async_r;
  if (!async_r->ok) return sync_r;
  if (by_p99) return sync_r->p99_us <= async_r->p99_us ? sync_r : async_r;
  return sync_r->calls_per_s >= async_r->calls_per_s ? sync_r : async_r;
}

/* at_least: 1 target is a floor, 0 a ceiling, -1 no target (reference). */
static void print_ratio(const char *what, double num, double den, double target, int at_least) {
  cohort_bench_ratio(52, what, num, den, target, at_least, "issue 5 measured");
}

static void print_targets(result_t res[MODES][SIZES][SYSTEMS]) {
  for (int z = 0; z < SIZES; z++) {
    result_t(*m)[SIZES][SYSTEMS] = res;
    const result_t *sp = m[SEQ_PINNED][z], *c8 = m[CONC8][z];
    printf("\nratios, %zu B payload%s:\n", sizes[z], z == 0 ? " (the targets of issue 5)" : "");
    print_ratio("seq pinned calls/s: cohort / gRPC C++ (best client)", sp[COHORT].calls_per_s,
                grpc_best(&sp[GRPC_SYNC], &sp[GRPC_ASYNC], 0)->calls_per_s, 2.0, 1);
    print_ratio("seq pinned calls/s: cohort / raw TCP", sp[COHORT].calls_per_s,
                sp[RAW].calls_per_s, 0.7, 1);
    if (z == 0) { /* the calibration figures are for 64 B */
      print_ratio("seq pinned calls/s: ONC RPC / raw TCP", sp[ONC].calls_per_s,
                  sp[RAW].calls_per_s, 0.84, -1);
      print_ratio("seq pinned calls/s: gRPC C++ (best) / raw TCP",
                  grpc_best(&sp[GRPC_SYNC], &sp[GRPC_ASYNC], 0)->calls_per_s,
                  sp[RAW].calls_per_s, 0.36, -1);
    }
    print_ratio("8 conns calls/s: cohort / gRPC C++ async", c8[COHORT].calls_per_s,
                c8[GRPC_ASYNC].calls_per_s, 1.3, 1);
    print_ratio("seq pinned p99: cohort / gRPC C++ (best client)", sp[COHORT].p99_us,
                grpc_best(&sp[GRPC_SYNC], &sp[GRPC_ASYNC], 1)->p99_us, 0.5, 0);
    print_ratio("8 conns p99: cohort / gRPC C++ async", c8[COHORT].p99_us,
                c8[GRPC_ASYNC].p99_us, 0.5, 0);
  }
}

/* Names every selected system whose peers are missing; returns how many. */
static int check_peers(bench_opts_t *o) {
  int missing = 0;
  for (int i = 0; i < SYSTEMS; i++) {
    if (!o->only[i]) continue;
    const char *progs[2] = {systems[i].server, systems[i].client};
    for (int k = 0; k < 2; k++)
      if (!peer_exists(o, progs[k])) {
        fprintf(stderr,
                "cohort bench rpc: %s: peer %s/%s is missing (build bench/rpc with meson; "
                "or set --peers / COHORT_BENCH_RPC_DIR)\n",
                systems[i].name, o->dir, progs[k]);
        o->only[i] = 0;
        missing++;
        break;
      }
  }
  return missing;
}

int cohort_bench_rpc(int argc, char **argv) {
  static bench_opts_t o;
  int prc = parse_args(argc, argv, &o);
  if (prc != 0) return prc < 0 ? 0 : prc;
  signal(SIGPIPE, SIG_IGN);
  int missing = check_peers(&o);
  static result_t res[MODES][SIZES][SYSTEMS];
  int failed = 0;
  printf("cohort bench rpc: unary echo on 127.0.0.1, %.1f s per run after %.1f s warm-up, "
         "pinned runs on CPU %d\n",
         o.seconds, o.warmup, o.pin_cpu);
  printf("  %-10s %5s  %-11s %10s %9s %9s %9s %9s\n", "mode", "bytes", "system", "calls/s",
         "p50 us", "p99 us", "cli us/c", "srv us/c");
  for (int m = 0; m < MODES; m++)
    for (int z = 0; z < SIZES; z++)
      for (int s = 0; s < SYSTEMS; s++) {
        if (!o.only[s]) continue;
        run_one(&o, s, m, sizes[z], &res[m][z][s]);
        failed += !res[m][z][s].ok;
        print_row(s, m, sizes[z], &res[m][z][s]);
        fflush(stdout);
      }
  print_targets(res);
  printf("  cli/srv us/c: CPU microseconds per call in the client / server process "
         "(user+system, all threads)\n");
  if (missing || failed)
    printf("\n%d system(s) missing, %d run(s) failed: see the messages above\n", missing,
           failed);
  return missing || failed ? 1 : 0;
}
