/*
 * src/rpc/channel.c — cohort_rpc_channel_t: a client's connection to one
 * target. It resolves and connects lazily, queues calls while connecting,
 * moves to a fresh connection after GOAWAY, runs one timer for deadlines,
 * keepalive and the connect timeout, and delivers statuses that are known
 * at once (fail-fast deadline, cancel, connection failure) from a uv_idle
 * callback so no callback ever runs inside the API call that caused it.
 *
 * Invariants: every call counted in ncalls is in exactly one of pending,
 * deferred or some connection's calls list; at most COHORT_RPC_CALLS_PER_
 * CHANNEL_MAX calls; the channel's memory is freed only after its handles
 * and connections have closed.
 */
#include <stdlib.h>
#include <string.h>

#include "host.h"

COHORT_INTERNAL int rpc_parse_host_port(const char *hp, char *host, size_t cap, int *port);

static void ensure_connect(cohort_rpc_channel_t *ch);
static void finish_close(cohort_rpc_channel_t *ch);

const cohort_allocator_t *rpc_channel_allocator(const cohort_rpc_channel_t *ch) {
  return ch->a;
}

/* ---- timer and deferred completions ----------------------------------------- */

static void channel_timer_cb(uv_timer_t *t);

static void arm(cohort_rpc_channel_t *ch, int64_t deadline) {
  if (deadline >= ch->timer_due || ch->closing) return;
  ch->timer_due = deadline;
  int64_t now = rpc_host_now(&ch->host);
  int64_t ms = deadline <= now ? 0 : (deadline - now + COHORT_NS_PER_MS - 1) / COHORT_NS_PER_MS;
  uv_timer_start(&ch->uv->timer, channel_timer_cb, (uint64_t)ms, 0);
}

static void idle_cb(uv_idle_t *h) {
  cohort_rpc_channel_t *ch = h->data;
  while (!rpc_list_empty(&ch->deferred)) {
    cohort_rpc_call_t *c = RPC_CONTAINER(ch->deferred.next, cohort_rpc_call_t, link);
    rpc_list_remove(&c->link);
    c->flags &= ~(uint32_t)CALL_IN_DEFER;
    rpc_ccall_complete(c);
  }
  uv_idle_stop(h);
}

/* Status decided now, delivered from the loop. */
static void defer(cohort_rpc_channel_t *ch, cohort_rpc_call_t *c, cohort_rpc_code_t code,
                  const char *msg) {
  if (c->flags & CALL_IN_DEFER) return;
  rpc_ccall_fail(c, code, msg);
  /* Stop the stream now so RST_STREAM goes out with the next flush. */
  rpc_conn_t *conn = c->conn;
  if (conn && conn->h2 && c->stream_id > 0 && !(c->flags & CALL_STREAM_GONE)) {
    nghttp2_session_set_stream_user_data(conn->h2, c->stream_id, NULL);
    nghttp2_submit_rst_stream(conn->h2, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_CANCEL);
    rpc_conn_dirty(conn);
  }
  c->flags |= CALL_STREAM_GONE | CALL_IN_DEFER;
  c->conn = NULL;
  rpc_list_remove(&c->link);
  rpc_list_push(&ch->deferred, &c->link);
  uv_idle_start(&ch->uv->idle, idle_cb);
}

static void channel_timer_cb(uv_timer_t *t) {
  cohort_rpc_channel_t *ch = t->data;
  int64_t now = rpc_host_now(&ch->host), next = COHORT_TIME_NEVER;
  ch->timer_due = COHORT_TIME_NEVER;
  for (rpc_link_t *l = ch->conns.next, *nx; l != &ch->conns; l = nx) {
    nx = l->next;
    rpc_conn_tick(RPC_CONTAINER(l, rpc_conn_t, link), now, &next);
  }
  if (ch->conn && !ch->conn->ready && ch->connect_deadline != COHORT_TIME_NEVER) {
    if (now >= ch->connect_deadline) {
      cohort_fmt(ch->conn->error, sizeof ch->conn->error, "connect timeout");
      rpc_io_close(ch->conn);
    } else if (ch->connect_deadline < next) {
      next = ch->connect_deadline;
    }
  }
  rpc_ccall_expire(&ch->pending, now, &next); /* calls still waiting to connect */
  if (next != COHORT_TIME_NEVER) arm(ch, next);
}

/* ---- connections ------------------------------------------------------------- */

