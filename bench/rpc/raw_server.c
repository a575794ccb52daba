/*
 * bench/rpc/raw_server.c — the ceiling of `cohort bench rpc`: a TCP echo
 * server with the least work an RPC system could do. Frames are a 4-byte
 * big-endian length and that many bytes; each complete frame is written
 * back unchanged. One thread, epoll, non-blocking sockets, TCP_NODELAY —
 * the same shape as a single-loop RPC server, minus every RPC feature.
 * Invariants: a connection's input buffer holds at most one frame plus
 * what the peer sent ahead (bounded by RAW_BUF_MAX; a bigger frame closes
 * the connection); pending output is flushed before more input is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

#define RAW_BUF_MAX (PEER_PAYLOAD_MAX + 4u)
#define RAW_EVENTS_MAX 64

typedef struct conn {
  int fd;
  uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_len, out_off;
} conn_t;

static void conn_close(int ep, conn_t *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->in);
  free(c->out);
  free(c);
}

/* Writes what is pending; returns 1 if all is out, 0 if it would block,
 * -1 on error. */
static int conn_flush(conn_t *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (w < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    c->out_off += (size_t)w;
  }
  c->out_len = c->out_off = 0;
  return 1;
}

/* Moves every complete frame from the input to the output buffer. */
static int conn_echo_frames(conn_t *c) {
  size_t off = 0;
  while (c->in_len - off >= 4) {
    uint32_t len;
    memcpy(&len, c->in + off, 4);
    len = ntohl(len);
    if (len > PEER_PAYLOAD_MAX) return -1;
    if (c->in_len - off < 4u + len) break;
    memcpy(c->out + c->out_len, c->in + off, 4u + len);
    c->out_len += 4u + len;
    off += 4u + len;
  }
  memmove(c->in, c->in + off, c->in_len - off);
  c->in_len -= off;
  return 0;
}

static int conn_readable(int ep, conn_t *c) {
  for (;;) {
    if (c->in_len == RAW_BUF_MAX) return -1;
    ssize_t r = read(c->fd, c->in + c->in_len, RAW_BUF_MAX - c->in_len);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -1;
    }
    c->in_len += (size_t)r;
    if (conn_echo_frames(c) != 0) return -1;
    if (c->out_len > 0) break; /* answer first: ping-pong peers wait */
  }
  int done = conn_flush(c);
  if (done < 0) return -1;
  struct epoll_event ev = {.events = EPOLLIN | (done ? 0u : EPOLLOUT), .data.ptr = c};
  if (!done) epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  return 0;
}

static void accept_all(int ep, int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_t *c = calloc(1, sizeof *c);
    if (c != NULL) {
      c->fd = fd;
      c->in = malloc(RAW_BUF_MAX);
      c->out = malloc(RAW_BUF_MAX);
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (c == NULL || c->in == NULL || c->out == NULL ||
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      if (c != NULL) {
        free(c->in);
        free(c->out);
        free(c);
      }
      close(fd);
    }
  }
}

static int listen_on(const peer_opts_t *o, int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
  socklen_t len = sizeof sin;
  if (fd < 0 || inet_pton(AF_INET, o->host, &sin.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
    perror("raw_server: listen");
    return -1;
  }
  *port = ntohs(sin.sin_port);
  return fd;
}

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  int port = 0, lfd = listen_on(&o, &port);
  int ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0) return 1;
  peer_listening(port);
  struct epoll_event evs[RAW_EVENTS_MAX];
  for (;;) {
    int n = epoll_wait(ep, evs, RAW_EVENTS_MAX, -1);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) {
        accept_all(ep, lfd);
        continue;
      }
      int rc = 0;
      if (evs[i].events & EPOLLOUT) {
        rc = conn_flush(c);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (rc > 0) epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        rc = rc < 0 ? -1 : 0;
      }
      if (rc == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->out_len == 0)
        rc = conn_readable(ep, c);
      if (rc != 0) conn_close(ep, c);
    }
  }
}
