/*
 * bench/rpc/onc_server.c — the ONC RPC echo server of `cohort bench rpc`:
 * libtirpc's classic single-threaded svc_run over a TCP transport bound to
 * a port we choose, registered with protocol 0 so that no rpcbind is
 * needed. The procedure returns its decoded argument; the dispatcher
 * rpcgen generated sends the reply before it frees the argument, so the
 * echo is not copied.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "onc_echo.h"
#include "peer.h"

void onc_echo_prog_1(struct svc_req *rqstp, SVCXPRT *transp); /* onc_echo_svc.c */

onc_echo_buf *onc_echo_1_svc(onc_echo_buf *arg, struct svc_req *req) {
  (void)req;
  static onc_echo_buf result;
  result = *arg;
  return &result;
}

int onc_echo_prog_1_freeresult(SVCXPRT *xprt, xdrproc_t proc, caddr_t res) {
  (void)xprt;
  (void)proc;
  (void)res;
  return 1;
}

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
  socklen_t len = sizeof sin;
  if (fd < 0 || inet_pton(AF_INET, o.host, &sin.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 128) != 0 ||
      getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
    perror("onc_server: bind");
    return 1;
  }
  SVCXPRT *xprt = svctcp_create(fd, 0, 0);
  if (xprt == NULL) {
    fprintf(stderr, "onc_server: svctcp_create failed\n");
    return 1;
  }
  /* Protocol 0: register the dispatcher locally, not with rpcbind. */
  if (!svc_register(xprt, ONC_ECHO_PROG, ONC_ECHO_VERS, onc_echo_prog_1, 0)) {
    fprintf(stderr, "onc_server: svc_register failed\n");
    return 1;
  }
  peer_listening(ntohs(sin.sin_port));
  svc_run();
  fprintf(stderr, "onc_server: svc_run returned\n");
  return 1;
}
