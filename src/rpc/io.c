/*
 * src/rpc/io.c — the thin transport under a connection core: a libuv TCP
 * stream with TCP_NODELAY, optionally wrapped in TLS through OpenSSL
 * memory BIOs (so OpenSSL never touches the socket), plus the TLS contexts
 * (TLS 1.3, ALPN "h2", verification on by default).
 *
 * Invariants: at most one uv_write is in flight per connection; output is
 * gathered into one buffer and written once per loop iteration (the host's
 * prepare handle calls rpc_io_flush); while the write backlog exceeds
 * COHORT_RPC_CONN_WRITE_MAX the connection stops reading (bounded memory
 * against a peer that does not read); a connection is closed exactly once.
 */
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "host.h"

static void conn_close(rpc_conn_t *c, const char *why);

/* ---- host: clock and the once-per-iteration flush ---------------------------- */

int64_t cohort_rpc_now_ns(void) { return (int64_t)uv_hrtime(); }

static void host_prepare_cb(uv_prepare_t *p);

void rpc_conn_dirty(rpc_conn_t *c) {
  if (c->dirty || !c->has_tcp) return;
  c->dirty = true;
  rpc_list_push(&c->host->dirty, &c->dirty_link);
  if (!c->host->uv->prepare_on) {
    c->host->uv->prepare_on = true;
    uv_prepare_start(&c->host->uv->prepare, host_prepare_cb);
  }
}

static void host_prepare_cb(uv_prepare_t *p) {
  rpc_host_t *h = p->data;
  /* Flushing may make other connections dirty (a handler answering on
   * another stream); loop until quiet, each connection once per pass. */
  while (!rpc_list_empty(&h->dirty)) {
    rpc_conn_t *c = RPC_CONTAINER(h->dirty.next, rpc_conn_t, dirty_link);
    rpc_list_remove(&c->dirty_link);
    c->dirty = false;
    rpc_io_flush(c);
  }
  h->uv->prepare_on = false;
  uv_prepare_stop(p);
}

void rpc_host_init(rpc_host_t *h, struct rpc_host_uv *uv, uv_loop_t *loop) {
  memset(h, 0, sizeof *h);
  memset(uv, 0, sizeof *uv);
  h->uv = uv;
  uv->loop = loop;
  h->clock = cohort_rpc_now_ns;
  rpc_list_init(&h->dirty);
  uv_prepare_init(loop, &uv->prepare);
  uv->prepare.data = h;
}

rpc_conn_t *rpc_conn_new(rpc_host_t *host, const cohort_allocator_t *a, cohort_rpc_server_t *srv,
                         cohort_rpc_channel_t *ch, int64_t now) {
  rpc_conn_block_t *b = cohort_alloc(a, sizeof *b);
  if (!b) return NULL;
  if (rpc_conn_init(&b->c, host, a, srv, ch, now) != 0) {
    cohort_free(a, b);
    return NULL;
  }
  memset(&b->io, 0, sizeof b->io);
  b->c.io = &b->io;
  return &b->c;
}

/* ---- TLS contexts ---------------------------------------------------------- */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
    if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL; /* gRPC requires h2 */
}

int rpc_tls_server_ctx(const cohort_rpc_server_config_t *cfg, SSL_CTX **out) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return COHORT_ENOMEM;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1)
    goto fail;
  if (cfg->tls_client_ca_file) {
    if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca_file, NULL) != 1) goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  *out = ctx;
  return 0;
fail:
  ERR_clear_error();
  SSL_CTX_free(ctx);
  return COHORT_EINVAL;
}

int rpc_tls_client_ctx(const cohort_rpc_channel_config_t *cfg, SSL_CTX **out) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return COHORT_ENOMEM;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  static const unsigned char alpn[] = {2, 'h', '2'};
  if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn) != 0) goto fail;
  if (cfg->tls_ca_file) {
    if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL) != 1) goto fail;
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    goto fail;
  }
  if (cfg->tls_cert_file &&
      (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1))
    goto fail;
  SSL_CTX_set_verify(ctx, cfg->tls_insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                     NULL);
  *out = ctx;
  return 0;
fail:
  ERR_clear_error();
  SSL_CTX_free(ctx);
  return COHORT_EINVAL;
}

