/*
 * tools/cmd_ntp.c — `cohort ntp`: the NTPv4 state machines of src/timesync
 * over real UDP (libuv), to talk to software no one here wrote (chrony).
 *
 *   cohort ntp query HOST[:PORT] [--json] [--samples N] [--interval DUR]
 *                    [--timeout DUR]
 *   cohort ntp serve --listen ADDR:PORT [--stratum N] [--rate-limit DUR|off]
 *                    [--burst N] [--duration DUR]
 *
 * This file is the only place the NTP code meets a socket and a clock: it
 * reads CLOCK_REALTIME as close to the socket calls as libuv allows (T1
 * just before the send, T4 first thing in the receive callback; T2 first
 * thing on a request, T3 just before the reply) and hands timestamps and
 * bytes to the sans-I/O client and server.
 *
 * Exit status: 0 success, 1 no usable reply / cannot bind, 2 bad usage.
 */
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "cmd.h"
#include "cohort/prng.h"
#include "cohort/registry.h"
#include "cohort/timesync.h"

#define SAMPLES_MAX 1000000

static const char usage_text[] =
    "usage: cohort ntp query HOST[:PORT] [--json] [--samples N] [--interval DUR]\n"
    "                        [--timeout DUR]\n"
    "       cohort ntp serve --listen ADDR:PORT [--stratum N] [--rate-limit DUR|off]\n"
    "                        [--burst N] [--duration DUR]\n"
    "\n"
    "query: send N client requests (default 1) and print offset, delay and stratum\n"
    "       of the best (minimum-delay) reply, like `ntpdate -q`; with N > 1 also the\n"
    "       |offset| percentiles. --json prints {\"offset_s\":..,\"delay_s\":..,\n"
    "       \"stratum\":..}. Default port 123, interval 10ms, timeout 1s per request.\n"
    "serve: answer NTP requests from this machine's clock (CLOCK_REALTIME) as a\n"
    "       server of stratum N (default 1). Rate limit: one request per DUR on\n"
    "       average per client address after a burst of N (default 1s and 16);\n"
    "       beyond it a RATE kiss-o'-death. --duration stops after that long.\n";

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cohort ntp: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n(see 'cohort ntp --help')\n", stderr);
  return 2;
}

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * COHORT_NS_PER_S + ts.tv_nsec;
}

/* "host", "host:port", "[v6]:port", "v6" → a resolved UDP address. */
static int resolve(const char *spec, const char *default_port, bool passive,
                   struct sockaddr_storage *out) {
  char host[256], port[16];
  const char *colon = strrchr(spec, ':');
  if (spec[0] == '[') {
    const char *close = strchr(spec, ']');
    if (!close || (close[1] && close[1] != ':')) return -1;
    snprintf(host, sizeof host, "%.*s", (int)(close - spec - 1), spec + 1);
    snprintf(port, sizeof port, "%s", close[1] ? close + 2 : default_port);
  } else if (colon && strchr(spec, ':') == colon) {
    snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    snprintf(port, sizeof port, "%s", colon + 1);
  } else {
    snprintf(host, sizeof host, "%s", spec);
    snprintf(port, sizeof port, "%s", default_port);
  }
  uint64_t p;
  if (!host[0] || cohort_parse_u64(port, &p) || p > 65535 || (!passive && p == 0)) return -1;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                           .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
  struct addrinfo *res = NULL;
  if (getaddrinfo(host, port, &hints, &res) || !res) return -1;
  memset(out, 0, sizeof *out);
  memcpy(out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return 0;
}


/* ---- a UDP socket with kernel receive timestamps ------------------------
 * libuv's uv_udp_t does not hand out control messages, so the socket is
 * ours and libuv only polls it: SO_TIMESTAMPNS gives the instant the
 * kernel received each datagram, which removes the wake-up latency of
 * this process from T2 (server) and T4 (client). */

static int stamped_open(int family, const struct sockaddr_storage *bind_to) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int on = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (bind_to) {
    socklen_t len = bind_to->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                   : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)bind_to, len) < 0) {
      int e = -errno;
      close(fd);
      return e;
    }
  }
  return fd;
}

