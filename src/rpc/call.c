/*
 * src/rpc/call.c — what server and client calls share: the call pool (no
 * per-call malloc in steady state), the send queue with its 5-byte gRPC
 * prefixes, cancellation entry point, accessors and the clock.
 *
 * Invariants: the send queue holds whole framed messages; its backlog is
 * bounded by COHORT_RPC_SEND_QUEUE_MAX (plus the one message always
 * accepted when it is empty); a released call keeps at most a small
 * amount of buffer capacity for reuse.
 */
#include <string.h>

#include "internal.h"

_Thread_local cohort_rpc_call_t *rpc_current_call;

/* Buffers a pooled call may keep. */
#define POOL_KEEP_BYTES 16384

cohort_rpc_call_t *rpc_call_new(const cohort_allocator_t *a, rpc_link_t *pool,
                                size_t *pool_len) {
  cohort_rpc_call_t *c;
  if (!rpc_list_empty(pool)) {
    c = RPC_CONTAINER(pool->next, cohort_rpc_call_t, link);
    rpc_list_remove(&c->link);
    (*pool_len)--;
  } else {
    c = cohort_calloc(a, 1, sizeof *c);
    if (!c) return NULL;
  }
  c->link.prev = c->link.next = NULL;
  c->child_link.prev = c->child_link.next = NULL;
  rpc_list_init(&c->children);
  c->parent = NULL;
  c->conn = NULL;
  c->srv = NULL;
  c->ch = NULL;
  c->stream_id = -1;
  c->flags = 0;
  c->deadline = COHORT_TIME_NEVER;
  c->user = NULL;
  c->sendq_off = 0;
  c->reserve_len = 0;
  c->code = COHORT_RPC_OK;
  c->http_status = 0;
  c->grpc_status = -1;
  c->path_off = c->path_len = c->msg_off = c->msg_len = c->ct_ok = 0;
  c->emsg = NULL;
  c->method = NULL;
  memset(&c->cb, 0, sizeof c->cb);
  c->cb_ud = NULL;
  c->unary_fn = NULL;
  return c;
}

static void unlink_family(cohort_rpc_call_t *c) {
  rpc_list_remove(&c->child_link);
  c->parent = NULL;
  while (!rpc_list_empty(&c->children)) {
    rpc_link_t *l = c->children.next;
    rpc_list_remove(l);
    RPC_CONTAINER(l, cohort_rpc_call_t, child_link)->parent = NULL;
  }
}

void rpc_call_release(cohort_rpc_call_t *c, const cohort_allocator_t *a, rpc_link_t *pool,
                      size_t *pool_len) {
  rpc_list_remove(&c->link);
  unlink_family(c);
  rpc_bytes_reset(&c->sendq, a, POOL_KEEP_BYTES);
  rpc_deframer_reset(&c->df, a);
  rpc_md_reset(&c->md, a);
  rpc_md_reset(&c->tmd, a);
  rpc_bytes_reset(&c->req, a, POOL_KEEP_BYTES);
  rpc_bytes_reset(&c->scratch, a, POOL_KEEP_BYTES);
  rpc_bytes_reset(&c->msg, a, 1024);
  rpc_bytes_reset(&c->zbuf, a, POOL_KEEP_BYTES);
  rpc_bytes_reset(&c->df.body, a, POOL_KEEP_BYTES);
  if (*pool_len < COHORT_RPC_CALL_POOL_MAX) {
    rpc_list_push(pool, &c->link);
    (*pool_len)++;
    return;
  }
  rpc_bytes_free(&c->sendq, a);
  rpc_bytes_free(&c->df.body, a);
  rpc_bytes_free(&c->md.arena, a);
  rpc_bytes_free(&c->tmd.arena, a);
  rpc_bytes_free(&c->req, a);
  rpc_bytes_free(&c->scratch, a);
  rpc_bytes_free(&c->msg, a);
  rpc_bytes_free(&c->zbuf, a);
  cohort_free(a, c);
}

