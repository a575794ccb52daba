/*
 * src/runtime/observe_conn.c — one client of the observer (a scraper on
 * the metrics port or `cohort status` on the control socket): read its
 * request into a fixed buffer, answer once, close.
 *
 * Invariants: at most COHORT_OBSERVE_CLIENTS_MAX clients at once (beyond,
 * a client is refused and closed); the request is at most
 * COHORT_OBSERVE_REQUEST_MAX bytes (beyond: refused); a client that has
 * neither finished its request nor read its reply after
 * COHORT_OBSERVE_IDLE_MS is closed; a connection's memory is freed only
 * after both of its handles are closed. After the reply the connection is
 * shut down for writing and whatever the client still sends is read and
 * discarded until it closes (a lingering close): closing with unread bytes
 * would make the kernel reset the connection and lose the reply.
 */
#include <string.h>

#include "observe_internal.h"

static void conn_closed(uv_handle_t *h) {
  obs_conn_t *c = h->data;
  cohort_observe_t *o = c->o;
  if (--c->handles > 0) return;
  if (c->prev) c->prev->next = c->next;
  else o->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  cohort_free(o->alloc, c->reply);
  cohort_free(o->alloc, c);
  o->clients--;
  obs_handle_closed(o);
}

void obs_conn_close(obs_conn_t *c) {
  if (!uv_is_closing((uv_handle_t *)&c->h.stream)) uv_close((uv_handle_t *)&c->h, conn_closed);
  if (!uv_is_closing((uv_handle_t *)&c->idle)) uv_close((uv_handle_t *)&c->idle, conn_closed);
}

static void idle_cb(uv_timer_t *t) {
  obs_conn_t *c = t->data;
  c->o->errors++;
  obs_conn_close(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  obs_conn_t *c = h->data;
  (void)suggested;
  if (c->answered) { /* lingering: the request buffer is scratch now */
    *buf = uv_buf_init(c->req, sizeof c->req);
    return;
  }
  size_t room = sizeof c->req - c->len;
  *buf = uv_buf_init(room ? c->req + c->len : NULL, (unsigned)room);
}

static bool complete(const obs_conn_t *c) {
  return c->kind == OBS_HTTP ? obs_http_complete(c) : obs_control_complete(c);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  obs_conn_t *c = s->data;
  (void)buf;
  if (c->answered) {
    if (n < 0) obs_conn_close(c); /* the client is done too */
    return;
  }
  if (n < 0) { /* EOF or error before a whole request */
    if (n != UV_EOF || c->len > 0) c->o->errors++;
    obs_conn_close(c);
    return;
  }
  c->len += (size_t)n;
  if (complete(c)) {
    uv_read_stop(s);
    if (c->kind == OBS_HTTP) obs_http_answer(c);
    else obs_control_answer(c);
  } else if (c->len == sizeof c->req) {
    uv_read_stop(s);
    obs_conn_refuse(c, "request too long");
  }
}

static void shutdown_cb(uv_shutdown_t *sh, int status) {
  obs_conn_t *c = sh->data;
  if (status != 0 || uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0) obs_conn_close(c);
}

static void write_cb(uv_write_t *w, int status) {
  obs_conn_t *c = w->data;
  c->sh.data = c;
  if (status != 0 || uv_shutdown(&c->sh, &c->h.stream, shutdown_cb) != 0) obs_conn_close(c);
}

void obs_conn_reply(obs_conn_t *c, char *reply, size_t len) {
  c->answered = true;
  if (!reply) {
    obs_conn_close(c);
    return;
  }
  c->reply = reply;
  c->reply_len = len;
  uv_buf_t b = uv_buf_init(reply, (unsigned)len);
  c->wr.data = c;
  /* The idle timer keeps running: a reader too slow is closed. */
  if (uv_write(&c->wr, &c->h.stream, &b, 1, write_cb) != 0) obs_conn_close(c);
}

static int conn_init(cohort_observe_t *o, obs_conn_t *c, obs_kind_t kind) {
  c->o = o;
  c->kind = kind;
  int rc = kind == OBS_HTTP ? uv_tcp_init(o->loop, &c->h.tcp)
                            : uv_pipe_init(o->loop, &c->h.pipe, 0);
  if (rc != 0) return rc;
  c->h.stream.data = c;
  c->handles = 1;
  o->open_handles++;
  uv_timer_init(o->loop, &c->idle);
  c->idle.data = c;
  c->handles++;
  o->open_handles++;
  o->clients++;
  c->next = o->conns;
  if (o->conns) o->conns->prev = c;
  o->conns = c;
  return 0;
}

void obs_conn_accept(cohort_observe_t *o, uv_stream_t *server, obs_kind_t kind) {
  obs_conn_t *c = cohort_calloc(o->alloc, 1, sizeof *c);
  if (!c || conn_init(o, c, kind) != 0) {
    cohort_free(o->alloc, c);
    o->errors++;
    return; /* the pending connection stays in the backlog; libuv retries */
  }
  if (uv_accept(server, &c->h.stream) != 0) {
    o->errors++;
    obs_conn_close(c);
    return;
  }
  uv_timer_start(&c->idle, idle_cb, COHORT_OBSERVE_IDLE_MS, 0);
  if (o->clients > COHORT_OBSERVE_CLIENTS_MAX) {
    obs_conn_refuse(c, "too many clients");
    return;
  }
  if (uv_read_start(&c->h.stream, alloc_cb, read_cb) != 0) obs_conn_close(c);
}
