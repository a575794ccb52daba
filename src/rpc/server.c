/*
 * src/rpc/server.c — cohort_rpc_server_t: the method registry (open
 * addressing on the path's FNV-1a hash), listeners, accepted connections,
 * one timer for every deadline / keepalive / shutdown grace, and graceful
 * shutdown (GOAWAY shutdown notice + PING, then the final GOAWAY with the
 * last processed stream once the PING returns, then drain).
 *
 * A connection the server has no memory for is accepted into a spare
 * handle and closed at once, so the listener never wedges.
 *
 * Invariants: at most COHORT_RPC_METHODS_MAX methods and cfg.max_connections
 * connections; the timer is armed at or before the earliest deadline of a
 * running call (it may fire early; it rescans and re-arms); the server
 * memory is released only after all its libuv handles have closed.
 */
#include <string.h>

#include "host.h"

#define SLOTS (2 * COHORT_RPC_METHODS_MAX)

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

const cohort_allocator_t *rpc_server_allocator(const cohort_rpc_server_t *s) { return s->a; }

const rpc_method_t *rpc_server_lookup(const cohort_rpc_server_t *srv, const uint8_t *path,
                                      size_t len) {
  if (!path) return NULL;
  uint64_t h = fnv1a(path, len);
  for (size_t i = 0; i < SLOTS; i++) {
    const rpc_method_t *m = srv->slots[(h + i) % SLOTS];
    if (!m) return NULL;
    if (m->hash == h && m->path_len == len && memcmp(m->path, path, len) == 0) return m;
  }
  return NULL;
}

/* ---- create / register ---------------------------------------------------- */

static void server_timer_cb(uv_timer_t *t);

/* A configured time in ms: 0 the default, negative off (0 ns). */
static int64_t ms_or(int64_t ms, int64_t def_ms) {
  if (ms < 0) return 0;
  return (ms ? ms : def_ms) * COHORT_NS_PER_MS;
}

static void server_limits(cohort_rpc_server_t *s, const cohort_rpc_server_config_t *cfg) {
  s->host.keepalive_interval_ns = ms_or(cfg->keepalive_interval_ms,
                                        COHORT_RPC_SERVER_KEEPALIVE_MS);
  s->host.keepalive_timeout_ns = ms_or(cfg->keepalive_timeout_ms > 0 ? cfg->keepalive_timeout_ms
                                                                      : 0, 20000);
  s->preface_timeout_ns = ms_or(cfg->preface_timeout_ms, COHORT_RPC_PREFACE_TIMEOUT_MS);
  s->idle_timeout_ns = ms_or(cfg->idle_timeout_ms, COHORT_RPC_IDLE_TIMEOUT_MS);
  size_t floor = 2 * s->host.max_recv;
  s->conn_held_max = cfg->max_connection_buffer_bytes ? cfg->max_connection_buffer_bytes
                                                      : COHORT_RPC_CONN_BUFFER_MAX;
  s->held_max = cfg->max_buffer_bytes ? cfg->max_buffer_bytes : COHORT_RPC_SERVER_BUFFER_MAX;
  if (s->conn_held_max < floor) s->conn_held_max = floor;
  if (s->held_max < s->conn_held_max) s->held_max = s->conn_held_max;
  if (!s->cfg.max_connections) s->cfg.max_connections = COHORT_RPC_CONNECTIONS_MAX;
}

