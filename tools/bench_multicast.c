/*
 * tools/bench_multicast.c — `cohort bench multicast`: agreed (total)
 * order multicast among 3 nodes, each one process in its own network
 * namespace on a bridge (bench/multicast/mcnet), cohort's group against
 * Corosync CPG (one corosync daemon per namespace, knet transport,
 * bench/multicast/corosync-netns) and a raw UDP fan-out (the ceiling),
 * all in one run; 1 and 3 senders; 64 B, 1 KiB and 10 KiB messages; then
 * every cohort service level at 1 KiB, one sender.
 *
 * Each row is one trial: fresh peer processes (bench/multicast/mc_*,
 * protocol in bench/multicast/mc_peer.h), READY from all three, GO to all
 * at once, senders send as fast as their system's flow control lets them
 * for --seconds, everyone records every delivery until --drain later.
 * The bench then joins the three record files on (sender, seq):
 *   msg/s      messages delivered at every node, sent in the measured
 *              window [first send + warm-up, first send + seconds],
 *              divided by the window's length;
 *   p50 / p99  of (last node's delivery time - send time) over them;
 *   complete   of the messages sent in the window, the share delivered
 *              at every node (a reliable system: 100 %; the raw fan-out
 *              loses what the kernel drops);
 *   RSS        the largest peak RSS of the three peer processes (for
 *              Corosync, the daemons' peak is printed after the table:
 *              the CPG client is only half of a Corosync node).
 * Ratios follow (cohort / Corosync, cohort / raw), with issue 11's targets.
 *
 * Invariants: every child is reaped (killed when it overruns its time);
 * the namespaces and daemons are removed on every exit path of the run;
 * record files are read with a hard cap (MCB_RECORDS_MAX). Needs root
 * (network namespaces): elsewhere it says so and exits 77.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../bench/multicast/mc_peer.h"
#include "cmd.h"

#define MCB_NODES 3
#define MCB_RECORDS_MAX (24u << 20) /* 576 MiB of records at most, all nodes */
#define MCB_LINE 512

/* corosync: sched_rr off (its best throughput here, the row the targets
 * compare with); corosync-rt: its own default, SCHED_RR at top priority
 * (lower latency, a fraction of the throughput on a shared 2-core host). */
enum { SYS_UDP, SYS_CPG, SYS_CPG_RT, SYS_COHORT, SYS_N };
static const char *const sys_names[SYS_N] = {"raw-udp", "corosync", "corosync-rt", "cohort"};
static const char *const sys_progs[SYS_N] = {"mc_udp", "mc_cpg", "mc_cpg", "mc_cohort"};

typedef struct opts {
  double seconds, drain, warmup;
  bool only[SYS_N];
  bool services; /* the per-service cohort rows */
  size_t sizes[3];
  unsigned nsizes;
  unsigned window;
  char dir[PATH_MAX - 64]; /* peer programs and scripts */
  bool keep;
} opts_t;

typedef struct result {
  bool ok;
  double msgs_per_s, p50_ms, p99_ms, complete;
  long rss_kb;
  unsigned long long sent, window_msgs;
} result_t;

static char g_tmp[256]; /* the run's directory */
static char g_prefix[32];           /* namespace prefix */
static bool g_net_up, g_cpg_up;

static int run_script(const opts_t *o, const char *script, const char *a1, const char *a2,
                      const char *a3, const char *a4, bool quiet) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", o->dir, script);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (quiet) {
      int fd = open("/dev/null", O_WRONLY);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
    }
    execl(path, script, a1, a2, a3, a4, (char *)NULL);
    fprintf(stderr, "cohort bench multicast: cannot run %s: %s\n", path, strerror(errno));
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static void teardown(const opts_t *o) {
  char n[8];
  snprintf(n, sizeof n, "%d", MCB_NODES);
  if (g_cpg_up) run_script(o, "corosync-netns", "down", g_prefix, n, g_tmp, true);
  g_cpg_up = false;
  if (g_net_up) run_script(o, "mcnet", "down", g_prefix, n, NULL, true);
  g_net_up = false;
}

