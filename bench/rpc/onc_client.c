/*
 * bench/rpc/onc_client.c — the ONC RPC echo client of `cohort bench rpc`:
 * per connection a CLIENT from clnttcp_create on a socket we connected
 * ourselves (TCP_NODELAY, fixed port: no rpcbind lookup), calling the
 * echo procedure with clnt_call (rpcgen's stub returns a static result,
 * which threads cannot share).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "onc_echo.h"
#include "peer.h"

static void *onc_connect(const peer_opts_t *o, unsigned index) {
  (void)index;
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (fd < 0 || inet_pton(AF_INET, o->host, &sin.sin_addr) != 1 ||
      connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
    perror("onc_client: connect");
    return NULL;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  CLIENT *clnt = clnttcp_create(&sin, ONC_ECHO_PROG, ONC_ECHO_VERS, &fd, 0, 0);
  if (clnt == NULL) {
    clnt_pcreateerror("onc_client");
    return NULL;
  }
  /* The descriptor is ours (connected above); let clnt_destroy close it. */
  clnt_control(clnt, CLSET_FD_CLOSE, NULL);
  return clnt;
}

static int onc_call(void *conn, const uint8_t *req, size_t n) {
  CLIENT *clnt = conn;
  onc_echo_buf arg = {.onc_echo_buf_len = (u_int)n, .onc_echo_buf_val = (char *)req};
  onc_echo_buf res;
  memset(&res, 0, sizeof res);
  struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
  enum clnt_stat st = clnt_call(clnt, ONC_ECHO, (xdrproc_t)xdr_onc_echo_buf, (caddr_t)&arg,
                                (xdrproc_t)xdr_onc_echo_buf, (caddr_t)&res, tv);
  if (st != RPC_SUCCESS) {
    clnt_perror(clnt, "onc_client: call");
    return -1;
  }
  int ok = res.onc_echo_buf_len == n && memcmp(res.onc_echo_buf_val, req, n) == 0;
  xdr_free((xdrproc_t)xdr_onc_echo_buf, (char *)&res);
  return ok ? 0 : -1;
}

static void onc_close(void *conn) { clnt_destroy((CLIENT *)conn); }

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  static const peer_blocking_ops_t ops = {onc_connect, onc_call, onc_close};
  return peer_run_blocking(&o, &ops);
}
