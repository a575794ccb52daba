/*
 * tools/cmd_status.c — `cohort status`: ask running nodes over their
 * control sockets (src/runtime/control.c) for identity, peers with φ and
 * last-heard, leader, lock and clock state, as `corosync-cfgtool -s` and
 * `chronyc tracking` do; `--json` prints the nodes' own JSON documents
 * (one object, or an array when several nodes answered).
 *
 *   cohort status [--control PATH | --state-dir DIR [--id N]] [--json]
 *                 [--metrics] [--timeout DUR]
 *
 * Without --control, DIR (default ./run, where `cohort cluster up` keeps
 * its nodes) is searched for node-ID.sock files. Exit status: 0 every node
 * asked answered, 1 a node did not answer (or none was found), 2 bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../src/trace/json.h"
#include "cmd.h"
#include "cohort/limits.h"
#include "cohort/registry.h"

#define STATUS_SOCKETS_MAX 256

static const char usage_text[] =
    "usage: cohort status [--control PATH | --state-dir DIR [--id N]] [--json]\n"
    "                     [--metrics] [--timeout DUR]\n"
    "\n"
    "Ask running nodes over their control sockets for identity, peers (phi,\n"
    "last heard), leader, lock and clock state.\n"
    "  --control PATH  the socket of one node ('cohort node --control PATH')\n"
    "  --state-dir DIR where nodes keep node-ID.sock (default ./run, as\n"
    "                  'cohort cluster up'); every node there unless --id N\n"
    "  --json          the nodes' JSON documents (an array for several nodes)\n"
    "  --metrics       the Prometheus text instead (as /metrics serves it)\n"
    "  --timeout DUR   how long to wait for each node (default 2s)\n"
    "Exit status: 0 all answered, 1 a node did not answer or none found, 2 usage.\n";

typedef struct status_opts {
  const char *control, *dir;
  long id; /* -1: all */
  bool json, metrics;
  int64_t timeout_ns;
} status_opts_t;

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "cohort status: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(try 'cohort status --help')\n");
  return 2;
}

static int parse(int argc, char **argv, status_opts_t *o) {
  o->dir = "run";
  o->id = -1;
  o->timeout_ns = 2 * COHORT_NS_PER_S;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t u;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return -1;
    }
    if (!strcmp(a, "--json")) o->json = true;
    else if (!strcmp(a, "--metrics")) o->metrics = true;
    else if (!v) return bad("unknown option or missing value: '%s'", a);
    else if (!strcmp(a, "--control")) o->control = argv[++i];
    else if (!strcmp(a, "--state-dir")) o->dir = argv[++i];
    else if (!strcmp(a, "--id")) {
      if (cohort_parse_u64(v, &u) != 0 || u >= COHORT_NODE_NONE) return bad("bad --id '%s'", v);
      o->id = (long)u;
      i++;
    } else if (!strcmp(a, "--timeout")) {
      if (cohort_parse_duration(v, &o->timeout_ns) != 0 || o->timeout_ns <= 0)
        return bad("bad --timeout '%s' (e.g. 2s, 500ms)", v);
      i++;
    } else return bad("unknown option '%s'", a);
  }
  if (o->json && o->metrics) return bad("%s", "--json and --metrics exclude each other");
  return 0;
}

/* ---- asking one node ---------------------------------------------------- */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect, send the request line, read to EOF (bounded in time and size).
 * Returns the reply (malloc'd, NUL-terminated) or NULL with why filled. */
static char *ask(const char *path, const char *req, int64_t timeout_ns, char *why,
                 size_t whycap) {
  struct sockaddr_un sa;
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(why, whycap, "path too long");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, whycap, "socket: %s", strerror(errno));
    return NULL;
  }
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  char *buf = NULL;
  size_t len = 0, cap = 0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    snprintf(why, whycap, "no node answers (%s)", strerror(errno));
    goto fail;
  }
  if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
    snprintf(why, whycap, "write: %s", strerror(errno));
    goto fail;
  }
  int64_t deadline = mono_ms() + timeout_ns / COHORT_NS_PER_MS;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t left = deadline - mono_ms();
    if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
      snprintf(why, whycap, "no reply within the timeout");
      goto fail;
    }
    if (len + 65536 + 1 > cap) {
      cap = cap ? cap * 2 : 65536 * 2;
      if (cap > COHORT_OBSERVE_REPLY_MAX + 1) cap = COHORT_OBSERVE_REPLY_MAX + 1;
      if (len + 1 >= cap) {
        snprintf(why, whycap, "reply larger than %d bytes", COHORT_OBSERVE_REPLY_MAX);
        goto fail;
      }
      char *nb = realloc(buf, cap);
      if (!nb) goto fail;
      buf = nb;
    }
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snprintf(why, whycap, "read: %s", strerror(errno));
      goto fail;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  if (!buf || len == 0) {
    free(buf);
    snprintf(why, whycap, "the node closed the connection without a reply");
    return NULL;
  }
  buf[len] = '\0';
  return buf;
