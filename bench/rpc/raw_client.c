/*
 * bench/rpc/raw_client.c — the raw TCP ping-pong client: per connection a
 * blocking socket with TCP_NODELAY, a frame (4-byte big-endian length +
 * payload) written with one send, the echo read back in full and
 * compared. This is the ceiling every RPC system is measured against.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

typedef struct raw_conn {
  int fd;
  uint8_t *frame; /* 4 + size: request, then the reply read over it */
  uint8_t *reply;
} raw_conn_t;

static void *raw_connect(const peer_opts_t *o, unsigned index) {
  (void)index;
  raw_conn_t *c = calloc(1, sizeof *c);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
  if (c == NULL || inet_pton(AF_INET, o->host, &sin.sin_addr) != 1) {
    fprintf(stderr, "raw_client: bad host %s\n", o->host);
    free(c);
    return NULL;
  }
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
    perror("raw_client: connect");
    free(c);
    return NULL;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->frame = malloc(4 + o->size);
  c->reply = malloc(4 + o->size);
  if (c->frame == NULL || c->reply == NULL) return NULL;
  return c;
}

static int raw_call(void *conn, const uint8_t *req, size_t n) {
  raw_conn_t *c = conn;
  uint32_t len = htonl((uint32_t)n);
  memcpy(c->frame, &len, 4);
  memcpy(c->frame + 4, req, n);
  if (send(c->fd, c->frame, 4 + n, 0) != (ssize_t)(4 + n)) return -1;
  size_t got = 0;
  while (got < 4 + n) {
    ssize_t r = recv(c->fd, c->reply + got, 4 + n - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return memcmp(c->frame, c->reply, 4 + n) == 0 ? 0 : -1;
}

static void raw_close(void *conn) {
  raw_conn_t *c = conn;
  close(c->fd);
  free(c->frame);
  free(c->reply);
  free(c);
}

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  static const peer_blocking_ops_t ops = {raw_connect, raw_call, raw_close};
  return peer_run_blocking(&o, &ops);
}
