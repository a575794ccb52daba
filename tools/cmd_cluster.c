/*
 * tools/cmd_cluster.c — `cohort cluster up|down|kill|status`: N local
 * `cohort node` processes on 127.0.0.1 for tests and demos.
 *
 * `up` starts each node detached (its own session and process group),
 * stdout and stderr to DIR/node-ID.log, trace to DIR/node-ID.jsonl, pid
 * in DIR/node-ID.pid, incarnation counter in DIR (--state-dir), a fresh
 * random cluster key in DIR/cluster.key, and the layout in
 * DIR/cluster.conf. Node ID listens on 127.0.0.1:(base port + ID - 1).
 *
 * Invariant: a signal is only ever sent to a pid read from a pid file
 * whose /proc/PID/cmdline is still `cohort node --id ID ...`, so a
 * recycled pid is never signalled.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cohort/registry.h"

#define CLUSTER_NODES_MAX 64
#define CLUSTER_PROTOS_MAX 16
#define CLUSTER_ARGV_MAX 64
#define PATH_LEN 4096

typedef struct cluster_opts {
  const char *dir;
  unsigned nodes;
  unsigned base_port;
  const char *protos[CLUSTER_PROTOS_MAX];
  size_t protos_len;
  const char *extra[CLUSTER_ARGV_MAX]; /* passed through to each node */
  size_t extra_len;
  int64_t grace_ns;
} cluster_opts_t;

static const char usage_text[] =
    "usage: cohort cluster up N [--dir DIR] [--base-port P] [--proto SPEC]...\n"
    "                           [--vector-clock] [--status-interval DUR]\n"
    "                           [--fault SPEC]... [--cluster-id X]\n"
    "       cohort cluster down [--dir DIR] [--grace DUR]\n"
    "       cohort cluster kill ID [--dir DIR]\n"
    "       cohort cluster status [--dir DIR]\n"
    "\n"
    "DIR defaults to ./run; node ID listens on 127.0.0.1:(P + ID - 1), P = 7400.\n"
    "Per node: DIR/node-ID.log (stdout+stderr), DIR/node-ID.jsonl (trace),\n"
    "DIR/node-ID.pid. 'down' sends SIGTERM, then SIGKILL after the grace\n"
    "period (default 5s). See docs/runtime.md.\n";

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cohort cluster: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (status == 2) fputs("(try 'cohort cluster --help')\n", stderr);
  return status;
}

static void path_of(char *buf, const char *dir, unsigned id, const char *ext) {
  snprintf(buf, PATH_LEN, "%s/node-%u.%s", dir, id, ext);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- pid files ---------------------------------------------------------- */

static pid_t read_pid(const char *dir, unsigned id) {
  char path[PATH_LEN], text[32] = {0};
  path_of(path, dir, id, "pid");
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  uint64_t v;
  text[strcspn(text, "\n")] = '\0';
  if (cohort_parse_u64(text, &v) < 0 || v == 0 || v > INT32_MAX) return 0;
  return (pid_t)v;
}

/* True when pid is alive (not a zombie) and runs `cohort node --id ID`. */
static bool is_our_node(pid_t pid, unsigned id) {
  char path[64], buf[4096], want[32];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *rp = strrchr(buf, ')');
  if (!rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X') return false;
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  f = fopen(path, "r");
  if (!f) return false;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  snprintf(want, sizeof want, "%u", id);
  bool node = false, id_flag = false;
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
    const char *arg = buf + i;
    if (!strcmp(arg, "node")) node = true;
    if (id_flag && !strcmp(arg, want)) return node;
    id_flag = !strcmp(arg, "--id");
  }
  return false;
}

/* Node ids that have a pid file in dir, sorted; returns the count. */
static size_t list_nodes(const char *dir, unsigned *ids, size_t cap) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d)) && n < cap;) {
    unsigned id = 0;
    char tail[8];
    if (sscanf(e->d_name, "node-%u.%7s", &id, tail) == 2 && !strcmp(tail, "pid"))
      ids[n++] = id;
  }
  closedir(d);
  for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
    for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
      unsigned t = ids[j];
      ids[j] = ids[j - 1];
      ids[j - 1] = t;
    }
  return n;
}

