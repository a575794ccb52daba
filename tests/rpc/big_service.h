/*
 * tests/rpc/big_service.h — a test service that moves large messages in the
 * four call patterns, shared by the large-message tests (cohort client) and
 * the grpcio interop test (grpcio client). Every message carries a pattern
 * derived from its index in the stream (period 251, so a slip at an HTTP/2
 * frame boundary shows), checked on receipt on both sides.
 *
 *   /big.B/Echo  unary            answers the request
 *   /big.B/Fan   server streaming request = count, size (two u32 BE);
 *                                 answers count messages of size bytes
 *   /big.B/Last  client streaming checks each request; answers the last
 *   /big.B/Bidi  bidi             checks each request; answers one of the
 *                                 same size and index for each
 * Sends that meet a full queue wait for on_ready.
 */
#ifndef COHORT_TEST_BIG_SERVICE_H
#define COHORT_TEST_BIG_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cohort/rpc.h"

void big_fill(uint8_t *p, size_t n, uint32_t seed);
bool big_check(const uint8_t *p, size_t n, uint32_t seed);
/* Registers the four methods. Messages it could not check end the call
 * with DATA_LOSS. */
void big_register(cohort_rpc_server_t *srv);
/* Server calls of the service still running (for leak checks). */
int big_active(void);

/* Client side: one call of `path` on `ch` — `count` requests of `size`
 * bytes (Fan: one request asking for `count` responses) — run on `loop`
 * until its status (at most 40 s). Every response is checked; *bad is set
 * on a mismatch or a wrong count. Prints one line per call to stderr. */
cohort_rpc_code_t big_call(struct uv_loop_s *loop, cohort_rpc_channel_t *ch, const char *path,
                           uint32_t count, uint32_t size, bool *bad);
/* The four patterns at `size` (streams of 3), each expected to end with
 * `code` and with intact messages. 0 when all did, -1 otherwise. */
int big_four(struct uv_loop_s *loop, cohort_rpc_channel_t *ch, uint32_t size,
             cohort_rpc_code_t code);
/* The grpc-message of the last big_call's status. */
const char *big_last_status(void);
/* Run `loop` until *flag is non-zero or max_ms pass. */
void big_run_until(struct uv_loop_s *loop, int *flag, int64_t max_ms);

#endif