/* ---- writing ----------------------------------------------------------------- */

/* TLS: encrypt everything nghttp2 has for us, then drain the write BIO. */
static int produce_tls(rpc_conn_t *c) {
  size_t produced = 0;
  c->more_out = false;
  while (c->io->tls_done) {
    if (produced >= COHORT_RPC_CONN_WRITE_MAX) {
      c->more_out = c->h2 && nghttp2_session_want_write(c->h2);
      break;
    }
    const uint8_t *p;
    ssize_t n = c->h2 ? nghttp2_session_mem_send(c->h2, &p) : 0;
    if (n < 0) return COHORT_EPROTO;
    if (n == 0) break;
    if (SSL_write(c->io->ssl, p, (int)n) <= 0) return COHORT_EIO;
    produced += (size_t)n;
  }
  char buf[16384];
  int r;
  while ((r = BIO_read(c->io->wbio, buf, sizeof buf)) > 0)
    if (rpc_bytes_append(&c->io->obuf, c->a, buf, (size_t)r)) return COHORT_ENOMEM;
  return 0;
}

static void write_cb(uv_write_t *req, int status) {
  rpc_conn_t *c = req->data;
  c->io->writing = false;
  c->io->wbuf.len = 0;
  if (c->io->closing) return;
  if (status < 0) {
    conn_close(c, uv_strerror(status));
    return;
  }
  if (c->io->read_paused && c->io->obuf.len < COHORT_RPC_CONN_WRITE_MAX / 2) c->io->read_paused = false;
  rpc_io_flush(c);
}

static int read_start(rpc_conn_t *c);

static void write_out(rpc_conn_t *c) {
  if (c->io->writing || c->io->obuf.len == 0) return;
  uv_buf_t b = uv_buf_init((char *)c->io->obuf.data, (unsigned)c->io->obuf.len);
  int n = uv_try_write((uv_stream_t *)&c->io->tcp, &b, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    conn_close(c, uv_strerror(n));
    return;
  }
  if ((size_t)n == c->io->obuf.len) {
    c->io->obuf.len = 0;
    return;
  }
  /* Partial: hand the rest to uv_write and swap buffers. */
  memmove(c->io->obuf.data, c->io->obuf.data + n, c->io->obuf.len - (size_t)n);
  c->io->obuf.len -= (size_t)n;
  rpc_bytes_t t = c->io->wbuf;
  c->io->wbuf = c->io->obuf;
  c->io->obuf = t;
  c->io->obuf.len = 0;
  b = uv_buf_init((char *)c->io->wbuf.data, (unsigned)c->io->wbuf.len);
  c->io->write_req.data = c;
  int rc = uv_write(&c->io->write_req, (uv_stream_t *)&c->io->tcp, &b, 1, write_cb);
  if (rc < 0) {
    conn_close(c, uv_strerror(rc));
    return;
  }
  c->io->writing = true;
}

void rpc_io_flush(rpc_conn_t *c) {
  if (!c->io || c->io->closing || !c->has_tcp) return; /* (a virtual one: its host flushes) */
  int rc = 0;
  if (c->io->ssl)
    rc = produce_tls(c);
  else if (c->ready)
    rc = rpc_conn_produce(c, &c->io->obuf, COHORT_RPC_CONN_WRITE_MAX);
  if (rc) {
    conn_close(c, c->error[0] ? c->error : "cannot encode output");
    return;
  }
  if (c->io->ssl && c->ready && c->ready_due) {
    /* produce_tls bypasses rpc_conn_produce: run on_ready here. */
    rpc_bytes_t none = {0};
    rpc_conn_produce(c, &none, 0);
  }
  write_out(c);
  if (c->io->closing) return;
  /* Everything produced went out but the session still has frames: come
   * back before the loop polls (when a write is in flight, its completion
   * flushes again). Without this a message larger than one flush's worth
   * waited for the next read from the peer (issue 12). */
  if (!c->io->writing && c->more_out) rpc_conn_dirty(c);
  /* Stop reading only while a write is in flight with a full backlog
   * behind it; once the backlog is gone, read again (the peer's
   * WINDOW_UPDATEs are what let the rest of our data go). */
  if (c->io->writing && c->io->obuf.len >= COHORT_RPC_CONN_WRITE_MAX)
    c->io->read_paused = true;
  else if (!c->io->writing)
    c->io->read_paused = false;
  if (c->io->read_paused)
    uv_read_stop((uv_stream_t *)&c->io->tcp);
  else if (!c->dead)
    read_start(c);
  if (!c->io->writing && c->io->obuf.len == 0 && c->ready && rpc_conn_finished(c))
    conn_close(c, c->error[0] ? c->error : "");
}