fail:
  close(fd);
  free(buf);
  return NULL;
}

/* ---- printing a status document for people ------------------------------ */

static int jfield(const char *obj, size_t len, const char *key, json_cursor_t *at) {
  json_cursor_t c = {obj, obj + len, NULL};
  if (json_find_key(&c, key) != 0) return -1;
  json_ws(&c);
  *at = c;
  return 0;
}

static double jnum(const char *obj, size_t len, const char *key, double dflt) {
  json_cursor_t c;
  double x;
  if (jfield(obj, len, key, &c) != 0 || json_number(&c, &x) != 0) return dflt;
  return x;
}

/* Integers exactly (fencing tokens and epochs pass 2^53); "-" if absent. */
static const char *ju64(const char *obj, size_t len, const char *key, char *buf, size_t cap) {
  json_cursor_t c;
  uint64_t u;
  if (jfield(obj, len, key, &c) != 0 || json_u64(&c, &u) != 0) return "-";
  snprintf(buf, cap, "%llu", (unsigned long long)u);
  return buf;
}
#define U(obj, len, key) ju64(obj, len, key, (char[24]){0}, 24)

static void jstr(const char *obj, size_t len, const char *key, char *out, size_t cap) {
  json_cursor_t c;
  const char *raw;
  size_t rl;
  bool esc;
  out[0] = '\0';
  if (jfield(obj, len, key, &c) != 0 || json_string_raw(&c, &raw, &rl, &esc) != 0) return;
  if (rl >= cap) rl = cap - 1;
  memcpy(out, raw, rl);
  out[rl] = '\0';
}

/* The text of member `key` if it is an object or array (not null). */
static bool jsub(const char *obj, size_t len, const char *key, const char **s, size_t *sl) {
  json_cursor_t c;
  if (jfield(obj, len, key, &c) != 0 || c.p >= c.end || (*c.p != '{' && *c.p != '[')) return false;
  const char *start = c.p;
  if (json_skip(&c) != 0) return false;
  *s = start;
  *sl = (size_t)(c.p - start);
  return true;
}

static void print_peers(const char *doc, size_t len) {
  const char *arr;
  size_t al;
  if (!jsub(doc, len, "peers", &arr, &al)) return;
  printf("peers:\n  %-6s %-9s %-9s %-11s %s\n", "id", "phi", "suspected", "last heard",
         "heartbeats");
  json_cursor_t c = {arr + 1, arr + al, NULL};
  for (;;) {
    json_ws(&c);
    if (c.p >= c.end || *c.p == ']') break;
    const char *p0 = c.p;
    if (json_skip(&c) != 0) break;
    size_t pl = (size_t)(c.p - p0);
    double phi = jnum(p0, pl, "phi", -1), heard = jnum(p0, pl, "last_heard_s", -1);
    json_cursor_t s;
    bool known = jfield(p0, pl, "suspected", &s) == 0 && *s.p != 'n';
    char phis[32] = "-", heards[32] = "never";
    if (phi >= 0) snprintf(phis, sizeof phis, "%.2f", phi);
    if (heard >= 0) snprintf(heards, sizeof heards, "%.3fs ago", heard);
    printf("  %-6s %-9s %-9s %-11s %s\n", U(p0, pl, "id"), phis,
           !known ? "-" : *s.p == 't' ? "YES" : "no", heards, U(p0, pl, "heartbeats"));
    json_ws(&c);
    if (c.p < c.end && *c.p == ',') c.p++;
  }
}

