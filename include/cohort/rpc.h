/*
 * cohort/rpc.h — gRPC-compatible RPC over HTTP/2 (nghttp2) on a libuv loop.
 *
 * A server registers methods by their full path ("/pkg.Service/Method"),
 * one handler per method, in one of the four gRPC call patterns, and
 * listens in cleartext (h2c, prior knowledge) or TLS 1.3 with ALPN "h2".
 * A client opens a channel to "host:port" and starts calls on it. Messages
 * are opaque byte strings: generated stubs (protoc-gen-cohort) pack and
 * unpack protobuf-c messages on top of this API. The wire format is gRPC's
 * PROTOCOL-HTTP2, so either side interoperates with grpcio, gRPC C++, ...
 *
 * Threading: none. Every object belongs to the loop it was created on and
 * every function must be called on that loop's thread. Callbacks are never
 * invoked from inside the API call that caused them (no re-entrancy): a
 * status that is known at once (fail-fast deadline, cancel) is delivered
 * from the loop on its next iteration.
 *
 * Ownership, in one place (each declaration repeats what applies to it):
 *   - Bytes passed IN (messages, metadata, paths, strings in configs) are
 *     copied before the function returns; the caller keeps its buffers.
 *     The exception is cohort_rpc_call_send_reserve(), which hands out
 *     the library's own buffer to fill in place (no copy).
 *   - Bytes passed OUT to callbacks (received messages, metadata, status
 *     messages) are borrowed: valid only until the callback returns, unless
 *     stated otherwise. Copy what you keep.
 *   - Opaque objects are created and freed by the library. A client call
 *     lives from cohort_rpc_call_start() until its on_status callback
 *     returns. A server call lives from its handler's first callback until
 *     the handler calls cohort_rpc_call_finish() — exactly once, always,
 *     even after on_cancel.
 *
 * Errors: functions return 0 or a negative COHORT_E* code (core.h); RPC
 * outcomes are gRPC status codes delivered in a cohort_rpc_status_t.
 */
#ifndef COHORT_RPC_H
#define COHORT_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "cohort/core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s; /* libuv's uv_loop_t; include <uv.h> to create one */

/* ---- status ------------------------------------------------------------ */

/* The 17 gRPC status codes, with gRPC's numeric values. */
typedef enum cohort_rpc_code {
  COHORT_RPC_OK = 0,
  COHORT_RPC_CANCELLED = 1,
  COHORT_RPC_UNKNOWN = 2,
  COHORT_RPC_INVALID_ARGUMENT = 3,
  COHORT_RPC_DEADLINE_EXCEEDED = 4,
  COHORT_RPC_NOT_FOUND = 5,
  COHORT_RPC_ALREADY_EXISTS = 6,
  COHORT_RPC_PERMISSION_DENIED = 7,
  COHORT_RPC_RESOURCE_EXHAUSTED = 8,
  COHORT_RPC_FAILED_PRECONDITION = 9,
  COHORT_RPC_ABORTED = 10,
  COHORT_RPC_OUT_OF_RANGE = 11,
  COHORT_RPC_UNIMPLEMENTED = 12,
  COHORT_RPC_INTERNAL = 13,
  COHORT_RPC_UNAVAILABLE = 14,
  COHORT_RPC_DATA_LOSS = 15,
  COHORT_RPC_UNAUTHENTICATED = 16
} cohort_rpc_code_t;

#define COHORT_RPC_CODE_COUNT 17

/* "OK", "CANCELLED", ... ; "UNKNOWN_CODE" for values outside 0..16. */
const char *cohort_rpc_code_name(int code);

/* The outcome of a call. `message` is the decoded grpc-message (UTF-8,
 * never NULL, "" when absent), borrowed for the callback's duration. */
typedef struct cohort_rpc_status {
  cohort_rpc_code_t code;
  const char *message;
  /* The serialized google.rpc.Status from grpc-status-details-bin (rich
   * error details), or NULL / 0; borrowed like `message`. Decode it with
   * cohort_rpc_details_unpack(). */
  const uint8_t *details;
  size_t details_len;
} cohort_rpc_status_t;

