/*
 * bench/multicast/mc_udp.c — the raw UDP fan-out peer of `cohort bench
 * multicast` (protocol: mc_peer.h), the ceiling: a sender writes each
 * message with one sendto per other node and records its own delivery at
 * once; receivers record what arrives. No acknowledgement, retransmission,
 * order or flow control beyond the kernel's: what is lost stays lost (the
 * bench counts only messages delivered at every node), so this is the
 * most the machine moves, not a multicast service.
 *
 * Invariants: one socket per node, receive buffer enlarged (as root,
 * SO_RCVBUFFORCE) so that a burst is not lost to a small default; the
 * sender drains its own socket between bursts of MC_UDP_BURST messages.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "mc_peer.h"

#define MC_UDP_BURST 32
#define MC_UDP_RCVBUF (16 << 20)

static int parse_addr(const char *s, struct sockaddr_in *a) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (colon == NULL || (size_t)(colon - s) >= sizeof host) return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) return -1;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static void drain(int fd, mc_run_t *r, uint8_t *buf) {
  for (int i = 0; i < 4096; i++) {
    ssize_t n = recv(fd, buf, MC_SIZE_MAX, MSG_DONTWAIT);
    if (n < 0) return;
    mc_record(r, buf, (size_t)n);
  }
}

int main(int argc, char **argv) {
  mc_opts_t o;
  mc_parse(argc, argv, "mc_udp", &o);
  struct sockaddr_in addrs[MC_NODES_MAX];
  unsigned n = 0;
  char list[1024];
  snprintf(list, sizeof list, "%s", o.peers ? o.peers : "");
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (n >= o.nodes || parse_addr(t, &addrs[n++]) != 0) n = MC_NODES_MAX + 1;
  if (n != o.nodes) {
    fprintf(stderr, "mc_udp: --peers must list --nodes IPv4:PORT addresses\n");
    return 2;
  }
  static mc_run_t r;
  mc_run_open(&r, &o);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sz = MC_UDP_RCVBUF;
  if (fd < 0 || (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0 &&
                 setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz) != 0) ||
      bind(fd, (struct sockaddr *)&addrs[o.index], sizeof addrs[0]) != 0) {
    fprintf(stderr, "mc_udp %u: socket: %s\n", o.index, strerror(errno));
    return 1;
  }
  mc_ready();
  static uint8_t msg[MC_SIZE_MAX], buf[MC_SIZE_MAX];
  for (;;) {
    uint64_t now = mc_now_ns();
    if (r.go && now >= r.t_end_ns) break;
    bool sending = mc_sending(&r, now);
    struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    int npf = r.go ? 1 : 2;
    int rc = poll(pf, (nfds_t)npf, sending ? 0 : 10);
    if (rc < 0 && errno != EINTR) {
      fprintf(stderr, "mc_udp %u: poll: %s\n", o.index, strerror(errno));
      return 1;
    }
    if (npf == 2 && (pf[1].revents & (POLLIN | POLLHUP))) mc_poll_go(&r);
    if (pf[0].revents & POLLIN) drain(fd, &r, buf);
    if (!sending) continue;
    for (int b = 0; b < MC_UDP_BURST; b++) {
      mc_fill(&r, msg);
      for (unsigned k = 0; k < o.nodes; k++) {
        if (k == o.index) continue;
        if (sendto(fd, msg, o.size, 0, (struct sockaddr *)&addrs[k], sizeof addrs[k]) < 0)
          r.eagain++;
      }
      mc_record(&r, msg, o.size); /* its own copy: delivered at once */
      r.sent++;
    }
  }
  close(fd);
  return mc_finish(&r);
}