/* ---- one trial ------------------------------------------------------------ */

typedef struct child {
  pid_t pid;
  int in, out; /* our ends: its stdin, its stdout */
  char buf[MCB_LINE];
  size_t len;
  bool ready, done;
  char result[MCB_LINE];
} child_t;

static pid_t spawn(const char *ns, char **args, int *in_fd, int *out_fd) {
  int pin[2], pout[2];
  if (pipe(pin) != 0) return -1;
  if (pipe(pout) != 0) {
    close(pin[0]);
    close(pin[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pin[0], 0);
    dup2(pout[1], 1);
    close(pin[0]);
    close(pin[1]);
    close(pout[0]);
    close(pout[1]);
    char *argv[32] = {"ip", "netns", "exec", (char *)ns};
    size_t k = 4;
    for (size_t i = 0; args[i] && k < 31; i++) argv[k++] = args[i];
    argv[k] = NULL;
    execvp("ip", argv);
    _exit(127);
  }
  close(pin[0]);
  close(pout[1]);
  if (pid < 0) {
    close(pin[1]);
    close(pout[0]);
    return -1;
  }
  *in_fd = pin[1];
  *out_fd = pout[0];
  return pid;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads what is there from c's stdout; keeps READY / RESULT. */
static void child_read(child_t *c) {
  ssize_t n = read(c->out, c->buf + c->len, sizeof c->buf - 1 - c->len);
  if (n <= 0) {
    c->done = true;
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  char *nl;
  while ((nl = strchr(c->buf, '\n')) != NULL) {
    *nl = '\0';
    if (!strcmp(c->buf, "READY")) c->ready = true;
    else if (!strncmp(c->buf, "RESULT ", 7)) snprintf(c->result, sizeof c->result, "%s", c->buf);
    size_t rest = c->len - (size_t)(nl + 1 - c->buf);
    memmove(c->buf, nl + 1, rest);
    c->len = rest;
    c->buf[c->len] = '\0';
  }
  if (c->len >= sizeof c->buf - 1) c->len = 0; /* an over-long line: dropped */
}

/* Waits until pred holds for every child or the deadline passes. */
static bool wait_all(child_t *cs, bool want_result, double deadline) {
  for (;;) {
    bool all = true;
    struct pollfd pf[MCB_NODES];
    for (int i = 0; i < MCB_NODES; i++) {
      bool have = want_result ? cs[i].result[0] != '\0' : cs[i].ready;
      if (!have && cs[i].done) return false; /* exited without it */
      all = all && have;
      pf[i].fd = cs[i].done ? -1 : cs[i].out;
      pf[i].events = POLLIN;
    }
    if (all) return true;
    double left = deadline - now_s();
    if (left <= 0) return false;
    int rc = poll(pf, MCB_NODES, (int)(left * 1000) + 1);
    if (rc < 0 && errno != EINTR) return false;
    for (int i = 0; i < MCB_NODES; i++)
      if (pf[i].revents) child_read(&cs[i]);
  }
}

static int cmp_rec(const void *a, const void *b) {
  const mc_rec_t *x = a, *y = b;
  if (x->sender != y->sender) return x->sender < y->sender ? -1 : 1;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Joins the record files of the trial; fills r. */
static int merge(const opts_t *o, const char *tdir, result_t *r) {
  mc_rec_t *recs = NULL;
  size_t n = 0, cap = 0;
  for (int i = 0; i < MCB_NODES; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/rec%d", tdir, i);
    FILE *f = fopen(path, "rb");
    char magic[8];
    if (f == NULL || fread(magic, 1, 8, f) != 8 || memcmp(magic, MC_REC_MAGIC, 8) != 0) {
      fprintf(stderr, "cohort bench multicast: %s: missing or not a record file\n", path);
      if (f) fclose(f);
      free(recs);
      return -1;
    }
    for (;;) {
      if (n == cap) {
        if (cap >= MCB_RECORDS_MAX) break;
        size_t nc = cap ? cap * 2 : 1u << 16;
        if (nc > MCB_RECORDS_MAX) nc = MCB_RECORDS_MAX;
        mc_rec_t *nr = realloc(recs, nc * sizeof *nr);
        if (nr == NULL) break;
        recs = nr;
        cap = nc;
      }
      size_t got = fread(recs + n, sizeof *recs, cap - n, f);
      n += got;
      if (got == 0) break;
    }
    fclose(f);
  }
  if (n == 0) {
    free(recs);
    return -1;
  }
  uint64_t t0 = UINT64_MAX;
  for (size_t i = 0; i < n; i++)
    if (recs[i].t_send_ns < t0) t0 = recs[i].t_send_ns;
  uint64_t w0 = t0 + (uint64_t)(o->warmup * 1e9), w1 = t0 + (uint64_t)(o->seconds * 1e9);
  qsort(recs, n, sizeof *recs, cmp_rec);
  uint64_t *lat = malloc(n * sizeof *lat);
  if (lat == NULL) {
    free(recs);
    return -1;
  }
  size_t nlat = 0, in_window = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    uint64_t last = 0;
    while (j < n && cmp_rec(&recs[i], &recs[j]) == 0) {
      if (recs[j].t_deliver_ns > last) last = recs[j].t_deliver_ns;
      j++;
    }
    uint64_t ts = recs[i].t_send_ns;
    if (ts >= w0 && ts < w1) {
      in_window++;
      if (j - i >= MCB_NODES) lat[nlat++] = last > ts ? last - ts : 0;
    }
    i = j;
  }
  free(recs);
  if (nlat == 0) {
    free(lat);
    return -1;
  }
  qsort(lat, nlat, sizeof *lat, cmp_u64);
  r->msgs_per_s = (double)nlat / (o->seconds - o->warmup);
  r->p50_ms = (double)lat[nlat / 2] / 1e6;
  r->p99_ms = (double)lat[(nlat * 99) / 100] / 1e6;
  r->complete = (double)nlat / (double)in_window;
  r->window_msgs = in_window;
  free(lat);
  return 0;
}

static unsigned g_trial;

static void run_trial(const opts_t *o, int sys, unsigned senders, size_t size,
                      const char *service, result_t *r) {
  memset(r, 0, sizeof *r);
  char tdir[PATH_MAX / 2];
  snprintf(tdir, sizeof tdir, "%.*s/t%u", (int)(sizeof tdir - 16), g_tmp, ++g_trial);
  if (mkdir(tdir, 0700) != 0) return;
  char prog[PATH_MAX], a_n[8], a_s[8], a_z[16], a_sec[32], a_dr[32], peers[256], a_w[16];
  snprintf(prog, sizeof prog, "%s/%s", o->dir, sys_progs[sys]);
  snprintf(a_n, sizeof a_n, "%d", MCB_NODES);
  snprintf(a_s, sizeof a_s, "%u", senders);
  snprintf(a_z, sizeof a_z, "%zu", size);
  snprintf(a_sec, sizeof a_sec, "%g", o->seconds);
  snprintf(a_dr, sizeof a_dr, "%g", o->drain);
  snprintf(a_w, sizeof a_w, "%u", o->window);
  unsigned port = 7600 + g_trial % 1000; /* a fresh port: no datagram of the last trial */
  snprintf(peers, sizeof peers, "198.18.1.1:%u,198.18.1.2:%u,198.18.1.3:%u", port, port, port);
  child_t cs[MCB_NODES];
  memset(cs, 0, sizeof cs);
  bool started = true;
  for (int i = 0; i < MCB_NODES; i++) {
    char ns[48], idx[8], out[PATH_MAX], key[PATH_MAX];
    snprintf(ns, sizeof ns, "%sn%d", g_prefix, i + 1);
    snprintf(idx, sizeof idx, "%d", i);
    snprintf(out, sizeof out, "%s/rec%d", tdir, i);
    snprintf(key, sizeof key, "%s/cluster.key", g_tmp);
    char *args[24] = {prog,  "--index",   idx,   "--nodes", a_n,    "--senders", a_s,
                      "--size", a_z,      "--seconds", a_sec, "--drain", a_dr, "--out", out,
                      "--peers", peers, NULL};
    size_t k = 17;
    if (sys == SYS_COHORT) {
      args[k++] = "--key-file";
      args[k++] = key;
      args[k++] = "--service";
      args[k++] = (char *)(service ? service : "total");
      args[k++] = "--window";
      args[k++] = a_w;
    }
    args[k] = NULL;
    cs[i].pid = spawn(ns, args, &cs[i].in, &cs[i].out);
    if (cs[i].pid < 0) started = false;
  }
  bool ok = started && wait_all(cs, false, now_s() + 30);
  if (!ok) fprintf(stderr, "cohort bench multicast: %s: the peers did not all get READY\n",
                   sys_names[sys]);
  if (ok)
    for (int i = 0; i < MCB_NODES; i++)
      if (write(cs[i].in, "GO\n", 3) != 3) ok = false;
  if (ok && !wait_all(cs, true, now_s() + o->seconds + o->drain + 30)) {
    fprintf(stderr, "cohort bench multicast: %s: a peer gave no RESULT\n", sys_names[sys]);
    ok = false;
  }
  for (int i = 0; i < MCB_NODES; i++) {
    if (cs[i].pid <= 0) continue;
    if (!ok) kill(cs[i].pid, SIGKILL);
    int st = 0;
    while (waitpid(cs[i].pid, &st, 0) < 0 && errno == EINTR) {}
    if (ok && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
      fprintf(stderr, "cohort bench multicast: %s peer %d failed (status 0x%x)\n",
              sys_names[sys], i, st);
      ok = false;
    }
    close(cs[i].in);
    close(cs[i].out);
    unsigned long long sent = 0, dl = 0, ea = 0;
    long rss = 0;
    if (sscanf(cs[i].result, "RESULT sent=%llu delivered=%llu eagain=%llu rss_kb=%ld", &sent,
               &dl, &ea, &rss) == 4) {
      r->sent += sent;
      if (rss > r->rss_kb) r->rss_kb = rss;
    }
  }
  if (ok && merge(o, tdir, r) == 0) r->ok = true;
  if (!o->keep) {
    char path[PATH_MAX + 16];
    for (int i = 0; i < MCB_NODES; i++) {
      snprintf(path, sizeof path, "%s/rec%d", tdir, i);
      unlink(path);
    }
    rmdir(tdir);
  }
}

/* ---- report ---------------------------------------------------------------- */

static void print_head(void) {
  printf("  %-11s %-13s %7s %6s %10s %8s %8s %8s %9s %8s\n", "system", "service", "senders",
         "size", "msg/s", "MB/s", "p50 ms", "p99 ms", "complete", "RSS KiB");
}

static void print_row(int sys, const char *svc, unsigned senders, size_t size,
                      const result_t *r) {
  if (!r->ok) {
    printf("  %-11s %-13s %7u %6zu %10s\n", sys_names[sys], svc, senders, size, "FAILED");
    return;
  }
  printf("  %-11s %-13s %7u %6zu %10.0f %8.1f %8.2f %8.2f %8.1f%% %8ld\n", sys_names[sys], svc,
         senders, size, r->msgs_per_s, r->msgs_per_s * (double)size / 1e6, r->p50_ms, r->p99_ms,
         100.0 * r->complete, r->rss_kb);
  fflush(stdout);
}

static void print_ratio(const char *what, double num, double den, double target, int at_least) {
  cohort_bench_ratio(46, what, num, den, target, at_least, NULL);
}

static long daemon_rss_kb(int node) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/cpg/n%d/pid", g_tmp, node);
  FILE *f = fopen(path, "r");
  long pid = 0, kb = 0;
  if (f == NULL || fscanf(f, "%ld", &pid) != 1) {
    if (f) fclose(f);
    return 0;
  }
  fclose(f);
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  f = fopen(path, "r");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

/* ---- options ---------------------------------------------------------------- */

static int usage(FILE *f) {
  fprintf(f,
          "usage: cohort bench multicast [--seconds S] [--drain S] [--warmup S] [--short]\n"
          "                              [--only LIST] [--sizes LIST] [--no-services]\n"
          "                              [--window N] [--peers DIR] [--keep]\n"
          "  agreed-order multicast, 3 nodes in network namespaces (root): cohort vs\n"
          "  Corosync CPG (sched_rr off, and on: its default) vs raw UDP fan-out;\n"
          "  1 and 3 senders; 64 B, 1 KiB, 10 KiB;\n"
          "  then every cohort service at 1 KiB.\n"
          "  --seconds S   sending time per trial (default 3)\n"
          "  --drain S     receiving time after it (default 1)\n"
          "  --warmup S    first seconds of sending not measured (default 0.5)\n"
          "  --short       1 s trials, 1 KiB only (for tests)\n"
          "  --only LIST   comma-separated: raw-udp,corosync,corosync-rt,cohort\n"
          "  --sizes LIST  comma-separated message sizes (at most 3, 24..30000)\n"
          "  --no-services skip the per-service cohort rows\n"
          "  --window N    cohort's send window (default 1024; the group's own is 256)\n"
          "  --peers DIR   where mc_* and the scripts are (default: $COHORT_BENCH_MC_DIR,\n"
          "                else ../bench/multicast next to this cohort binary)\n"
          "  --keep        keep the record files (printed directory)\n");
  return f == stdout ? 0 : 2;
}


static double parse_num(const char *s, double lo, double hi, int *bad) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= lo && v <= hi)) *bad = 1;
  return v;
}

