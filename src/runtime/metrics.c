/*
 * src/runtime/metrics.c — the observer's HTTP side: `GET /metrics` over
 * HTTP/1.0 or 1.1 answered with the Prometheus text exposition format
 * (version 0.0.4), one request per connection (Connection: close).
 *
 * Invariants: only the request line is interpreted (headers are read up
 * to the blank line and ignored, bodies are not read); anything else gets
 * a complete HTTP error reply: 400 (malformed), 404 (another path), 405
 * (another method), 431 (head over COHORT_OBSERVE_REQUEST_MAX), 503 (too
 * many clients, or the reply could not be rendered).
 */
#include <stdio.h>
#include <string.h>

#include "observe_internal.h"

bool obs_http_complete(const obs_conn_t *c) {
  for (size_t i = 3; i < c->len; i++)
    if (!memcmp(c->req + i - 3, "\r\n\r\n", 4)) return true;
  for (size_t i = 1; i < c->len; i++) /* bare LFs, as some tools send */
    if (c->req[i] == '\n' && c->req[i - 1] == '\n') return true;
  return false;
}

static void respond(obs_conn_t *c, int code, const char *reason, const char *ctype,
                    const char *body, size_t body_len, bool head) {
  char hdr[256];
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   code, reason, ctype, body_len);
  size_t total = (size_t)n + (head ? 0 : body_len);
  char *out = cohort_alloc(c->o->alloc, total ? total : 1);
  if (!out) {
    obs_conn_reply(c, NULL, 0); /* no memory: close */
    return;
  }
  memcpy(out, hdr, (size_t)n);
  if (!head && body_len) memcpy(out + n, body, body_len);
  obs_conn_reply(c, out, total);
}

static void error_reply(obs_conn_t *c, int code, const char *reason) {
  char body[128];
  int n = snprintf(body, sizeof body, "%d %s\n", code, reason);
  c->o->errors++;
  respond(c, code, reason, "text/plain; charset=utf-8", body, (size_t)n, false);
}

void obs_conn_refuse(obs_conn_t *c, const char *why) {
  if (c->kind == OBS_CONTROL) {
    char body[160];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", why);
    char *out = cohort_alloc(c->o->alloc, (size_t)n);
    c->o->errors++;
    if (out) memcpy(out, body, (size_t)n);
    obs_conn_reply(c, out, (size_t)n);
    return;
  }
  if (!strcmp(why, "request too long")) error_reply(c, 431, "Request Header Fields Too Large");
  else error_reply(c, 503, "Service Unavailable");
}

void obs_http_answer(obs_conn_t *c) {
  char method[16], path[256], version[16];
  char line[300];
  size_t n = 0;
  while (n < c->len && n < sizeof line - 1 && c->req[n] != '\r' && c->req[n] != '\n') n++;
  memcpy(line, c->req, n);
  line[n] = '\0';
  if (sscanf(line, "%15s %255s %15s", method, path, version) != 3 ||
      strncmp(version, "HTTP/1.", 7) != 0) {
    error_reply(c, 400, "Bad Request");
    return;
  }
  bool head = !strcmp(method, "HEAD");
  if (!head && strcmp(method, "GET")) {
    error_reply(c, 405, "Method Not Allowed");
    return;
  }
  char *q = strchr(path, '?');
  if (q) *q = '\0';
  if (strcmp(path, "/metrics") != 0) {
    error_reply(c, 404, "Not Found");
    return;
  }
  char *text;
  size_t len;
  if (cohort_observe_render_metrics(c->o, &text, &len) != 0) {
    error_reply(c, 503, "Service Unavailable");
    return;
  }
  respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len, head);
  cohort_free(c->o->alloc, text);
}

static void http_conn_cb(uv_stream_t *server, int status) {
  cohort_observe_t *o = server->data;
  if (status < 0 || o->closing) return;
  obs_conn_accept(o, server, OBS_HTTP);
}

int cohort_observe_metrics_listen(cohort_observe_t *o, const char *host_port,
                                  int *port_out, char *err, size_t errcap) {
  struct sockaddr_storage ss;
  if (o->http_on || o->closing) return COHORT_ESTATE;
  if (!host_port || cohort_runtime_parse_addr(host_port, true, &ss) != 0) {
    snprintf(err, errcap, "metrics: bad address '%s' (want IPv4:PORT or [IPv6]:PORT)",
             host_port ? host_port : "");
    return COHORT_EINVAL;
  }
  uv_tcp_init(o->loop, &o->http);
  o->http.data = o;
  o->open_handles++;
  o->http_on = true;
  int rc = uv_tcp_bind(&o->http, (const struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&o->http, 64, http_conn_cb);
  if (rc != 0) {
    snprintf(err, errcap, "metrics: cannot listen on %s: %s", host_port, uv_strerror(rc));
    return COHORT_EIO; /* the handle is closed by cohort_observe_close */
  }
  if (port_out) {
    struct sockaddr_storage b;
    int blen = sizeof b;
    uv_tcp_getsockname(&o->http, (struct sockaddr *)&b, &blen);
    *port_out = ntohs(b.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&b)->sin6_port
                                              : ((struct sockaddr_in *)&b)->sin_port);
  }
  return 0;
}