/* ---- rich error details (google.rpc.Status) ------------------------------ */

/* One detail: a google.protobuf.Any (type URL + serialized message). */
typedef struct cohort_rpc_detail {
  const char *type_url; /* "type.googleapis.com/google.rpc.ErrorInfo" */
  const uint8_t *value;
  size_t value_len;
} cohort_rpc_detail_t;

/* A decoded google.rpc.Status. Owned by the caller after a successful
 * cohort_rpc_details_unpack(); release with cohort_rpc_details_free(). */
typedef struct cohort_rpc_details {
  int32_t code;
  const char *message;
  cohort_rpc_detail_t *details;
  size_t count;
  void *internal_;
} cohort_rpc_details_t;

/* Decode grpc-status-details-bin bytes. Errors: COHORT_EPROTO (not a
 * google.rpc.Status), COHORT_ENOMEM. Writes *out only on success. */
int cohort_rpc_details_unpack(const uint8_t *bin, size_t len, cohort_rpc_details_t *out);
void cohort_rpc_details_free(cohort_rpc_details_t *d); /* accepts NULL / zeroed */

/* ---- metadata ---------------------------------------------------------- */

/* One metadata entry (an HTTP/2 header). Keys are lower-case ASCII
 * ([0-9a-z_.-]); a key ending in "-bin" carries arbitrary bytes, which the
 * library base64-encodes on the wire and decodes on receipt; any other
 * key's value must be printable ASCII (0x20..0x7e). Keys starting with
 * "grpc-" and pseudo-headers are reserved and rejected (COHORT_EINVAL),
 * except "grpc-status-details-bin" (rich error details), which a server
 * may send in its trailers and a client receives with them. Received
 * metadata never contains other reserved keys, content-type or te. */
typedef struct cohort_rpc_metadata {
  const char *key;      /* NUL-terminated */
  const uint8_t *value; /* not NUL-terminated when received */
  size_t value_len;
} cohort_rpc_metadata_t;

/* ---- calls (both sides) -------------------------------------------------- */

typedef struct cohort_rpc_call cohort_rpc_call_t;

typedef enum cohort_rpc_kind {
  COHORT_RPC_UNARY = 0,            /* 1 request,  1 response */
  COHORT_RPC_SERVER_STREAMING = 1, /* 1 request,  n responses */
  COHORT_RPC_CLIENT_STREAMING = 2, /* n requests, 1 response */
  COHORT_RPC_BIDI_STREAMING = 3    /* n requests, n responses */
} cohort_rpc_kind_t;

/* Queue one message on the call (client: a request; server: a response).
 * The bytes are copied (with the 5-byte gRPC prefix) into the call's send
 * queue; the caller keeps `data`. Messages go out in order, coalesced into
 * at most one socket write per loop iteration.
 * Errors: COHORT_EFULL — the send queue is over its bound
 * (COHORT_RPC_SEND_QUEUE_MAX); wait for on_ready and retry (a message is
 * always accepted when the queue is empty). COHORT_EINVAL — `len` exceeds
 * the maximum send message size. COHORT_ESTATE — already half-closed /
 * finished. COHORT_ECANCELED — the call was cancelled or has failed. */
int cohort_rpc_call_send(cohort_rpc_call_t *call, const void *data, size_t len);

/* Zero-copy variant for stubs that serialize in place: returns a buffer of
 * exactly `len` writable bytes owned by the call, to be filled and then
 * committed with cohort_rpc_call_send_commit() before any other call on
 * this object. Same errors as cohort_rpc_call_send (NULL on error, with the
 * code in *err when err is non-NULL). */
uint8_t *cohort_rpc_call_send_reserve(cohort_rpc_call_t *call, size_t len, int *err);
void cohort_rpc_call_send_commit(cohort_rpc_call_t *call);

