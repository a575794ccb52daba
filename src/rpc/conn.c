/*
 * src/rpc/conn.c — the sans-I/O core of one HTTP/2 connection carrying
 * gRPC. It owns the nghttp2 session: bytes from the peer go in through
 * rpc_conn_feed(), bytes for the peer come out of rpc_conn_produce(); no
 * socket, no clock (keepalive takes `now` as an argument). Stream events
 * are dispatched to the server (scall.c) or client (ccall.c) call logic.
 *
 * Invariants: a stream's user data is its call or NULL; nghttp2 callbacks
 * look calls up through the stream, never through stale pointers; all
 * nghttp2 memory goes through the connection's cohort allocator (small
 * blocks recycled through bounded per-class free lists, all returned when
 * the session is deleted); the send side produces at most `limit` bytes
 * per produce() (write backpressure).
 */
#include <string.h>

#include "internal.h"

/* ---- allocator bridge ---------------------------------------------------- */

/* nghttp2 allocates and frees several small blocks per stream (the stream,
 * outbound items, header copies, received header buffers). Blocks of up
 * to 2 KiB are kept on per-size-class free lists; each carries a 16-byte
 * header with its class (RPC_H2_BINS: too large, not cached) and the size
 * asked for. Under AddressSanitizer a cached block is poisoned while on a
 * free list and beyond the size asked for while in use, so use-after-free
 * and overflows stay visible. */
#if defined(__SANITIZE_ADDRESS__)
#define H2_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H2_ASAN 1
#endif
#endif
#ifdef H2_ASAN
#include <sanitizer/asan_interface.h>
#define H2_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define H2_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define H2_POISON(p, n) ((void)(p), (void)(n))
#define H2_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define H2_HDR 16u
#define H2_MIN 64u

typedef union h2_block {
  struct {
    union h2_block *next; /* while on a free list */
    uint32_t bin;
    uint32_t len; /* bytes asked for (cached classes only) */
  } h;
  _Alignas(16) uint8_t pad[H2_HDR]; /* keeps the payload 16-aligned */
} h2_block_t;
_Static_assert(sizeof(h2_block_t) == H2_HDR, "block header is 16 bytes");

static uint32_t h2_bin_of(size_t size) {
  uint32_t b = 0;
  size_t cap = H2_MIN;
  while (b < RPC_H2_BINS && cap < size) {
    cap <<= 1;
    b++;
  }
  return b; /* RPC_H2_BINS: too large to cache */
}

static size_t h2_cap(uint32_t bin) { return (size_t)H2_MIN << bin; }

/* A cached block now holds `size` bytes: the rest of its class is off limits. */
static void *h2_use(h2_block_t *blk, size_t size) {
  blk->h.len = (uint32_t)size;
  H2_UNPOISON(blk + 1, size);
  H2_POISON((uint8_t *)(blk + 1) + size, h2_cap(blk->h.bin) - size);
  return blk + 1;
}

static void *h2_malloc(size_t size, void *ud) {
  rpc_h2mem_t *m = ud;
  uint32_t b = h2_bin_of(size);
  if (b >= RPC_H2_BINS) {
    if (size > SIZE_MAX - H2_HDR) return NULL;
    h2_block_t *blk = cohort_alloc(m->a, size + H2_HDR);
    if (!blk) return NULL;
    blk->h.bin = RPC_H2_BINS;
    return blk + 1;
  }
  h2_block_t *blk = m->bin[b];
  if (blk) {
    m->bin[b] = blk->h.next;
    m->count[b]--;
  } else {
    blk = cohort_alloc(m->a, h2_cap(b) + H2_HDR);
    if (!blk) return NULL;
    blk->h.bin = b;
  }
  return h2_use(blk, size);
}

