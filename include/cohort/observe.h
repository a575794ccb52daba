/*
 * cohort/observe.h — looking at a running runtime node: Prometheus metrics
 * over HTTP (`/metrics`, text exposition format 0.0.4) and a status
 * document over a local control socket (what `cohort status` asks).
 *
 * An observer reads its node when asked, never in between: the node's and
 * the runtime's counters, and the protocols attached under the well-known
 * ids (COHORT_PROTO_FD: φ and last-heard per peer; COHORT_PROTO_ELECTION:
 * leader and epoch; COHORT_PROTO_MUTEX: lock state and fencing tokens;
 * COHORT_PROTO_TIMESYNC: cluster clock offset and error bound), found with
 * cohort_node_proto(), so protocols need no change to be observed. Extra
 * figures (an RPC server's, an application's) come from sources added with
 * cohort_observe_add_source().
 *
 * Invariants: what a client can make the node hold is bounded by
 * COHORT_OBSERVE_CLIENTS_MAX connections, COHORT_OBSERVE_REQUEST_MAX bytes
 * of request and one reply of at most COHORT_OBSERVE_REPLY_MAX bytes each,
 * and a client silent or not reading for COHORT_OBSERVE_IDLE_MS is closed;
 * a bad request gets an error reply (HTTP 400/404/405/431, or a JSON
 * "error" member), never a crash. The observer never prints.
 *
 * Lifecycle: cohort_observe_new → _metrics_listen and/or _control_listen →
 * run the loop → cohort_observe_close (asynchronous: on_closed runs from
 * the loop once every handle is closed) before the runtime is freed.
 */
#ifndef COHORT_OBSERVE_H
#define COHORT_OBSERVE_H

#include <stddef.h>

#include "cohort/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cohort_observe cohort_observe_t;

/* Writer given to sources: appends to the reply being rendered. */
typedef struct cohort_observe_out cohort_observe_out_t;

/* Observe `rn` (borrowed: must outlive the observer) on `loop` (borrowed).
 * alloc NULL = default. Returns 0 or COHORT_ENOMEM; *out only on success. */
int cohort_observe_new(uv_loop_t *loop, cohort_runtime_node_t *rn,
                       const cohort_allocator_t *alloc, cohort_observe_t **out);

/* Serve GET /metrics on "host:port" (port 0: any free port, written to
 * *port_out when non-NULL). Returns 0, COHORT_EINVAL (bad address),
 * COHORT_ESTATE (already listening) or COHORT_EIO with a message. */
int cohort_observe_metrics_listen(cohort_observe_t *o, const char *host_port,
                                  int *port_out, char *err, size_t errcap);

/* Serve status requests on the unix socket `path` (created mode 0600; a
 * stale socket nobody answers on is replaced; a live one is COHORT_EEXIST).
 * Returns 0, COHORT_EINVAL (path too long), COHORT_EEXIST, COHORT_ESTATE
 * or COHORT_EIO with a message. The socket file is removed at close. */
int cohort_observe_control_listen(cohort_observe_t *o, const char *path,
                                  char *err, size_t errcap);

/* A source of extra metric families, called on every scrape after the
 * built-in ones: write them with cohort_observe_family / _sample. At most
 * COHORT_OBSERVE_SOURCES_MAX sources; COHORT_EFULL beyond. */
#define COHORT_OBSERVE_SOURCES_MAX 8
typedef void (*cohort_observe_source_fn)(cohort_observe_out_t *out, void *ud);
int cohort_observe_add_source(cohort_observe_t *o, cohort_observe_source_fn fn, void *ud);

/* For sources: start a family (`name` [a-zA-Z_:][a-zA-Z0-9_:]*, `type`
 * "counter" / "gauge" / "untyped", `help` one line), then its samples.
 * `labels` is NULL or "key=value,key=value" (values escaped here); a bad
 * name or label is skipped and counted in cohort_observe_errors(). */
void cohort_observe_family(cohort_observe_out_t *out, const char *name, const char *type,
                           const char *help);
void cohort_observe_sample(cohort_observe_out_t *out, const char *name, const char *labels,
                           double value);

/* Render now, as a scrape or a status request would (for tests and for
 * embedding): the Prometheus text or the status JSON, NUL-terminated, in a
 * buffer the caller frees with cohort_free(alloc, *text). Returns 0,
 * COHORT_ENOMEM or COHORT_EFULL (over COHORT_OBSERVE_REPLY_MAX). */
int cohort_observe_render_metrics(cohort_observe_t *o, char **text, size_t *len);
int cohort_observe_render_status(cohort_observe_t *o, char **text, size_t *len);

/* Requests refused (bad, oversized, too many clients, idle) and samples
 * skipped for a bad name since the observer was made. */
uint64_t cohort_observe_errors(const cohort_observe_t *o);

/* Stop listening, close every client, remove the control socket, free the
 * observer, then call on_closed(ud) (may be NULL): from the loop once the
 * handles are closed, or before returning if none was open. Accepts NULL
 * (on_closed is then not called). The runtime node must outlive this. */
void cohort_observe_close(cohort_observe_t *o, void (*on_closed)(void *ud), void *ud);

#ifdef __cplusplus
}
#endif
#endif
