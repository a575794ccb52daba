/*
 * src/rpc/internal.h — shared internals of the RPC library.
 *
 * Layers, bottom up:
 *   wire.c     pure helpers: status names, grpc-timeout, percent-encoding,
 *              base64, growable byte buffers, the gRPC message deframer.
 *   conn.c     the sans-I/O HTTP/2 + gRPC core of one connection: owns the
 *              nghttp2 session (bytes in with rpc_conn_feed, bytes out with
 *              rpc_conn_produce), dispatches stream events to calls.
 *   scall.c    server side of a call: request validation, handlers,
 *              responses, trailers-only errors.
 *   ccall.c    client side of a call: requests, response/trailer parsing,
 *              status mapping (RST_STREAM, HTTP status).
 *   io.c       the thin transport: libuv TCP + OpenSSL memory BIOs, one
 *              coalesced write per loop iteration.
 * This header is the cores' view (wire, conn, scall, ccall, call, details,
 * gzip, health): no libuv or OpenSSL type appears in it. The host files
 * (io.c, server.c, channel.c) include host.h, which defines the host-side
 * blocks (libuv handles, TLS objects) that the objects here only point to.
 *   server.c   cohort_rpc_server_t: registry, listeners, timers, shutdown.
 *   channel.c  cohort_rpc_channel_t: connect, pending calls, timers,
 *              unary and blocking conveniences.
 *
 * Invariants: a call is linked into exactly one owner list (server calls,
 * channel pending or channel active); a stream's nghttp2 user data is the
 * call or NULL once the call detached; nothing reads a call through a stream
 * after detaching. Memory per stream is bounded by the message limit (one
 * reassembly buffer) plus COHORT_RPC_SEND_QUEUE_MAX plus one message.
 */
#ifndef COHORT_RPC_INTERNAL_H
#define COHORT_RPC_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>

#include "cohort/rpc.h"

/* ---- byte buffers (wire.c) --------------------------------------------- */

typedef struct rpc_bytes {
  uint8_t *data;
  size_t len;
  size_t cap;
} rpc_bytes_t;

COHORT_INTERNAL int rpc_bytes_reserve(rpc_bytes_t *b, const cohort_allocator_t *a,
                                      size_t extra);
COHORT_INTERNAL int rpc_bytes_append(rpc_bytes_t *b, const cohort_allocator_t *a,
                                     const void *data, size_t len);
COHORT_INTERNAL void rpc_bytes_free(rpc_bytes_t *b, const cohort_allocator_t *a);
/* Drop contents; free the block if it grew beyond `keep` bytes. */
COHORT_INTERNAL void rpc_bytes_reset(rpc_bytes_t *b, const cohort_allocator_t *a,
                                     size_t keep);

/* ---- wire helpers (wire.c) --------------------------------------------- */

/* Percent-encode a grpc-message (spec: bytes outside 0x20..0x7e and '%').
 * Appends to `out`. */
COHORT_INTERNAL int rpc_percent_encode(rpc_bytes_t *out, const cohort_allocator_t *a,
                                       const char *s, size_t len);
/* Decode in place-safe manner into `out` (NUL-terminated); malformed
 * escapes are passed through literally, as the spec asks. */
COHORT_INTERNAL int rpc_percent_decode(rpc_bytes_t *out, const cohort_allocator_t *a,
                                       const uint8_t *s, size_t len);
/* Base64 without padding (what gRPC emits). Appends. */
COHORT_INTERNAL int rpc_base64_encode(rpc_bytes_t *out, const cohort_allocator_t *a,
                                      const uint8_t *s, size_t len);
/* Accepts padded and unpadded; COHORT_EPROTO on bad characters. Appends. */
COHORT_INTERNAL int rpc_base64_decode(rpc_bytes_t *out, const cohort_allocator_t *a,
                                      const uint8_t *s, size_t len);
