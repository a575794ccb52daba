/*
 * cohort/rpc_health.h — the standard gRPC health service
 * (grpc.health.v1.Health, proto/grpc_health_v1.proto) on a cohort RPC
 * server: Check answers a service's serving status (NOT_FOUND for a
 * service never set), Watch streams it — the current status at once, then
 * every change — until the client cancels. The empty service name "" is
 * the server as a whole and starts SERVING.
 *
 * Ownership: the health object is created on a server and must outlive it
 * (free it after cohort_rpc_server_free). Service names are copied.
 * At most COHORT_RPC_HEALTH_SERVICES_MAX services and
 * COHORT_RPC_HEALTH_WATCHERS_MAX open Watch calls (more: RESOURCE_EXHAUSTED).
 */
#ifndef COHORT_RPC_HEALTH_H
#define COHORT_RPC_HEALTH_H

#include "cohort/rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The values of grpc.health.v1.HealthCheckResponse.ServingStatus. */
typedef enum cohort_rpc_health_status {
  COHORT_RPC_HEALTH_UNKNOWN = 0,
  COHORT_RPC_HEALTH_SERVING = 1,
  COHORT_RPC_HEALTH_NOT_SERVING = 2,
  COHORT_RPC_HEALTH_SERVICE_UNKNOWN = 3 /* Watch only: not (yet) known */
} cohort_rpc_health_status_t;

typedef struct cohort_rpc_health cohort_rpc_health_t;

/* Register /grpc.health.v1.Health/Check and /Watch on `srv`. `a` NULL:
 * the default allocator. Errors: those of cohort_rpc_server_register
 * (COHORT_EEXIST if already registered), COHORT_ENOMEM. *out on success. */
int cohort_rpc_health_create(cohort_rpc_server_t *srv, const cohort_allocator_t *a,
                             cohort_rpc_health_t **out);

/* Set `service`'s status (copied; "" for the whole server) and tell its
 * watchers. Errors: COHORT_EINVAL (status out of range, name longer than
 * 255 bytes), COHORT_EFULL (COHORT_RPC_HEALTH_SERVICES_MAX), COHORT_ENOMEM. */
int cohort_rpc_health_set(cohort_rpc_health_t *h, const char *service,
                          cohort_rpc_health_status_t status);

/* Mark every service NOT_SERVING (graceful shutdown: tell load balancers
 * first) and tell the watchers. */
void cohort_rpc_health_shutdown(cohort_rpc_health_t *h);

/* Free; call after cohort_rpc_server_free (watch calls are the server's).
 * Accepts NULL. */
void cohort_rpc_health_free(cohort_rpc_health_t *h);

#ifdef __cplusplus
}
#endif
#endif