/* Cancel the call. Client: sends RST_STREAM(CANCEL); on_status reports
 * CANCELLED from the loop (never from inside this function). Server: sends
 * RST_STREAM(CANCEL); the handler must still call cohort_rpc_call_finish().
 * Idempotent; a no-op after the call completed on the wire. */
void cohort_rpc_call_cancel(cohort_rpc_call_t *call);

/* The call's absolute deadline on the cohort_rpc_now_ns() clock, or
 * COHORT_TIME_NEVER. */
int64_t cohort_rpc_call_deadline(const cohort_rpc_call_t *call);

/* Metadata received with the peer's initial HEADERS (server: the client's
 * request metadata; client: the server's response headers, empty until
 * on_headers). Borrowed: valid until the call ends (client: on_status
 * returns; server: cohort_rpc_call_finish). Sets *count; never fails. */
const cohort_rpc_metadata_t *cohort_rpc_call_metadata(const cohort_rpc_call_t *call,
                                                      size_t *count);

/* First received metadata value for `key`, or NULL. Borrowed as above. */
const uint8_t *cohort_rpc_call_metadata_get(const cohort_rpc_call_t *call,
                                            const char *key, size_t *len);

/* The method path ("/pkg.Service/Method"); borrowed for the call's life. */
const char *cohort_rpc_call_method(const cohort_rpc_call_t *call);

/* Per-call application pointer (server handlers keep their state here). */
void cohort_rpc_call_set_data(cohort_rpc_call_t *call, void *data);
void *cohort_rpc_call_data(const cohort_rpc_call_t *call);

/* Monotonic clock used for deadlines (libuv's uv_hrtime), nanoseconds. */
int64_t cohort_rpc_now_ns(void);

/* Message compression (grpc-encoding). Both sides always accept gzip
 * (grpc-accept-encoding: identity,gzip); with GZIP a client compresses its
 * requests, and a server its responses to clients that accept gzip. A
 * message that would not get smaller goes uncompressed. */
typedef enum cohort_rpc_compression {
  COHORT_RPC_COMPRESS_NONE = 0,
  COHORT_RPC_COMPRESS_GZIP = 1
} cohort_rpc_compression_t;

/* ---- server -------------------------------------------------------------- */

typedef struct cohort_rpc_server cohort_rpc_server_t;

/* Zero-initialise, then set what you need; 0 / NULL means the default. */
typedef struct cohort_rpc_server_config {
  const cohort_allocator_t *allocator; /* NULL: cohort_allocator_default() */
  size_t max_recv_message_bytes;       /* default COHORT_RPC_MESSAGE_MAX */
  size_t max_send_message_bytes;       /* default COHORT_RPC_MESSAGE_MAX */
  uint32_t max_concurrent_streams;     /* per connection; COHORT_RPC_STREAMS_MAX */
  uint32_t max_connections;            /* default COHORT_RPC_CONNECTIONS_MAX; when
                                          full, the oldest connection without calls
                                          is closed to admit a new one */
  /* PING connections idle this long; 0: COHORT_RPC_SERVER_KEEPALIVE_MS
   * (on by default); negative: off. */
  int64_t keepalive_interval_ms;
  int64_t keepalive_timeout_ms;        /* close if no PING ack; default 20000 */
  /* TLS handshake + HTTP/2 preface + SETTINGS must arrive within this;
   * 0: COHORT_RPC_PREFACE_TIMEOUT_MS; negative: no limit. */
  int64_t preface_timeout_ms;
  /* Close (GOAWAY) a connection without calls this long; 0:
   * COHORT_RPC_IDLE_TIMEOUT_MS; negative: never. */
  int64_t idle_timeout_ms;
  /* Budgets for request bytes being received (partial messages, unary
   * requests waiting for END_STREAM): per connection and for the whole
   * server. The stream that goes over gets RESOURCE_EXHAUSTED. 0: the
   * COHORT_RPC_CONN_BUFFER_MAX / COHORT_RPC_SERVER_BUFFER_MAX defaults;
   * raised to 2 x max_recv_message_bytes if smaller. */
  size_t max_connection_buffer_bytes;
  size_t max_buffer_bytes;
  cohort_rpc_compression_t compression; /* responses; default NONE */
  /* TLS: both set → TLS 1.3, ALPN "h2"; both NULL → cleartext h2c. PEM. */
  const char *tls_cert_file;
  const char *tls_key_file;
  /* Optional: require and verify client certificates against this CA. */
  const char *tls_client_ca_file;
} cohort_rpc_server_config_t;