/* Metadata key/value validity for sending. */
COHORT_INTERNAL bool rpc_md_key_valid(const char *key, size_t len);
COHORT_INTERNAL bool rpc_md_is_bin(const char *key, size_t len);
COHORT_INTERNAL bool rpc_md_is_details(const char *key, size_t len);
COHORT_INTERNAL bool rpc_encoding_listed(const uint8_t *v, size_t vl, const char *enc);
COHORT_INTERNAL bool rpc_md_value_valid(const uint8_t *v, size_t len);
/* RST_STREAM / GOAWAY error code → gRPC status (PROTOCOL-HTTP2). */
COHORT_INTERNAL cohort_rpc_code_t rpc_code_from_h2(uint32_t h2_error);
/* HTTP :status → gRPC status when no grpc-status came. */
COHORT_INTERNAL cohort_rpc_code_t rpc_code_from_http(int http_status);

/* ---- deframer (wire.c) ------------------------------------------------- */

/* Splits a byte stream into gRPC messages (1 flag byte, 4-byte big-endian
 * length, body). A message inside one chunk is delivered in place (no
 * copy); one that spans chunks is joined in `body`, which never exceeds
 * `max` bytes. */
typedef struct rpc_deframer {
  uint8_t head[5];
  uint8_t head_len;
  uint32_t need; /* body bytes still missing when in_body */
  bool in_body;
  bool gzip_ok;    /* the stream's grpc-encoding is gzip: flag 1 allowed */
  bool compressed; /* the message being delivered has flag 1 */
  rpc_bytes_t body;
} rpc_deframer_t;

enum {
  RPC_DEFRAME_TOO_LARGE = -1,  /* RESOURCE_EXHAUSTED */
  RPC_DEFRAME_COMPRESSED = -2, /* INTERNAL: compression not negotiated */
  RPC_DEFRAME_BAD_FLAG = -3,   /* INTERNAL */
  RPC_DEFRAME_NOMEM = -4,
  RPC_DEFRAME_STOP = -5 /* the callback asked to stop */
};

/* Return non-zero from the callback to stop (the rest is discarded). */
typedef int (*rpc_deframe_fn)(void *ud, const uint8_t *msg, size_t len);

COHORT_INTERNAL int rpc_deframe(rpc_deframer_t *d, const cohort_allocator_t *a, size_t max,
                                const uint8_t *data, size_t len, rpc_deframe_fn fn,
                                void *ud);
/* True when a message is partially received (END_STREAM now = truncated). */
COHORT_INTERNAL bool rpc_deframer_partial(const rpc_deframer_t *d);
COHORT_INTERNAL void rpc_deframer_reset(rpc_deframer_t *d, const cohort_allocator_t *a);

/* ---- gzip (gzip.c) -------------------------------------------------------- */

/* Inflate one gzip message, appending at most `max` bytes to `out`.
 * COHORT_EFULL: it would be larger (nothing appended); COHORT_EPROTO:
 * corrupt or truncated; COHORT_ENOMEM. */
COHORT_INTERNAL int rpc_gzip_inflate(const cohort_allocator_t *a, const uint8_t *in, size_t n,
                                     size_t max, rpc_bytes_t *out);
/* Deflate `in` as one gzip member, appended to `out`. */
COHORT_INTERNAL int rpc_gzip_deflate(const cohort_allocator_t *a, const uint8_t *in, size_t n,
                                     rpc_bytes_t *out);
/* Inflate a received compressed message into call->zbuf (bounded by
 * `max`): 0, or the gRPC status to fail the call with (*why says why). */
COHORT_INTERNAL int rpc_call_inflate(cohort_rpc_call_t *call, const uint8_t *msg, size_t len,
                                     size_t max, const char **why);

/* ---- received metadata ------------------------------------------------- */

typedef struct rpc_md_slot {
  uint32_t key_off;
  uint32_t val_off;
  uint32_t val_len;
} rpc_md_slot_t;

/* One HEADERS block's metadata: keys and values packed in `arena`,
 * entries pointing into it are built by rpc_md_finish. */