static void h2_free(void *ptr, void *ud) {
  rpc_h2mem_t *m = ud;
  if (!ptr) return;
  h2_block_t *blk = (h2_block_t *)ptr - 1;
  uint32_t b = blk->h.bin;
  if (b >= RPC_H2_BINS) {
    cohort_free(m->a, blk);
    return;
  }
  if (m->count[b] >= COHORT_RPC_H2_CACHE_BLOCKS) {
    H2_UNPOISON(ptr, h2_cap(b));
    cohort_free(m->a, blk);
    return;
  }
  H2_POISON(ptr, h2_cap(b));
  blk->h.next = m->bin[b];
  m->bin[b] = blk;
  m->count[b]++;
}

static void *h2_calloc(size_t n, size_t size, void *ud) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = h2_malloc(n * size, ud);
  if (p) memset(p, 0, n * size);
  return p;
}

static void *h2_realloc(void *ptr, size_t size, void *ud) {
  rpc_h2mem_t *m = ud;
  if (size == 0) {
    h2_free(ptr, ud);
    return NULL;
  }
  if (!ptr) return h2_malloc(size, ud);
  h2_block_t *blk = (h2_block_t *)ptr - 1;
  uint32_t nb = h2_bin_of(size);
  if (blk->h.bin >= RPC_H2_BINS && nb >= RPC_H2_BINS) {
    if (size > SIZE_MAX - H2_HDR) return NULL;
    h2_block_t *grown = cohort_realloc(m->a, blk, size + H2_HDR);
    return grown ? grown + 1 : NULL;
  }
  if (blk->h.bin < RPC_H2_BINS && nb <= blk->h.bin) return h2_use(blk, size);
  void *np = h2_malloc(size, ud);
  if (!np) return NULL;
  /* An uncached block holds more than any cached one, so when it shrinks
   * into a cached class all `size` bytes are there to copy. */
  size_t old = blk->h.bin < RPC_H2_BINS ? blk->h.len : SIZE_MAX;
  memcpy(np, ptr, old < size ? old : size);
  h2_free(ptr, ud);
  return np;
}

static void h2_mem_release(rpc_h2mem_t *m) {
  for (uint32_t b = 0; b < RPC_H2_BINS; b++) {
    while (m->bin[b]) {
      h2_block_t *blk = m->bin[b];
      m->bin[b] = blk->h.next;
      H2_UNPOISON(blk + 1, h2_cap(b));
      cohort_free(m->a, blk);
    }
    m->count[b] = 0;
  }
}

/* ---- nghttp2 callbacks ------------------------------------------------------ */