static void print_human(const char *doc) {
  size_t len = strlen(doc);
  const char *s;
  size_t sl;
  char text[256], addr[96];
  jstr(doc, len, "listen", addr, sizeof addr);
  printf("node %s  incarnation %s  listening %s  up %.1fs  lamport %s\n", U(doc, len, "id"),
         U(doc, len, "incarnation"), addr, jnum(doc, len, "uptime_s", 0),
         U(doc, len, "lamport"));
  print_peers(doc, len);
  if (jsub(doc, len, "leader", &s, &sl)) {
    jstr(s, sl, "status", text, sizeof text);
    const char *id = U(s, sl, "id");
    if (*id == '-') printf("leader: none known (%s)\n", text);
    else printf("leader: %s  epoch %s  (%s)\n", id, U(s, sl, "epoch"), text);
  } else printf("leader: no election protocol\n");
  if (jsub(doc, len, "lock", &s, &sl)) {
    char st[32];
    jstr(s, sl, "state", st, sizeof st);
    jstr(s, sl, "status", text, sizeof text);
    printf("lock:   %s  token %s  max token %s  (%s)\n", st, U(s, sl, "token"),
           U(s, sl, "max_token"), text);
  } else printf("lock:   no mutex protocol\n");
  if (jsub(doc, len, "clock", &s, &sl)) {
    double eb = jnum(s, sl, "error_bound_s", -1);
    printf("clock:  offset %+.6fs  error bound %s%.6fs  updates %s  steps %s\n",
           jnum(s, sl, "offset_s", 0), eb < 0 ? "unbounded " : "+-", eb < 0 ? 0 : eb,
           U(s, sl, "updates"), U(s, sl, "steps"));
  } else printf("clock:  no clock synchronization protocol\n");
  if (jsub(doc, len, "datagrams", &s, &sl))
    printf("datagrams: in %s  out %s\n", U(s, sl, "in"), U(s, sl, "out"));
}

/* ---- which sockets -------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  size_t lx = strlen(x), ly = strlen(y); /* node-2 before node-10 */
  return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

/* Sockets in dir (node-*.sock), sorted; returns their count or -1. */
static int find_sockets(const char *dir, char **out, int cap) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) && n < cap;) {
    size_t l = strlen(e->d_name);
    if (strncmp(e->d_name, "node-", 5) || l < 10 || strcmp(e->d_name + l - 5, ".sock")) continue;
    size_t need = strlen(dir) + l + 2;
    out[n] = malloc(need);
    if (!out[n]) break;
    snprintf(out[n], need, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  qsort(out, (size_t)n, sizeof out[0], cmp_str);
  return n;
}

static int ask_all(status_opts_t *o, char **paths, int n) {
  int rc = 0, shown = 0;
  const char *req = o->metrics ? "metrics\n" : "status\n";
  if (o->json && n > 1) printf("[");
  for (int i = 0; i < n; i++) {
    char why[256];
    char *reply = ask(paths[i], req, o->timeout_ns, why, sizeof why);
    bool error = reply && !strncmp(reply, "{\"error\"", 8);
    if (!reply || error) {
      fprintf(stderr, "cohort status: %s: %s", paths[i], reply ? reply : why);
      if (!reply) fputc('\n', stderr);
      free(reply);
      rc = 1;
      continue;
    }
    if (o->json) printf("%s%.*s", shown ? "," : "", (int)strcspn(reply, "\n"), reply);
    else if (o->metrics) fputs(reply, stdout);
    else {
      if (shown) printf("\n");
      print_human(reply);
    }
    shown++;
    free(reply);
  }
  if (o->json) printf(n > 1 ? "]\n" : "\n");
  return rc;
}

int cohort_cmd_status(int argc, char **argv) {
  status_opts_t o;
  memset(&o, 0, sizeof o);
  int rc = parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  char *paths[STATUS_SOCKETS_MAX];
  int n;
  char one[4096];
  if (o.control || o.id >= 0) {
    if (o.control) snprintf(one, sizeof one, "%s", o.control);
    else snprintf(one, sizeof one, "%s/node-%ld.sock", o.dir, o.id);
    paths[0] = strdup(one);
    n = paths[0] ? 1 : 0;
  } else {
    n = find_sockets(o.dir, paths, STATUS_SOCKETS_MAX);
    if (n <= 0) {
      fprintf(stderr, "cohort status: no node found: no control socket (node-ID.sock) in %s%s\n"
                      "  start nodes with 'cohort cluster up' or 'cohort node --control PATH'\n",
              o.dir, n < 0 ? " (cannot read the directory)" : "");
      return 1;
    }
  }
  rc = ask_all(&o, paths, n);
  for (int i = 0; i < n; i++) free(paths[i]);
  return rc;
}