int cohort_rpc_server_create(uv_loop_t *loop, const cohort_rpc_server_config_t *cfg,
                             cohort_rpc_server_t **out) {
  cohort_rpc_server_config_t def = {0};
  if (!cfg) cfg = &def;
  if (!loop || (!cfg->tls_cert_file != !cfg->tls_key_file)) return COHORT_EINVAL;
  const cohort_allocator_t *a = cfg->allocator ? cfg->allocator : cohort_allocator_default();
  rpc_server_block_t *block = cohort_calloc(a, 1, sizeof *block);
  if (!block) return COHORT_ENOMEM;
  cohort_rpc_server_t *s = &block->s;
  s->uv = &block->uv;
  s->slots = cohort_calloc(a, SLOTS, sizeof *s->slots);
  if (!s->slots) {
    cohort_free(a, s);
    return COHORT_ENOMEM;
  }
  s->a = a;
  s->cfg = *cfg;
  s->cfg.tls_cert_file = s->cfg.tls_key_file = s->cfg.tls_client_ca_file = NULL;
  if (cfg->tls_cert_file) {
    int rc = rpc_tls_server_ctx(cfg, &s->host.tls);
    if (rc) {
      cohort_free(a, s->slots);
      cohort_free(a, s);
      return rc;
    }
  }
  SSL_CTX *tls = s->host.tls;
  rpc_host_init(&s->host, &s->uv->host, loop);
  s->host.tls = tls;
  s->host.max_recv = cfg->max_recv_message_bytes ? cfg->max_recv_message_bytes
                                                 : COHORT_RPC_MESSAGE_MAX;
  s->host.max_send = cfg->max_send_message_bytes ? cfg->max_send_message_bytes
                                                 : COHORT_RPC_MESSAGE_MAX;
  server_limits(s, cfg);
  rpc_list_init(&s->conns);
  rpc_list_init(&s->orphans);
  rpc_list_init(&s->pool);
  uv_timer_init(loop, &s->uv->timer);
  s->uv->timer.data = s;
  uv_idle_init(loop, &s->uv->idle);
  s->uv->idle.data = s;
  s->uv->handles = 3; /* prepare, timer, idle */
  s->timer_due = COHORT_TIME_NEVER;
  if (s->host.keepalive_interval_ns > 0)
    rpc_server_arm(s, rpc_host_now(&s->host) + s->host.keepalive_interval_ns);
  *out = s;
  return 0;
}

static bool path_valid(const char *p) {
  if (!p || p[0] != '/') return false;
  const char *slash = strchr(p + 1, '/');
  return slash && slash > p + 1 && slash[1] && !strchr(slash + 1, '/');
}

static bool handler_valid(const cohort_rpc_handler_t *h) {
  switch (h->kind) {
  case COHORT_RPC_UNARY:
  case COHORT_RPC_SERVER_STREAMING: return h->on_request != NULL;
  case COHORT_RPC_CLIENT_STREAMING:
  case COHORT_RPC_BIDI_STREAMING:
    return h->on_start && h->on_message && h->on_half_close;
  default: return false;
  }
}

int cohort_rpc_server_register(cohort_rpc_server_t *srv, const char *path,
                               const cohort_rpc_handler_t *h) {
  if (srv->shutdown) return COHORT_ESTATE;
  if (!h || !path_valid(path) || !handler_valid(h)) return COHORT_EINVAL;
  size_t len = strlen(path);
  if (rpc_server_lookup(srv, (const uint8_t *)path, len)) return COHORT_EEXIST;
  if (srv->nmethods >= COHORT_RPC_METHODS_MAX) return COHORT_EFULL;
  rpc_method_t *m = cohort_calloc(srv->a, 1, sizeof *m);
  char *copy = cohort_alloc(srv->a, len + 1);
  if (!m || !copy) {
    cohort_free(srv->a, m);
    cohort_free(srv->a, copy);
    return COHORT_ENOMEM;
  }
  memcpy(copy, path, len + 1);
  m->path = copy;
  m->path_len = len;
  m->hash = fnv1a((const uint8_t *)path, len);
  m->h = *h;
  size_t i = m->hash % SLOTS;
  while (srv->slots[i]) i = (i + 1) % SLOTS;
  srv->slots[i] = m;
  srv->nmethods++;
  return 0;
}

static int register_simple(cohort_rpc_server_t *srv, const char *path, cohort_rpc_kind_t k,
                           cohort_rpc_request_fn fn, void *ud) {
  cohort_rpc_handler_t h = {.kind = k, .on_request = fn, .ud = ud};
  return cohort_rpc_server_register(srv, path, &h);
}

int cohort_rpc_server_register_unary(cohort_rpc_server_t *srv, const char *path,
                                     cohort_rpc_request_fn fn, void *ud) {
  return register_simple(srv, path, COHORT_RPC_UNARY, fn, ud);
}

int cohort_rpc_server_register_server_streaming(cohort_rpc_server_t *srv, const char *path,
                                                cohort_rpc_request_fn fn, void *ud) {
  return register_simple(srv, path, COHORT_RPC_SERVER_STREAMING, fn, ud);
}

size_t cohort_rpc_server_active_calls(const cohort_rpc_server_t *srv) {
  return srv->active_calls;
}

/* ---- connections ------------------------------------------------------------- */

static void check_done(cohort_rpc_server_t *srv);

static void server_unref(cohort_rpc_server_t *srv);