/* ---- up ------------------------------------------------------------------ */

static int make_dirs(const char *dir) {
  char path[PATH_LEN];
  if (strlen(dir) >= sizeof path) return -1;
  strcpy(path, dir);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* A fresh 32-byte key as key 1 of a key ring file (docs/security.md). */
static int write_key(const char *dir) {
  char path[PATH_LEN], hex[65];
  uint8_t raw[32];
  if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return -1;
  for (size_t i = 0; i < sizeof raw; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
  snprintf(path, sizeof path, "%s/cluster.key", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  bool ok = write(fd, "1 ", 2) == 2 && write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1;
  return close(fd) == 0 && ok ? 0 : -1;
}

static int write_conf(const cluster_opts_t *o) {
  char path[PATH_LEN];
  snprintf(path, sizeof path, "%s/cluster.conf", o->dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "nodes %u\nbase_port %u\n", o->nodes, o->base_port);
  for (size_t i = 0; i < o->protos_len; i++) fprintf(f, "proto %s\n", o->protos[i]);
  return fclose(f) == 0 ? 0 : -1;
}

/* Child side of fork: become a session leader, redirect, exec the node. */
static void exec_node(const cluster_opts_t *o, const char *self, unsigned id,
                      char **argv) {
  char log[PATH_LEN];
  path_of(log, o->dir, id, "log");
  setsid();
  int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int null = open("/dev/null", O_RDONLY);
  if (fd < 0 || null < 0) _exit(127);
  dup2(null, STDIN_FILENO);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  if (fd > STDERR_FILENO) close(fd);
  if (null > STDERR_FILENO) close(null);
  execv(self, argv);
  dprintf(STDERR_FILENO, "cohort cluster: exec %s: %s\n", self, strerror(errno));
  _exit(127);
}

typedef struct node_argv {
  char id[16], listen[32], peers[CLUSTER_NODES_MAX * 24], trace[PATH_LEN];
  char key[PATH_LEN];
  char *argv[CLUSTER_ARGV_MAX + 2 * CLUSTER_PROTOS_MAX + 24];
} node_argv_t;

static void build_argv(node_argv_t *a, const cluster_opts_t *o, unsigned id) {
  size_t n = 0, off = 0;
  snprintf(a->id, sizeof a->id, "%u", id);
  snprintf(a->listen, sizeof a->listen, "127.0.0.1:%u", o->base_port + id - 1);
  a->peers[0] = '\0';
  for (unsigned p = 1; p <= o->nodes; p++) {
    if (p == id) continue;
    off += (size_t)snprintf(a->peers + off, sizeof a->peers - off, "%s%u@127.0.0.1:%u",
                            off ? "," : "", p, o->base_port + p - 1);
  }
  path_of(a->trace, o->dir, id, "jsonl");
  snprintf(a->key, sizeof a->key, "%s/cluster.key", o->dir);
  char **v = a->argv;
  v[n++] = "cohort";
  v[n++] = "node";
  v[n++] = "--id", v[n++] = a->id;
  v[n++] = "--listen", v[n++] = a->listen;
  if (o->nodes > 1) v[n++] = "--peers", v[n++] = a->peers;
  v[n++] = "--trace", v[n++] = a->trace;
  v[n++] = "--state-dir", v[n++] = (char *)(uintptr_t)o->dir;
  v[n++] = "--key-file", v[n++] = a->key;
  for (size_t i = 0; i < o->protos_len; i++)
    v[n++] = "--proto", v[n++] = (char *)(uintptr_t)o->protos[i];
  for (size_t i = 0; i < o->extra_len; i++) v[n++] = (char *)(uintptr_t)o->extra[i];
  v[n] = NULL;
}

static int spawn_node(const cluster_opts_t *o, const char *self, unsigned id,
                      pid_t *out) {
  node_argv_t *a = calloc(1, sizeof *a);
  if (!a) return -1;
  build_argv(a, o, id);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) exec_node(o, self, id, a->argv);
  free(a);
  if (pid < 0) return -1;
  char path[PATH_LEN];
  path_of(path, o->dir, id, "pid");
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "%d\n", (int)pid);
  if (fclose(f) != 0) return -1;
  *out = pid;
  return 0;
}

static void print_log_tail(const char *dir, unsigned id) {
  char path[PATH_LEN], line[512];
  path_of(path, dir, id, "log");
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) fprintf(stderr, "  node %u: %s", id, line);
  fclose(f);
}