static void channel_unref(cohort_rpc_channel_t *ch) {
  if (--ch->uv->handles > 0) return;
  void (*cb)(void *) = ch->on_closed;
  void *ud = ch->closed_ud;
  const cohort_allocator_t *a = ch->a;
  rpc_call_free_pool(&ch->pool, &ch->pool_len, a);
  if (ch->host.tls) SSL_CTX_free(ch->host.tls);
  cohort_free(a, ch->host_name);
  cohort_free(a, ch->authority);
  cohort_free(a, ch);
  if (cb) cb(ud);
}

static void channel_conn_closed(rpc_conn_t *c) {
  cohort_rpc_channel_t *ch = c->ch;
  rpc_list_remove(&c->link);
  cohort_free(ch->a, c);
  if (ch->closing) channel_unref(ch);
}

void rpc_channel_conn_ready(cohort_rpc_channel_t *ch, rpc_conn_t *c) {
  if (c != ch->conn) return;
  ch->connect_deadline = COHORT_TIME_NEVER;
  /* Keepalive starts now (the timer re-arms itself from then on). */
  if (ch->host.keepalive_interval_ns > 0)
    arm(ch, rpc_host_now(&ch->host) + ch->host.keepalive_interval_ns);
  while (!rpc_list_empty(&ch->pending)) {
    cohort_rpc_call_t *call = RPC_CONTAINER(ch->pending.next, cohort_rpc_call_t, link);
    int rc = rpc_ccall_submit(call, c, rpc_host_now(&ch->host));
    if (rc == COHORT_ETIMEDOUT)
      defer(ch, call, COHORT_RPC_DEADLINE_EXCEEDED, "Deadline Exceeded");
    else if (rc)
      defer(ch, call, COHORT_RPC_INTERNAL, "cannot submit request");
  }
}

void rpc_channel_conn_lost(cohort_rpc_channel_t *ch, rpc_conn_t *c) {
  if (c->error[0]) cohort_fmt(ch->last_error, sizeof ch->last_error, "%s", c->error);
  if (c != ch->conn) return;
  ch->conn = NULL;
  ch->connect_deadline = COHORT_TIME_NEVER;
  /* Calls waiting for this connection fail fast (gRPC's default, no
   * wait-for-ready); from the loop, as this may run inside an API call. */
  while (!rpc_list_empty(&ch->pending)) {
    cohort_rpc_call_t *call = RPC_CONTAINER(ch->pending.next, cohort_rpc_call_t, link);
    defer(ch, call, COHORT_RPC_UNAVAILABLE, ch->last_error[0] ? ch->last_error : "unavailable");
  }
}

void rpc_channel_goaway(cohort_rpc_channel_t *ch, rpc_conn_t *c) {
  if (ch->conn == c) ch->conn = NULL; /* drains; new calls use a new connection */
  if (!rpc_list_empty(&ch->pending)) ensure_connect(ch);
}

static void start_connect(cohort_rpc_channel_t *ch, const struct sockaddr *addr) {
  rpc_conn_t *c = rpc_conn_new(&ch->host, ch->a, NULL, ch, rpc_host_now(&ch->host));
  if (!c) {
    cohort_fmt(ch->last_error, sizeof ch->last_error, "out of memory");
    while (!rpc_list_empty(&ch->pending))
      defer(ch, RPC_CONTAINER(ch->pending.next, cohort_rpc_call_t, link),
            COHORT_RPC_UNAVAILABLE, ch->last_error);
    return;
  }
  c->io->on_closed = channel_conn_closed;
  rpc_list_push(&ch->conns, &c->link);
  ch->conn = c;
  int64_t to = ch->cfg.connect_timeout_ms > 0 ? ch->cfg.connect_timeout_ms : 20000;
  ch->connect_deadline = rpc_host_now(&ch->host) + to * COHORT_NS_PER_MS;
  arm(ch, ch->connect_deadline);
  rpc_io_connect(c, ch->host.uv->loop, addr, ch->host.tls, ch->server_name,
                 !ch->cfg.tls_insecure_skip_verify);
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  cohort_rpc_channel_t *ch = req->data;
  ch->resolving = false;
  if (ch->closing) {
    if (res) uv_freeaddrinfo(res);
    if (ch->uv->handles > 0) channel_unref(ch); /* finish_close counted us */
    return;
  }
  if (status < 0 || !res) {
    cohort_fmt(ch->last_error, sizeof ch->last_error, "resolve %s: %s", ch->host_name,
               uv_strerror(status));
    while (!rpc_list_empty(&ch->pending))
      defer(ch, RPC_CONTAINER(ch->pending.next, cohort_rpc_call_t, link),
            COHORT_RPC_UNAVAILABLE, ch->last_error);
  } else {
    start_connect(ch, res->ai_addr);
  }
  if (res) uv_freeaddrinfo(res);
}