static int parse_args(int argc, char **argv, opts_t *o) {
  o->seconds = 3;
  o->drain = 1;
  o->warmup = 0.5;
  o->services = true;
  o->window = 1024;
  o->sizes[0] = 64;
  o->sizes[1] = 1024;
  o->sizes[2] = 10240;
  o->nsizes = 3;
  for (int i = 0; i < SYS_N; i++) o->only[i] = true;
  if (cohort_bench_peer_dir("COHORT_BENCH_MC_DIR", "multicast", o->dir, sizeof o->dir) != 0)
    o->dir[0] = '\0';
  int bad = 0;
  for (int i = 1; i < argc && !bad; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout) - 1;
    if (!strcmp(a, "--short")) {
      o->seconds = 1;
      o->warmup = 0.2;
      o->drain = 0.5;
      o->sizes[0] = 1024;
      o->nsizes = 1;
      continue;
    }
    if (!strcmp(a, "--no-services")) {
      o->services = false;
      continue;
    }
    if (!strcmp(a, "--keep")) {
      o->keep = true;
      continue;
    }
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) return usage(stderr);
    i++;
    if (!strcmp(a, "--seconds")) o->seconds = parse_num(v, 0.2, 600, &bad);
    else if (!strcmp(a, "--drain")) o->drain = parse_num(v, 0, 60, &bad);
    else if (!strcmp(a, "--warmup")) o->warmup = parse_num(v, 0, 60, &bad);
    else if (!strcmp(a, "--window")) o->window = (unsigned)parse_num(v, 1, 4096, &bad);
    else if (!strcmp(a, "--peers")) snprintf(o->dir, sizeof o->dir, "%s", v);
    else if (!strcmp(a, "--only") || !strcmp(a, "--sizes")) {
      bool only = !strcmp(a, "--only");
      char buf[256];
      snprintf(buf, sizeof buf, "%s", v);
      if (only) memset(o->only, 0, sizeof o->only);
      else o->nsizes = 0;
      for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && !bad;
           t = strtok_r(NULL, ",", &save)) {
        if (only) {
          int found = 0;
          for (int s = 0; s < SYS_N; s++)
            if (!strcmp(t, sys_names[s])) {
              o->only[s] = true;
              found = 1;
            }
          if (!found) {
            fprintf(stderr, "cohort bench multicast: unknown system '%s'\n", t);
            bad = 1;
          }
        } else if (o->nsizes >= 3) {
          bad = 1;
        } else {
          o->sizes[o->nsizes++] = (size_t)parse_num(t, MC_HDR_BYTES, MC_SIZE_MAX, &bad);
        }
      }
      if (!only && o->nsizes == 0) bad = 1;
    } else return usage(stderr);
  }
  if (bad || o->warmup >= o->seconds || o->dir[0] == '\0') {
    fprintf(stderr, "cohort bench multicast: bad arguments\n");
    return usage(stderr);
  }
  return 0;
}

