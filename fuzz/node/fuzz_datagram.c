/*
 * fuzz/node/fuzz_datagram.c — libFuzzer target for everything a node does
 * with bytes from the network: header, tag check, protobuf-c decode,
 * admission, clock checks, vector clock decode, dispatch. The input's first
 * byte picks an unkeyed or keyed node (keyed nodes mostly exercise the
 * refusal path); the rest is the datagram. Any crash, leak or UB is a bug.
 */
#include <stddef.h>
#include <stdint.h>

#include "cohort/node.h"

static int64_t f_now(void *h) { (void)h; return 1000; }
static int64_t f_wall(void *h) { (void)h; return INT64_C(1700000000000000000); }
static uint64_t f_random(void *h) { (void)h; return 4; }
static int f_send(void *h, cohort_node_id_t to, const uint8_t *b, size_t len) {
  (void)h, (void)to, (void)b, (void)len;
  return 0;
}
static void f_wake(void *h, int64_t d) { (void)h, (void)d; }
static void f_trace(void *h, const char *line, size_t len) { (void)h, (void)line, (void)len; }

static const cohort_host_ops_t ops = {f_now, f_wall, f_wall, f_random, f_send, f_wake, f_trace};

static int sink_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  (void)p;
  return m->payload_len == 3 ? COHORT_EPROTO : 0; /* exercise both paths */
}
static const cohort_proto_ops_t sink_ops = {.name = "sink", .proto_id = COHORT_PROTO_APP,
                                            .recv = sink_recv};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const uint8_t key[] = "fuzzing-cluster-key";
  cohort_node_id_t peers[] = {1, 3};
  cohort_node_config_t cfg = {.cluster_id = 42, .id = 2, .incarnation = 1, .peers = peers,
                              .peers_len = 2, .vector_clock = (data[0] & 2) != 0};
  if (data[0] & 1) cfg.key = key, cfg.key_len = sizeof key - 1;
  cohort_node_t *n;
  if (cohort_node_new(&cfg, &ops, NULL, &n)) return 0;
  cohort_proto_t sink = {.ops = &sink_ops};
  if (cohort_node_attach(n, &sink) == 0) {
    cohort_node_start(n);
    (void)cohort_node_on_datagram(n, data + 1, size - 1);
    (void)cohort_node_on_datagram(n, data + 1, size - 1); /* again: state after */
  }
  cohort_node_free(n);
  return 0;
}