/* Create a server on `loop`. `cfg` may be NULL (defaults); it is copied.
 * Errors: COHORT_EINVAL (bad config, unreadable TLS files), COHORT_ENOMEM.
 * On success *out is the server; free it with cohort_rpc_server_free(). */
int cohort_rpc_server_create(struct uv_loop_s *loop, const cohort_rpc_server_config_t *cfg,
                             cohort_rpc_server_t **out);

/* A method's handler. Which callbacks are used depends on `kind`:
 *   UNARY, SERVER_STREAMING: on_request(call, request) once the single
 *     request message and the client's half-close have arrived. UNARY
 *     answers with cohort_rpc_call_reply(); SERVER_STREAMING sends any
 *     number of messages and then cohort_rpc_call_finish().
 *   CLIENT_STREAMING, BIDI_STREAMING: on_start(call) when the request
 *     headers arrive, on_message(call, msg) per request message,
 *     on_half_close(call) when the client is done sending. The handler
 *     sends (BIDI: at any time) and ends with cohort_rpc_call_finish().
 *   All (optional): on_ready(call) when the send queue drained below its
 *     bound after an EFULL; on_cancel(call, code) when the call ended
 *     without the handler: client cancel or RST_STREAM (CANCELLED),
 *     deadline expired (DEADLINE_EXCEEDED), connection lost or server
 *     shutdown grace over (UNAVAILABLE), a bad request stream (INTERNAL,
 *     RESOURCE_EXHAUSTED for an oversized message; the client already got
 *     that status). After on_cancel no other callback
 *     comes, sends fail with COHORT_ECANCELED, and the handler must still
 *     call cohort_rpc_call_finish() (at once or later) to release the call.
 * Received bytes (`data`, `len`) are borrowed until the callback returns.
 * The handler may reply synchronously inside a callback or later from any
 * loop callback. Calls started on a channel while a server callback runs
 * inherit its deadline (see cohort_rpc_call_options_t.parent). */
typedef struct cohort_rpc_handler {
  cohort_rpc_kind_t kind;
  void (*on_request)(cohort_rpc_call_t *call, const uint8_t *data, size_t len, void *ud);
  void (*on_start)(cohort_rpc_call_t *call, void *ud);
  void (*on_message)(cohort_rpc_call_t *call, const uint8_t *data, size_t len, void *ud);
  void (*on_half_close)(cohort_rpc_call_t *call, void *ud);
  void (*on_ready)(cohort_rpc_call_t *call, void *ud);
  void (*on_cancel)(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud);
  void *ud; /* passed to every callback */
} cohort_rpc_handler_t;

/* Register `path` ("/pkg.Service/Method"; copied) with handler `h`
 * (copied). Requests for unregistered paths get UNIMPLEMENTED.
 * Errors: COHORT_EINVAL (path not "/x/y", callbacks missing for the kind),
 * COHORT_EEXIST (already registered), COHORT_EFULL (COHORT_RPC_METHODS_MAX),
 * COHORT_ENOMEM, COHORT_ESTATE (after shutdown began). */
int cohort_rpc_server_register(cohort_rpc_server_t *srv, const char *path,
                               const cohort_rpc_handler_t *h);

/* Shorthands for the two request-first patterns. */
typedef void (*cohort_rpc_request_fn)(cohort_rpc_call_t *call, const uint8_t *data,
                                      size_t len, void *ud);