/* ---- the bench ---------------------------------------------------------------- */

static volatile sig_atomic_t g_signalled;
static void on_signal(int s) { g_signalled = s; }

int cohort_bench_multicast(int argc, char **argv) {
  static opts_t o;
  int prc = parse_args(argc, argv, &o);
  if (prc != 0) return prc < 0 ? 0 : prc;
  if (geteuid() != 0) {
    printf("cohort bench multicast: SKIP: network namespaces need root\n");
    return 77;
  }
  for (int s = 0; s < SYS_N; s++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", o.dir, sys_progs[s]);
    if (o.only[s] && access(path, X_OK) != 0) {
      fprintf(stderr, "cohort bench multicast: %s: %s is missing (%s)\n", sys_names[s], path,
              s == SYS_CPG ? "install libcpg-dev and corosync, then rebuild"
                           : "build bench/multicast with meson");
      o.only[s] = false;
    }
  }
  snprintf(g_tmp, sizeof g_tmp, "/tmp/cohort-bench-mc.XXXXXX");
  if (mkdtemp(g_tmp) == NULL) {
    fprintf(stderr, "cohort bench multicast: mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  snprintf(g_prefix, sizeof g_prefix, "cmb%u", (unsigned)getpid() % 100000u);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  char nstr[8], key[PATH_MAX], cpgdir[PATH_MAX];
  snprintf(nstr, sizeof nstr, "%d", MCB_NODES);
  int rc = run_script(&o, "mcnet", "up", g_prefix, nstr, NULL, false);
  if (rc == 77) {
    printf("cohort bench multicast: SKIP: cannot create network namespaces here\n");
    rmdir(g_tmp);
    return 77;
  }
  if (rc != 0) {
    fprintf(stderr, "cohort bench multicast: the namespaces could not be set up\n");
    rmdir(g_tmp);
    return 1;
  }
  g_net_up = true;
  snprintf(key, sizeof key, "%s/cluster.key", g_tmp);
  FILE *kf = fopen(key, "w");
  if (kf != NULL) {
    FILE *ur = fopen("/dev/urandom", "rb");
    uint8_t k[32] = {0};
    if (ur == NULL || fread(k, 1, sizeof k, ur) != sizeof k) rc = 1;
    if (ur) fclose(ur);
    fprintf(kf, "1 ");
    for (size_t i = 0; i < sizeof k; i++) fprintf(kf, "%02x", k[i]);
    fprintf(kf, "\n");
    fclose(kf);
    chmod(key, 0600);
  }
  printf("cohort bench multicast: %d nodes, one namespace each on a bridge; agreed order;\n"
         "  %.1f s sending (first %.1f s not measured) + %.1f s drain per trial;\n"
         "  cohort: group over UDP, HMAC-authenticated, send window %u;\n"
         "  corosync: CPG_TYPE_AGREED, knet, no crypto, default totem;\n"
         "  raw-udp: one sendto per receiver, no recovery.\n\n",
         MCB_NODES, o.seconds, o.warmup, o.drain, o.window);
  print_head();
  static result_t res[SYS_N][2][3];
  static const unsigned senders_of[2] = {1, MCB_NODES};
  int failed = 0;
  snprintf(cpgdir, sizeof cpgdir, "%s/cpg", g_tmp);
  for (int s = 0; s < SYS_N && !g_signalled; s++) {
    if (!o.only[s]) continue;
    if (s == SYS_CPG || s == SYS_CPG_RT) {
      mkdir(cpgdir, 0700);
      setenv("COROSYNC_NETNS_SCHED_RR", s == SYS_CPG_RT ? "yes" : "no", 1);
      int c = run_script(&o, "corosync-netns", "up", g_prefix, nstr, cpgdir, false);
      unsetenv("COROSYNC_NETNS_SCHED_RR");
      if (c != 0) {
        printf("  %-11s corosync did not start (%s): no rows\n", sys_names[s],
               c == 77 ? "not installed" : "see above");
        failed++;
        continue;
      }
      g_cpg_up = true;
    }
    for (int si = 0; si < 2 && !g_signalled; si++)
      for (unsigned z = 0; z < o.nsizes && !g_signalled; z++) {
        run_trial(&o, s, senders_of[si], o.sizes[z], NULL, &res[s][si][z]);
        print_row(s, s == SYS_UDP ? "-" : "agreed", senders_of[si], o.sizes[z], &res[s][si][z]);
        if (!res[s][si][z].ok) failed++;
      }
    if (g_cpg_up) {
      long kb = 0;
      for (int i = 1; i <= MCB_NODES; i++) {
        long d = daemon_rss_kb(i);
        if (d > kb) kb = d;
      }
      printf("  (%s: the daemons' peak RSS, largest of %d: %ld KiB, besides the CPG client's)\n",
             sys_names[s], MCB_NODES, kb);
      run_script(&o, "corosync-netns", "down", g_prefix, nstr, cpgdir, true);
      g_cpg_up = false;
    }
  }
  if (o.services && o.only[SYS_COHORT] && !g_signalled) {
    static const char *const svcs[] = {"unordered", "fifo", "causal", "total", "causal-total"};
    printf("\n  every cohort service, 1 sender, 1024 B (all reliable, safe delivery):\n");
    for (size_t i = 0; i < sizeof svcs / sizeof svcs[0] && !g_signalled; i++) {
      result_t r;
      run_trial(&o, SYS_COHORT, 1, 1024, svcs[i], &r);
      print_row(SYS_COHORT, svcs[i], 1, 1024, &r);
      if (!r.ok) failed++;
    }
  }
  teardown(&o);
  printf("\nratios (one run; issue 11's targets; corosync = the better of its two rows):\n");
  for (int si = 0; si < 2; si++)
    for (unsigned z = 0; z < o.nsizes; z++) {
      char what[96];
      const result_t *a = &res[SYS_CPG][si][z], *b = &res[SYS_CPG_RT][si][z];
      double cpg_rate = a->msgs_per_s > b->msgs_per_s ? a->msgs_per_s : b->msgs_per_s;
      double cpg_p99 = !b->ok || (a->ok && a->p99_ms < b->p99_ms) ? a->p99_ms : b->p99_ms;
      snprintf(what, sizeof what, "msg/s cohort / corosync, %u sender%s, %zu B", senders_of[si],
               si ? "s" : "", o.sizes[z]);
      print_ratio(what, res[SYS_COHORT][si][z].msgs_per_s, cpg_rate, 2.0, 1);
      snprintf(what, sizeof what, "p99 cohort / corosync, %u sender%s, %zu B", senders_of[si],
               si ? "s" : "", o.sizes[z]);
      print_ratio(what, res[SYS_COHORT][si][z].p99_ms, cpg_p99, 1.0, 0);
      if (o.sizes[z] == 1024) {
        snprintf(what, sizeof what, "msg/s cohort / raw-udp, %u sender%s, 1024 B",
                 senders_of[si], si ? "s" : "");
        print_ratio(what, res[SYS_COHORT][si][z].msgs_per_s, res[SYS_UDP][si][z].msgs_per_s,
                    0.6, 1);
      }
    }
  if (o.keep) printf("\nrecords kept in %s\n", g_tmp);
  else {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cluster.key", g_tmp);
    unlink(path);
    if (rmdir(g_tmp) != 0) printf("\ncorosync's logs are in %s\n", g_tmp);
  }
  if (g_signalled) return 130;
  return failed ? 1 : 0;
}
