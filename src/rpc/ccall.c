/*
 * src/rpc/ccall.c — the client side of a call: the request HEADERS
 * (path, authority, te, content-type, grpc-timeout, metadata), response
 * headers and trailers, message deframing, and the final status, taken
 * from grpc-status or mapped from RST_STREAM / HTTP status as
 * PROTOCOL-HTTP2 says.
 *
 * Invariants: the status is decided once (first decision wins); on_status
 * runs exactly once and the call is released right after; while a client
 * callback runs, rpc_current_call is the call's parent (so a call started
 * from it inherits the same deadline).
 */
#include <string.h>

#include "internal.h"

#define NV(n, v, vl)                                                                     \
  ((nghttp2_nv){(uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, (vl), \
                NGHTTP2_NV_FLAG_NONE})
/* Name and value outlive the session (literals, channel strings): the
 * session need not copy them. The path is copied: a cancelled call's
 * HEADERS may still be queued after the call was recycled. */
#define NV_STATIC(n, v, vl)                                                              \
  ((nghttp2_nv){(uint8_t *)(uintptr_t)(n), (uint8_t *)(uintptr_t)(v), sizeof(n) - 1, (vl), \
                NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE})
#define NV_MAX (COHORT_RPC_METADATA_ENTRIES_MAX + 10)

COHORT_INTERNAL size_t rpc_md_to_nv(const rpc_bytes_t *b, size_t off, nghttp2_nv *nv,
                                    size_t max);

int rpc_ccall_submit(cohort_rpc_call_t *c, rpc_conn_t *conn, int64_t now) {
  cohort_rpc_channel_t *ch = c->ch;
  nghttp2_nv nv[NV_MAX];
  size_t n = 0;
  char tbuf[12];
  nv[n++] = NV_STATIC(":method", "POST", 4);
  nv[n++] = NV_STATIC(":scheme", ch->cfg.tls ? "https" : "http", ch->cfg.tls ? 5u : 4u);
  nv[n++] = NV(":path", c->scratch.data + c->path_off, c->path_len);
  nv[n++] = NV_STATIC(":authority", ch->authority, ch->authority_len);
  nv[n++] = NV_STATIC("te", "trailers", 8);
  nv[n++] = NV_STATIC("content-type", "application/grpc", 16);
  nv[n++] = NV_STATIC("user-agent", ch->user_agent, ch->user_agent_len);
  nv[n++] = NV_STATIC("grpc-accept-encoding", "identity,gzip", 13);
  if (ch->cfg.compression == COHORT_RPC_COMPRESS_GZIP) {
    nv[n++] = NV_STATIC("grpc-encoding", "gzip", 4);
    c->flags |= CALL_GZIP_SEND;
  }
  if (c->deadline != COHORT_TIME_NEVER) {
    int64_t left = c->deadline - now;
    if (left <= 0) return COHORT_ETIMEDOUT;
    nv[n++] = NV("grpc-timeout", tbuf, cohort_rpc_timeout_format(left, tbuf));
  }
  n += rpc_md_to_nv(&c->scratch, c->path_off + c->path_len + 1u, nv + n, NV_MAX - n);
  nghttp2_data_provider prd = {.source = {.ptr = c}, .read_callback = rpc_data_read};
  int32_t id = nghttp2_submit_request(conn->h2, NULL, nv, n, &prd, c);
  if (id < 0) return COHORT_ENOMEM;
  c->stream_id = id;
  c->conn = conn;
  c->flags |= CALL_SUBMITTED;
  rpc_list_remove(&c->link);
  rpc_list_push(&conn->calls, &c->link);
  rpc_conn_dirty(conn);
  return 0;
}

static bool eq(const uint8_t *a, size_t al, const char *b) {
  size_t bl = strlen(b);
  return al == bl && memcmp(a, b, bl) == 0;
}

static int parse_status(const uint8_t *v, size_t vl) {
  if (vl == 0 || vl > 3) return COHORT_RPC_UNKNOWN;
  int s = 0;
  for (size_t i = 0; i < vl; i++) {
    if (v[i] < '0' || v[i] > '9') return COHORT_RPC_UNKNOWN;
    s = s * 10 + (v[i] - '0');
  }
  return s < COHORT_RPC_CODE_COUNT ? s : COHORT_RPC_UNKNOWN;
}

int rpc_ccall_header(cohort_rpc_call_t *c, const nghttp2_frame *f, const uint8_t *k,
                     size_t kl, const uint8_t *v, size_t vl) {
  const cohort_allocator_t *a = c->ch->a;
  (void)f;
  if (kl > 0 && k[0] == ':') {
    if (eq(k, kl, ":status")) {
      c->http_status = 0;
      for (size_t i = 0; i < vl && i < 3; i++)
        if (v[i] >= '0' && v[i] <= '9') c->http_status = c->http_status * 10 + (v[i] - '0');
    }
    return 0;
  }
  switch (kl) {
  case 11:
    if (eq(k, kl, "grpc-status")) {
      c->grpc_status = parse_status(v, vl);
      return 0;
    }
    break;
  case 12:
    if (eq(k, kl, "content-type")) {
      c->ct_ok = vl >= 16 && memcmp(v, "application/grpc", 16) == 0;
      return 0;
    }
    if (eq(k, kl, "grpc-message")) {
      c->msg.len = 0;
      return rpc_percent_decode(&c->msg, a, v, vl) != 0 ? -1 : 0;
    }
    break;
  case 13:
    if (eq(k, kl, "grpc-encoding")) {
      c->df.gzip_ok = eq(v, vl, "gzip"); /* anything else: compressed messages refused */
      return 0;
    }
    break;
  default: break;
  }
  if (rpc_md_reserved(k, kl)) return 0;
  bool trailers = (c->flags & CALL_TRAILERS) != 0;
  int rc = rpc_md_add(trailers ? &c->tmd : &c->md, a, k, kl, v, vl);
  /* Over-long or undecodable metadata from a server is dropped. */
  return rc == COHORT_ENOMEM ? -1 : 0;
}

static void set_current(cohort_rpc_call_t *c, cohort_rpc_call_t **saved) {
  *saved = rpc_current_call;
  rpc_current_call = c->parent;
}

void rpc_ccall_headers_done(cohort_rpc_call_t *c, const nghttp2_frame *f) {
  if (c->flags & CALL_TRAILERS) {
    rpc_md_finish(&c->tmd);
    return;
  }
  rpc_md_finish(&c->md);
  if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
    c->flags |= CALL_TRAILERS_ONLY;
    return;
  }
  if (c->cb.on_headers && !(c->flags & CALL_STATUS_SET)) {
    cohort_rpc_call_t *saved;
    set_current(c, &saved);
    c->cb.on_headers(c, c->cb_ud);
    rpc_current_call = saved;
  }
}