typedef struct rpc_md {
  rpc_bytes_t arena;
  rpc_md_slot_t slot[COHORT_RPC_METADATA_ENTRIES_MAX];
  cohort_rpc_metadata_t entry[COHORT_RPC_METADATA_ENTRIES_MAX];
  uint32_t count;
  bool ready;
} rpc_md_t;

/* Add one received header (decoding -bin values). COHORT_EFULL when over
 * the entry or byte bound; COHORT_EPROTO for bad base64. */
COHORT_INTERNAL int rpc_md_add(rpc_md_t *m, const cohort_allocator_t *a, const uint8_t *k,
                               size_t klen, const uint8_t *v, size_t vlen);
COHORT_INTERNAL void rpc_md_finish(rpc_md_t *m);
COHORT_INTERNAL void rpc_md_reset(rpc_md_t *m, const cohort_allocator_t *a);
/* Whether a received header is transport-level (not user metadata). */
COHORT_INTERNAL bool rpc_md_reserved(const uint8_t *k, size_t klen);

/* ---- objects ------------------------------------------------------------- */

typedef struct rpc_conn rpc_conn_t;
typedef struct rpc_link {
  struct rpc_link *prev, *next;
} rpc_link_t;

/* The host-side blocks (host.h): libuv handles and TLS objects. */
struct rpc_host_uv;
struct rpc_server_uv;
struct rpc_channel_uv;
struct rpc_conn_uv;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */

/* What a server and a channel share: the once-per-iteration flush of
 * dirty connections (host.h: a uv_prepare runs right before the loop
 * blocks in poll), limits, the clock and the TLS context. */
typedef struct rpc_host {
  struct rpc_host_uv *uv; /* the loop and the prepare handle (host.h) */
  rpc_link_t dirty;
  int64_t keepalive_interval_ns, keepalive_timeout_ns;
  size_t max_recv, max_send;
  /* The host's monotonic clock (cohort_rpc_now_ns; a simulator puts its
   * virtual clock here). Only host code calls it; cores get `now`. */
  int64_t (*clock)(void);
  struct ssl_ctx_st *tls;
  /* One read buffer for every connection of the host: libuv hands it out
   * and gives it back within one read callback, so idle connections cost
   * no buffer of their own. */
  uint8_t rbuf[65536];
} rpc_host_t;

static inline int64_t rpc_host_now(const rpc_host_t *h) { return h->clock(); }

COHORT_INTERNAL void rpc_list_init(rpc_link_t *head);
COHORT_INTERNAL void rpc_list_push(rpc_link_t *head, rpc_link_t *n);
COHORT_INTERNAL void rpc_list_remove(rpc_link_t *n);
COHORT_INTERNAL bool rpc_list_empty(const rpc_link_t *head);
#define RPC_CONTAINER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Call flags. */
enum {
  CALL_SERVER = 1u << 0,
  CALL_SUBMITTED = 1u << 1,     /* request/response HEADERS submitted */
  CALL_SEND_CLOSED = 1u << 2,   /* client: half-closed; server: finish queued */
  CALL_REMOTE_CLOSED = 1u << 3, /* END_STREAM received */
  CALL_DEFERRED = 1u << 4,      /* data provider returned DEFERRED */
  CALL_WANT_READY = 1u << 5,    /* send() said EFULL; owe on_ready */
  CALL_CANCELLED = 1u << 6,     /* server: on_cancel delivered / pending */
  CALL_HANDLER_DONE = 1u << 7,  /* server: finish() called */
  CALL_STREAM_GONE = 1u << 8,   /* stream closed / detached */
  CALL_STARTED = 1u << 9,       /* server: handler saw the call */
  CALL_STATUS_SET = 1u << 10,   /* client: status decided */
  CALL_TRAILERS = 1u << 11,     /* client: a trailers block is being read */
  CALL_RESERVED = 1u << 12,     /* send_reserve outstanding */
  CALL_BAD_HEADERS = 1u << 13,  /* server: header validation failed */
  CALL_UNARY_GOT = 1u << 14,    /* server: unary request received */
  CALL_IN_DEFER = 1u << 15,     /* client: on the deferred completion list */
  CALL_READY_DUE = 1u << 16,    /* send queue drained: run on_ready */
  CALL_TRAILERS_ONLY = 1u << 17, /* client: the response was trailers-only */
  CALL_HANDLER_SEEN = 1u << 18,  /* server: a handler callback got the call
                                    (on_start / on_request): from then on the
                                    handler owns it until finish() */
  CALL_PARTIAL = 1u << 19,       /* server: counted in conn->partials */
  CALL_GZIP_SEND = 1u << 20,     /* messages we send are gzip-compressed */
  CALL_ACCEPTS_GZIP = 1u << 21   /* server: the client's grpc-accept-encoding has gzip */
};