void rpc_call_free_pool(rpc_link_t *pool, size_t *pool_len, const cohort_allocator_t *a) {
  while (!rpc_list_empty(pool)) {
    cohort_rpc_call_t *c = RPC_CONTAINER(pool->next, cohort_rpc_call_t, link);
    rpc_list_remove(&c->link);
    rpc_bytes_free(&c->sendq, a);
    rpc_bytes_free(&c->df.body, a);
    rpc_bytes_free(&c->md.arena, a);
    rpc_bytes_free(&c->tmd.arena, a);
    rpc_bytes_free(&c->req, a);
    rpc_bytes_free(&c->scratch, a);
    rpc_bytes_free(&c->msg, a);
    rpc_bytes_free(&c->zbuf, a);
    cohort_free(a, c);
  }
  *pool_len = 0;
}

const cohort_allocator_t *rpc_call_allocator(const cohort_rpc_call_t *c) {
  return c->srv ? c->srv->a : c->ch->a;
}

size_t rpc_call_max_send(const cohort_rpc_call_t *c) {
  return c->srv ? c->srv->host.max_send : c->ch->host.max_send;
}

/* Let nghttp2 pull again from a deferred data provider. */
void rpc_call_resume(cohort_rpc_call_t *c) {
  if (!c->conn || !c->conn->h2 || c->stream_id <= 0) return;
  if (c->flags & CALL_DEFERRED) {
    c->flags &= ~(uint32_t)CALL_DEFERRED;
    nghttp2_session_resume_data(c->conn->h2, c->stream_id);
  }
  rpc_conn_dirty(c->conn);
}

void rpc_call_after_drain(cohort_rpc_call_t *c) {
  if (!(c->flags & CALL_READY_DUE)) return;
  c->flags &= ~(uint32_t)CALL_READY_DUE;
  cohort_rpc_call_t *saved = rpc_current_call;
  if (c->flags & CALL_SERVER) {
    if (c->flags & (CALL_CANCELLED | CALL_HANDLER_DONE)) return;
    if (!c->method->h.on_ready) return;
    rpc_current_call = c;
    c->method->h.on_ready(c, c->method->h.ud);
  } else {
    if (!c->cb.on_ready || (c->flags & CALL_STATUS_SET)) return;
    rpc_current_call = c->parent;
    c->cb.on_ready(c, c->cb_ud);
  }
  rpc_current_call = saved;
}

/* ---- sending ------------------------------------------------------------------ */

static int send_check(cohort_rpc_call_t *c, size_t len) {
  COHORT_ASSERT(!(c->flags & CALL_RESERVED));
  if (c->flags & CALL_SERVER) {
    if (c->flags & CALL_HANDLER_DONE) return COHORT_ESTATE;
    if (c->flags & (CALL_CANCELLED | CALL_STREAM_GONE)) return COHORT_ECANCELED;
  } else {
    if (c->flags & CALL_STATUS_SET) return COHORT_ECANCELED;
    if (c->flags & CALL_SEND_CLOSED) return COHORT_ESTATE;
  }
  if (len > rpc_call_max_send(c) || len > UINT32_MAX) return COHORT_EINVAL;
  if (c->sendq.len - c->sendq_off > 0 &&
      c->sendq.len - c->sendq_off + len > COHORT_RPC_SEND_QUEUE_MAX) {
    c->flags |= CALL_WANT_READY;
    return COHORT_EFULL;
  }
  return 0;
}

/* Server: response HEADERS go out with the first message. */
COHORT_INTERNAL int rpc_scall_ensure_headers(cohort_rpc_call_t *c,
                                             const cohort_rpc_metadata_t *md, size_t n);

uint8_t *cohort_rpc_call_send_reserve(cohort_rpc_call_t *c, size_t len, int *err) {
  int rc = send_check(c, len);
  if (!rc && c->sendq_off > 0 && c->sendq_off == c->sendq.len)
    c->sendq.len = c->sendq_off = 0;
  if (!rc) rc = rpc_bytes_reserve(&c->sendq, rpc_call_allocator(c), len + 5);
  if (rc) {
    if (err) *err = rc;
    return NULL;
  }
  uint8_t *p = c->sendq.data + c->sendq.len;
  p[0] = 0;
  p[1] = (uint8_t)(len >> 24);
  p[2] = (uint8_t)(len >> 16);
  p[3] = (uint8_t)(len >> 8);
  p[4] = (uint8_t)len;
  c->reserve_len = len;
  c->flags |= CALL_RESERVED;
  return p + 5;
}