static int stop_nodes(const char *dir, int64_t grace_ns, bool quiet);

/* After a short settling time every node must still be running. */
static int check_started(const cluster_opts_t *o, const pid_t *pids) {
  sleep_ms(300);
  int bad = 0;
  for (unsigned id = 1; id <= o->nodes; id++) {
    int st;
    if (waitpid(pids[id - 1], &st, WNOHANG) == 0) continue;
    fprintf(stderr, "cohort cluster: node %u exited at start:\n", id);
    print_log_tail(o->dir, id);
    bad = 1;
  }
  if (!bad) return 0;
  stop_nodes(o->dir, o->grace_ns, true);
  return 1;
}

static int cluster_up(const cluster_opts_t *o) {
  char self[PATH_LEN];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fail(1, "cannot find the cohort binary: %s", strerror(errno));
  self[n] = '\0';
  unsigned ids[CLUSTER_NODES_MAX];
  size_t running = 0, listed = list_nodes(o->dir, ids, CLUSTER_NODES_MAX);
  for (size_t i = 0; i < listed; i++) {
    pid_t pid = read_pid(o->dir, ids[i]);
    if (pid > 0 && is_our_node(pid, ids[i])) running++;
  }
  if (running)
    return fail(1, "%zu nodes already running in %s ('cohort cluster down' first)",
                running, o->dir);
  if (make_dirs(o->dir) != 0) return fail(1, "cannot create %s: %s", o->dir, strerror(errno));
  for (size_t i = 0; i < listed; i++) { /* stale pid files of an old run */
    char path[PATH_LEN];
    path_of(path, o->dir, ids[i], "pid");
    unlink(path);
  }
  if (write_key(o->dir) != 0 || write_conf(o) != 0)
    return fail(1, "cannot write into %s: %s", o->dir, strerror(errno));
  pid_t pids[CLUSTER_NODES_MAX];
  for (unsigned id = 1; id <= o->nodes; id++) {
    if (spawn_node(o, self, id, &pids[id - 1]) != 0) {
      fail(1, "cannot start node %u: %s", id, strerror(errno));
      stop_nodes(o->dir, o->grace_ns, true);
      return 1;
    }
  }
  if (check_started(o, pids) != 0) return 1;
  printf("cluster of %u nodes up in %s (127.0.0.1:%u-%u)\n", o->nodes, o->dir,
         o->base_port, o->base_port + o->nodes - 1);
  return 0;
}

/* ---- down, kill, status ---------------------------------------------------- */

