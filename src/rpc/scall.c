/*
 * src/rpc/scall.c — the server side of a call: request headers are
 * validated (method, content-type, grpc-timeout, path), the handler is run
 * per call pattern, responses are framed, and the status goes out in
 * trailers, or as a trailers-only response when nothing was sent.
 *
 * Invariants: a server call is freed as soon as its stream is gone unless
 * a handler callback has been given it (CALL_HANDLER_SEEN) and has not
 * finished it: a call reset, disconnected or expired before its request
 * was complete never waits for a finish() that cannot come (issue 12); on_cancel is delivered
 * at most once and never after finish; handler callbacks run with
 * rpc_current_call set to the call (automatic deadline propagation);
 * errors in bytes from the client end the call with a status, never an
 * assertion.
 */
#include <string.h>

#include "internal.h"

COHORT_INTERNAL int rpc_scall_ensure_headers(cohort_rpc_call_t *c,
                                             const cohort_rpc_metadata_t *md, size_t n);

#define NV(n, v, vl)                                                                     \
  ((nghttp2_nv){(uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, (vl), \
                NGHTTP2_NV_FLAG_NONE})
/* Name and value live as long as the program: nghttp2 need not copy. */
#define NV_STATIC(n, v, vl)                                                              \
  ((nghttp2_nv){(uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, (vl), \
                NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE})
#define NV_MAX (COHORT_RPC_METADATA_ENTRIES_MAX + 8)

static bool handler_owns(const cohort_rpc_call_t *c) {
  return (c->flags & CALL_HANDLER_SEEN) && !(c->flags & CALL_HANDLER_DONE);
}

/* The handler is about to see the call for the first time. */
static void hand_over(cohort_rpc_call_t *c) {
  if (c->flags & CALL_HANDLER_SEEN) return;
  c->flags |= CALL_HANDLER_SEEN;
  c->srv->active_calls++;
}

/* ---- request memory budget ------------------------------------------------ */

/* Bring the connection's and the server's counts of buffered request
 * bytes (and of partial messages) in line with what the call holds now. */
static void held_update(cohort_rpc_call_t *c) {
  size_t now_held = c->df.body.cap + c->req.cap + c->zbuf.cap;
  bool partial = rpc_deframer_partial(&c->df) && c->df.in_body;
  rpc_conn_t *conn = c->conn;
  if (conn) {
    conn->held = conn->held - c->held + now_held;
    if (partial && !(c->flags & CALL_PARTIAL)) conn->partials++;
    if (!partial && (c->flags & CALL_PARTIAL)) conn->partials--;
  }
  c->srv->held = c->srv->held - c->held + now_held;
  c->held = now_held;
  c->flags = partial ? (c->flags | CALL_PARTIAL) : (c->flags & ~(uint32_t)CALL_PARTIAL);
}

/* Free the request buffers of a call that will not read any more. */
static void held_drop(cohort_rpc_call_t *c) {
  rpc_deframer_reset(&c->df, c->srv->a);
  rpc_bytes_free(&c->df.body, c->srv->a);
  rpc_bytes_free(&c->req, c->srv->a);
  rpc_bytes_free(&c->zbuf, c->srv->a);
  held_update(c);
}

/* Whether the call may keep what it holds: the per-connection and server
 * budgets and the cap on partial messages per connection. */
static const char *over_budget(const cohort_rpc_call_t *c) {
  const cohort_rpc_server_t *srv = c->srv;
  if (c->conn && c->conn->held > srv->conn_held_max)
    return "connection request buffer budget exceeded";
  if (srv->held > srv->held_max) return "server request buffer budget exceeded";
  if (c->conn && c->conn->partials > COHORT_RPC_PARTIAL_MESSAGES_MAX)
    return "too many partially received messages on this connection";
  return NULL;
}

static void maybe_free(cohort_rpc_call_t *c) {
  if (!(c->flags & CALL_STREAM_GONE)) return;
  if (handler_owns(c)) return;
  held_drop(c);
  cohort_rpc_server_t *srv = c->srv;
  rpc_call_release(c, srv->a, &srv->pool, &srv->pool_len);
}

/* Encode user metadata as "key\0value\0" pairs appended to `buf`. */
static int md_encode(rpc_bytes_t *buf, const cohort_allocator_t *a,
                     const cohort_rpc_metadata_t *md, size_t n) {
  if (n > COHORT_RPC_METADATA_ENTRIES_MAX) return COHORT_EINVAL;
  for (size_t i = 0; i < n; i++) {
    size_t kl = md[i].key ? strlen(md[i].key) : 0;
    if (!rpc_md_key_valid(md[i].key, kl)) return COHORT_EINVAL;
    bool bin = rpc_md_is_bin(md[i].key, kl);
    if (!bin && !rpc_md_value_valid(md[i].value, md[i].value_len)) return COHORT_EINVAL;
    int rc = rpc_bytes_append(buf, a, md[i].key, kl + 1);
    if (!rc && bin) rc = rpc_base64_encode(buf, a, md[i].value, md[i].value_len);
    if (!rc && !bin) rc = rpc_bytes_append(buf, a, md[i].value, md[i].value_len);
    if (!rc) rc = rpc_bytes_append(buf, a, "", 1);
    if (rc) return rc;
  }
  return 0;
}

COHORT_INTERNAL int rpc_md_encode(rpc_bytes_t *buf, const cohort_allocator_t *a,
                                  const cohort_rpc_metadata_t *md, size_t n);
int rpc_md_encode(rpc_bytes_t *buf, const cohort_allocator_t *a,
                  const cohort_rpc_metadata_t *md, size_t n) {
  size_t mark = buf->len;
  int rc = md_encode(buf, a, md, n);
  if (rc) buf->len = mark;
  return rc;
}

/* Turn encoded pairs in [p, end) into nghttp2 name/value entries. */
COHORT_INTERNAL size_t rpc_md_to_nv(const rpc_bytes_t *b, size_t off, nghttp2_nv *nv,
                                    size_t max);
size_t rpc_md_to_nv(const rpc_bytes_t *b, size_t off, nghttp2_nv *nv, size_t max) {
  size_t n = 0;
  if (!b->data || off >= b->len) return 0;
  const uint8_t *p = b->data + off, *end = b->data + b->len;
  while (p < end && n < max) {
    size_t kl = strlen((const char *)p);
    const uint8_t *v = p + kl + 1;
    size_t vl = strlen((const char *)v);
    nv[n++] = (nghttp2_nv){(uint8_t *)(uintptr_t)p, (uint8_t *)(uintptr_t)v, kl, vl,
                           NGHTTP2_NV_FLAG_NONE};
    p = v + vl + 1;
  }
  return n;
}

static void run_cancel(cohort_rpc_call_t *c, cohort_rpc_code_t why) {
  /* Children (calls this handler made) die with it. */
  while (!rpc_list_empty(&c->children)) {
    rpc_link_t *l = c->children.next;
    cohort_rpc_call_t *child = RPC_CONTAINER(l, cohort_rpc_call_t, child_link);
    rpc_list_remove(l);
    child->parent = NULL;
    cohort_rpc_call_cancel(child);
  }
  if (!handler_owns(c)) return;
  if (c->method->h.on_cancel) {
    cohort_rpc_call_t *saved = rpc_current_call;
    rpc_current_call = c;
    c->method->h.on_cancel(c, why, c->method->h.ud);
    rpc_current_call = saved;
  }
}

/* ---- responses --------------------------------------------------------------------- */

static size_t status_nv(cohort_rpc_call_t *c, nghttp2_nv *nv) {
  static const char digits[COHORT_RPC_CODE_COUNT][3] = {
      "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"};
  unsigned code = (unsigned)c->code < COHORT_RPC_CODE_COUNT ? (unsigned)c->code : 2u;
  size_t k = 0;
  nv[k++] = NV_STATIC("grpc-status", digits[code], code < 10 ? 1u : 2u);
  if (c->msg.len > 0) nv[k++] = NV("grpc-message", c->msg.data, c->msg.len);
  return k;
}

/* Trailers-only response: HEADERS with END_STREAM and the status. */
static void send_trailers_only(cohort_rpc_call_t *c, size_t md_off) {
  nghttp2_nv nv[NV_MAX];
  size_t n = 0;
  nv[n++] = NV_STATIC(":status", "200", 3);
  nv[n++] = NV_STATIC("content-type", "application/grpc", 16);
  n += status_nv(c, nv + n);
  n += rpc_md_to_nv(&c->scratch, md_off, nv + n, NV_MAX - n);
  c->flags |= CALL_SUBMITTED | CALL_SEND_CLOSED;
  if (nghttp2_submit_response(c->conn->h2, c->stream_id, nv, n, NULL) != 0)
    nghttp2_submit_rst_stream(c->conn->h2, NGHTTP2_FLAG_NONE, c->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
  rpc_conn_dirty(c->conn);
}

static void set_status(cohort_rpc_call_t *c, cohort_rpc_code_t code, const char *msg) {
  c->code = code;
  c->msg.len = 0;
  if (msg && *msg) rpc_percent_encode(&c->msg, c->srv->a, msg, strlen(msg));
}

/* Drop queued messages that have not started to go out: the message in
 * progress (if any) is completed, so the peer never sees a torn one. */
static void sendq_cut(cohort_rpc_call_t *c) {
  size_t pos = 0;
  while (pos < c->sendq_off && pos + 5 <= c->sendq.len) {
    const uint8_t *p = c->sendq.data + pos;
    pos += 5 + ((size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4]);
  }
  if (pos < c->sendq.len) c->sendq.len = pos;
}

/* A failure we detected before or outside the handler: the status goes
 * to the client — trailers-only before response headers, trailers after
 * them (as gRPC servers do for an expired deadline; on_frame_send then
 * resets a still-open request side with NO_ERROR) — and on_cancel to a
 * running handler. */
static void scall_fail(cohort_rpc_call_t *c, cohort_rpc_code_t code, const char *msg) {
  if (c->flags & (CALL_CANCELLED | CALL_SEND_CLOSED)) return;
  if (!(c->flags & CALL_STREAM_GONE) && c->conn && c->conn->h2) {
    set_status(c, code, msg);
    c->scratch.len = 0;
    if (!(c->flags & CALL_SUBMITTED)) {
      send_trailers_only(c, 0);
    } else {
      sendq_cut(c);
      c->flags |= CALL_SEND_CLOSED;
      rpc_call_resume(c);
    }
  }
  c->flags |= CALL_CANCELLED;
  run_cancel(c, code);
}

void rpc_scall_abort(cohort_rpc_call_t *c, cohort_rpc_code_t why, bool send_status) {
  if (send_status) {
    scall_fail(c, why, why == COHORT_RPC_DEADLINE_EXCEEDED ? "Deadline Exceeded" : NULL);
    return;
  }
  if (c->flags & CALL_CANCELLED) return;
  c->flags |= CALL_CANCELLED;
  run_cancel(c, why);
}

int rpc_scall_ensure_headers(cohort_rpc_call_t *c, const cohort_rpc_metadata_t *md, size_t n) {
  if (c->flags & CALL_SUBMITTED) return 0;
  if (c->flags & (CALL_CANCELLED | CALL_STREAM_GONE)) return COHORT_ECANCELED;
  size_t mark = c->scratch.len;
  int rc = rpc_md_encode(&c->scratch, c->srv->a, md, n);
  if (rc) return rc;
  nghttp2_nv nv[NV_MAX];
  size_t k = 0;
  nv[k++] = NV_STATIC(":status", "200", 3);
  nv[k++] = NV_STATIC("content-type", "application/grpc", 16);
  nv[k++] = NV_STATIC("grpc-accept-encoding", "identity,gzip", 13);
  if (c->flags & CALL_GZIP_SEND) nv[k++] = NV_STATIC("grpc-encoding", "gzip", 4);
  k += rpc_md_to_nv(&c->scratch, mark, nv + k, NV_MAX - k);
  c->scratch.len = mark;
  nghttp2_data_provider prd = {.source = {.ptr = c}, .read_callback = rpc_data_read};
  if (nghttp2_submit_response(c->conn->h2, c->stream_id, nv, k, &prd) != 0) {
    scall_fail(c, COHORT_RPC_INTERNAL, "cannot submit response");
    return COHORT_ENOMEM;
  }
  c->flags |= CALL_SUBMITTED;
  rpc_conn_dirty(c->conn);
  return 0;
}

int cohort_rpc_call_send_headers(cohort_rpc_call_t *c, const cohort_rpc_metadata_t *md,
                                 size_t n) {
  COHORT_ASSERT(c->flags & CALL_SERVER);
  if (c->flags & CALL_HANDLER_DONE) return COHORT_ESTATE;
  if (c->flags & (CALL_CANCELLED | CALL_STREAM_GONE)) return COHORT_ECANCELED;
  if (c->flags & CALL_SUBMITTED) return COHORT_ESTATE;
  return rpc_scall_ensure_headers(c, md, n);
}

/* Data provider drained and the status is queued: trailers end the stream. */
ssize_t rpc_scall_data_eof(cohort_rpc_call_t *c, uint32_t *flags) {
  *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  nghttp2_nv nv[NV_MAX];
  size_t n = status_nv(c, nv);
  n += rpc_md_to_nv(&c->scratch, 0, nv + n, NV_MAX - n);
  if (nghttp2_submit_trailer(c->conn->h2, c->stream_id, nv, n) != 0)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  return 0;
}

int cohort_rpc_call_finish_with_metadata(cohort_rpc_call_t *c, cohort_rpc_code_t code,
                                         const char *message,
                                         const cohort_rpc_metadata_t *trailers, size_t n) {
  COHORT_ASSERT(c->flags & CALL_SERVER);
  COHORT_ASSERT(!(c->flags & CALL_HANDLER_DONE));
  COHORT_ASSERT(!(c->flags & CALL_RESERVED));
  c->flags |= CALL_HANDLER_DONE;
  c->srv->active_calls--;
  while (!rpc_list_empty(&c->children)) {
    rpc_link_t *l = c->children.next;
    rpc_list_remove(l);
    RPC_CONTAINER(l, cohort_rpc_call_t, child_link)->parent = NULL;
  }
  if (c->flags & (CALL_CANCELLED | CALL_STREAM_GONE)) {
    maybe_free(c);
    return COHORT_ECANCELED;
  }
  if ((unsigned)code >= COHORT_RPC_CODE_COUNT) code = COHORT_RPC_UNKNOWN;
  set_status(c, code, message);
  c->scratch.len = 0;
  int rc = rpc_md_encode(&c->scratch, c->srv->a, trailers, n);
  if (rc) c->scratch.len = 0;
  if (!(c->flags & CALL_SUBMITTED)) {
    send_trailers_only(c, 0);
  } else {
    c->flags |= CALL_SEND_CLOSED;
    rpc_call_resume(c);
  }
  return rc;
}

int cohort_rpc_call_finish(cohort_rpc_call_t *c, cohort_rpc_code_t code, const char *message) {
  return cohort_rpc_call_finish_with_metadata(c, code, message, NULL, 0);
}

int cohort_rpc_call_reply(cohort_rpc_call_t *c, const void *data, size_t len) {
  int rc = cohort_rpc_call_send(c, data, len);
  if (rc == COHORT_ECANCELED || rc == COHORT_ESTATE) {
    if (!(c->flags & CALL_HANDLER_DONE)) cohort_rpc_call_finish(c, COHORT_RPC_CANCELLED, NULL);
    return rc;
  }
  if (rc) {
    cohort_rpc_call_finish(c, rc == COHORT_EINVAL ? COHORT_RPC_RESOURCE_EXHAUSTED
                                                  : COHORT_RPC_INTERNAL,
                           rc == COHORT_EINVAL ? "response larger than the maximum message size"
                                               : "cannot queue response");
    return rc;
  }
  return cohort_rpc_call_finish(c, COHORT_RPC_OK, NULL);
}

/* ---- requests ------------------------------------------------------------------------ */

int rpc_scall_begin(rpc_conn_t *conn, int32_t stream_id) {
  cohort_rpc_server_t *srv = conn->srv;
  cohort_rpc_call_t *c = rpc_call_new(srv->a, &srv->pool, &srv->pool_len);
  if (!c) return COHORT_ENOMEM;
  c->flags = CALL_SERVER;
  c->srv = srv;
  c->conn = conn;
  c->stream_id = stream_id;
  c->scratch.len = 0;
  rpc_list_push(&conn->calls, &c->link);
  nghttp2_session_set_stream_user_data(conn->h2, stream_id, c);
  return 0;
}

static bool eq(const uint8_t *a, size_t al, const char *b) {
  size_t bl = strlen(b);
  return al == bl && memcmp(a, b, bl) == 0;
}

static void bad(cohort_rpc_call_t *c, cohort_rpc_code_t code, const char *msg) {
  if (c->flags & CALL_BAD_HEADERS) return;
  c->flags |= CALL_BAD_HEADERS;
  c->code = code;
  c->emsg = msg;
}

/* Request headers arrive in order: pseudo-headers first (nghttp2 checked
 * their syntax), then the rest; dispatch on the first byte and length so
 * the common headers cost a comparison or two. */
static int pseudo_header(cohort_rpc_call_t *c, const uint8_t *k, size_t kl, const uint8_t *v,
                         size_t vl) {
  if (eq(k, kl, ":path")) {
    c->req.len = 0;
    return rpc_bytes_append(&c->req, c->srv->a, v, vl) ? -1 : 0;
  }
  if (eq(k, kl, ":method") && !eq(v, vl, "POST"))
    bad(c, COHORT_RPC_UNIMPLEMENTED, "method must be POST");
  return 0; /* :scheme, :authority */
}

static void timeout_header(cohort_rpc_call_t *c, const uint8_t *v, size_t vl) {
  int64_t ns;
  if (cohort_rpc_timeout_parse((const char *)v, vl, &ns) != 0) {
    bad(c, COHORT_RPC_INTERNAL, "malformed grpc-timeout");
    return;
  }
  int64_t now = c->conn->now;
  c->deadline = ns > COHORT_TIME_NEVER - now ? COHORT_TIME_NEVER : now + ns;
}

int rpc_scall_header(cohort_rpc_call_t *c, const uint8_t *k, size_t kl, const uint8_t *v,
                     size_t vl) {
  if (c->flags & CALL_STARTED) return 0; /* trailers from the client: ignored */
  if (kl > 0 && k[0] == ':') return pseudo_header(c, k, kl, v, vl);
  switch (kl) {
  case 2:
    if (k[0] == 't' && k[1] == 'e') return 0;
    break;
  case 10:
    if (eq(k, kl, "user-agent")) return 0;
    break;
  case 12:
    if (eq(k, kl, "content-type")) {
      c->ct_ok = vl >= 16 && memcmp(v, "application/grpc", 16) == 0 &&
                 (vl == 16 || v[16] == '+' || v[16] == ';');
      return 0;
    }
    if (eq(k, kl, "grpc-timeout")) {
      timeout_header(c, v, vl);
      return 0;
    }
    break;
  case 13:
    if (eq(k, kl, "grpc-encoding")) {
      if (eq(v, vl, "gzip"))
        c->df.gzip_ok = true;
      else if (!eq(v, vl, "identity"))
        c->ct_ok |= 2; /* an encoding we lack: UNIMPLEMENTED at its first message */
      return 0;
    }
    break;
  case 20:
    if (eq(k, kl, "grpc-accept-encoding")) {
      if (rpc_encoding_listed(v, vl, "gzip")) c->flags |= CALL_ACCEPTS_GZIP;
      return 0;
    }
    break;
  default: break;
  }
  if (rpc_md_reserved(k, kl)) return 0;
  int rc = rpc_md_add(&c->md, c->srv->a, k, kl, v, vl);
  if (rc == COHORT_EFULL) bad(c, COHORT_RPC_RESOURCE_EXHAUSTED, "too much metadata");
  if (rc == COHORT_EPROTO) bad(c, COHORT_RPC_INTERNAL, "bad base64 in -bin metadata");
  return rc == COHORT_ENOMEM ? -1 : 0;
}

static void reject_415(cohort_rpc_call_t *c) {
  nghttp2_nv nv[1] = {NV_STATIC(":status", "415", 3)};
  c->flags |= CALL_SUBMITTED | CALL_SEND_CLOSED | CALL_CANCELLED;
  nghttp2_submit_response(c->conn->h2, c->stream_id, nv, 1, NULL);
  rpc_conn_dirty(c->conn);
}

void rpc_scall_headers_done(cohort_rpc_call_t *c, bool end_stream) {
  rpc_md_finish(&c->md);
  if (!(c->ct_ok & 1)) {
    reject_415(c);
    return;
  }
  if (c->flags & CALL_BAD_HEADERS) {
    scall_fail(c, c->code, c->emsg);
    return;
  }
  const rpc_method_t *m = rpc_server_lookup(c->srv, c->req.data, c->req.len);
  if (!m) {
    char msg[160];
    cohort_fmt(msg, sizeof msg, "unknown method %.*s", (int)(c->req.len > 120 ? 120 : c->req.len),
               (const char *)c->req.data);
    scall_fail(c, COHORT_RPC_UNIMPLEMENTED, msg);
    return;
  }
  c->req.len = 0;
  if (c->srv->shutdown >= 2) {
    scall_fail(c, COHORT_RPC_UNAVAILABLE, "server shutting down");
    return;
  }
  if (c->deadline <= c->conn->now) {
    scall_fail(c, COHORT_RPC_DEADLINE_EXCEEDED, "Deadline Exceeded");
    return;
  }
  c->method = m;
  c->flags |= CALL_STARTED;
  if ((c->flags & CALL_ACCEPTS_GZIP) && c->srv->cfg.compression == COHORT_RPC_COMPRESS_GZIP)
    c->flags |= CALL_GZIP_SEND;
  if (c->deadline != COHORT_TIME_NEVER) rpc_server_arm(c->srv, c->deadline);
  if (m->h.kind == COHORT_RPC_CLIENT_STREAMING || m->h.kind == COHORT_RPC_BIDI_STREAMING) {
    hand_over(c);
    cohort_rpc_call_t *saved = rpc_current_call;
    rpc_current_call = c;
    m->h.on_start(c, m->h.ud);
    rpc_current_call = saved;
  }
}

static int on_request_message(void *ud, const uint8_t *msg, size_t len) {
  cohort_rpc_call_t *c = ud;
  const rpc_method_t *m = c->method;
  if (c->df.compressed) {
    const char *why = NULL;
    int code = rpc_call_inflate(c, msg, len, c->srv->host.max_recv, &why);
    if (code) {
      scall_fail(c, (cohort_rpc_code_t)code, why);
      return 1;
    }
    msg = c->zbuf.data;
    len = c->zbuf.len;
  }
  if (m->h.kind == COHORT_RPC_UNARY || m->h.kind == COHORT_RPC_SERVER_STREAMING) {
    if (c->flags & CALL_UNARY_GOT) {
      scall_fail(c, COHORT_RPC_INTERNAL, "more than one request message for a unary method");
      return 1;
    }
    c->flags |= CALL_UNARY_GOT;
    c->req.len = 0;
    if (rpc_bytes_append(&c->req, c->srv->a, msg, len) != 0) {
      scall_fail(c, COHORT_RPC_RESOURCE_EXHAUSTED, "out of memory");
      return 1;
    }
    return 0;
  }
  cohort_rpc_call_t *saved = rpc_current_call;
  rpc_current_call = c;
  m->h.on_message(c, msg, len, m->h.ud);
  rpc_current_call = saved;
  /* The handler may have finished or cancelled: stop delivering. */
  return (c->flags & (CALL_HANDLER_DONE | CALL_CANCELLED)) ? 1 : 0;
}

void rpc_scall_data(cohort_rpc_call_t *c, const uint8_t *d, size_t n) {
  if (!(c->flags & CALL_STARTED) || (c->flags & (CALL_CANCELLED | CALL_HANDLER_DONE))) return;
  int rc = rpc_deframe(&c->df, c->srv->a, c->srv->host.max_recv, d, n, on_request_message, c);
  if (c->flags & (CALL_CANCELLED | CALL_HANDLER_DONE)) {
    held_drop(c); /* nothing more will be read: free it now */
  } else {
    held_update(c);
    const char *why = over_budget(c);
    if (why) {
      scall_fail(c, COHORT_RPC_RESOURCE_EXHAUSTED, why);
      held_drop(c);
      return;
    }
  }
  switch (rc) {
  case 0:
  case RPC_DEFRAME_STOP: break;
  case RPC_DEFRAME_TOO_LARGE:
    scall_fail(c, COHORT_RPC_RESOURCE_EXHAUSTED, "request larger than the maximum message size");
    break;
  case RPC_DEFRAME_COMPRESSED:
    scall_fail(c, (c->ct_ok & 2) ? COHORT_RPC_UNIMPLEMENTED : COHORT_RPC_INTERNAL,
               "compressed message not supported");
    break;
  default: scall_fail(c, COHORT_RPC_INTERNAL, "malformed gRPC message prefix"); break;
  }
}

void rpc_scall_end_stream(cohort_rpc_call_t *c) {
  c->flags |= CALL_REMOTE_CLOSED;
  if (!(c->flags & CALL_STARTED) || (c->flags & (CALL_CANCELLED | CALL_HANDLER_DONE))) return;
  if (rpc_deframer_partial(&c->df)) {
    scall_fail(c, COHORT_RPC_INTERNAL, "truncated gRPC message");
    return;
  }
  const rpc_method_t *m = c->method;
  cohort_rpc_call_t *saved = rpc_current_call;
  rpc_current_call = c;
  if (m->h.kind == COHORT_RPC_UNARY || m->h.kind == COHORT_RPC_SERVER_STREAMING) {
    if (!(c->flags & CALL_UNARY_GOT)) {
      rpc_current_call = saved;
      scall_fail(c, COHORT_RPC_INTERNAL, "no request message for a unary method");
      return;
    }
    hand_over(c);
    m->h.on_request(c, c->req.data, c->req.len, m->h.ud);
    rpc_bytes_reset(&c->req, c->srv->a, 16384);
    held_update(c);
  } else if (m->h.on_half_close) {
    m->h.on_half_close(c, m->h.ud);
  }
  rpc_current_call = saved;
}

void rpc_scall_closed(cohort_rpc_call_t *c, uint32_t err) {
  (void)err;
  rpc_list_remove(&c->link);
  /* STREAM_GONE is set only after on_cancel, so a finish() inside it does
   * not free the call under our feet. */
  if (handler_owns(c) && !(c->flags & CALL_CANCELLED)) {
    c->flags |= CALL_CANCELLED;
    run_cancel(c, COHORT_RPC_CANCELLED);
  }
  held_drop(c);
  if (c->conn && rpc_list_empty(&c->conn->calls)) {
    c->conn->idle_since_ns = c->conn->now;
    if (c->srv->idle_timeout_ns > 0)
      rpc_server_arm(c->srv, c->conn->now + c->srv->idle_timeout_ns);
  }
  c->flags |= CALL_STREAM_GONE;
  c->conn = NULL;
  if (handler_owns(c)) {
    rpc_list_push(&c->srv->orphans, &c->link);
    return;
  }
  maybe_free(c);
}