/* Stop the stream (RST_STREAM(CANCEL) if it is still open) and forget it. */
static void detach_stream(cohort_rpc_call_t *c) {
  rpc_conn_t *conn = c->conn;
  if (conn && conn->h2 && c->stream_id > 0 && !(c->flags & CALL_STREAM_GONE)) {
    nghttp2_session_set_stream_user_data(conn->h2, c->stream_id, NULL);
    nghttp2_submit_rst_stream(conn->h2, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_CANCEL);
    rpc_conn_dirty(conn);
  }
  c->flags |= CALL_STREAM_GONE;
  rpc_list_remove(&c->link);
  c->conn = NULL;
}

static int on_response_message(void *ud, const uint8_t *msg, size_t len) {
  cohort_rpc_call_t *c = ud;
  if (c->df.compressed) {
    const char *why = NULL;
    int code = rpc_call_inflate(c, msg, len, c->ch->host.max_recv, &why);
    if (code) {
      rpc_ccall_fail(c, (cohort_rpc_code_t)code, why);
      return 1;
    }
    msg = c->zbuf.data;
    len = c->zbuf.len;
  }
  if (c->unary_fn) {
    if (c->flags & CALL_UNARY_GOT) {
      rpc_ccall_fail(c, COHORT_RPC_INTERNAL, "more than one response message for a unary call");
      return 1;
    }
    c->flags |= CALL_UNARY_GOT;
    c->req.len = 0;
    if (rpc_bytes_append(&c->req, c->ch->a, msg, len) != 0) {
      rpc_ccall_fail(c, COHORT_RPC_RESOURCE_EXHAUSTED, "out of memory");
      return 1;
    }
    return 0;
  }
  if (c->cb.on_message) {
    cohort_rpc_call_t *saved;
    set_current(c, &saved);
    c->cb.on_message(c, msg, len, c->cb_ud);
    rpc_current_call = saved;
  }
  return (c->flags & CALL_STATUS_SET) ? 1 : 0;
}

void rpc_ccall_data(cohort_rpc_call_t *c, const uint8_t *d, size_t n) {
  if (c->flags & CALL_STATUS_SET) return;
  int rc = rpc_deframe(&c->df, c->ch->a, c->ch->host.max_recv, d, n, on_response_message, c);
  switch (rc) {
  case 0: return;
  case RPC_DEFRAME_STOP:
    if (!(c->flags & CALL_STATUS_SET)) return; /* cancelled inside on_message */
    break;
  case RPC_DEFRAME_TOO_LARGE:
    rpc_ccall_fail(c, COHORT_RPC_RESOURCE_EXHAUSTED,
                   "response larger than the maximum message size");
    break;
  case RPC_DEFRAME_COMPRESSED:
    rpc_ccall_fail(c, COHORT_RPC_INTERNAL, "compressed response not supported");
    break;
  default: rpc_ccall_fail(c, COHORT_RPC_INTERNAL, "malformed gRPC message prefix"); break;
  }
  if (!(c->flags & CALL_IN_DEFER)) {
    detach_stream(c);
    rpc_ccall_complete(c);
  }
}

/* The status as the stream's end tells it: grpc-status if trailers came,
 * else the RST_STREAM code, else the HTTP status. */