static int stop_nodes(const char *dir, int64_t grace_ns, bool quiet) {
  unsigned ids[CLUSTER_NODES_MAX];
  pid_t pids[CLUSTER_NODES_MAX] = {0};
  size_t n = list_nodes(dir, ids, CLUSTER_NODES_MAX), live = 0;
  for (size_t i = 0; i < n; i++) {
    pid_t pid = read_pid(dir, ids[i]);
    if (pid > 0 && is_our_node(pid, ids[i]) && kill(pid, SIGTERM) == 0) {
      pids[i] = pid;
      live++;
    } else if (!quiet) {
      printf("node %u: not running\n", ids[i]);
    }
  }
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t left = live; left > 0;) {
    left = 0;
    for (size_t i = 0; i < n; i++) {
      if (!pids[i]) continue;
      (void)waitpid(pids[i], NULL, WNOHANG); /* reap if it is our child */
      if (is_our_node(pids[i], ids[i])) {
        left++;
        continue;
      }
      if (!quiet) printf("node %u: stopped\n", ids[i]);
      pids[i] = 0;
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t waited = (t.tv_sec - t0.tv_sec) * COHORT_NS_PER_S + (t.tv_nsec - t0.tv_nsec);
    if (left > 0 && waited > grace_ns) break;
    if (left > 0) sleep_ms(20);
  }
  for (size_t i = 0; i < n; i++) {
    if (pids[i] && is_our_node(pids[i], ids[i])) {
      kill(pids[i], SIGKILL);
      (void)waitpid(pids[i], NULL, 0 | WNOHANG);
      if (!quiet) printf("node %u: did not stop in time, killed\n", ids[i]);
    }
    char path[PATH_LEN];
    path_of(path, dir, ids[i], "pid");
    unlink(path);
  }
  return 0;
}

static int cluster_down(const cluster_opts_t *o) {
  unsigned ids[1];
  if (list_nodes(o->dir, ids, 1) == 0) {
    printf("no cluster in %s\n", o->dir);
    return 0;
  }
  return stop_nodes(o->dir, o->grace_ns, false);
}

static int cluster_kill(const cluster_opts_t *o, unsigned id) {
  pid_t pid = read_pid(o->dir, id);
  if (pid <= 0) return fail(1, "no node %u in %s", id, o->dir);
  if (!is_our_node(pid, id)) return fail(1, "node %u (pid %d) is not running", id, (int)pid);
  if (kill(pid, SIGKILL) != 0) return fail(1, "kill %d: %s", (int)pid, strerror(errno));
  printf("node %u (pid %d) killed with SIGKILL\n", id, (int)pid);
  return 0;
}

/* The last line of the node's log: its latest status line. */
static void last_log_line(const char *dir, unsigned id, char *out, size_t cap) {
  char path[PATH_LEN], line[1024];
  path_of(path, dir, id, "log");
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0]) snprintf(out, cap, "%s", line);
  }
  fclose(f);
}

static int cluster_status(const cluster_opts_t *o) {
  unsigned ids[CLUSTER_NODES_MAX];
  size_t n = list_nodes(o->dir, ids, CLUSTER_NODES_MAX), up = 0;
  if (n == 0) {
    printf("no cluster in %s\n", o->dir);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    char last[1024];
    pid_t pid = read_pid(o->dir, ids[i]);
    bool alive = pid > 0 && is_our_node(pid, ids[i]);
    up += alive;
    last_log_line(o->dir, ids[i], last, sizeof last);
    printf("node %-3u pid %-7d %-7s %s\n", ids[i], (int)pid, alive ? "running" : "dead",
           last);
  }
  printf("%zu of %zu nodes running\n", up, n);
  return 0;
}

/* ---- arguments ---------------------------------------------------------------- */

enum {
  OPT_DIR = 256, OPT_BASE, OPT_PROTO, OPT_GRACE, OPT_STATUS, OPT_FAULT, OPT_CLUSTER,
  OPT_VC, OPT_HELP
};

static const struct option options[] = {
    {"dir", required_argument, NULL, OPT_DIR},
    {"base-port", required_argument, NULL, OPT_BASE},
    {"proto", required_argument, NULL, OPT_PROTO},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"status-interval", required_argument, NULL, OPT_STATUS},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"cluster-id", required_argument, NULL, OPT_CLUSTER},
    {"vector-clock", no_argument, NULL, OPT_VC},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Options given to every node as they are (each node validates them). */
static int pass_through(cluster_opts_t *o, const char *name, const char *v) {
  if (o->extra_len + 2 > CLUSTER_ARGV_MAX) return fail(2, "too many node options");
  o->extra[o->extra_len++] = name;
  if (v) o->extra[o->extra_len++] = v;
  return 0;
}