static cohort_rpc_call_t *stream_call(nghttp2_session *s, int32_t id) {
  return id > 0 ? nghttp2_session_get_stream_user_data(s, id) : NULL;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  rpc_conn_t *c = ud;
  if (f->hd.type != NGHTTP2_HEADERS) return 0;
  if (c->srv && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (rpc_scall_begin(c, f->hd.stream_id) != 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
  }
  cohort_rpc_call_t *call = stream_call(s, f->hd.stream_id);
  if (call && !c->srv && f->headers.cat == NGHTTP2_HCAT_HEADERS) call->flags |= CALL_TRAILERS;
  return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *k,
                     size_t kl, const uint8_t *v, size_t vl, uint8_t flags, void *ud) {
  rpc_conn_t *c = ud;
  cohort_rpc_call_t *call = stream_call(s, f->hd.stream_id);
  if (!call || f->hd.type != NGHTTP2_HEADERS) return 0;
  int rc = c->srv ? rpc_scall_header(call, k, kl, v, vl) : rpc_ccall_header(call, f, k, kl, v, vl);
  return rc ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
}

/* Frames that cost us work without moving a call forward draw from a
 * token bucket (COHORT_RPC_CONTROL_BURST, refilled at _RATE per second of
 * `now`); an empty bucket ends the connection with ENHANCE_YOUR_CALM.
 * Every DATA frame with payload, received or sent, gives a token back:
 * gRPC clients ping along with data (BDP estimation, up to one ping per
 * burst), which is work that moves calls, as gRPC servers also judge. */
static void ctl_credit(rpc_conn_t *c) {
  if (c->ctl_tokens < COHORT_RPC_CONTROL_BURST) c->ctl_tokens += 1;
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *ud) {
  rpc_conn_t *c = ud;
  if (hd->type != NGHTTP2_PING && hd->type != NGHTTP2_SETTINGS && hd->type != NGHTTP2_PRIORITY)
    return 0;
  if (hd->type == NGHTTP2_SETTINGS && (hd->flags & NGHTTP2_FLAG_ACK)) return 0;
  if (c->now > c->ctl_at) {
    c->ctl_tokens += (double)(c->now - c->ctl_at) * COHORT_RPC_CONTROL_RATE / 1e9;
    if (c->ctl_tokens > COHORT_RPC_CONTROL_BURST) c->ctl_tokens = COHORT_RPC_CONTROL_BURST;
    c->ctl_at = c->now;
  }
  if (c->ctl_tokens >= 1) {
    c->ctl_tokens -= 1;
    return 0;
  }
  if (!c->dead) {
    cohort_fmt(c->error, sizeof c->error, "control frame flood (PING/SETTINGS/PRIORITY)");
    nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
    c->dead = true;
  }
  return 0;
}

static void on_ping(rpc_conn_t *c, const nghttp2_frame *f) {
  if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) return;
  c->ping_sent_ns = 0;
  if (c->srv && c->shutdown_ping) rpc_server_ping_ack(c->srv, c);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  rpc_conn_t *c = ud;
  bool end = (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  cohort_rpc_call_t *call;
  switch (f->hd.type) {
  case NGHTTP2_HEADERS:
    call = stream_call(s, f->hd.stream_id);
    if (!call) break;
    if (c->srv) {
      if (f->headers.cat == NGHTTP2_HCAT_REQUEST) rpc_scall_headers_done(call, end);
      if (end) rpc_scall_end_stream(call);
    } else {
      rpc_ccall_headers_done(call, f);
      if (end && stream_call(s, f->hd.stream_id) == call &&
          !nghttp2_session_get_stream_local_close(s, f->hd.stream_id))
        rpc_ccall_remote_end(call);
    }
    break;
  case NGHTTP2_DATA:
    if (f->hd.length > 0) ctl_credit(c); /* (on_begin_frame does not see DATA) */
    call = stream_call(s, f->hd.stream_id);
    if (call && c->srv && end) rpc_scall_end_stream(call);
    break;
  case NGHTTP2_PING: on_ping(c, f); break;
  case NGHTTP2_SETTINGS:
    if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) c->preface_done = true;
    break;
  case NGHTTP2_GOAWAY:
    c->goaway_recv = true;
    if (c->ch) rpc_channel_goaway(c->ch, c);
    break;
  default: break;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d,
                         size_t n, void *ud) {
  rpc_conn_t *c = ud;
  cohort_rpc_call_t *call = stream_call(s, id);
  if (!call) return 0;
  if (c->srv)
    rpc_scall_data(call, d, n);
  else
    rpc_ccall_data(call, d, n);
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud) {
  rpc_conn_t *c = ud;
  cohort_rpc_call_t *call = stream_call(s, id);
  if (!call) return 0;
  nghttp2_session_set_stream_user_data(s, id, NULL);
  if (c->srv)
    rpc_scall_closed(call, err);
  else
    rpc_ccall_closed(call, err);
  return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  rpc_conn_t *c = ud;
  if (f->hd.type == NGHTTP2_DATA && f->hd.length > 0) ctl_credit(c);
  if (!c->srv || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
  cohort_rpc_call_t *call = stream_call(s, f->hd.stream_id);
  /* Status sent while the client is still sending: tell it to stop, as
   * gRPC servers do, so the stream does not linger half-closed. */
  if (call && !(call->flags & CALL_REMOTE_CLOSED))
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

/* ---- data provider (both sides) --------------------------------------------- */

ssize_t rpc_data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                      uint32_t *flags, nghttp2_data_source *src, void *ud) {
  rpc_conn_t *c = ud;
  cohort_rpc_call_t *call = stream_call(s, id);
  if (!call) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t avail = call->sendq.len - call->sendq_off;
  size_t n = avail < length ? avail : length;
  if (n > 0) {
    memcpy(buf, call->sendq.data + call->sendq_off, n);
    call->sendq_off += n;
  }
  if (call->sendq_off == call->sendq.len) {
    call->sendq.len = call->sendq_off = 0;
    if (call->flags & CALL_WANT_READY) {
      call->flags = (call->flags & ~(uint32_t)CALL_WANT_READY) | CALL_READY_DUE;
      c->ready_due = true;
    }
    if (call->flags & CALL_SEND_CLOSED) {
      if (call->flags & CALL_SERVER) return (ssize_t)n + rpc_scall_data_eof(call, flags);
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return (ssize_t)n;
    }
    if (n == 0) {
      call->flags |= CALL_DEFERRED;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return (ssize_t)n;
}

/* ---- life cycle ---------------------------------------------------------------- */

static nghttp2_session_callbacks *make_callbacks(void) {
  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return NULL;
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
  return cbs;
}

static int submit_settings(rpc_conn_t *c) {
  /* NO_RFC7540_PRIORITIES (RFC 9218): gRPC never uses stream priorities;
   * when both ends say so nghttp2 skips its dependency tree. */
  nghttp2_settings_entry iv[4] = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, COHORT_RPC_STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, COHORT_RPC_METADATA_MAX},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (c->srv) iv[3] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
                                               COHORT_RPC_STREAMS_MAX};
  int rc = nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 4);
  if (rc == 0)
    rc = nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0,
                                               COHORT_RPC_CONN_WINDOW);
  return rc == 0 ? 0 : COHORT_ENOMEM;
}