static void ensure_connect(cohort_rpc_channel_t *ch) {
  if (ch->conn || ch->resolving || ch->closing) return;
  struct sockaddr_storage ss;
  if (uv_ip4_addr(ch->host_name, ch->port, (struct sockaddr_in *)&ss) == 0 ||
      uv_ip6_addr(ch->host_name, ch->port, (struct sockaddr_in6 *)&ss) == 0) {
    start_connect(ch, (const struct sockaddr *)&ss);
    return;
  }
  char port[8];
  cohort_fmt(port, sizeof port, "%d", ch->port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  ch->uv->gai.data = ch;
  if (uv_getaddrinfo(ch->host.uv->loop, &ch->uv->gai, resolved_cb, ch->host_name, port, &hints) == 0)
    ch->resolving = true;
}

/* ---- create / close ------------------------------------------------------------ */

static char *dup_str(const cohort_allocator_t *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = cohort_alloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}

int cohort_rpc_channel_create(uv_loop_t *loop, const char *target,
                              const cohort_rpc_channel_config_t *cfg,
                              cohort_rpc_channel_t **out) {
  cohort_rpc_channel_config_t def = {0};
  if (!cfg) cfg = &def;
  char host[256];
  int port;
  if (!loop || rpc_parse_host_port(target, host, sizeof host, &port) != 0 || port == 0)
    return COHORT_EINVAL;
  const cohort_allocator_t *a = cfg->allocator ? cfg->allocator : cohort_allocator_default();
  rpc_channel_block_t *block = cohort_calloc(a, 1, sizeof *block);
  if (!block) return COHORT_ENOMEM;
  cohort_rpc_channel_t *ch = &block->ch;
  ch->uv = &block->uv;
  SSL_CTX *tls = NULL;
  int rc = cfg->tls ? rpc_tls_client_ctx(cfg, &tls) : 0;
  ch->host_name = dup_str(a, host);
  ch->authority = dup_str(a, target);
  if (rc || !ch->host_name || !ch->authority) {
    if (tls) SSL_CTX_free(tls);
    cohort_free(a, ch->host_name);
    cohort_free(a, ch->authority);
    cohort_free(a, ch);
    return rc ? rc : COHORT_ENOMEM;
  }
  ch->a = a;
  ch->cfg = *cfg;
  ch->cfg.tls_ca_file = ch->cfg.tls_cert_file = ch->cfg.tls_key_file = NULL;
  ch->cfg.tls_server_name = NULL; /* copied below when set */
  ch->port = port;
  rpc_host_init(&ch->host, &ch->uv->host, loop);
  ch->host.tls = tls;
  ch->host.max_recv = cfg->max_recv_message_bytes ? cfg->max_recv_message_bytes
                                                  : COHORT_RPC_MESSAGE_MAX;
  ch->host.max_send = cfg->max_send_message_bytes ? cfg->max_send_message_bytes
                                                  : COHORT_RPC_MESSAGE_MAX;
  ch->host.keepalive_interval_ns = cfg->keepalive_interval_ms * COHORT_NS_PER_MS;
  ch->host.keepalive_timeout_ns =
      (cfg->keepalive_timeout_ms ? cfg->keepalive_timeout_ms : 20000) * COHORT_NS_PER_MS;
  cohort_fmt(ch->server_name, sizeof ch->server_name, "%s",
             cfg->tls_server_name ? cfg->tls_server_name : host);
  cohort_fmt(ch->user_agent, sizeof ch->user_agent, "%s%sgrpc-c-cohort/0.1",
             cfg->user_agent ? cfg->user_agent : "", cfg->user_agent ? " " : "");
  ch->cfg.user_agent = NULL;
  ch->user_agent_len = strlen(ch->user_agent);
  ch->authority_len = strlen(ch->authority);
  rpc_list_init(&ch->conns);
  rpc_list_init(&ch->pending);
  rpc_list_init(&ch->deferred);
  rpc_list_init(&ch->pool);
  uv_timer_init(loop, &ch->uv->timer);
  ch->uv->timer.data = ch;
  uv_idle_init(loop, &ch->uv->idle);
  ch->uv->idle.data = ch;
  ch->timer_due = COHORT_TIME_NEVER;
  ch->connect_deadline = COHORT_TIME_NEVER;
  *out = ch;
  return 0;
}

const char *cohort_rpc_channel_last_error(const cohort_rpc_channel_t *ch) {
  return ch->last_error;
}

static void handle_closed(uv_handle_t *h) { channel_unref(h->data); }

static void finish_close(cohort_rpc_channel_t *ch) {
  if (ch->uv->handles) return; /* already finishing */
  ch->uv->handles = 3 + (ch->resolving ? 1 : 0);
  for (rpc_link_t *l = ch->conns.next; l != &ch->conns; l = l->next) ch->uv->handles++;
  for (rpc_link_t *l = ch->conns.next, *nx; l != &ch->conns; l = nx) {
    nx = l->next;
    rpc_conn_t *c = RPC_CONTAINER(l, rpc_conn_t, link);
    if (!c->io->closing)
      rpc_io_close(c);
  }
  if (ch->resolving) uv_cancel((uv_req_t *)&ch->uv->gai);
  ch->host.uv->prepare.data = ch;
  uv_close((uv_handle_t *)&ch->host.uv->prepare, handle_closed);
  uv_close((uv_handle_t *)&ch->uv->timer, handle_closed);
  uv_close((uv_handle_t *)&ch->uv->idle, handle_closed);
}

void cohort_rpc_channel_close(cohort_rpc_channel_t *ch, void (*on_closed)(void *ud), void *ud) {
  if (ch->closing) return;
  ch->closing = true;
  ch->on_closed = on_closed;
  ch->closed_ud = ud;
  uv_timer_stop(&ch->uv->timer);
  while (!rpc_list_empty(&ch->pending))
    defer(ch, RPC_CONTAINER(ch->pending.next, cohort_rpc_call_t, link), COHORT_RPC_CANCELLED,
          "channel closed");
  for (rpc_link_t *l = ch->conns.next; l != &ch->conns; l = l->next) {
    rpc_conn_t *c = RPC_CONTAINER(l, rpc_conn_t, link);
    while (!rpc_list_empty(&c->calls))
      defer(ch, RPC_CONTAINER(c->calls.next, cohort_rpc_call_t, link), COHORT_RPC_CANCELLED,
            "channel closed");
  }
  if (ch->ncalls == 0) finish_close(ch);
}

void rpc_channel_call_done(cohort_rpc_channel_t *ch, cohort_rpc_call_t *c) {
  ch->ncalls--;
  rpc_call_release(c, ch->a, &ch->pool, &ch->pool_len);
  if (ch->closing && ch->ncalls == 0) finish_close(ch);
}

/* ---- calls ------------------------------------------------------------------------ */

/* Deadline from the options and the parent (automatic propagation). */
static int64_t call_deadline(const cohort_rpc_channel_t *ch, const cohort_rpc_call_options_t *o,
                             cohort_rpc_call_t **parent) {
  int64_t now = rpc_host_now(&ch->host), d = COHORT_TIME_NEVER;
  if (o && o->timeout_ns > 0) d = o->timeout_ns > COHORT_TIME_NEVER - now ? d : now + o->timeout_ns;
  cohort_rpc_call_t *p = NULL;
  if (!o || !o->no_propagation) p = (o && o->parent) ? o->parent : rpc_current_call;
  if (p && p->deadline < d) d = p->deadline;
  *parent = p;
  return d;
}

static int start_call(cohort_rpc_channel_t *ch, const char *path,
                      const cohort_rpc_call_options_t *o, const cohort_rpc_call_callbacks_t *cb,
                      cohort_rpc_unary_fn unary_fn, void *ud, cohort_rpc_call_t **out) {
  if (ch->closing) return COHORT_ESTATE;
  if (!path || path[0] != '/' || strlen(path) > 1024) return COHORT_EINVAL;
  if (ch->ncalls >= COHORT_RPC_CALLS_PER_CHANNEL_MAX) return COHORT_EFULL;
  cohort_rpc_call_t *c = rpc_call_new(ch->a, &ch->pool, &ch->pool_len);
  if (!c) return COHORT_ENOMEM;
  c->ch = ch;
  size_t pl = strlen(path);
  c->scratch.len = 0;
  int rc = rpc_bytes_append(&c->scratch, ch->a, path, pl + 1);
  if (!rc && o) rc = rpc_md_encode(&c->scratch, ch->a, o->metadata, o->metadata_count);
  if (rc) {
    rpc_call_release(c, ch->a, &ch->pool, &ch->pool_len);
    return rc;
  }
  c->path_off = 0;
  c->path_len = (uint32_t)pl;
  if (cb) c->cb = *cb;
  c->unary_fn = unary_fn;
  c->cb_ud = ud;
  cohort_rpc_call_t *parent;
  c->deadline = call_deadline(ch, o, &parent);
  ch->ncalls++;
  rpc_list_push(&ch->pending, &c->link);
  if (parent && (parent->flags & CALL_SERVER) && !(parent->flags & CALL_HANDLER_DONE)) {
    c->parent = parent;
    rpc_list_push(&parent->children, &c->child_link);
  }
  int64_t min = ch->cfg.min_deadline_ns ? ch->cfg.min_deadline_ns : COHORT_RPC_DEADLINE_MIN_NS;
  if (parent && (parent->flags & CALL_SERVER) && (parent->flags & CALL_CANCELLED)) {
    defer(ch, c, COHORT_RPC_CANCELLED, "parent call cancelled");
  } else if (c->deadline != COHORT_TIME_NEVER && min >= 0 &&
             c->deadline - rpc_host_now(&ch->host) < min) {
    defer(ch, c, COHORT_RPC_DEADLINE_EXCEEDED, "Deadline Exceeded before the call was sent");
  } else {
    if (c->deadline != COHORT_TIME_NEVER) arm(ch, c->deadline);
    if (ch->conn && ch->conn->ready && !ch->conn->goaway_recv && !ch->conn->dead) {
      rc = rpc_ccall_submit(c, ch->conn, rpc_host_now(&ch->host));
      if (rc) defer(ch, c, COHORT_RPC_INTERNAL, "cannot submit request");
    } else {
      ensure_connect(ch);
    }
  }
  if (out) *out = c;
  return 0;
}

int cohort_rpc_call_start(cohort_rpc_channel_t *ch, const char *path,
                          const cohort_rpc_call_options_t *opts,
                          const cohort_rpc_call_callbacks_t *cb, void *ud,
                          cohort_rpc_call_t **out) {
  if (!cb || !cb->on_status) return COHORT_EINVAL;
  return start_call(ch, path, opts, cb, NULL, ud, out);
}

int cohort_rpc_call_close_send(cohort_rpc_call_t *c) {
  COHORT_ASSERT(!(c->flags & CALL_SERVER));
  if (c->flags & CALL_STATUS_SET) return COHORT_ECANCELED;
  if (c->flags & CALL_SEND_CLOSED) return 0;
  c->flags |= CALL_SEND_CLOSED;
  if (c->flags & CALL_SUBMITTED) rpc_call_resume(c);
  return 0;
}

void cohort_rpc_call_cancel(cohort_rpc_call_t *c) {
  if (c->flags & CALL_SERVER) {
    if (c->flags & (CALL_HANDLER_DONE | CALL_CANCELLED | CALL_STREAM_GONE)) return;
    c->flags |= CALL_CANCELLED;
    if (c->conn && c->conn->h2) {
      nghttp2_submit_rst_stream(c->conn->h2, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_CANCEL);
      rpc_conn_dirty(c->conn);
    }
    while (!rpc_list_empty(&c->children)) {
      rpc_link_t *l = c->children.next;
      rpc_list_remove(l);
      cohort_rpc_call_t *child = RPC_CONTAINER(l, cohort_rpc_call_t, child_link);
      child->parent = NULL;
      cohort_rpc_call_cancel(child);
    }
    return;
  }
  if (c->flags & (CALL_STATUS_SET | CALL_IN_DEFER)) return;
  defer(c->ch, c, COHORT_RPC_CANCELLED, "Cancelled");
}

int cohort_rpc_unary(cohort_rpc_channel_t *ch, const char *path, const void *req, size_t len,
                     const cohort_rpc_call_options_t *opts, cohort_rpc_unary_fn on_done,
                     void *ud) {
  if (!on_done) return COHORT_EINVAL;
  cohort_rpc_call_t *c;
  if (len > ch->host.max_send) return COHORT_EINVAL;
  int rc = start_call(ch, path, opts, NULL, on_done, ud, &c);
  if (rc) return rc;
  if (!(c->flags & CALL_STATUS_SET)) {
    cohort_rpc_call_send(c, req, len); /* cannot fail: empty queue, size checked */
    cohort_rpc_call_close_send(c);
  }
  return 0;
}

/* ---- blocking ---------------------------------------------------------------------- */

typedef struct blocking {
  cohort_rpc_result_t *out;
  const cohort_allocator_t *a;
  bool done;
  bool nomem;
} blocking_t;

static void blocking_message(cohort_rpc_call_t *c, const uint8_t *d, size_t n, void *ud) {
  blocking_t *b = ud;
  if (b->out->data) return; /* unary: keep the first */
  b->out->data = cohort_alloc(b->a, n ? n : 1);
  if (!b->out->data) {
    b->nomem = true;
    return;
  }
  memcpy(b->out->data, d, n);
  b->out->len = n;
  (void)c;
}

static void blocking_status(cohort_rpc_call_t *c, const cohort_rpc_status_t *st,
                            const cohort_rpc_metadata_t *tr, size_t n, void *ud) {
  blocking_t *b = ud;
  cohort_rpc_result_t *r = b->out;
  b->done = true;
  r->code = st->code;
  if (st->code == COHORT_RPC_OK && !r->data && !b->nomem) {
    r->code = COHORT_RPC_INTERNAL;
    st = &(cohort_rpc_status_t){.code = COHORT_RPC_INTERNAL,
                                .message = "no response message for a unary call"};
  }
  size_t ml = strlen(st->message);
  size_t need = ml + 1 + n * sizeof(cohort_rpc_metadata_t);
  for (size_t i = 0; i < n; i++) need += strlen(tr[i].key) + 1 + tr[i].value_len + 1;
  char *block = cohort_alloc(b->a, need);
  if (!block) {
    b->nomem = true;
    return;
  }
  r->trailers = (cohort_rpc_metadata_t *)(void *)block;
  char *p = block + n * sizeof(cohort_rpc_metadata_t);
  for (size_t i = 0; i < n; i++) {
    size_t kl = strlen(tr[i].key) + 1;
    memcpy(p, tr[i].key, kl);
    r->trailers[i].key = p;
    p += kl;
    memcpy(p, tr[i].value, tr[i].value_len);
    p[tr[i].value_len] = '\0';
    r->trailers[i].value = (const uint8_t *)p;
    r->trailers[i].value_len = tr[i].value_len;
    p += tr[i].value_len + 1;
  }
  r->trailers_count = n;
  memcpy(p, st->message, ml + 1);
  r->message = p;
  if (r->code != COHORT_RPC_OK && r->data) {
    cohort_free(b->a, r->data);
    r->data = NULL;
    r->len = 0;
  }
  (void)c;
}

int cohort_rpc_unary_blocking(cohort_rpc_channel_t *ch, const char *path, const void *req,
                              size_t len, const cohort_rpc_call_options_t *opts,
                              cohort_rpc_result_t *out) {
  cohort_rpc_result_t r = {.allocator = ch->a};
  blocking_t b = {.out = &r, .a = ch->a};
  cohort_rpc_call_callbacks_t cb = {.on_message = blocking_message, .on_status = blocking_status};
  cohort_rpc_call_t *c;
  if (len > ch->host.max_send) return COHORT_EINVAL;
  int rc = start_call(ch, path, opts, &cb, NULL, &b, &c);
  if (rc) return rc;
  if (!(c->flags & CALL_STATUS_SET)) {
    cohort_rpc_call_send(c, req, len);
    cohort_rpc_call_close_send(c);
  }
  uv_loop_t *loop = ch->host.uv->loop;
  while (!b.done) uv_run(loop, UV_RUN_ONCE);
  if (b.nomem) {
    cohort_rpc_result_free(&r);
    return COHORT_ENOMEM;
  }
  *out = r;
  return 0;
}

void cohort_rpc_result_free(cohort_rpc_result_t *r) {
  if (!r || !r->allocator) return;
  if (r->data) cohort_free(r->allocator, r->data);
  if (r->trailers) cohort_free(r->allocator, r->trailers);
  else if (r->message && r->message[0]) cohort_free(r->allocator, r->message);
  r->data = NULL;
  r->trailers = NULL;
  r->message = NULL;
}