/* ---- reading ------------------------------------------------------------------ */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  rpc_conn_t *c = h->data;
  *buf = uv_buf_init((char *)c->host->rbuf, sizeof c->host->rbuf);
}

static void tls_failed(rpc_conn_t *c) {
  long v = SSL_get_verify_result(c->io->ssl);
  unsigned long e = ERR_get_error();
  if (v != X509_V_OK)
    cohort_fmt(c->error, sizeof c->error, "TLS certificate verify failed: %s",
               X509_verify_cert_error_string(v));
  else if (e)
    cohort_fmt(c->error, sizeof c->error, "TLS handshake failed: %s",
               ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown");
  else
    cohort_fmt(c->error, sizeof c->error, "TLS handshake failed");
  ERR_clear_error();
}

static void became_ready(rpc_conn_t *c) {
  c->ready = true;
  c->last_read_ns = rpc_host_now(c->host);
  if (c->ch) rpc_channel_conn_ready(c->ch, c);
  rpc_conn_dirty(c);
}

/* Feed ciphertext; returns false when the connection was closed. */
static bool tls_input(rpc_conn_t *c, const uint8_t *d, size_t n) {
  if (BIO_write(c->io->rbio, d, (int)n) != (int)n) {
    conn_close(c, "TLS buffer error");
    return false;
  }
  if (!c->io->tls_done) {
    int r = SSL_do_handshake(c->io->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->io->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        rpc_conn_dirty(c);
        return true;
      }
      tls_failed(c);
      rpc_io_flush(c); /* send the alert */
      conn_close(c, c->error);
      return false;
    }
    const unsigned char *proto = NULL;
    unsigned plen = 0;
    SSL_get0_alpn_selected(c->io->ssl, &proto, &plen);
    if (plen != 2 || memcmp(proto, "h2", 2) != 0) {
      cohort_fmt(c->error, sizeof c->error, "TLS peer did not negotiate ALPN h2");
      conn_close(c, c->error);
      return false;
    }
    c->io->tls_done = true;
    became_ready(c);
  }
  for (;;) {
    int r = SSL_read(c->io->ssl, c->host->rbuf, (int)sizeof c->host->rbuf);
    if (r <= 0) {
      int e = SSL_get_error(c->io->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
      if (e == SSL_ERROR_ZERO_RETURN) {
        conn_close(c, "connection closed by peer");
        return false;
      }
      tls_failed(c);
      conn_close(c, c->error);
      return false;
    }
    if (rpc_conn_feed(c, c->last_read_ns, c->host->rbuf, (size_t)r) != 0) break;
  }
  return true;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  rpc_conn_t *c = s->data;
  if (nread == 0) return;
  if (nread < 0) {
    conn_close(c, nread == UV_EOF ? "connection closed by peer" : uv_strerror((int)nread));
    return;
  }
  c->last_read_ns = rpc_host_now(c->host);
  if (c->io->ssl) {
    /* The read buffer doubles as SSL_read's output: copy input to the BIO
     * first (tls_input does), which it has consumed before SSL_read. */
    if (!tls_input(c, (const uint8_t *)buf->base, (size_t)nread)) return;
  } else {
    rpc_conn_feed(c, c->last_read_ns, (const uint8_t *)buf->base, (size_t)nread);
  }
  if (c->io->closing) return; /* a callback closed it: it is no longer flushed */
  if (c->dead) uv_read_stop(s);
  rpc_conn_dirty(c);
}

static int read_start(rpc_conn_t *c) {
  return uv_read_start((uv_stream_t *)&c->io->tcp, alloc_cb, read_cb);
}

/* ---- set-up and close ------------------------------------------------------------ */

static int tls_setup(rpc_conn_t *c, SSL_CTX *tls, bool server, const char *name, bool verify) {
  c->io->ssl = SSL_new(tls);
  if (!c->io->ssl) return COHORT_ENOMEM;
  c->io->rbio = BIO_new(BIO_s_mem());
  c->io->wbio = BIO_new(BIO_s_mem());
  if (!c->io->rbio || !c->io->wbio) {
    BIO_free(c->io->rbio);
    BIO_free(c->io->wbio);
    c->io->rbio = c->io->wbio = NULL;
    return COHORT_ENOMEM;
  }
  SSL_set_bio(c->io->ssl, c->io->rbio, c->io->wbio);
  if (server) {
    SSL_set_accept_state(c->io->ssl);
    return 0;
  }
  SSL_set_connect_state(c->io->ssl);
  ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
  if (ip) {
    ASN1_OCTET_STRING_free(ip);
    if (verify) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->io->ssl), name);
  } else {
    SSL_set_tlsext_host_name(c->io->ssl, name);
    if (verify) SSL_set1_host(c->io->ssl, name);
  }
  SSL_do_handshake(c->io->ssl); /* queues the ClientHello in the write BIO */
  return 0;
}