/* Every flood limit explicit (limits.h), not left to the library's
 * defaults: they are part of what we promise about hostile peers. */
static void set_limits(nghttp2_option *opt, bool server) {
  nghttp2_option_set_max_send_header_block_length(opt, 4 * COHORT_RPC_METADATA_MAX);
  /* Closed streams are kept only for the priority tree: drop them. */
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_option_set_max_outbound_ack(opt, COHORT_RPC_OUTBOUND_ACK_MAX);
  nghttp2_option_set_max_settings(opt, COHORT_RPC_SETTINGS_ENTRIES_MAX);
  nghttp2_option_set_max_continuations(opt, COHORT_RPC_CONTINUATIONS_MAX);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, COHORT_RPC_HPACK_TABLE_MAX);
  nghttp2_option_set_max_reserved_remote_streams(opt, 0); /* no server push */
  if (server)
    nghttp2_option_set_stream_reset_rate_limit(opt, COHORT_RPC_RESET_BURST,
                                               COHORT_RPC_RESET_RATE);
}

int rpc_conn_init(rpc_conn_t *c, rpc_host_t *host, const cohort_allocator_t *a,
                  cohort_rpc_server_t *srv, cohort_rpc_channel_t *ch, int64_t now) {
  memset(c, 0, sizeof *c);
  c->now = c->created_ns = c->idle_since_ns = c->ctl_at = now;
  c->ctl_tokens = COHORT_RPC_CONTROL_BURST;
  c->host = host;
  c->a = a;
  c->srv = srv;
  c->ch = ch;
  rpc_list_init(&c->calls);
  c->mem.a = a;
  nghttp2_mem mem = {&c->mem, h2_malloc, h2_free, h2_calloc, h2_realloc};
  nghttp2_session_callbacks *cbs = make_callbacks();
  if (!cbs) return COHORT_ENOMEM;
  nghttp2_option *opt;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return COHORT_ENOMEM;
  }
  set_limits(opt, srv != NULL);
  int rc = srv ? nghttp2_session_server_new3(&c->h2, cbs, c, opt, &mem)
               : nghttp2_session_client_new3(&c->h2, cbs, c, opt, &mem);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rc != 0) {
    h2_mem_release(&c->mem);
    return COHORT_ENOMEM;
  }
  if (submit_settings(c) != 0) {
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
    h2_mem_release(&c->mem);
    return COHORT_ENOMEM;
  }
  return 0;
}

