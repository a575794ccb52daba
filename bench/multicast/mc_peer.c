/*
 * bench/multicast/mc_peer.c — the shared part of the peers of `cohort
 * bench multicast` (see mc_peer.h for the protocol).
 */
#include "mc_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void usage(const char *prog, const char *why) {
  fprintf(stderr,
          "%s: %s\n"
          "usage: %s --index I --out FILE [--nodes N] [--senders S] [--size B]\n"
          "          [--seconds S] [--drain S] [--peers ADDR:PORT,...] [--service NAME]\n"
          "          [--key-file F] [--window N]\n"
          "  a peer of 'cohort bench multicast' (bench/multicast/mc_peer.h): prints READY,\n"
          "  waits for GO on stdin, sends if I < S, records deliveries in FILE.\n",
          prog, why, prog);
  exit(2);
}

static double num(const char *prog, const char *name, const char *v, double lo, double hi) {
  char *end = NULL;
  errno = 0;
  double d = strtod(v, &end);
  if (errno != 0 || end == v || *end != '\0' || !(d >= lo && d <= hi)) {
    char why[160];
    snprintf(why, sizeof why, "%s: '%s' is not a number in [%g, %g]", name, v, lo, hi);
    usage(prog, why);
  }
  return d;
}

void mc_parse(int argc, char **argv, const char *prog, mc_opts_t *o) {
  memset(o, 0, sizeof *o);
  o->nodes = 3;
  o->senders = 1;
  o->size = 1024;
  o->seconds = 2;
  o->drain = 1;
  bool have_index = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage(prog, "every option takes a value");
    const char *v = argv[++i];
    if (!strcmp(a, "--index")) {
      o->index = (unsigned)num(prog, a, v, 0, MC_NODES_MAX - 1);
      have_index = true;
    } else if (!strcmp(a, "--nodes")) o->nodes = (unsigned)num(prog, a, v, 1, MC_NODES_MAX);
    else if (!strcmp(a, "--senders")) o->senders = (unsigned)num(prog, a, v, 0, MC_NODES_MAX);
    else if (!strcmp(a, "--size")) o->size = (size_t)num(prog, a, v, MC_HDR_BYTES, MC_SIZE_MAX);
    else if (!strcmp(a, "--seconds")) o->seconds = num(prog, a, v, 0.01, 600);
    else if (!strcmp(a, "--drain")) o->drain = num(prog, a, v, 0, 60);
    else if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--peers")) o->peers = v;
    else if (!strcmp(a, "--service")) o->service = v;
    else if (!strcmp(a, "--key-file")) o->key_file = v;
    else if (!strcmp(a, "--window")) o->window = (unsigned)num(prog, a, v, 1, 1u << 20);
    else {
      char why[120];
      snprintf(why, sizeof why, "unknown option '%.60s'", a);
      usage(prog, why);
    }
  }
  if (!have_index || o->out == NULL) usage(prog, "--index and --out are required");
  if (o->index >= o->nodes) usage(prog, "--index must be below --nodes");
  if (o->senders > o->nodes) usage(prog, "--senders must not exceed --nodes");
}

uint64_t mc_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mc_run_open(mc_run_t *r, const mc_opts_t *o) {
  memset(r, 0, sizeof *r);
  r->o = *o;
  r->out = fopen(o->out, "wb");
  if (r->out == NULL || fwrite(MC_REC_MAGIC, 1, 8, r->out) != 8) {
    fprintf(stderr, "peer %u: cannot write %s: %s\n", o->index, o->out, strerror(errno));
    exit(1);
  }
  static char buf[1 << 16];
  setvbuf(r->out, buf, _IOFBF, sizeof buf);
  int fl = fcntl(0, F_GETFL);
  if (fl >= 0) (void)fcntl(0, F_SETFL, fl | O_NONBLOCK);
}

void mc_ready(void) {
  printf("READY\n");
  fflush(stdout);
}

bool mc_poll_go(mc_run_t *r) {
  if (r->go) return true;
  static char line[64];
  static size_t len;
  for (;;) {
    ssize_t n = read(0, line + len, sizeof line - 1 - len);
    if (n == 0) {
      fprintf(stderr, "peer %u: stdin closed before GO\n", r->o.index);
      exit(1);
    }
    if (n < 0) return false; /* EAGAIN: not yet */
    len += (size_t)n;
    line[len] = '\0';
    if (strstr(line, "GO\n") != NULL) break;
    if (len >= sizeof line - 1) len = 0; /* junk: start again */
  }
  r->go = true;
  r->t_go_ns = mc_now_ns();
  r->t_send_end_ns = r->t_go_ns + (uint64_t)(r->o.seconds * 1e9);
  r->t_end_ns = r->t_send_end_ns + (uint64_t)(r->o.drain * 1e9);
  return true;
}

bool mc_sending(const mc_run_t *r, uint64_t now_ns) {
  return r->go && r->o.index < r->o.senders && now_ns < r->t_send_end_ns;
}

void mc_fill(const mc_run_t *r, uint8_t *msg) {
  mc_hdr_t h = {.magic = MC_MSG_MAGIC,
                .sender = (uint16_t)r->o.index,
                .seq = (uint32_t)r->sent,
                .t_send_ns = mc_now_ns()};
  memcpy(msg, &h, sizeof h);
  for (size_t i = sizeof h; i < r->o.size; i++) msg[i] = (uint8_t)(i * 31u + r->sent);
}

void mc_record(mc_run_t *r, const uint8_t *msg, size_t len) {
  uint64_t now = mc_now_ns();
  mc_hdr_t h;
  if (len < sizeof h) {
    r->bad++;
    return;
  }
  memcpy(&h, msg, sizeof h);
  if (h.magic != MC_MSG_MAGIC || h.sender >= r->o.nodes || len != r->o.size) {
    r->bad++;
    return;
  }
  mc_rec_t rec = {.sender = h.sender, .seq = h.seq, .t_send_ns = h.t_send_ns, .t_deliver_ns = now};
  if (fwrite(&rec, sizeof rec, 1, r->out) != 1) r->bad++;
  r->delivered++;
}

int mc_finish(mc_run_t *r) {
  int rc = 0;
  if (fclose(r->out) != 0) {
    fprintf(stderr, "peer %u: writing %s failed: %s\n", r->o.index, r->o.out, strerror(errno));
    rc = 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_ms = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
                  (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
  /* VmHWM, not ru_maxrss: the latter survives execve, so it would report
   * the bench process that forked us */
  long hwm_kb = 0;
  FILE *st = fopen("/proc/self/status", "r");
  char line[256];
  while (st != NULL && fgets(line, sizeof line, st) != NULL)
    if (sscanf(line, "VmHWM: %ld kB", &hwm_kb) == 1) break;
  if (st != NULL) fclose(st);
  printf("RESULT sent=%llu delivered=%llu eagain=%llu rss_kb=%ld cpu_ms=%.0f\n",
         (unsigned long long)r->sent, (unsigned long long)r->delivered,
         (unsigned long long)r->eagain, hwm_kb, cpu_ms);
  fflush(stdout);
  if (r->bad != 0) {
    fprintf(stderr, "peer %u: %llu malformed deliveries\n", r->o.index,
            (unsigned long long)r->bad);
    rc = 1;
  }
  return rc;
}
