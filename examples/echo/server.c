/*
 * examples/echo/server.c — the example's server: serves example.Echo
 * (echo_service.c) in cleartext HTTP/2 on one libuv loop until SIGINT or
 * SIGTERM, then shuts down gracefully (GOAWAY, in-flight calls get up to
 * a second to finish).
 *
 *   usage: echo_server [HOST:PORT]      (default 127.0.0.1:50051)
 *
 * Any gRPC client can call it, e.g. grpcurl or Python's grpcio.
 */
#include <signal.h>
#include <stdio.h>
#include <uv.h>

#include "echo_service.h"

typedef struct app {
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
  cohort_rpc_server_t *srv;
} app_t;

static void on_shutdown_done(void *ud) {
  app_t *app = ud;
  /* Everything is closed: stop watching signals so that uv_run returns. */
  uv_close((uv_handle_t *)&app->sigint, NULL);
  uv_close((uv_handle_t *)&app->sigterm, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  app_t *app = s->data;
  fprintf(stderr, "echo_server: signal %d, shutting down\n", signum);
  cohort_rpc_server_shutdown(app->srv, 1000, on_shutdown_done, app);
}

int main(int argc, char **argv) {
  const char *addr = argc > 1 ? argv[1] : "127.0.0.1:50051";
  static app_t app;
  uv_loop_init(&app.loop);

  /* The server: defaults (cleartext, 4 MiB messages); NULL config. */
  int rc = cohort_rpc_server_create(&app.loop, NULL, &app.srv);
  if (rc == 0) rc = echo_service_register(app.srv);
  int port = 0;
  if (rc == 0) rc = cohort_rpc_server_listen(app.srv, addr, &port);
  if (rc != 0) {
    fprintf(stderr, "echo_server: cannot serve on %s: %s\n", addr, cohort_strerror(rc));
    cohort_rpc_server_free(app.srv);
    return 1;
  }
  printf("echo_server: listening on %s (port %d)\n", addr, port);
  fflush(stdout);

  uv_signal_init(&app.loop, &app.sigint);
  uv_signal_init(&app.loop, &app.sigterm);
  app.sigint.data = app.sigterm.data = &app;
  uv_signal_start(&app.sigint, on_signal, SIGINT);
  uv_signal_start(&app.sigterm, on_signal, SIGTERM);

  uv_run(&app.loop, UV_RUN_DEFAULT); /* returns after on_shutdown_done */
  cohort_rpc_server_free(app.srv);
  uv_loop_close(&app.loop);
  return 0;
}