typedef struct rpc_method {
  char *path;
  size_t path_len;
  uint64_t hash;
  cohort_rpc_handler_t h;
} rpc_method_t;

struct cohort_rpc_call {
  rpc_link_t link;     /* owner list */
  rpc_link_t children; /* client calls propagating from this call */
  rpc_link_t child_link;
  cohort_rpc_call_t *parent;
  rpc_conn_t *conn;
  cohort_rpc_server_t *srv;
  cohort_rpc_channel_t *ch;
  int32_t stream_id;
  uint32_t flags;
  int64_t deadline;
  void *user;
  /* send side */
  rpc_bytes_t sendq;
  size_t sendq_off;
  size_t reserve_len;
  /* receive side */
  rpc_deframer_t df;
  rpc_md_t md;     /* server: request metadata; client: response headers */
  rpc_md_t tmd;    /* client: trailers */
  rpc_bytes_t req; /* server unary: the request; client unary: response */
  rpc_bytes_t scratch; /* status message, path, encoded values */
  rpc_bytes_t zbuf;    /* a message being (de)compressed */
  /* status */
  cohort_rpc_code_t code;
  int http_status;
  int grpc_status; /* -1 none */
  uint32_t path_off, path_len, msg_off, msg_len, ct_ok;
  rpc_bytes_t msg;     /* client: decoded grpc-message; server: encoded */
  const char *emsg;    /* static error text for a failure we detected */
  /* server */
  const rpc_method_t *method;
  size_t held; /* request bytes buffered, counted in conn->held, srv->held */
  /* client */
  cohort_rpc_call_callbacks_t cb;
  void *cb_ud;
  cohort_rpc_unary_fn unary_fn; /* cohort_rpc_unary shorthand */
};

/* ---- server and channel objects -------------------------------------------- */

#define RPC_LISTENERS_MAX 8

struct cohort_rpc_server {
  rpc_host_t host; /* first: host callbacks find the server from it */
  const cohort_allocator_t *a;
  cohort_rpc_server_config_t cfg;
  rpc_method_t **slots; /* open addressing, 2 * COHORT_RPC_METHODS_MAX */
  size_t nmethods;
  rpc_link_t conns;
  size_t nconns;
  rpc_link_t orphans; /* calls whose stream is gone, handler not finished */
  size_t active_calls;
  size_t held;        /* request bytes buffered over all connections */
  size_t held_max, conn_held_max;
  int64_t preface_timeout_ns, idle_timeout_ns; /* <= 0: off */
  uint64_t evictions; /* idle connections closed to admit new ones */
  rpc_link_t pool;
  size_t pool_len;
  struct rpc_server_uv *uv; /* listeners, timer, idle, shed (host.h) */
  int64_t timer_due;
  int shutdown; /* 0 running, 1 draining, 2 forced, 3 done */
  int64_t grace_deadline;
  void (*on_done)(void *ud);
  void *done_ud;
  uint64_t sheds; /* connections refused for lack of memory */
  bool freeing;
};

