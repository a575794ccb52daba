/*
 * src/runtime/observe_internal.h — what observe.c (rendering), metrics.c
 * (HTTP), control.c (unix socket) and observe_conn.c (client connections)
 * share. Not installed.
 *
 * Invariants: o->clients never exceeds COHORT_OBSERVE_CLIENTS_MAX; every
 * handle counted in o->open_handles is closed before the observer is freed;
 * an out buffer never grows past its limit (it fails instead).
 */
#ifndef COHORT_OBSERVE_INTERNAL_H
#define COHORT_OBSERVE_INTERNAL_H

#include <stdbool.h>

#include "cohort/observe.h"

struct cohort_observe_out {
  const cohort_allocator_t *alloc;
  char *buf;
  size_t len, cap, limit;
  int failed;       /* 0, COHORT_ENOMEM or COHORT_EFULL */
  uint64_t *errors; /* the observer's counter of skipped samples */
};

typedef enum obs_kind { OBS_HTTP = 0, OBS_CONTROL = 1 } obs_kind_t;

typedef struct obs_conn {
  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_stream_t stream;
  } h;
  uv_timer_t idle;
  uv_write_t wr;
  uv_shutdown_t sh;
  cohort_observe_t *o;
  obs_kind_t kind;
  struct obs_conn *next, *prev; /* the observer's list of clients */
  int handles; /* of h and idle, still open */
  bool answered;
  size_t len;
  char req[COHORT_OBSERVE_REQUEST_MAX];
  char *reply; /* owned; o->alloc */
  size_t reply_len;
} obs_conn_t;

typedef struct obs_source {
  cohort_observe_source_fn fn;
  void *ud;
} obs_source_t;

struct cohort_observe {
  uv_loop_t *loop;
  cohort_runtime_node_t *rn;
  const cohort_allocator_t *alloc;
  uv_tcp_t http;
  uv_pipe_t control;
  bool http_on, control_on, closing;
  char control_path[108];
  int open_handles;
  size_t clients;
  obs_conn_t *conns;
  obs_source_t sources[COHORT_OBSERVE_SOURCES_MAX];
  size_t sources_len;
  uint64_t errors;
  uint64_t started_ns;
  void (*on_closed)(void *ud);
  void *closed_ud;
};

/* observe.c */
COHORT_INTERNAL void obs_out_init(cohort_observe_out_t *w, cohort_observe_t *o);
COHORT_INTERNAL void obs_printf(cohort_observe_out_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
COHORT_INTERNAL void obs_handle_closed(cohort_observe_t *o);

/* observe_conn.c: accept one client on `server` (kind says which reply). */
COHORT_INTERNAL void obs_conn_accept(cohort_observe_t *o, uv_stream_t *server,
                                     obs_kind_t kind);
/* Give the connection its reply (owned by the connection from now); NULL
 * (no memory for one) closes it. */
COHORT_INTERNAL void obs_conn_reply(obs_conn_t *c, char *reply, size_t len);
/* Close a client (both handles; freed when closed). Idempotent. */
COHORT_INTERNAL void obs_conn_close(obs_conn_t *c);

/* metrics.c / control.c: whether c->req holds a whole request yet, and
 * the answer to it (calls obs_conn_reply). */
COHORT_INTERNAL bool obs_http_complete(const obs_conn_t *c);
COHORT_INTERNAL void obs_http_answer(obs_conn_t *c);
COHORT_INTERNAL bool obs_control_complete(const obs_conn_t *c);
COHORT_INTERNAL void obs_control_answer(obs_conn_t *c);
/* A reply for a request that cannot be served (too long, too many). */
COHORT_INTERNAL void obs_conn_refuse(obs_conn_t *c, const char *why);

#endif