/* grpc-encoding gzip: compress the message just reserved, in place, when
 * that makes it smaller (gRPC lets any message go uncompressed). */
static void compress_reserved(cohort_rpc_call_t *c) {
  uint8_t *p = c->sendq.data + c->sendq.len;
  size_t len = c->reserve_len;
  c->zbuf.len = 0;
  if (len == 0 || rpc_gzip_deflate(rpc_call_allocator(c), p + 5, len, &c->zbuf) != 0 ||
      c->zbuf.len >= len) {
    rpc_bytes_reset(&c->zbuf, rpc_call_allocator(c), 65536);
    return;
  }
  size_t z = c->zbuf.len;
  memcpy(p + 5, c->zbuf.data, z);
  p[0] = 1;
  p[1] = (uint8_t)(z >> 24);
  p[2] = (uint8_t)(z >> 16);
  p[3] = (uint8_t)(z >> 8);
  p[4] = (uint8_t)z;
  c->reserve_len = z;
  rpc_bytes_reset(&c->zbuf, rpc_call_allocator(c), 65536);
}

int rpc_call_inflate(cohort_rpc_call_t *c, const uint8_t *msg, size_t len, size_t max,
                     const char **why) {
  c->zbuf.len = 0;
  int rc = rpc_gzip_inflate(rpc_call_allocator(c), msg, len, max, &c->zbuf);
  if (rc == 0) return 0;
  *why = rc == COHORT_EFULL   ? "decompressed message larger than the maximum message size"
         : rc == COHORT_ENOMEM ? "out of memory while decompressing"
                               : "corrupt gzip message";
  return rc == COHORT_EPROTO ? COHORT_RPC_INTERNAL : COHORT_RPC_RESOURCE_EXHAUSTED;
}

void cohort_rpc_call_send_commit(cohort_rpc_call_t *c) {
  COHORT_ASSERT(c->flags & CALL_RESERVED);
  c->flags &= ~(uint32_t)CALL_RESERVED;
  if (c->flags & CALL_GZIP_SEND) compress_reserved(c);
  c->sendq.len += c->reserve_len + 5;
  if (c->flags & CALL_SERVER) {
    if (rpc_scall_ensure_headers(c, NULL, 0) != 0) return; /* failure cancels */
  }
  if (c->flags & CALL_SUBMITTED) rpc_call_resume(c);
}

int cohort_rpc_call_send(cohort_rpc_call_t *c, const void *data, size_t len) {
  int rc = 0;
  uint8_t *p = cohort_rpc_call_send_reserve(c, len, &rc);
  if (!p) return rc;
  if (len) memcpy(p, data, len);
  cohort_rpc_call_send_commit(c);
  return 0;
}

/* ---- accessors ------------------------------------------------------------------ */

int64_t cohort_rpc_call_deadline(const cohort_rpc_call_t *c) { return c->deadline; }

const cohort_rpc_metadata_t *cohort_rpc_call_metadata(const cohort_rpc_call_t *c,
                                                      size_t *count) {
  *count = c->md.ready ? c->md.count : 0;
  return c->md.entry;
}

const uint8_t *cohort_rpc_call_metadata_get(const cohort_rpc_call_t *c, const char *key,
                                            size_t *len) {
  if (!c->md.ready) return NULL;
  for (uint32_t i = 0; i < c->md.count; i++) {
    if (strcmp(c->md.entry[i].key, key) == 0) {
      if (len) *len = c->md.entry[i].value_len;
      return c->md.entry[i].value;
    }
  }
  return NULL;
}

const char *cohort_rpc_call_method(const cohort_rpc_call_t *c) {
  if (c->flags & CALL_SERVER) return c->method ? c->method->path : "";
  return (const char *)c->scratch.data + c->path_off;
}

void cohort_rpc_call_set_data(cohort_rpc_call_t *c, void *data) { c->user = data; }
void *cohort_rpc_call_data(const cohort_rpc_call_t *c) { return c->user; }