struct cohort_rpc_channel {
  rpc_host_t host;
  const cohort_allocator_t *a;
  cohort_rpc_channel_config_t cfg;
  char *host_name; /* copied target host (no brackets) */
  char *authority; /* "host:port" as given */
  size_t authority_len, user_agent_len;
  int port;
  rpc_conn_t *conn; /* current connection (connecting or ready) or NULL */
  rpc_link_t conns; /* all connections (current + draining) */
  rpc_link_t pending;
  rpc_link_t deferred;
  size_t ncalls;
  rpc_link_t pool;
  size_t pool_len;
  struct rpc_channel_uv *uv; /* idle, timer, resolver (host.h) */
  int64_t timer_due;
  int64_t connect_deadline;
  bool resolving;
  bool closing;
  void (*on_closed)(void *ud);
  void *closed_ud;
  char last_error[200];
  char user_agent[128];
  char server_name[256]; /* SNI and the name the certificate must match */
};

/* ---- connection core (conn.c) ---------------------------------------------- */

/* nghttp2's memory: blocks up to 2 KiB come from per-size-class free
 * lists (at most COHORT_RPC_H2_CACHE_BLOCKS each) in front of the
 * connection's allocator; larger ones go straight to it. */
#define RPC_H2_BINS 6 /* 64, 128, 256, 512, 1024, 2048 */
typedef struct rpc_h2mem {
  const cohort_allocator_t *a;
  void *bin[RPC_H2_BINS];
  uint32_t count[RPC_H2_BINS];
} rpc_h2mem_t;

struct rpc_conn {
  rpc_link_t link; /* in the server's or channel's connection list */
  rpc_link_t dirty_link; /* in host->dirty while a flush is owed */
  rpc_host_t *host;
  bool ready_due;  /* some call has CALL_READY_DUE */
  const cohort_allocator_t *a;
  nghttp2_session *h2;
  cohort_rpc_server_t *srv; /* exactly one of srv / ch */
  cohort_rpc_channel_t *ch;
  rpc_link_t calls; /* calls with a stream on this connection */
  bool dead;        /* fatal error: stop reading, close after flush */
  bool in_recv;     /* inside nghttp2_session_mem_recv: the session must
                       outlive the callbacks it is running */
  bool del_pending; /* torn down during in_recv: delete the session after */
  bool goaway_recv; /* peer sent GOAWAY: no new streams */
  bool goaway_sent;
  bool shutdown_ping; /* server shutdown: final GOAWAY after ping ack */
  bool ready;         /* transport up (TLS done), session usable */
  bool more_out;      /* the last produce stopped at its byte limit with
                         frames still pending: flush again once written */
  bool preface_done;  /* the peer's SETTINGS arrived */
  int64_t now;        /* time given with the last input (feed, tick) */
  int64_t created_ns, idle_since_ns;
  size_t held;        /* server: request bytes buffered on this connection */
  uint32_t partials;  /* server: calls with a message half received */
  double ctl_tokens;  /* control-frame flood bucket */
  int64_t ctl_at;
  int64_t last_read_ns;
  int64_t ping_sent_ns; /* 0: no keepalive ping outstanding */
  char error[160];
  rpc_h2mem_t mem; /* nghttp2's allocations; freed after the session */
  /* has_tcp: a host flushes it (rpc_conn_dirty queues it); dirty: queued */
  bool has_tcp, dirty;
  struct rpc_conn_uv *io; /* the transport (host.h); NULL: none (a virtual one) */
};

COHORT_INTERNAL int rpc_conn_init(rpc_conn_t *c, rpc_host_t *host, const cohort_allocator_t *a,
                                  cohort_rpc_server_t *srv, cohort_rpc_channel_t *ch,
                                  int64_t now);
/* Sans-I/O entry points. feed: bytes that arrived at `now`; returns 0 or
 * COHORT_EPROTO (connection must close after producing its GOAWAY).
 * produce: appends pending output to `out` up to roughly `limit` bytes;
 * returns 0 or an error. */