static void server_conn_closed(rpc_conn_t *c) {
  cohort_rpc_server_t *srv = c->srv;
  rpc_list_remove(&c->link);
  srv->nconns--;
  cohort_free(srv->a, c);
  if (srv->freeing)
    server_unref(srv);
  else
    check_done(srv);
}

static void on_connection(uv_stream_t *ls, int status);

static void shed_closed(uv_handle_t *h) {
  cohort_rpc_server_t *srv = h->data;
  uv_stream_t *ls = srv->uv->shed_retry;
  srv->uv->shed_busy = false;
  srv->uv->shed_retry = NULL;
  if (srv->freeing) {
    server_unref(srv);
    return;
  }
  srv->uv->handles--;
  if (ls && !srv->shutdown) on_connection(ls, 0); /* one more was waiting */
}

/* No memory for a connection: accept it into the spare handle and close
 * it at once (the client sees the connection closed → UNAVAILABLE, and may
 * retry). Leaving it unaccepted would wedge the listener: libuv stops
 * watching a listener until its accepted socket is taken. */
static void shed(cohort_rpc_server_t *srv, uv_stream_t *ls) {
  if (srv->uv->shed_busy) {
    srv->uv->shed_retry = ls; /* the spare handle is closing: next iteration */
    return;
  }
  uv_tcp_init(ls->loop, &srv->uv->shed);
  srv->uv->shed.data = srv;
  srv->uv->shed_busy = true;
  srv->uv->handles++;
  if (uv_accept(ls, (uv_stream_t *)&srv->uv->shed) == 0) srv->sheds++;
  uv_close((uv_handle_t *)&srv->uv->shed, shed_closed);
}

/* Over max_connections: close the oldest open connection that carries no
 * call — one that never sent its preface first — so idle or silent
 * connections cannot lock new clients out; if every connection is busy,
 * the newcomer is refused. */
static void evict(cohort_rpc_server_t *srv, rpc_conn_t *newcomer) {
  rpc_conn_t *victim = NULL;
  for (rpc_link_t *l = srv->conns.next; l != &srv->conns; l = l->next) {
    rpc_conn_t *c = RPC_CONTAINER(l, rpc_conn_t, link);
    if (c == newcomer || c->io->closing || !rpc_list_empty(&c->calls)) continue;
    if (!c->preface_done) {
      victim = c;
      break;
    }
    if (!victim) victim = c;
  }
  if (!victim) {
    rpc_io_close(newcomer);
    return;
  }
  srv->evictions++;
  cohort_fmt(victim->error, sizeof victim->error, "closed to admit a new connection");
  rpc_io_close(victim);
}

static void on_connection(uv_stream_t *ls, int status) {
  cohort_rpc_server_t *srv = ls->data;
  if (status < 0 || srv->shutdown) return;
  rpc_conn_t *c = rpc_conn_new(&srv->host, srv->a, srv, NULL, rpc_host_now(&srv->host));
  if (!c) {
    shed(srv, ls);
    return;
  }
  c->io->on_closed = server_conn_closed;
  rpc_list_push(&srv->conns, &c->link);
  srv->nconns++;
  rpc_io_accept(c, ls, srv->host.tls); /* closes c itself on failure */
  if (srv->preface_timeout_ns > 0) rpc_server_arm(srv, c->created_ns + srv->preface_timeout_ns);
  if (srv->nconns > srv->cfg.max_connections) evict(srv, c);
}

static int parse_host_port(const char *hp, char *host, size_t cap, int *port) {
  const char *colon;
  size_t hl;
  if (hp[0] == '[') {
    const char *end = strchr(hp, ']');
    if (!end || end[1] != ':') return COHORT_EINVAL;
    hl = (size_t)(end - hp - 1);
    memcpy(host, hp + 1, hl < cap ? hl : 0);
    colon = end + 1;
  } else {
    colon = strrchr(hp, ':');
    if (!colon) return COHORT_EINVAL;
    hl = (size_t)(colon - hp);
    memcpy(host, hp, hl < cap ? hl : 0);
  }
  if (hl == 0 || hl >= cap) return COHORT_EINVAL;
  host[hl] = '\0';
  long p = 0;
  const char *d = colon + 1;
  if (!*d) return COHORT_EINVAL;
  for (; *d; d++) {
    if (*d < '0' || *d > '9' || p > 65535) return COHORT_EINVAL;
    p = p * 10 + (*d - '0');
  }
  if (p > 65535) return COHORT_EINVAL;
  *port = (int)p;
  return 0;
}

