/*
 * src/rpc/health.c — grpc.health.v1.Health on a cohort server
 * (cohort/rpc_health.h): a table of service statuses, Check (unary) and
 * Watch (server streaming), messages in the standard wire format
 * (proto/grpc_health_v1.proto via protobuf-c).
 *
 * Invariants: at most COHORT_RPC_HEALTH_SERVICES_MAX services and
 * COHORT_RPC_HEALTH_WATCHERS_MAX watchers; a watcher is sent a status only
 * when it differs from the last one it was sent (a send that meets a full
 * queue is retried from on_ready with the then-current status); a request
 * that does not decode gets INVALID_ARGUMENT, never an assertion; every
 * Watch call is finished exactly once (on cancel).
 */
#include <string.h>

#include "cohort/pbc.h"
#include "cohort/rpc_health.h"
#include "grpc_health_v1.pb-c.h"
#include "internal.h"

#define NAME_MAX_LEN 255

typedef struct hsvc {
  char name[NAME_MAX_LEN + 1];
  cohort_rpc_health_status_t status;
} hsvc_t;

typedef struct watcher {
  cohort_rpc_call_t *call;
  char name[NAME_MAX_LEN + 1];
  int sent; /* last status sent, -1 none */
  bool pending;
} watcher_t;

struct cohort_rpc_health {
  const cohort_allocator_t *a;
  hsvc_t svc[COHORT_RPC_HEALTH_SERVICES_MAX];
  size_t nsvc;
  watcher_t *w[COHORT_RPC_HEALTH_WATCHERS_MAX];
  size_t nw;
};

static hsvc_t *find(cohort_rpc_health_t *h, const char *name) {
  for (size_t i = 0; i < h->nsvc; i++)
    if (!strcmp(h->svc[i].name, name)) return &h->svc[i];
  return NULL;
}

/* Decode HealthCheckRequest.service into name; false if malformed. */
static bool parse_request(cohort_rpc_health_t *h, const uint8_t *d, size_t n,
                          char name[NAME_MAX_LEN + 1]) {
  cohort_pbc_alloc_t pbc;
  int err = 0;
  ProtobufCMessage *m =
      cohort_pbc_unpack(&pbc, h->a, &grpc__health__v1__health_check_request__descriptor, d, n,
                        &err);
  if (!m) return false;
  const Grpc__Health__V1__HealthCheckRequest *r = (const void *)m;
  const char *s = r->service ? r->service : "";
  bool ok = strlen(s) <= NAME_MAX_LEN;
  if (ok) cohort_fmt(name, NAME_MAX_LEN + 1, "%s", s);
  protobuf_c_message_free_unpacked(m, &pbc.base);
  return ok;
}

/* Queue one HealthCheckResponse; the send's error code. */
static int send_status(cohort_rpc_call_t *call, cohort_rpc_health_status_t st) {
  Grpc__Health__V1__HealthCheckResponse r;
  grpc__health__v1__health_check_response__init(&r);
  r.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
  uint8_t buf[8];
  size_t n = grpc__health__v1__health_check_response__pack(&r, buf);
  return cohort_rpc_call_send(call, buf, n);
}

static void check(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  cohort_rpc_health_t *h = ud;
  char name[NAME_MAX_LEN + 1];
  if (!parse_request(h, d, n, name)) {
    cohort_rpc_call_finish(call, COHORT_RPC_INVALID_ARGUMENT, "malformed HealthCheckRequest");
    return;
  }
  hsvc_t *s = find(h, name);
  if (!s) {
    cohort_rpc_call_finish(call, COHORT_RPC_NOT_FOUND, "unknown service");
    return;
  }
  if (send_status(call, s->status) != 0) {
    cohort_rpc_call_finish(call, COHORT_RPC_INTERNAL, "cannot queue the response");
    return;
  }
  cohort_rpc_call_finish(call, COHORT_RPC_OK, NULL);
}

/* Send the watcher its service's status if it changed since the last. */
static void watcher_update(cohort_rpc_health_t *h, watcher_t *w) {
  hsvc_t *s = find(h, w->name);
  cohort_rpc_health_status_t st = s ? s->status : COHORT_RPC_HEALTH_SERVICE_UNKNOWN;
  if ((int)st == w->sent) return;
  int rc = send_status(w->call, st);
  w->pending = rc == COHORT_EFULL;
  if (rc == 0) w->sent = (int)st;
}