/* One datagram, or -EAGAIN. *t_ns is the kernel timestamp if there is
 * one, else the clock now. */
static ssize_t stamped_recv(int fd, uint8_t *buf, size_t cap, struct sockaddr_storage *from,
                            int64_t *t_ns) {
  char control[256];
  struct iovec iov = {.iov_base = buf, .iov_len = cap};
  struct msghdr m = {.msg_name = from, .msg_namelen = sizeof *from, .msg_iov = &iov,
                     .msg_iovlen = 1, .msg_control = control,
                     .msg_controllen = sizeof control};
  ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
  if (n < 0) return -errno;
  *t_ns = realtime_ns();
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof ts);
      *t_ns = (int64_t)ts.tv_sec * COHORT_NS_PER_S + ts.tv_nsec;
    }
  }
  return n;
}

static socklen_t addr_len(const struct sockaddr_storage *a) {
  return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* ---- query ------------------------------------------------------------- */

typedef struct query {
  uv_loop_t *loop;
  int fd;
  uv_poll_t poll;
  uv_timer_t timer;
  bool polling;
  struct sockaddr_storage server;
  cohort_ntp_peer_t peer;
  uint64_t samples_wanted, sent, timeouts;
  int64_t interval_ns, timeout_ns;
  double *abs_offsets; /* seconds */
  size_t got;
  cohort_ntp_sample_t best;
  bool have_best;
  uint8_t stratum;
  uint8_t buf[512];
  uint64_t nonce_state;
} query_t;

static uint64_t query_nonce(query_t *q) { /* splitmix64 seeded from the clock */
  return cohort_splitmix64_next(&q->nonce_state);
}

static void query_send(query_t *q);

static void query_next_cb(uv_timer_t *t) { query_send(t->data); }

static void query_schedule(query_t *q, int64_t after_ns) {
  if (q->got + q->timeouts >= q->samples_wanted) {
    if (q->polling) uv_poll_stop(&q->poll);
    q->polling = false;
    uv_timer_stop(&q->timer);
    return;
  }
  uv_timer_start(&q->timer, query_next_cb, (uint64_t)(after_ns / COHORT_NS_PER_MS), 0);
}

static void query_timeout_cb(uv_timer_t *t) {
  query_t *q = t->data;
  q->timeouts++;
  q->peer.outstanding = false;
  query_schedule(q, 0);
}

static void query_send(query_t *q) {
  uint8_t pkt[COHORT_NTP_PACKET_LEN];
  int64_t t1 = realtime_ns();
  cohort_ntp_peer_request(&q->peer, t1, query_nonce(q), pkt);
  ssize_t rc = sendto(q->fd, pkt, sizeof pkt, 0, (const struct sockaddr *)&q->server,
                      addr_len(&q->server));
  q->sent++;
  if (rc < 0) {
    fprintf(stderr, "cohort ntp: send: %s\n", strerror(errno));
    q->timeouts++;
    query_schedule(q, q->interval_ns);
    return;
  }
  uv_timer_start(&q->timer, query_timeout_cb, (uint64_t)(q->timeout_ns / COHORT_NS_PER_MS), 0);
}

static void query_on_reply(query_t *q, const uint8_t *b, size_t n, int64_t t4) {
  cohort_ntp_sample_t s;
  int rc = cohort_ntp_peer_response(&q->peer, b, n, t4, t4, &s);
  if (rc == COHORT_ECANCELED) {
    fprintf(stderr, "cohort ntp: kiss-o'-death from the server (%s)\n",
            q->peer.denied ? "access denied" : "rate limited; slowing down");
    /* Back off on each kiss-o'-death, doubling up to RFC 5905's maximum
     * poll interval (2^17 s); never overflowing. */
    q->interval_ns = q->interval_ns ? q->interval_ns * 2 : COHORT_NS_PER_S;
    if (q->interval_ns > (INT64_C(1) << 17) * COHORT_NS_PER_S)
      q->interval_ns = (INT64_C(1) << 17) * COHORT_NS_PER_S;
  }
  if (rc) return; /* counted in peer.drops; the timeout moves on */
  q->stratum = q->peer.stratum;
  q->abs_offsets[q->got++] = fabs((double)s.offset_ns) * 1e-9;
  if (!q->have_best || s.delay_ns < q->best.delay_ns) q->best = s;
  q->have_best = true;
  uv_timer_stop(&q->timer);
  query_schedule(q, q->interval_ns);
}

static void query_poll_cb(uv_poll_t *h, int status, int events) {
  query_t *q = h->data;
  (void)events;
  if (status < 0) return;
  struct sockaddr_storage from;
  int64_t t4;
  ssize_t n;
  while (q->polling && (n = stamped_recv(q->fd, q->buf, sizeof q->buf, &from, &t4)) >= 0)
    query_on_reply(q, q->buf, (size_t)n, t4);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(const double *v, size_t n, double p) {
  size_t i = (size_t)ceil(p * (double)n);
  return v[i == 0 ? 0 : i - 1 < n ? i - 1 : n - 1];
}

static void query_print(query_t *q, const char *host, bool json) {
  double off = (double)q->best.offset_ns * 1e-9, del = (double)q->best.delay_ns * 1e-9;
  qsort(q->abs_offsets, q->got, sizeof q->abs_offsets[0], cmp_double);
  double p50 = pct(q->abs_offsets, q->got, 0.5), p99 = pct(q->abs_offsets, q->got, 0.99);
  double mx = q->abs_offsets[q->got - 1];
  if (json) {
    printf("{\"offset_s\":%.9f,\"delay_s\":%.9f,\"stratum\":%u,\"samples\":%zu,"
           "\"timeouts\":%llu,\"abs_offset_p50_s\":%.9f,\"abs_offset_p99_s\":%.9f,"
           "\"abs_offset_max_s\":%.9f}\n",
           off, del, q->stratum, q->got, (unsigned long long)q->timeouts, p50, p99, mx);
    return;
  }
  printf("server %s, stratum %u, offset %+.6f, delay %.5f\n", host, q->stratum, off, del);
  if (q->got > 1)
    printf("%zu samples (%llu lost): |offset| p50 %.1f us, p99 %.1f us, max %.1f us\n",
           q->got, (unsigned long long)q->timeouts, p50 * 1e6, p99 * 1e6, mx * 1e6);
}

static int query_run(query_t *q, const char *host, bool json) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  q->loop = &loop;
  q->fd = stamped_open(q->server.ss_family, NULL);
  if (q->fd < 0) {
    fprintf(stderr, "cohort ntp: socket: %s\n", strerror(-q->fd));
    uv_loop_close(&loop);
    return 1;
  }
  uv_poll_init(&loop, &q->poll, q->fd);
  uv_timer_init(&loop, &q->timer);
  q->poll.data = q->timer.data = q;
  q->polling = true;
  uv_poll_start(&q->poll, UV_READABLE, query_poll_cb);
  query_send(q);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&q->poll, NULL);
  uv_close((uv_handle_t *)&q->timer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  close(q->fd);
  if (q->got == 0) {
    const cohort_ntp_drops_t *d = &q->peer.drops;
    fprintf(stderr, "cohort ntp: no usable reply from %s (%llu sent; refused: kod %llu, "
            "unsynchronized %llu, bogus origin %llu, malformed %llu)\n", host,
            (unsigned long long)q->sent, (unsigned long long)d->kod,
            (unsigned long long)d->unsynchronized, (unsigned long long)d->bogus_origin,
            (unsigned long long)(d->short_packet + d->version + d->mode + d->zero_transmit));
    return 1;
  }
  query_print(q, host, json);
  return 0;
}

static int cmd_query(int argc, char **argv) {
  const char *host = NULL;
  bool json = false;
  query_t q = {.samples_wanted = 1, .interval_ns = 10 * COHORT_NS_PER_MS,
               .timeout_ns = COHORT_NS_PER_S};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) {
      json = true;
    } else if (!strcmp(a, "--samples") || !strcmp(a, "--interval") || !strcmp(a, "--timeout")) {
      if (!v) return bad_usage("%s needs a value", a);
      i++;
      if (!strcmp(a, "--samples")) {
        if (cohort_parse_u64(v, &q.samples_wanted) || q.samples_wanted < 1 ||
            q.samples_wanted > SAMPLES_MAX)
          return bad_usage("--samples: expected 1..%d, got '%s'", SAMPLES_MAX, v);
      } else {
        int64_t *d = !strcmp(a, "--interval") ? &q.interval_ns : &q.timeout_ns;
        if (cohort_parse_duration(v, d) || *d < 0 || (d == &q.timeout_ns && *d < COHORT_NS_PER_MS))
          return bad_usage("%s: expected a duration such as 10ms, got '%s'", a, v);
      }
    } else if (a[0] == '-') {
      return bad_usage("query: unknown option '%s'", a);
    } else if (host) {
      return bad_usage("query: one HOST[:PORT] only ('%s' and '%s')", host, a);
    } else {
      host = a;
    }
  }
  if (!host) return bad_usage("query: HOST[:PORT] missing");
  if (resolve(host, "123", false, &q.server))
    return bad_usage("query: cannot resolve '%s' (HOST[:PORT], port 1..65535)", host);
  q.abs_offsets = calloc(q.samples_wanted, sizeof *q.abs_offsets);
  if (!q.abs_offsets) return 1;
  q.nonce_state = (uint64_t)realtime_ns() ^ (uint64_t)getpid() << 32;
  cohort_ntp_peer_init(&q.peer, 0, 0);
  int rc = query_run(&q, host, json);
  free(q.abs_offsets);
  return rc;
}