int cohort_rpc_server_register_unary(cohort_rpc_server_t *srv, const char *path,
                                     cohort_rpc_request_fn fn, void *ud);
int cohort_rpc_server_register_server_streaming(cohort_rpc_server_t *srv,
                                                const char *path,
                                                cohort_rpc_request_fn fn, void *ud);

/* Listen on "host:port" (IPv4 "127.0.0.1:0", IPv6 "[::1]:0"; port 0 picks
 * an ephemeral port). Writes the bound port to *port_out when non-NULL.
 * May be called more than once (several addresses). TLS or h2c per config.
 * Errors: COHORT_EINVAL (bad address), -errno from bind/listen. */
int cohort_rpc_server_listen(cohort_rpc_server_t *srv, const char *host_port,
                             int *port_out);

/* Graceful shutdown: stop accepting, send GOAWAY on every connection (a
 * shutdown notice, then the final GOAWAY with the last stream id), let
 * in-flight calls finish for up to `grace_ms`, then cancel the rest
 * (handlers see on_cancel(UNAVAILABLE)) and close all connections. When
 * everything is closed, on_done(ud) runs from the loop. Idempotent. */
void cohort_rpc_server_shutdown(cohort_rpc_server_t *srv, int64_t grace_ms,
                                void (*on_done)(void *ud), void *ud);

/* Free the server. Call only after shutdown's on_done (or if it never
 * listened). Server calls that the handler has not finished are released;
 * the handler must not touch them afterwards. Accepts NULL. */
void cohort_rpc_server_free(cohort_rpc_server_t *srv);

/* Number of server calls (handlers) not yet finished; for tests. */
size_t cohort_rpc_server_active_calls(const cohort_rpc_server_t *srv);

/* ---- server call ------------------------------------------------------- */

/* Send response headers with `md` (copied) now, instead of implicitly
 * with the first message or the status. At most once, before any send.
 * Errors: COHORT_EINVAL (bad key/value), COHORT_ESTATE, COHORT_ECANCELED. */
int cohort_rpc_call_send_headers(cohort_rpc_call_t *call, const cohort_rpc_metadata_t *md,
                                 size_t count);

/* End the call with `code` and `message` (NULL: none; copied and
 * percent-encoded on the wire) and optional trailing metadata (copied).
 * Queued messages are sent first. A status with no message sent before it
 * goes out as a trailers-only response. The call is released: the handler
 * must not use `call` afterwards. Always succeeds in releasing; returns
 * COHORT_ECANCELED if the call had been cancelled (nothing is sent), or
 * COHORT_EINVAL for bad metadata (status sent without it). */
int cohort_rpc_call_finish(cohort_rpc_call_t *call, cohort_rpc_code_t code,
                           const char *message);
int cohort_rpc_call_finish_with_metadata(cohort_rpc_call_t *call, cohort_rpc_code_t code,
                                         const char *message,
                                         const cohort_rpc_metadata_t *trailers,
                                         size_t count);

/* Finish with rich error details: `details` (count n, copied) are sent as
 * a google.rpc.Status {code, message, details} in grpc-status-details-bin,
 * beside grpc-status and grpc-message, as gRPC's richer error model asks.
 * Same semantics and errors as cohort_rpc_call_finish (COHORT_ENOMEM: the
 * status is sent without details). */
int cohort_rpc_call_finish_with_details(cohort_rpc_call_t *call, cohort_rpc_code_t code,
                                        const char *message, const cohort_rpc_detail_t *details,
                                        size_t n);

/* Unary shorthand: send `data` (copied) and finish with OK. On a send error
 * finishes with INTERNAL/RESOURCE_EXHAUSTED and returns the error. */
int cohort_rpc_call_reply(cohort_rpc_call_t *call, const void *data, size_t len);

/* ---- client ------------------------------------------------------------ */

typedef struct cohort_rpc_channel cohort_rpc_channel_t;