static void status_at_end(cohort_rpc_call_t *c, uint32_t err) {
  char buf[96];
  if (c->grpc_status >= 0) {
    if (rpc_deframer_partial(&c->df) && c->grpc_status == 0)
      rpc_ccall_fail(c, COHORT_RPC_INTERNAL, "truncated gRPC message");
    c->code = (cohort_rpc_code_t)c->grpc_status;
    c->flags |= CALL_STATUS_SET; /* message already decoded into c->msg */
  } else if (err != NGHTTP2_NO_ERROR) {
    cohort_fmt(buf, sizeof buf, "stream reset by the server (HTTP/2 error %u)", err);
    rpc_ccall_fail(c, rpc_code_from_h2(err), buf);
  } else if (c->http_status != 200) {
    cohort_fmt(buf, sizeof buf, "HTTP status %d", c->http_status);
    rpc_ccall_fail(c, rpc_code_from_http(c->http_status), buf);
  } else {
    rpc_ccall_fail(c, COHORT_RPC_INTERNAL, "server closed the stream without a status");
  }
}

void rpc_ccall_closed(cohort_rpc_call_t *c, uint32_t err) {
  c->flags |= CALL_STREAM_GONE;
  rpc_list_remove(&c->link);
  c->conn = NULL;
  if (c->flags & CALL_IN_DEFER) return; /* completion already queued */
  status_at_end(c, err);
  rpc_ccall_complete(c);
}

/* The server ended its side (trailers with END_STREAM) while we are still
 * sending: the status is final now (PROTOCOL-HTTP2). Waiting for the
 * stream to close would wait for ever when the server stopped reading our
 * requests (grpcio does, after refusing an oversized message); the stream
 * is reset by rpc_ccall_complete. */
void rpc_ccall_remote_end(cohort_rpc_call_t *c) {
  if (c->flags & CALL_IN_DEFER) return;
  status_at_end(c, NGHTTP2_NO_ERROR);
  rpc_ccall_complete(c);
}

void rpc_ccall_fail(cohort_rpc_call_t *c, cohort_rpc_code_t code, const char *msg) {
  if (c->flags & CALL_STATUS_SET) return;
  c->flags |= CALL_STATUS_SET;
  c->code = code;
  c->msg.len = 0;
  if (!msg) msg = "";
  if (rpc_bytes_append(&c->msg, c->ch->a, msg, strlen(msg) + 1) == 0) c->msg.len--;
}

void rpc_ccall_complete(cohort_rpc_call_t *c) {
  detach_stream(c);
  rpc_list_remove(&c->child_link);
  if (!(c->flags & CALL_STATUS_SET)) rpc_ccall_fail(c, COHORT_RPC_UNKNOWN, "");
  if (rpc_bytes_reserve(&c->msg, c->ch->a, 1) == 0) c->msg.data[c->msg.len] = '\0';
  cohort_rpc_status_t st = {c->code, c->msg.data ? (const char *)c->msg.data : "", NULL, 0};
  /* Trailers-only responses carry their metadata in the only block. */
  const rpc_md_t *tr = (c->flags & CALL_TRAILERS_ONLY) ? &c->md : &c->tmd;
  size_t ntr = tr->ready ? tr->count : 0;
  for (size_t i = 0; i < ntr; i++) {
    if (rpc_md_is_details(tr->entry[i].key, strlen(tr->entry[i].key))) {
      st.details = tr->entry[i].value;
      st.details_len = tr->entry[i].value_len;
    }
  }
  cohort_rpc_call_t *saved;
  set_current(c, &saved);
  if (c->unary_fn) {
    if (st.code == COHORT_RPC_OK && !(c->flags & CALL_UNARY_GOT)) {
      st.code = COHORT_RPC_INTERNAL;
      st.message = "no response message for a unary call";
    }
    bool ok = st.code == COHORT_RPC_OK;
    c->unary_fn(&st, ok ? c->req.data : NULL, ok ? c->req.len : 0, c->cb_ud);
  } else if (c->cb.on_status) {
    c->cb.on_status(c, &st, tr->entry, ntr, c->cb_ud);
  }
  rpc_current_call = saved;
  rpc_channel_call_done(c->ch, c);
}

void rpc_ccall_expire(rpc_link_t *list, int64_t now, int64_t *next) {
  rpc_link_t expired;
  rpc_list_init(&expired);
  for (rpc_link_t *l = list->next, *nx; l != list; l = nx) {
    nx = l->next;
    cohort_rpc_call_t *c = RPC_CONTAINER(l, cohort_rpc_call_t, link);
    if (c->deadline == COHORT_TIME_NEVER || (c->flags & CALL_STATUS_SET)) continue;
    if (c->deadline > now) {
      if (c->deadline < *next) *next = c->deadline;
      continue;
    }
    rpc_ccall_fail(c, COHORT_RPC_DEADLINE_EXCEEDED, "Deadline Exceeded");
    rpc_list_remove(&c->link);
    rpc_list_push(&expired, &c->link);
  }
  /* Complete after the scan: a user callback may touch the lists. */
  while (!rpc_list_empty(&expired))
    rpc_ccall_complete(RPC_CONTAINER(expired.next, cohort_rpc_call_t, link)); /* resets */
}