static int parse_opt(cluster_opts_t *o, int opt, const char *v) {
  uint64_t u;
  switch (opt) {
  case OPT_DIR: o->dir = v; return 0;
  case OPT_BASE:
    if (cohort_parse_u64(v, &u) < 0 || u == 0 || u > 65535 - CLUSTER_NODES_MAX)
      return fail(2, "--base-port: '%s' is not a port below %d", v, 65535 - CLUSTER_NODES_MAX);
    o->base_port = (unsigned)u;
    return 0;
  case OPT_PROTO:
    if (o->protos_len == CLUSTER_PROTOS_MAX) return fail(2, "too many --proto options");
    o->protos[o->protos_len++] = v;
    return 0;
  case OPT_GRACE:
    if (cohort_parse_duration(v, &o->grace_ns) < 0)
      return fail(2, "--grace: '%s' is not a duration (e.g. 5s)", v);
    return 0;
  case OPT_STATUS: return pass_through(o, "--status-interval", v);
  case OPT_FAULT: return pass_through(o, "--fault", v);
  case OPT_CLUSTER: return pass_through(o, "--cluster-id", v);
  case OPT_VC: return pass_through(o, "--vector-clock", NULL);
  default: return 2;
  }
}

/* Parses argv (argv[0] = the sub-command); positional arguments go to
 * pos[]. Returns 0, 2 (bad usage) or -1 (--help printed). */
static int parse_opts(int argc, char **argv, cluster_opts_t *o, const char **pos,
                      int *npos) {
  o->dir = "run";
  o->base_port = 7400;
  o->grace_ns = 5 * COHORT_NS_PER_S;
  *npos = 0;
  optind = 0;
  opterr = 0;
  for (;;) {
    int opt = getopt_long(argc, argv, "-h", options, NULL);
    if (opt == -1) return 0;
    if (opt == 'h' || opt == OPT_HELP) {
      fputs(usage_text, stdout);
      return -1;
    }
    if (opt == '?') return fail(2, "bad or incomplete option '%s'", argv[optind - 1]);
    if (opt == 1) { /* a positional argument, in order */
      if (*npos == 2) return fail(2, "unexpected argument '%s'", optarg);
      pos[(*npos)++] = optarg;
      continue;
    }
    int rc = parse_opt(o, opt, optarg);
    if (rc) return rc;
  }
}

static int parse_count(const char *what, const char *s, unsigned max, unsigned *out) {
  uint64_t v;
  if (cohort_parse_u64(s, &v) < 0 || v == 0 || v > max)
    return fail(2, "%s: '%s' is not a number from 1 to %u", what, s, max);
  *out = (unsigned)v;
  return 0;
}

int cohort_cmd_cluster(int argc, char **argv) {
  if (argc < 2) return fail(2, "missing sub-command (up, down, kill, status)");
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  cluster_opts_t o;
  memset(&o, 0, sizeof o);
  const char *pos[2];
  int npos;
  int rc = parse_opts(argc - 1, argv + 1, &o, pos, &npos);
  if (rc) return rc < 0 ? 0 : rc;
  bool one = !strcmp(sub, "up") || !strcmp(sub, "kill");
  bool none = !strcmp(sub, "down") || !strcmp(sub, "status");
  if (!one && !none) return fail(2, "unknown sub-command '%s' (up, down, kill, status)", sub);
  if (none && npos) return fail(2, "unexpected argument '%s'", pos[0]);
  if (one && npos != 1) return fail(2, "usage: cohort cluster %s", sub[0] == 'u' ?
                                    "up N [options]" : "kill ID [--dir DIR]");
  if (!strcmp(sub, "up")) {
    if (parse_count("up N", pos[0], CLUSTER_NODES_MAX, &o.nodes)) return 2;
    return cluster_up(&o);
  }
  if (!strcmp(sub, "kill")) {
    unsigned id = 0;
    if (parse_count("kill ID", pos[0], UINT32_MAX - 1, &id)) return 2;
    return cluster_kill(&o, id);
  }
  return !strcmp(sub, "down") ? cluster_down(&o) : cluster_status(&o);
}
