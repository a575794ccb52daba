/*
 * tests/rpc/hostile_server.c — the cohort server that the hostile-client
 * suite (test_rpc_hostile.c) attacks from another process, so that its
 * RSS can be read from /proc. Serves the big.B service, /t.S/Echo and
 * /t.S/Stats (answers "active=N" with cohort_rpc_server_active_calls).
 * Prints its port on stdout, then runs until killed or stdin closes.
 *   hostile_server [PREFACE_TIMEOUT_MS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <uv.h>

#include "big_service.h"
#include "cohort/rpc.h"

static cohort_rpc_server_t *srv;

static void echo(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)ud;
  cohort_rpc_call_reply(call, d, n);
}

static void stats(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  (void)d, (void)n, (void)ud;
  char out[64];
  /* This call itself is one of the active calls. */
  int len = snprintf(out, sizeof out, "active=%zu", cohort_rpc_server_active_calls(srv) - 1);
  cohort_rpc_call_reply(call, out, (size_t)len);
}

static void alloc_cb(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[64];
  (void)h, (void)s;
  *b = uv_buf_init(buf, sizeof buf);
}

static void stdin_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  if (n < 0) uv_stop(s->loop);
}

int main(int argc, char **argv) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max; /* the idle-connection attack opens 1,100 */
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  uv_loop_t *loop = uv_default_loop();
  cohort_rpc_server_config_t cfg = {.preface_timeout_ms = argc > 1 ? atol(argv[1]) : 0};
  if (cohort_rpc_server_create(loop, &cfg, &srv) != 0) return 1;
  big_register(srv);
  cohort_rpc_server_register_unary(srv, "/t.S/Echo", echo, NULL);
  cohort_rpc_server_register_unary(srv, "/t.S/Stats", stats, NULL);
  int port;
  if (cohort_rpc_server_listen(srv, "127.0.0.1:0", &port) != 0) return 1;
  printf("%d\n", port);
  fflush(stdout);
  uv_pipe_t in;
  uv_pipe_init(loop, &in, 0);
  uv_pipe_open(&in, 0);
  uv_read_start((uv_stream_t *)&in, alloc_cb, stdin_cb);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