int rpc_conn_feed(rpc_conn_t *c, int64_t now, const uint8_t *data, size_t len) {
  if (!c->h2 || c->dead) return COHORT_ESTATE;
  c->now = now;
  c->in_recv = true;
  ssize_t n = nghttp2_session_mem_recv(c->h2, data, len);
  c->in_recv = false;
  if (c->del_pending) {
    c->del_pending = false;
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
    h2_mem_release(&c->mem);
    return COHORT_ESTATE;
  }
  if (n < 0) {
    /* nghttp2 already queued GOAWAY(PROTOCOL_ERROR) where the spec wants
     * one; we flush it and close. */
    cohort_fmt(c->error, sizeof c->error, "HTTP/2 error: %s", nghttp2_strerror((int)n));
    c->dead = true;
    return COHORT_EPROTO;
  }
  return 0;
}

int rpc_conn_produce(rpc_conn_t *c, rpc_bytes_t *out, size_t limit) {
  c->more_out = false;
  if (!c->h2) return 0;
  for (;;) {
    if (out->len >= limit) {
      /* Stopped at the limit, not because the session ran dry: the host
       * must come back for the rest once these bytes are written. */
      c->more_out = nghttp2_session_want_write(c->h2) != 0;
      break;
    }
    const uint8_t *p;
    ssize_t n = nghttp2_session_mem_send(c->h2, &p);
    if (n < 0) {
      cohort_fmt(c->error, sizeof c->error, "HTTP/2 error: %s", nghttp2_strerror((int)n));
      c->dead = true;
      return COHORT_EPROTO;
    }
    if (n == 0) break;
    int rc = rpc_bytes_append(out, c->a, p, (size_t)n);
    if (rc) return rc;
  }
  if (c->ready_due) {
    c->ready_due = false;
    for (rpc_link_t *l = c->calls.next, *nx; l != &c->calls; l = nx) {
      nx = l->next;
      rpc_call_after_drain(RPC_CONTAINER(l, cohort_rpc_call_t, link));
    }
  }
  return 0;
}

bool rpc_conn_finished(const rpc_conn_t *c) {
  if (!c->h2) return true;
  if (c->dead) return !nghttp2_session_want_write(c->h2);
  return !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2);
}

void rpc_conn_fail(rpc_conn_t *c, const char *why) {
  if (!c->error[0]) cohort_fmt(c->error, sizeof c->error, "%s", why);
  c->dead = true;
  rpc_conn_dirty(c);
}

void rpc_conn_teardown(rpc_conn_t *c, const char *reason) {
  if (!reason || !*reason) reason = c->error[0] ? c->error : "connection closed";
  while (!rpc_list_empty(&c->calls)) {
    cohort_rpc_call_t *call = RPC_CONTAINER(c->calls.next, cohort_rpc_call_t, link);
    if (call->stream_id > 0 && c->h2)
      nghttp2_session_set_stream_user_data(c->h2, call->stream_id, NULL);
    if (c->srv) {
      rpc_scall_abort(call, COHORT_RPC_UNAVAILABLE, false);
      rpc_scall_closed(call, NGHTTP2_CANCEL);
    } else {
      rpc_list_remove(&call->link);
      call->conn = NULL;
      call->flags |= CALL_STREAM_GONE;
      rpc_ccall_fail(call, COHORT_RPC_UNAVAILABLE, reason);
      rpc_ccall_complete(call);
    }
  }
  if (c->dirty) {
    rpc_list_remove(&c->dirty_link);
    c->dirty = false;
  }
  if (c->in_recv) {
    /* A callback of nghttp2_session_mem_recv (a completion handler that
     * closed its channel, say) tore the connection down: the session is
     * still on the stack, so rpc_conn_feed deletes it when recv returns. */
    c->del_pending = true;
    c->dead = true;
    return;
  }
  if (c->h2) nghttp2_session_del(c->h2);
  c->h2 = NULL;
  h2_mem_release(&c->mem);
}

