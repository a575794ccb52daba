/*
 * bench/rpc/cohort_client.c — cohort's echo client for `cohort bench rpc`:
 * one libuv loop, one channel (one HTTP/2 connection) per --conns, one
 * call in flight per connection, re-issued from the completion callback
 * through the asynchronous stub protoc-gen-cohort generated. CPU is read
 * by loop timers at the start and end of the measured window. Channels are
 * closed after the loop stops, never from inside a call's callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bench_echo.cohort.h"
#include "peer.h"

typedef struct conn {
  struct client *client;
  unsigned index;
  cohort_rpc_channel_t *ch;
  uint64_t t0;
} conn_t;

typedef struct client {
  peer_run_t run;
  uv_loop_t loop;
  uv_timer_t measure, end;
  double cpu0, cpu1;
  Bench__EchoMessage req;
  conn_t *conns;
  unsigned open_channels;
  unsigned finished; /* connections whose last call is over */
  int failed;
} client_t;

static void issue(conn_t *c);

static void on_closed(void *ud) {
  client_t *cl = ud;
  cl->open_channels--;
}

/* A connection is done: when all are, stop the loop (main closes). */
static void conn_done(client_t *cl) {
  if (++cl->finished == cl->run.opts.conns) uv_stop(&cl->loop);
}

static void on_echo(const cohort_rpc_status_t *st, const Bench__EchoMessage *resp, void *ud) {
  conn_t *c = ud;
  client_t *cl = c->client;
  uint64_t now = peer_now_ns();
  if (st->code != COHORT_RPC_OK || resp->payload.len != cl->req.payload.len ||
      memcmp(resp->payload.data, cl->req.payload.data, resp->payload.len) != 0) {
    fprintf(stderr, "cohort_client: call failed: %s %s (%s)\n", cohort_rpc_code_name(st->code),
            st->message, cohort_rpc_channel_last_error(c->ch));
    cl->run.recs[c->index].errors++;
    cl->failed = 1;
  } else {
    peer_rec_call(&cl->run, c->index, c->t0, now);
  }
  if (now < cl->run.t_end_ns && !cl->failed) {
    issue(c);
    return;
  }
  conn_done(cl);
}

static void issue(conn_t *c) {
  c->t0 = peer_now_ns();
  int rc = bench_echo_echo(c->ch, &c->client->req, NULL, on_echo, c);
  if (rc != 0) {
    fprintf(stderr, "cohort_client: cannot start a call: %s\n", cohort_strerror(rc));
    c->client->run.recs[c->index].errors++;
    c->client->failed = 1;
    conn_done(c->client);
  }
}

static void on_measure(uv_timer_t *t) {
  client_t *cl = t->data;
  cl->cpu0 = peer_cpu_us();
}

static void on_end(uv_timer_t *t) {
  client_t *cl = t->data;
  cl->cpu1 = peer_cpu_us();
}

static uint64_t ms_until(uint64_t t_ns) {
  uint64_t now = peer_now_ns();
  return t_ns > now ? (t_ns - now) / 1000000u : 0;
}

int main(int argc, char **argv) {
  static client_t cl;
  peer_opts_t o;
  peer_parse(argc, argv, &o);
  uv_loop_init(&cl.loop);
  uint8_t *payload = malloc(o.size);
  cl.conns = calloc(o.conns, sizeof *cl.conns);
  if (payload == NULL || cl.conns == NULL) return 1;
  peer_fill(payload, o.size);
  bench__echo_message__init(&cl.req);
  cl.req.payload.data = payload;
  cl.req.payload.len = o.size;
  char target[128];
  snprintf(target, sizeof target, "%s:%d", o.host, o.port);
  for (unsigned i = 0; i < o.conns; i++) {
    int rc = cohort_rpc_channel_create(&cl.loop, target, NULL, &cl.conns[i].ch);
    if (rc != 0) {
      fprintf(stderr, "cohort_client: channel to %s: %s\n", target, cohort_strerror(rc));
      return 1;
    }
    cl.conns[i].client = &cl;
    cl.conns[i].index = i;
    cl.open_channels++;
  }
  peer_run_init(&cl.run, &o);
  uv_timer_init(&cl.loop, &cl.measure);
  uv_timer_init(&cl.loop, &cl.end);
  cl.measure.data = cl.end.data = &cl;
  uv_timer_start(&cl.measure, on_measure, ms_until(cl.run.t_measure_ns), 0);
  uv_timer_start(&cl.end, on_end, ms_until(cl.run.t_end_ns), 0);
  for (unsigned i = 0; i < o.conns; i++) issue(&cl.conns[i]);
  uv_run(&cl.loop, UV_RUN_DEFAULT); /* until every connection is done */
  if (cl.cpu1 == 0) cl.cpu1 = peer_cpu_us();
  for (unsigned i = 0; i < o.conns; i++) cohort_rpc_channel_close(cl.conns[i].ch, on_closed, &cl);
  uv_close((uv_handle_t *)&cl.measure, NULL);
  uv_close((uv_handle_t *)&cl.end, NULL);
  while (cl.open_channels > 0) uv_run(&cl.loop, UV_RUN_ONCE);
  uv_run(&cl.loop, UV_RUN_NOWAIT);
  int failed = cl.failed;
  peer_run_report(&cl.run, cl.cpu0, cl.cpu1);
  uv_loop_close(&cl.loop);
  free(cl.conns);
  free(payload);
  return failed ? 1 : 0;
}