/* ---- serve ------------------------------------------------------------- */

typedef struct serve {
  int fd;
  uv_poll_t poll;
  uv_signal_t sigint, sigterm;
  uv_timer_t stop;
  cohort_ntp_server_t server;
  cohort_ntp_server_state_t state;
  uint8_t buf[2048];
} serve_t;

static uint64_t client_key(const struct sockaddr_storage *sa) {
  if (sa->ss_family == AF_INET) return ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
  uint64_t h = 1469598103934665603ull; /* FNV-1a over the IPv6 address */
  const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
  for (int i = 0; i < 16; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static void serve_one(serve_t *s, const uint8_t *b, size_t n, int64_t t2,
                      const struct sockaddr_storage *from) {
  uint8_t out[COHORT_NTP_PACKET_LEN];
  s->state.reference_ns = t2;
  int len = cohort_ntp_server_reply(&s->server, &s->state, client_key(from), b, n, t2,
                                    realtime_ns(), out);
  if (len <= 0) return;
  /* Re-stamp T3 as late as possible: the reply is re-encoded in place. */
  cohort_ntp_packet_t r;
  if (cohort_ntp_decode(out, sizeof out, &r) == 0 && r.stratum != 0) {
    r.transmit = cohort_ntp_ts_from_ns(realtime_ns());
    cohort_ntp_encode(&r, out);
  }
  (void)sendto(s->fd, out, (size_t)len, 0, (const struct sockaddr *)from, addr_len(from));
}

static void serve_poll_cb(uv_poll_t *h, int status, int events) {
  serve_t *s = h->data;
  (void)events;
  if (status < 0) return;
  struct sockaddr_storage from;
  int64_t t2;
  ssize_t n;
  while ((n = stamped_recv(s->fd, s->buf, sizeof s->buf, &from, &t2)) >= 0)
    serve_one(s, s->buf, (size_t)n, t2, &from);
}

static void serve_stop(serve_t *s) {
  if (uv_is_active((uv_handle_t *)&s->poll)) uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, NULL);
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
  uv_close((uv_handle_t *)&s->stop, NULL);
}

static void serve_signal_cb(uv_signal_t *h, int sig) {
  (void)sig;
  serve_stop(h->data);
}

static void serve_timer_cb(uv_timer_t *t) { serve_stop(t->data); }

static int serve_parse(int argc, char **argv, struct sockaddr_storage *addr, serve_t *s,
                       int64_t *duration) {
  bool have_listen = false;
  uint64_t stratum = 1, burst = 16;
  int64_t rate = COHORT_NS_PER_S;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (a[0] != '-') return bad_usage("serve: unexpected argument '%s'", a);
    if (!v) return bad_usage("%s needs a value", a);
    i++;
    if (!strcmp(a, "--listen")) {
      if (resolve(v, "123", true, addr)) return bad_usage("--listen: bad ADDR:PORT '%s'", v);
      have_listen = true;
    } else if (!strcmp(a, "--stratum")) {
      if (cohort_parse_u64(v, &stratum) || stratum < 1 || stratum > COHORT_NTP_STRATUM_MAX)
        return bad_usage("--stratum: expected 1..15, got '%s'", v);
    } else if (!strcmp(a, "--rate-limit")) {
      if (!strcmp(v, "off")) rate = 0;
      else if (cohort_parse_duration(v, &rate) || rate <= 0)
        return bad_usage("--rate-limit: expected a duration or 'off', got '%s'", v);
    } else if (!strcmp(a, "--burst")) {
      if (cohort_parse_u64(v, &burst) || burst < 1 || burst > 1024)
        return bad_usage("--burst: expected 1..1024, got '%s'", v);
    } else if (!strcmp(a, "--duration")) {
      if (cohort_parse_duration(v, duration) || *duration <= 0)
        return bad_usage("--duration: expected a duration such as 30s, got '%s'", v);
    } else {
      return bad_usage("serve: unknown option '%s'", a);
    }
  }
  if (!have_listen) return bad_usage("serve: --listen ADDR:PORT is required");
  cohort_ntp_server_init(&s->server, rate, (uint32_t)burst);
  s->state = (cohort_ntp_server_state_t){
      .stratum = (uint8_t)stratum, .precision = -24,
      .refid = stratum == 1 ? COHORT_NTP_REFID('L', 'O', 'C', 'L') : 0x7f000001u,
      .root_disp_ns = 1000};
  return 0;
}