void rpc_conn_keepalive(rpc_conn_t *c, int64_t now, int64_t interval, int64_t timeout,
                        int64_t *next) {
  if (interval <= 0 || !c->h2 || c->dead || !c->ready) return;
  if (c->ping_sent_ns) {
    if (now - c->ping_sent_ns >= timeout) {
      rpc_conn_fail(c, "keepalive ping not acknowledged");
      return;
    }
    if (c->ping_sent_ns + timeout < *next) *next = c->ping_sent_ns + timeout;
    return;
  }
  if (now - c->last_read_ns >= interval) {
    if (nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL) == 0) {
      c->ping_sent_ns = now;
      rpc_conn_dirty(c);
    }
    if (now + timeout < *next) *next = now + timeout;
    return;
  }
  if (c->last_read_ns + interval < *next) *next = c->last_read_ns + interval;
}

static void server_deadlines(rpc_conn_t *c, int64_t now, int64_t *next) {
  for (rpc_link_t *l = c->calls.next, *nx; l != &c->calls; l = nx) {
    nx = l->next;
    cohort_rpc_call_t *call = RPC_CONTAINER(l, cohort_rpc_call_t, link);
    if (!(call->flags & CALL_STARTED) || (call->flags & (CALL_HANDLER_DONE | CALL_CANCELLED)) ||
        call->deadline == COHORT_TIME_NEVER)
      continue;
    if (call->deadline <= now)
      rpc_scall_abort(call, COHORT_RPC_DEADLINE_EXCEEDED, true);
    else if (call->deadline < *next)
      *next = call->deadline;
  }
}

void rpc_conn_tick(rpc_conn_t *c, int64_t now, int64_t *next) {
  c->now = now;
  if (c->srv)
    server_deadlines(c, now, next);
  else
    rpc_ccall_expire(&c->calls, now, next);
  rpc_conn_keepalive(c, now, c->host->keepalive_interval_ns, c->host->keepalive_timeout_ns, next);
}

bool rpc_conn_server_tick(rpc_conn_t *c, int64_t now, int64_t *next) {
  cohort_rpc_server_t *srv = c->srv;
  c->now = now;
  if (!c->h2 || c->dead) return true;
  if (!c->preface_done && srv->preface_timeout_ns > 0) {
    int64_t due = c->created_ns + srv->preface_timeout_ns;
    if (now >= due) {
      cohort_fmt(c->error, sizeof c->error, "no HTTP/2 preface within %lld ms",
                 (long long)(srv->preface_timeout_ns / COHORT_NS_PER_MS));
      return false;
    }
    if (due < *next) *next = due;
    return true;
  }
  if (!rpc_list_empty(&c->calls) || srv->idle_timeout_ns <= 0) {
    c->idle_since_ns = now;
    return true;
  }
  int64_t due = c->idle_since_ns + srv->idle_timeout_ns;
  if (now < due) {
    if (due < *next) *next = due;
    return true;
  }
  if (!c->goaway_sent) {
    c->goaway_sent = true;
    nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR,
                          (const uint8_t *)"idle", 4);
  }
  cohort_fmt(c->error, sizeof c->error, "idle for %lld ms",
             (long long)(srv->idle_timeout_ns / COHORT_NS_PER_MS));
  c->dead = true; /* close once the GOAWAY is written */
  rpc_conn_dirty(c);
  return true;
}