static void watch(cohort_rpc_call_t *call, const uint8_t *d, size_t n, void *ud) {
  cohort_rpc_health_t *h = ud;
  char name[NAME_MAX_LEN + 1];
  if (!parse_request(h, d, n, name)) {
    cohort_rpc_call_finish(call, COHORT_RPC_INVALID_ARGUMENT, "malformed HealthCheckRequest");
    return;
  }
  if (h->nw >= COHORT_RPC_HEALTH_WATCHERS_MAX) {
    cohort_rpc_call_finish(call, COHORT_RPC_RESOURCE_EXHAUSTED, "too many health watchers");
    return;
  }
  watcher_t *w = cohort_calloc(h->a, 1, sizeof *w);
  if (!w) {
    cohort_rpc_call_finish(call, COHORT_RPC_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  w->call = call;
  w->sent = -1;
  memcpy(w->name, name, sizeof w->name);
  h->w[h->nw++] = w;
  cohort_rpc_call_set_data(call, w);
  watcher_update(h, w);
}

static void watch_ready(cohort_rpc_call_t *call, void *ud) {
  watcher_t *w = cohort_rpc_call_data(call);
  if (w && w->pending) watcher_update(ud, w);
}

static void watch_cancel(cohort_rpc_call_t *call, cohort_rpc_code_t why, void *ud) {
  cohort_rpc_health_t *h = ud;
  watcher_t *w = cohort_rpc_call_data(call);
  (void)why;
  for (size_t i = 0; w && i < h->nw; i++) {
    if (h->w[i] != w) continue;
    h->w[i] = h->w[--h->nw];
    break;
  }
  cohort_free(h->a, w);
  cohort_rpc_call_finish(call, COHORT_RPC_CANCELLED, NULL);
}

int cohort_rpc_health_create(cohort_rpc_server_t *srv, const cohort_allocator_t *a,
                             cohort_rpc_health_t **out) {
  if (!a) a = cohort_allocator_default();
  cohort_rpc_health_t *h = cohort_calloc(a, 1, sizeof *h);
  if (!h) return COHORT_ENOMEM;
  h->a = a;
  h->svc[0].status = COHORT_RPC_HEALTH_SERVING; /* "": the server as a whole */
  h->nsvc = 1;
  cohort_rpc_handler_t hc = {.kind = COHORT_RPC_UNARY, .on_request = check, .ud = h};
  cohort_rpc_handler_t hw = {.kind = COHORT_RPC_SERVER_STREAMING, .on_request = watch,
                             .on_ready = watch_ready, .on_cancel = watch_cancel, .ud = h};
  static const char check_path[] = "/grpc.health.v1.Health/Check";
  static const char watch_path[] = "/grpc.health.v1.Health/Watch";
  int rc = 0;
  if (rpc_server_lookup(srv, (const uint8_t *)check_path, sizeof check_path - 1) ||
      rpc_server_lookup(srv, (const uint8_t *)watch_path, sizeof watch_path - 1))
    rc = COHORT_EEXIST;
  if (!rc) rc = cohort_rpc_server_register(srv, check_path, &hc);
  if (rc) {
    cohort_free(a, h);
    return rc;
  }
  rc = cohort_rpc_server_register(srv, watch_path, &hw);
  if (rc) return rc; /* out of memory or methods: h stays, Check uses it (a small leak) */
  *out = h;
  return 0;
}

int cohort_rpc_health_set(cohort_rpc_health_t *h, const char *service,
                          cohort_rpc_health_status_t status) {
  if (!service || strlen(service) > NAME_MAX_LEN || (unsigned)status > 3) return COHORT_EINVAL;
  hsvc_t *s = find(h, service);
  if (!s) {
    if (h->nsvc >= COHORT_RPC_HEALTH_SERVICES_MAX) return COHORT_EFULL;
    s = &h->svc[h->nsvc++];
    cohort_fmt(s->name, sizeof s->name, "%s", service);
  }
  s->status = status;
  for (size_t i = 0; i < h->nw; i++)
    if (!strcmp(h->w[i]->name, service)) watcher_update(h, h->w[i]);
  return 0;
}

void cohort_rpc_health_shutdown(cohort_rpc_health_t *h) {
  for (size_t i = 0; i < h->nsvc; i++) h->svc[i].status = COHORT_RPC_HEALTH_NOT_SERVING;
  for (size_t i = 0; i < h->nw; i++) watcher_update(h, h->w[i]);
}

void cohort_rpc_health_free(cohort_rpc_health_t *h) {
  if (!h) return;
  for (size_t i = 0; i < h->nw; i++) cohort_free(h->a, h->w[i]);
  cohort_free(h->a, h);
}
