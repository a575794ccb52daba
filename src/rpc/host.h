/*
 * src/rpc/host.h — the host side of the RPC library: what io.c, server.c
 * and channel.c add to the objects of internal.h — libuv handles and
 * OpenSSL objects. The protocol cores never include it (scripts/
 * check-env-contract), so they can run under the simulated byte stream
 * (src/rpc/sim) exactly as under a socket.
 *
 * Each object is allocated in one block with its host part right after
 * it (rpc_server_block_t, rpc_channel_block_t, rpc_conn_block_t); the
 * object's `uv` / `io` pointer points into the same block, so the split
 * costs no allocation. A connection made without a transport (a virtual
 * one: fuzzing, the simulated stream) has io == NULL, and the transport
 * entry points ignore it.
 */
#ifndef COHORT_RPC_HOST_H
#define COHORT_RPC_HOST_H

#include <openssl/ssl.h>
#include <uv.h>

#include "internal.h"

/* The loop and the once-per-iteration flush of dirty connections. */
struct rpc_host_uv {
  uv_loop_t *loop;
  uv_prepare_t prepare;
  bool prepare_on;
};

struct rpc_server_uv {
  struct rpc_host_uv host;
  uv_tcp_t listeners[RPC_LISTENERS_MAX];
  int nlisteners;     /* open listeners */
  int listeners_used; /* slots of listeners[] ever used */
  uv_timer_t timer;
  uv_idle_t idle; /* runs on_done from the loop */
  uv_tcp_t shed;  /* accepts and closes a connection we have no memory for */
  uv_stream_t *shed_retry; /* a listener with a connection still queued */
  bool shed_busy;
  int handles; /* open uv handles */
};

struct rpc_channel_uv {
  struct rpc_host_uv host;
  uv_idle_t idle;
  uv_timer_t timer;
  uv_getaddrinfo_t gai;
  int handles; /* open uv handles */
};

/* A connection's transport; tcp.data == the connection. */
struct rpc_conn_uv {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  bool writing, closing, tls_done, read_paused;
  SSL *ssl;
  BIO *rbio, *wbio;
  rpc_bytes_t obuf; /* encoded bytes to write next */
  rpc_bytes_t wbuf; /* bytes owned by the in-flight uv_write */
  void (*on_closed)(rpc_conn_t *c); /* owner callback from uv_close */
};

typedef struct rpc_server_block {
  struct cohort_rpc_server s; /* first: the block is freed through it */
  struct rpc_server_uv uv;
} rpc_server_block_t;

typedef struct rpc_channel_block {
  struct cohort_rpc_channel ch;
  struct rpc_channel_uv uv;
} rpc_channel_block_t;

typedef struct rpc_conn_block {
  rpc_conn_t c;
  struct rpc_conn_uv io;
} rpc_conn_block_t;

/* The host part of h (host->uv) on loop. */
COHORT_INTERNAL void rpc_host_init(rpc_host_t *h, struct rpc_host_uv *uv, uv_loop_t *loop);

/* A connection with a transport: rpc_conn_init, then its io block zeroed
 * and linked. NULL when out of memory (or the core refused). */
COHORT_INTERNAL rpc_conn_t *rpc_conn_new(rpc_host_t *host, const cohort_allocator_t *a,
                                         cohort_rpc_server_t *srv, cohort_rpc_channel_t *ch,
                                         int64_t now);

COHORT_INTERNAL int rpc_io_accept(rpc_conn_t *c, uv_stream_t *server, SSL_CTX *tls);
COHORT_INTERNAL int rpc_io_connect(rpc_conn_t *c, uv_loop_t *loop, const struct sockaddr *addr,
                                   SSL_CTX *tls, const char *server_name, bool verify);

/* TLS contexts (io.c). */
COHORT_INTERNAL int rpc_tls_server_ctx(const cohort_rpc_server_config_t *cfg, SSL_CTX **out);
COHORT_INTERNAL int rpc_tls_client_ctx(const cohort_rpc_channel_config_t *cfg, SSL_CTX **out);

#endif