static int cmd_serve(int argc, char **argv) {
  struct sockaddr_storage addr;
  int64_t duration = 0;
  serve_t *s = calloc(1, sizeof *s);
  if (!s) return 1;
  int rc = serve_parse(argc, argv, &addr, s, &duration);
  if (rc) {
    free(s);
    return rc;
  }
  s->fd = stamped_open(addr.ss_family, &addr);
  if (s->fd < 0) {
    fprintf(stderr, "cohort ntp serve: %s\n", strerror(-s->fd));
    free(s);
    return 1;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_poll_init(&loop, &s->poll, s->fd);
  uv_signal_init(&loop, &s->sigint);
  uv_signal_init(&loop, &s->sigterm);
  uv_timer_init(&loop, &s->stop);
  s->poll.data = s->sigint.data = s->sigterm.data = s->stop.data = s;
  uv_poll_start(&s->poll, UV_READABLE, serve_poll_cb);
  uv_signal_start(&s->sigint, serve_signal_cb, SIGINT);
  uv_signal_start(&s->sigterm, serve_signal_cb, SIGTERM);
  if (duration) uv_timer_start(&s->stop, serve_timer_cb, (uint64_t)(duration / 1000000), 0);
  fprintf(stderr, "cohort ntp serve: listening, stratum %u\n", s->state.stratum);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  fflush(stdout);
  const cohort_ntp_drops_t *d = &s->server.drops;
  fprintf(stderr, "cohort ntp serve: served %llu, kiss-o'-death %llu, dropped: malformed "
          "%llu, mode %llu, zero transmit %llu, rate %llu\n",
          (unsigned long long)s->server.served, (unsigned long long)s->server.kods_sent,
          (unsigned long long)(d->short_packet + d->version), (unsigned long long)d->mode,
          (unsigned long long)d->zero_transmit, (unsigned long long)d->rate_limited);
  close(s->fd);
  free(s);
  return 0;
}

int cohort_cmd_ntp(int argc, char **argv) {
  if (argc < 2) return bad_usage("a sub-command is needed: query or serve");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (!strcmp(argv[1], "query")) return cmd_query(argc - 1, argv + 1);
  if (!strcmp(argv[1], "serve")) return cmd_serve(argc - 1, argv + 1);
  return bad_usage("unknown sub-command '%s' (query, serve)", argv[1]);
}