COHORT_INTERNAL int rpc_conn_feed(rpc_conn_t *c, int64_t now, const uint8_t *data, size_t len);
/* Server connection timers at `now` (preface, idle): lowers *next to the
 * next time they need a look. Returns false when the connection must be
 * closed (c->error says why; a GOAWAY may be queued). */
COHORT_INTERNAL bool rpc_conn_server_tick(rpc_conn_t *c, int64_t now, int64_t *next);
/* Deadlines of the calls on the connection (server: the handler is
 * cancelled and DEADLINE_EXCEEDED sent; client: the call completes with
 * DEADLINE_EXCEEDED and its stream is reset) and keepalive, at `now`;
 * lowers *next to the next time this needs a look. */
COHORT_INTERNAL void rpc_conn_tick(rpc_conn_t *c, int64_t now, int64_t *next);
COHORT_INTERNAL int rpc_conn_produce(rpc_conn_t *c, rpc_bytes_t *out, size_t limit);
COHORT_INTERNAL bool rpc_conn_finished(const rpc_conn_t *c);
/* Fail every call on the connection (UNAVAILABLE + reason), free session. */
COHORT_INTERNAL void rpc_conn_teardown(rpc_conn_t *c, const char *reason);
/* Ask the transport for a flush before the loop polls again. */
COHORT_INTERNAL void rpc_conn_dirty(rpc_conn_t *c);
COHORT_INTERNAL void rpc_conn_fail(rpc_conn_t *c, const char *why);
COHORT_INTERNAL void rpc_conn_keepalive(rpc_conn_t *c, int64_t now, int64_t interval_ns,
                                        int64_t timeout_ns, int64_t *next);

/* nghttp2 data provider callback shared by both sides. */
COHORT_INTERNAL ssize_t rpc_data_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf,
                                      size_t length, uint32_t *flags,
                                      nghttp2_data_source *src, void *ud);

/* ---- calls (scall.c / ccall.c / call.c) ------------------------------------ */

COHORT_INTERNAL cohort_rpc_call_t *rpc_call_new(const cohort_allocator_t *a,
                                                rpc_link_t *pool, size_t *pool_len);
COHORT_INTERNAL void rpc_call_release(cohort_rpc_call_t *call, const cohort_allocator_t *a,
                                      rpc_link_t *pool, size_t *pool_len);
COHORT_INTERNAL void rpc_call_free_pool(rpc_link_t *pool, size_t *pool_len,
                                        const cohort_allocator_t *a);
COHORT_INTERNAL int rpc_md_encode(rpc_bytes_t *buf, const cohort_allocator_t *a,
                                  const cohort_rpc_metadata_t *md, size_t n);
COHORT_INTERNAL const cohort_allocator_t *rpc_call_allocator(const cohort_rpc_call_t *c);
COHORT_INTERNAL size_t rpc_call_max_send(const cohort_rpc_call_t *c);
COHORT_INTERNAL void rpc_call_resume(cohort_rpc_call_t *call);
COHORT_INTERNAL void rpc_call_after_drain(cohort_rpc_call_t *call);

/* Server side (scall.c), driven by conn.c. */
COHORT_INTERNAL int rpc_scall_begin(rpc_conn_t *c, int32_t stream_id);
COHORT_INTERNAL int rpc_scall_header(cohort_rpc_call_t *call, const uint8_t *k, size_t kl,
                                     const uint8_t *v, size_t vl);
COHORT_INTERNAL void rpc_scall_headers_done(cohort_rpc_call_t *call, bool end_stream);
COHORT_INTERNAL void rpc_scall_data(cohort_rpc_call_t *call, const uint8_t *d, size_t n);
COHORT_INTERNAL void rpc_scall_end_stream(cohort_rpc_call_t *call);
COHORT_INTERNAL void rpc_scall_closed(cohort_rpc_call_t *call, uint32_t error_code);
/* Cancel from the server's side (deadline, shutdown, lost connection). */
COHORT_INTERNAL void rpc_scall_abort(cohort_rpc_call_t *call, cohort_rpc_code_t why,
                                     bool send_status);