int rpc_io_accept(rpc_conn_t *c, uv_stream_t *server, SSL_CTX *tls) {
  uv_tcp_init(server->loop, &c->io->tcp);
  c->io->tcp.data = c;
  c->has_tcp = true;
  int rc = uv_accept(server, (uv_stream_t *)&c->io->tcp);
  if (rc == 0) uv_tcp_nodelay(&c->io->tcp, 1);
  if (rc == 0 && tls) rc = tls_setup(c, tls, true, NULL, false);
  if (rc == 0) rc = read_start(c);
  if (rc != 0) {
    conn_close(c, "accept failed");
    return rc;
  }
  if (!tls) became_ready(c);
  return 0;
}

static void connect_cb(uv_connect_t *req, int status) {
  rpc_conn_t *c = req->data;
  if (c->io->closing) return;
  if (status < 0) {
    cohort_fmt(c->error, sizeof c->error, "connect: %s", uv_strerror(status));
    conn_close(c, c->error);
    return;
  }
  uv_tcp_nodelay(&c->io->tcp, 1);
  if (read_start(c) != 0) {
    conn_close(c, "read_start failed");
    return;
  }
  if (c->io->ssl)
    rpc_conn_dirty(c); /* ClientHello */
  else
    became_ready(c);
}

int rpc_io_connect(rpc_conn_t *c, uv_loop_t *loop, const struct sockaddr *addr, SSL_CTX *tls,
                   const char *server_name, bool verify) {
  int rc = uv_tcp_init(loop, &c->io->tcp);
  if (rc) return rc;
  c->io->tcp.data = c;
  c->has_tcp = true;
  c->io->connect_req.data = c;
  if (tls) rc = tls_setup(c, tls, false, server_name, verify);
  if (rc == 0) rc = uv_tcp_connect(&c->io->connect_req, &c->io->tcp, addr, connect_cb);
  if (rc != 0) {
    cohort_fmt(c->error, sizeof c->error, "connect: %s",
               rc < 0 && rc > -4096 ? uv_strerror(rc) : "cannot set up");
    conn_close(c, c->error);
    return rc;
  }
  return 0;
}

static void close_cb(uv_handle_t *h) {
  rpc_conn_t *c = h->data;
  if (c->io->ssl) SSL_free(c->io->ssl); /* frees the BIOs */
  c->io->ssl = NULL;
  rpc_bytes_free(&c->io->obuf, c->a);
  rpc_bytes_free(&c->io->wbuf, c->a);
  c->io->on_closed(c);
}

static void conn_close(rpc_conn_t *c, const char *why) {
  if (c->io->closing) return;
  c->io->closing = true;
  if (why && *why && !c->error[0]) cohort_fmt(c->error, sizeof c->error, "%s", why);
  rpc_conn_teardown(c, c->error);
  if (c->ch) rpc_channel_conn_lost(c->ch, c);
  uv_close((uv_handle_t *)&c->io->tcp, close_cb);
}

void rpc_io_close(rpc_conn_t *c) {
  if (c->io) conn_close(c, "closed locally"); /* a virtual one: its owner tears it down */
}
