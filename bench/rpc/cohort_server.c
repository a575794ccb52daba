/*
 * bench/rpc/cohort_server.c — cohort's echo server for `cohort bench rpc`:
 * one libuv loop, cleartext HTTP/2, the skeleton protoc-gen-cohort
 * generated from bench_echo.proto. The handler replies with the request
 * message itself (the stub packs it straight into the send queue).
 */
#include <stdio.h>
#include <uv.h>

#include "bench_echo.cohort.h"
#include "peer.h"

static void on_echo(cohort_rpc_call_t *call, const Bench__EchoMessage *req, void *ud) {
  (void)ud;
  bench_echo_echo_reply(call, req);
}

int main(int argc, char **argv) {
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  uv_loop_t loop;
  uv_loop_init(&loop);
  cohort_rpc_server_t *srv = NULL;
  int rc = cohort_rpc_server_create(&loop, NULL, &srv);
  static const bench_echo_server_t impl = {.echo = {.on_request = on_echo}};
  if (rc == 0) rc = bench_echo_register(srv, &impl);
  char addr[128];
  snprintf(addr, sizeof addr, "%s:%d", o.host, o.port);
  int port = 0;
  if (rc == 0) rc = cohort_rpc_server_listen(srv, addr, &port);
  if (rc != 0) {
    fprintf(stderr, "cohort_server: cannot serve on %s: %s\n", addr, cohort_strerror(rc));
    return 1;
  }
  peer_listening(port);
  uv_run(&loop, UV_RUN_DEFAULT);
  return 0;
}