COHORT_INTERNAL int rpc_parse_host_port(const char *hp, char *host, size_t cap, int *port);
int rpc_parse_host_port(const char *hp, char *host, size_t cap, int *port) {
  return hp ? parse_host_port(hp, host, cap, port) : COHORT_EINVAL;
}

int cohort_rpc_server_listen(cohort_rpc_server_t *srv, const char *host_port, int *port_out) {
  char host[256];
  int port;
  if (srv->shutdown || srv->uv->listeners_used >= RPC_LISTENERS_MAX) return COHORT_ESTATE;
  if (rpc_parse_host_port(host_port, host, sizeof host, &port)) return COHORT_EINVAL;
  struct sockaddr_storage ss;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
    return COHORT_EINVAL;
  uv_tcp_t *t = &srv->uv->listeners[srv->uv->listeners_used++];
  uv_tcp_init(srv->host.uv->loop, t);
  t->data = srv;
  srv->uv->nlisteners++;
  srv->uv->handles++;
  int rc = uv_tcp_bind(t, (const struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)t, 511, on_connection);
  if (rc == 0 && port_out) {
    struct sockaddr_storage bound;
    int len = sizeof bound;
    rc = uv_tcp_getsockname(t, (struct sockaddr *)&bound, &len);
    if (rc == 0)
      *port_out = ntohs(bound.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&bound)->sin6_port
                            : ((struct sockaddr_in *)&bound)->sin_port);
  }
  return rc;
}

/* ---- timer --------------------------------------------------------------------- */

void rpc_server_arm(cohort_rpc_server_t *srv, int64_t deadline) {
  if (deadline >= srv->timer_due || srv->freeing) return;
  srv->timer_due = deadline;
  int64_t now = rpc_host_now(&srv->host);
  int64_t ms = deadline <= now ? 0 : (deadline - now + COHORT_NS_PER_MS - 1) / COHORT_NS_PER_MS;
  uv_timer_start(&srv->uv->timer, server_timer_cb, (uint64_t)ms, 0);
}

static void force_close(cohort_rpc_server_t *srv) {
  srv->shutdown = 2;
  for (rpc_link_t *l = srv->conns.next, *nx; l != &srv->conns; l = nx) {
    nx = l->next;
    rpc_io_close(RPC_CONTAINER(l, rpc_conn_t, link)); /* handlers: UNAVAILABLE */
  }
}

static void server_timer_cb(uv_timer_t *t) {
  cohort_rpc_server_t *srv = t->data;
  int64_t now = rpc_host_now(&srv->host), next = COHORT_TIME_NEVER;
  srv->timer_due = COHORT_TIME_NEVER;
  for (rpc_link_t *cl = srv->conns.next; cl != &srv->conns; cl = cl->next) {
    rpc_conn_t *c = RPC_CONTAINER(cl, rpc_conn_t, link);
    rpc_conn_tick(c, now, &next);
    if (c->has_tcp && !c->io->closing && !rpc_conn_server_tick(c, now, &next)) rpc_io_close(c);
  }
  if (srv->shutdown == 1) {
    if (now >= srv->grace_deadline)
      force_close(srv);
    else if (srv->grace_deadline < next)
      next = srv->grace_deadline;
  }
  if (next != COHORT_TIME_NEVER) rpc_server_arm(srv, next);
}

/* ---- shutdown ------------------------------------------------------------------- */

void rpc_server_ping_ack(cohort_rpc_server_t *srv, rpc_conn_t *c) {
  (void)srv;
  c->shutdown_ping = false;
  if (c->goaway_sent || !c->h2) return;
  c->goaway_sent = true;
  nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->h2),
                        NGHTTP2_NO_ERROR, NULL, 0);
  rpc_conn_dirty(c);
}

static void idle_done_cb(uv_idle_t *h) {
  cohort_rpc_server_t *srv = h->data;
  uv_idle_stop(h);
  if (srv->on_done) srv->on_done(srv->done_ud);
}

static void check_done(cohort_rpc_server_t *srv) {
  if (srv->shutdown == 0 || srv->shutdown == 3 || srv->nconns > 0 || srv->uv->nlisteners > 0)
    return;
  srv->shutdown = 3;
  uv_timer_stop(&srv->uv->timer);
  if (!srv->freeing) uv_idle_start(&srv->uv->idle, idle_done_cb);
}

