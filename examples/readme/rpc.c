/*
 * examples/readme/rpc.c — the README's RPC program: a gRPC server with one
 * unary method ("/echo.Echo/Say", which replies with its request) and a
 * client calling it over h2c on a loopback port the kernel picks, on one
 * libuv loop. Builds against the installed library in C and in C++:
 *   cc rpc.c $(pkg-config --cflags --libs cohort)
 * Exit status 0 when the reply came back OK and equal to the request.
 */
/* uv.h needs POSIX types (pthread_rwlock_t) when built as strict ISO C. */
#define _POSIX_C_SOURCE 200809L
#include <cohort/rpc.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

static void say(cohort_rpc_call_t *call, const uint8_t *req, size_t len, void *ud) {
  (void)ud;
  cohort_rpc_call_reply(call, req, len); /* req borrowed; reply copied */
}

static void server_done(void *ud) { *(int *)ud = 1; }

int main(int argc, char **argv) {
  const char *text = argc > 1 ? argv[1] : "hello";
  uv_loop_t loop;
  cohort_rpc_server_t *srv;  /* we own it: cohort_rpc_server_free */
  cohort_rpc_channel_t *ch;  /* we own it: cohort_rpc_channel_close */
  cohort_rpc_result_t res;   /* filled by the call: cohort_rpc_result_free */
  char target[64];
  int port = 0, done = 0, ok;
  if (uv_loop_init(&loop) != 0) return 1;
  if (cohort_rpc_server_create(&loop, NULL, &srv) != 0 ||
      cohort_rpc_server_register_unary(srv, "/echo.Echo/Say", say, NULL) != 0 ||
      cohort_rpc_server_listen(srv, "127.0.0.1:0", &port) != 0) {
    fprintf(stderr, "rpc: server setup failed\n");
    return 1;
  }
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  if (cohort_rpc_channel_create(&loop, target, NULL, &ch) != 0) return 1;
  int rc = cohort_rpc_unary_blocking(ch, "/echo.Echo/Say", text, strlen(text), NULL, &res);
  if (rc != 0) {
    fprintf(stderr, "rpc: %s\n", cohort_strerror(rc));
    return 1;
  }
  ok = res.code == COHORT_RPC_OK && res.len == strlen(text) &&
       memcmp(res.data, text, res.len) == 0;
  printf("say: %s \"%.*s\"\n", cohort_rpc_code_name(res.code), (int)res.len,
         (const char *)res.data);
  cohort_rpc_result_free(&res);
  cohort_rpc_channel_close(ch, NULL, NULL);
  cohort_rpc_server_shutdown(srv, 1000, server_done, &done);
  while (!done && uv_run(&loop, UV_RUN_ONCE)) {
  }
  cohort_rpc_server_free(srv);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return ok && done ? 0 : 1;
}
