/*
 * src/runtime/control.c — the observer's control socket: a unix stream
 * socket on which a client writes one request line ("status" or
 * "metrics") and reads one reply (the status JSON, or the Prometheus text)
 * before the node closes the connection. `cohort status` is the client.
 *
 * Invariants: the socket file is created mode 0600 (only this user may
 * ask) and removed when the observer closes; a socket file somebody still
 * answers on is never taken over (COHORT_EEXIST); a request is one line of
 * at most COHORT_OBSERVE_REQUEST_MAX bytes; an unknown request gets
 * {"error": ...}, not silence.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "observe_internal.h"

bool obs_control_complete(const obs_conn_t *c) { return memchr(c->req, '\n', c->len) != NULL; }

void obs_control_answer(obs_conn_t *c) {
  size_t n = (size_t)((char *)memchr(c->req, '\n', c->len) - c->req);
  if (n > 0 && c->req[n - 1] == '\r') n--;
  char *text = NULL;
  size_t len = 0;
  int rc;
  if (n == 6 && !memcmp(c->req, "status", 6)) rc = cohort_observe_render_status(c->o, &text, &len);
  else if (n == 7 && !memcmp(c->req, "metrics", 7))
    rc = cohort_observe_render_metrics(c->o, &text, &len);
  else {
    obs_conn_refuse(c, "unknown request (want 'status' or 'metrics')");
    return;
  }
  if (rc != 0) {
    obs_conn_refuse(c, rc == COHORT_EFULL ? "reply too large" : "out of memory");
    return;
  }
  obs_conn_reply(c, text, len);
}

/* Whether a process answers on the socket `path` (a live node). */
static bool socket_alive(const char *path) {
  struct sockaddr_un sa;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  bool alive = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return alive;
}

static void control_conn_cb(uv_stream_t *server, int status) {
  cohort_observe_t *o = server->data;
  if (status < 0 || o->closing) return;
  obs_conn_accept(o, server, OBS_CONTROL);
}

/* An existing file at path: a live socket is refused, a stale socket is
 * removed, anything else is left alone and refused. */
static int clear_stale(const char *path, char *err, size_t errcap) {
  struct stat st;
  if (lstat(path, &st) != 0) return 0;
  if (!S_ISSOCK(st.st_mode)) {
    snprintf(err, errcap, "control: %s exists and is not a socket", path);
    return COHORT_EEXIST;
  }
  if (socket_alive(path)) {
    snprintf(err, errcap, "control: a node already answers on %s", path);
    return COHORT_EEXIST;
  }
  unlink(path);
  return 0;
}

int cohort_observe_control_listen(cohort_observe_t *o, const char *path, char *err,
                                  size_t errcap) {
  if (o->control_on || o->closing) return COHORT_ESTATE;
  if (!path || !*path || strlen(path) >= sizeof o->control_path) {
    snprintf(err, errcap, "control: socket path empty or longer than %zu bytes",
             sizeof o->control_path - 1);
    return COHORT_EINVAL;
  }
  int rc = clear_stale(path, err, errcap);
  if (rc != 0) return rc;
  uv_pipe_init(o->loop, &o->control, 0);
  o->control.data = o;
  o->open_handles++;
  o->control_on = true;
  mode_t old = umask(077); /* the socket is created 0600 */
  rc = uv_pipe_bind(&o->control, path);
  umask(old);
  if (rc == 0) {
    snprintf(o->control_path, sizeof o->control_path, "%s", path);
    rc = uv_listen((uv_stream_t *)&o->control, 16, control_conn_cb);
  }
  if (rc != 0) {
    snprintf(err, errcap, "control: cannot listen on %s: %s", path, uv_strerror(rc));
    return COHORT_EIO;
  }
  return 0;
}

static void server_closed(uv_handle_t *h) { obs_handle_closed(h->data); }

void cohort_observe_close(cohort_observe_t *o, void (*on_closed)(void *ud), void *ud) {
  if (!o || o->closing) return;
  o->closing = true;
  o->on_closed = on_closed;
  o->closed_ud = ud;
  o->open_handles++; /* held while closing, so a sync close cannot free o */
  if (o->http_on) uv_close((uv_handle_t *)&o->http, server_closed);
  if (o->control_on) {
    uv_close((uv_handle_t *)&o->control, server_closed);
    if (o->control_path[0]) unlink(o->control_path);
  }
  for (obs_conn_t *c = o->conns; c; c = c->next) obs_conn_close(c);
  obs_handle_closed(o);
}