/* Zero-initialise, then set what you need; 0 / NULL means the default. */
typedef struct cohort_rpc_channel_config {
  const cohort_allocator_t *allocator; /* NULL: cohort_allocator_default() */
  int tls;                       /* 0: h2c (prior knowledge); 1: TLS 1.3 + ALPN h2 */
  const char *tls_ca_file;       /* PEM trust anchors; NULL: system store */
  const char *tls_server_name;   /* SNI + name checked; NULL: target's host */
  int tls_insecure_skip_verify;  /* 1 disables verification (tests only) */
  const char *tls_cert_file;     /* optional client certificate (PEM) */
  const char *tls_key_file;
  size_t max_recv_message_bytes; /* default COHORT_RPC_MESSAGE_MAX */
  size_t max_send_message_bytes; /* default COHORT_RPC_MESSAGE_MAX */
  int64_t connect_timeout_ms;    /* default 20000 */
  int64_t keepalive_interval_ms; /* PING when idle this long; 0: off */
  int64_t keepalive_timeout_ms;  /* no ack → connection lost; default 20000 */
  /* A call whose remaining time is below this fails at once with
   * DEADLINE_EXCEEDED, without being sent. 0: COHORT_RPC_DEADLINE_MIN_NS;
   * negative: never fail fast. */
  int64_t min_deadline_ns;
  const char *user_agent;        /* prefix of the user-agent header */
  cohort_rpc_compression_t compression; /* requests; default NONE */
} cohort_rpc_channel_config_t;

/* Create a channel to `target` = "host:port" (host: name, IPv4, or [IPv6]).
 * Connects lazily on the first call and reconnects after a connection is
 * lost or drained by GOAWAY. `cfg` may be NULL; it and target are copied.
 * Errors: COHORT_EINVAL (bad target, unreadable TLS files), COHORT_ENOMEM. */
int cohort_rpc_channel_create(struct uv_loop_s *loop, const char *target,
                              const cohort_rpc_channel_config_t *cfg,
                              cohort_rpc_channel_t **out);

/* Close the channel: every outstanding call ends with CANCELLED (on_status
 * runs), the connection closes, memory is freed, and then on_closed(ud)
 * runs from the loop (may be NULL). Do not use the channel afterwards. */
void cohort_rpc_channel_close(cohort_rpc_channel_t *ch, void (*on_closed)(void *ud),
                              void *ud);

/* Last connection error, human-readable ("TLS certificate verify failed:
 * self-signed certificate", "connect: connection refused"), or "".
 * Borrowed until the next loop iteration that touches the channel. */
const char *cohort_rpc_channel_last_error(const cohort_rpc_channel_t *ch);

/* Per-call options; zero-initialise. */
typedef struct cohort_rpc_call_options {
  /* Relative timeout; 0: none (but still bounded by the parent's deadline,
   * see below). The effective deadline is min(now + timeout, parent's). */
  int64_t timeout_ns;
  /* Request metadata (copied at start). */
  const cohort_rpc_metadata_t *metadata;
  size_t metadata_count;
  /* Deadline propagation. NULL: the server call whose callback is running
   * right now, if any (automatic propagation); or set it explicitly when
   * calling from a later callback. The parent's deadline bounds this
   * call's; cancelling the parent cancels this call. */
  cohort_rpc_call_t *parent;
  int no_propagation; /* 1: ignore any parent */
} cohort_rpc_call_options_t;

/* Client callbacks. Only on_status is required.
 *   on_headers: the server's response headers arrived (metadata available
 *     through cohort_rpc_call_metadata). Not called for trailers-only.
 *   on_message: one response message, borrowed until return.
 *   on_ready: the send queue drained below its bound after an EFULL.
 *   on_status: the call is over — exactly once. `trailers` (count n) is the
 *     trailing metadata, borrowed. The call is freed when it returns. */