static void listener_closed(uv_handle_t *h) {
  cohort_rpc_server_t *srv = h->data;
  srv->uv->nlisteners--;
  if (srv->freeing) {
    server_unref(srv);
    return;
  }
  srv->uv->handles--;
  check_done(srv);
}

void cohort_rpc_server_shutdown(cohort_rpc_server_t *srv, int64_t grace_ms,
                                void (*on_done)(void *ud), void *ud) {
  if (srv->shutdown) return;
  srv->shutdown = 1;
  srv->on_done = on_done;
  srv->done_ud = ud;
  srv->grace_deadline =
      rpc_host_now(&srv->host) + (grace_ms > 0 ? grace_ms : 0) * COHORT_NS_PER_MS;
  for (int i = 0; i < srv->uv->listeners_used; i++)
    uv_close((uv_handle_t *)&srv->uv->listeners[i], listener_closed);
  for (rpc_link_t *l = srv->conns.next; l != &srv->conns; l = l->next) {
    rpc_conn_t *c = RPC_CONTAINER(l, rpc_conn_t, link);
    if (!c->h2 || !c->ready) continue;
    nghttp2_submit_shutdown_notice(c->h2);
    nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL);
    c->shutdown_ping = true;
    rpc_conn_dirty(c);
  }
  rpc_server_arm(srv, srv->grace_deadline);
  check_done(srv);
}

static void server_unref(cohort_rpc_server_t *srv) {
  if (--srv->uv->handles > 0) return;
  rpc_call_free_pool(&srv->pool, &srv->pool_len, srv->a);
  const cohort_allocator_t *a = srv->a;
  cohort_free(a, srv);
}

static void handle_closed(uv_handle_t *h) { server_unref(h->data); }

void cohort_rpc_server_free(cohort_rpc_server_t *srv) {
  if (!srv) return;
  srv->freeing = true;
  srv->uv->handles += (int)srv->nconns; /* their close callbacks still use srv */
  for (rpc_link_t *l = srv->conns.next, *nx; l != &srv->conns; l = nx) {
    nx = l->next;
    rpc_io_close(RPC_CONTAINER(l, rpc_conn_t, link));
  }
  while (!rpc_list_empty(&srv->orphans)) {
    cohort_rpc_call_t *c = RPC_CONTAINER(srv->orphans.next, cohort_rpc_call_t, link);
    rpc_list_remove(&c->link);
    c->flags |= CALL_HANDLER_DONE;
    rpc_call_release(c, srv->a, &srv->pool, &srv->pool_len);
  }
  for (size_t i = 0; i < SLOTS; i++) {
    if (!srv->slots[i]) continue;
    cohort_free(srv->a, srv->slots[i]->path);
    cohort_free(srv->a, srv->slots[i]);
  }
  cohort_free(srv->a, srv->slots);
  srv->slots = NULL;
  if (srv->host.tls) SSL_CTX_free(srv->host.tls);
  srv->host.tls = NULL;
  for (int i = 0; i < srv->uv->listeners_used; i++)
    if (!uv_is_closing((uv_handle_t *)&srv->uv->listeners[i]))
      uv_close((uv_handle_t *)&srv->uv->listeners[i], listener_closed);
  srv->host.uv->prepare.data = srv;
  uv_close((uv_handle_t *)&srv->host.uv->prepare, handle_closed);
  uv_close((uv_handle_t *)&srv->uv->timer, handle_closed);
  uv_close((uv_handle_t *)&srv->uv->idle, handle_closed);
}

/* ---- virtual connections (fuzzing, tests) ---------------------------------------- */

int rpc_server_virtual_conn(cohort_rpc_server_t *srv, rpc_conn_t **out) {
  rpc_conn_t *c = cohort_alloc(srv->a, sizeof *c);
  if (!c) return COHORT_ENOMEM;
  int rc = rpc_conn_init(c, &srv->host, srv->a, srv, NULL, rpc_host_now(&srv->host));
  if (rc) {
    cohort_free(srv->a, c);
    return rc;
  }
  c->ready = true; /* no transport (io NULL): the caller feeds and drains it */
  *out = c;
  return 0;
}

void rpc_server_virtual_free(cohort_rpc_server_t *srv, rpc_conn_t *c) {
  rpc_conn_teardown(c, "fuzz done");
  cohort_free(srv->a, c);
}