COHORT_INTERNAL ssize_t rpc_scall_data_eof(cohort_rpc_call_t *call, uint32_t *flags);

/* Client side (ccall.c). */
COHORT_INTERNAL int rpc_ccall_submit(cohort_rpc_call_t *call, rpc_conn_t *c, int64_t now);
COHORT_INTERNAL int rpc_ccall_header(cohort_rpc_call_t *call, const nghttp2_frame *f,
                                     const uint8_t *k, size_t kl, const uint8_t *v,
                                     size_t vl);
COHORT_INTERNAL void rpc_ccall_headers_done(cohort_rpc_call_t *call, const nghttp2_frame *f);
COHORT_INTERNAL void rpc_ccall_data(cohort_rpc_call_t *call, const uint8_t *d, size_t n);
COHORT_INTERNAL void rpc_ccall_closed(cohort_rpc_call_t *call, uint32_t error_code);
/* END_STREAM from the server while our side is still open. */
COHORT_INTERNAL void rpc_ccall_remote_end(cohort_rpc_call_t *call);
/* Decide the status (first decision wins) and, if possible, complete. */
COHORT_INTERNAL void rpc_ccall_fail(cohort_rpc_call_t *call, cohort_rpc_code_t code,
                                    const char *msg);
/* Complete with DEADLINE_EXCEEDED every call of `list` whose deadline is
 * at or before now (their streams reset); lower *next to the next one. */
COHORT_INTERNAL void rpc_ccall_expire(rpc_link_t *list, int64_t now, int64_t *next);
/* Run on_status and release the call (owner must have unlinked it). */
COHORT_INTERNAL void rpc_ccall_complete(cohort_rpc_call_t *call);

/* Channel hooks used by conn/ccall. */
COHORT_INTERNAL void rpc_channel_call_done(cohort_rpc_channel_t *ch, cohort_rpc_call_t *call);
COHORT_INTERNAL void rpc_channel_conn_lost(cohort_rpc_channel_t *ch, rpc_conn_t *c);
COHORT_INTERNAL void rpc_channel_conn_ready(cohort_rpc_channel_t *ch, rpc_conn_t *c);
COHORT_INTERNAL void rpc_channel_goaway(cohort_rpc_channel_t *ch, rpc_conn_t *c);
COHORT_INTERNAL const cohort_allocator_t *rpc_channel_allocator(const cohort_rpc_channel_t *ch);

/* Server hooks. */
COHORT_INTERNAL const rpc_method_t *rpc_server_lookup(const cohort_rpc_server_t *srv,
                                                      const uint8_t *path, size_t len);
COHORT_INTERNAL void rpc_server_call_linked(cohort_rpc_server_t *srv, cohort_rpc_call_t *c);
COHORT_INTERNAL void rpc_server_call_unlink(cohort_rpc_server_t *srv, cohort_rpc_call_t *c);
COHORT_INTERNAL void rpc_server_ping_ack(cohort_rpc_server_t *srv, rpc_conn_t *c);
COHORT_INTERNAL const cohort_allocator_t *rpc_server_allocator(const cohort_rpc_server_t *s);
COHORT_INTERNAL void rpc_server_arm(cohort_rpc_server_t *srv, int64_t deadline);

/* The server call whose callback is running (deadline propagation). */
COHORT_INTERNAL extern _Thread_local cohort_rpc_call_t *rpc_current_call;

/* ---- transport (io.c) ---------------------------------------------------- */

/* (rpc_io_accept, rpc_io_connect and the TLS contexts: host.h) */
COHORT_INTERNAL void rpc_io_flush(rpc_conn_t *c);
COHORT_INTERNAL void rpc_io_close(rpc_conn_t *c);


/* Fuzzing / tests: a server connection without a socket. */
COHORT_INTERNAL int rpc_server_virtual_conn(cohort_rpc_server_t *srv, rpc_conn_t **out);
COHORT_INTERNAL void rpc_server_virtual_free(cohort_rpc_server_t *srv, rpc_conn_t *c);

#endif