typedef struct cohort_rpc_call_callbacks {
  void (*on_headers)(cohort_rpc_call_t *call, void *ud);
  void (*on_message)(cohort_rpc_call_t *call, const uint8_t *data, size_t len, void *ud);
  void (*on_ready)(cohort_rpc_call_t *call, void *ud);
  void (*on_status)(cohort_rpc_call_t *call, const cohort_rpc_status_t *status,
                    const cohort_rpc_metadata_t *trailers, size_t n, void *ud);
} cohort_rpc_call_callbacks_t;

/* Start a call of any kind on `path`. `opts` may be NULL; `cb` is copied.
 * Then: cohort_rpc_call_send() requests, cohort_rpc_call_close_send() when
 * done sending; responses arrive through `cb`. On success *out is the call
 * and on_status will run exactly once. Errors (no callback will run):
 * COHORT_EINVAL (bad path or metadata), COHORT_EFULL (more than
 * COHORT_RPC_CALLS_PER_CHANNEL_MAX calls), COHORT_ESTATE (channel closing),
 * COHORT_ENOMEM. A deadline too close fails as on_status(DEADLINE_EXCEEDED)
 * from the loop, not as an error here. */
int cohort_rpc_call_start(cohort_rpc_channel_t *ch, const char *path,
                          const cohort_rpc_call_options_t *opts,
                          const cohort_rpc_call_callbacks_t *cb, void *ud,
                          cohort_rpc_call_t **out);

/* Half-close: no more requests (END_STREAM). Idempotent.
 * Errors: COHORT_ECANCELED (call already failed). */
int cohort_rpc_call_close_send(cohort_rpc_call_t *call);

/* Unary call with a completion callback: sends `req` (copied), half-closes.
 * `on_done(status, response, len, ud)`: response is NULL/0 unless status
 * is OK; all borrowed until return. Errors as cohort_rpc_call_start. */
typedef void (*cohort_rpc_unary_fn)(const cohort_rpc_status_t *status,
                                    const uint8_t *data, size_t len, void *ud);
int cohort_rpc_unary(cohort_rpc_channel_t *ch, const char *path, const void *req,
                     size_t len, const cohort_rpc_call_options_t *opts,
                     cohort_rpc_unary_fn on_done, void *ud);

/* Result of a blocking call. Owned by the caller after a successful
 * cohort_rpc_unary_blocking(); release with cohort_rpc_result_free(). */
typedef struct cohort_rpc_result {
  cohort_rpc_code_t code;
  char *message;     /* NUL-terminated, "" when none */
  uint8_t *data;     /* response (NULL unless OK) */
  size_t len;
  cohort_rpc_metadata_t *trailers; /* trailing metadata copy */
  size_t trailers_count;
  const cohort_allocator_t *allocator; /* internal */
} cohort_rpc_result_t;

/* Blocking convenience: runs the channel's loop (uv_run UV_RUN_ONCE) until
 * the unary call completes, then fills *out. Must not be called from inside
 * a callback of the same loop. Returns 0 when the call completed (whatever
 * its gRPC status: look at out->code), or an error as cohort_rpc_call_start
 * (out untouched). */
int cohort_rpc_unary_blocking(cohort_rpc_channel_t *ch, const char *path, const void *req,
                              size_t len, const cohort_rpc_call_options_t *opts,
                              cohort_rpc_result_t *out);

/* Frees what a result owns (not the struct itself). Accepts NULL. */
void cohort_rpc_result_free(cohort_rpc_result_t *r);

/* ---- wire helpers (exposed for tests and tools) ------------------------ */

/* Parse a grpc-timeout value ("1H", "20S", "500m", "100u", "5n", "3M";
 * 1..8 ASCII digits and a unit) into nanoseconds (saturating at
 * INT64_MAX). Errors: COHORT_EPROTO. Writes *ns only on success. */
int cohort_rpc_timeout_parse(const char *s, size_t len, int64_t *ns);

/* Format `ns` (> 0) as a grpc-timeout value with at most 8 digits, rounding
 * up to the next unit when needed. `buf` needs 10 bytes. Returns length. */
size_t cohort_rpc_timeout_format(int64_t ns, char buf[10]);

#ifdef __cplusplus
}
#endif
#endif
