/*
 * tests/core/test_envelope.c — the node's hand-written Envelope codec
 * (src/core/envelope.c) against its reference, the protobuf-c code
 * generated from proto/cohort.proto.
 *
 * (a) Random envelopes: our encoder's bytes equal protobuf-c's pack byte
 *     for byte; each side decodes the other's bytes to the same values.
 * (b) A newer schema (tests/core/envelope_v2.proto: a string, a packed
 *     repeated field and a sub-message we do not know): both decoders skip
 *     the unknown fields and agree on the known ones.
 * (c) Generated wire soup: fields in any order, repeated (last one wins),
 *     unknown fields of every wire type, non-minimal keys and varints,
 *     wrong wire types, invalid wire types, tag 0, bad length prefixes,
 *     then truncation at every length and random byte flips: every input
 *     is accepted by both decoders with equal values or refused by both.
 * (d) Plain random bytes and a few hand-written vectors, same rule.
 * The PRNG is seeded, so a failure replays; the seed is printed with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/core/envelope.h"
#include "cohort.pb-c.h"
#include "envelope_v2.pb-c.h"

#define SOUP_MAX 1024

static uint64_t rng_state = 0x5eed0123456789abULL;

static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return rnd() % n; }

/* A value of random bit length (so 0, small and huge values all occur). */
static uint64_t rnd_value(void) {
  unsigned bits = (unsigned)below(65);
  if (bits == 0) return 0;
  uint64_t v = rnd();
  return bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

/* ---- comparing the two decoders ------------------------------------------ */

static bool bytes_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void assert_same(const cohort_envelope_t *m, const Cohort__Wire__Envelope *r) {
  assert_int_equal(m->version_major, r->version_major);
  assert_int_equal(m->version_minor, r->version_minor);
  assert_true(m->cluster_id == r->cluster_id);
  assert_int_equal(m->sender, r->sender);
  assert_true(m->incarnation == r->incarnation);
  assert_int_equal(m->dest, r->dest);
  assert_int_equal(m->proto, r->proto);
  assert_int_equal(m->kind, r->kind);
  assert_true(m->seq == r->seq);
  assert_true(m->lamport == r->lamport);
  assert_true(bytes_equal(m->vc, m->vc_len, r->vc.data, r->vc.len));
  assert_true(m->hlc_l == r->hlc_l);
  assert_int_equal(m->hlc_c, r->hlc_c);
  assert_true(bytes_equal(m->payload, m->payload_len, r->payload.data, r->payload.len));
  assert_true(m->dest_incarnation == r->dest_incarnation);
  assert_true(m->link_seq == r->link_seq);
  /* Empty bytes are NULL on both sides. */
  assert_true((m->vc == NULL) == (m->vc_len == 0));
  assert_true((m->payload == NULL) == (m->payload_len == 0));
}

static uint64_t cases_accepted, cases_refused;

/* Decode buf with both; both refuse, or both accept with equal values. */
static void check_agree(const uint8_t *buf, size_t len) {
  cohort_envelope_t mine;
  memset(&mine, 0xa5, sizeof mine);
  cohort_envelope_t before = mine;
  int rc = cohort_envelope_decode(buf, len, &mine);
  Cohort__Wire__Envelope *ref = cohort__wire__envelope__unpack(NULL, len, buf);
  if ((rc == 0) != (ref != NULL)) {
    fprintf(stderr, "disagree (ours %d, protobuf-c %s) on %zu bytes:", rc,
            ref ? "accepts" : "refuses", len);
    for (size_t i = 0; i < len; i++) fprintf(stderr, " %02x", buf[i]);
    fprintf(stderr, "\n");
  }
  assert_int_equal(rc == 0, ref != NULL);
  if (ref) {
    assert_same(&mine, ref);
    cases_accepted++;
  } else {
    assert_int_equal(rc, COHORT_EPROTO);
    assert_memory_equal(&mine, &before, sizeof mine); /* untouched on error */
    cases_refused++;
  }
  cohort__wire__envelope__free_unpacked(ref, NULL);
}

/* ---- (a) random envelopes -------------------------------------------------- */

static void random_envelope(cohort_envelope_t *e, uint8_t *vc, uint8_t *payload) {
  e->version_major = (uint32_t)rnd_value();
  e->version_minor = (uint32_t)rnd_value();
  e->cluster_id = rnd_value();
  e->sender = (uint32_t)rnd_value();
  e->incarnation = rnd_value();
  e->dest = (uint32_t)rnd_value();
  e->proto = (uint32_t)rnd_value();
  e->kind = (uint32_t)rnd_value();
  e->seq = rnd_value();
  e->lamport = rnd_value();
  e->hlc_l = (int64_t)rnd_value() * (below(2) ? 1 : -1);
  if (below(50) == 0) e->hlc_l = INT64_MIN;
  e->hlc_c = (uint32_t)rnd_value();
  e->dest_incarnation = rnd_value();
  e->link_seq = rnd_value();
  e->vc_len = below(3) ? 0 : (size_t)below(300);
  e->payload_len = below(4) == 0 ? 0 : (size_t)below(below(8) ? 64 : 1000);
  for (size_t i = 0; i < e->vc_len; i++) vc[i] = (uint8_t)rnd();
  for (size_t i = 0; i < e->payload_len; i++) payload[i] = (uint8_t)rnd();
  e->vc = e->vc_len ? vc : NULL;
  e->payload = e->payload_len ? payload : NULL;
}

static void to_reference(const cohort_envelope_t *e, Cohort__Wire__Envelope *r) {
  cohort__wire__envelope__init(r);
  r->version_major = e->version_major;
  r->version_minor = e->version_minor;
  r->cluster_id = e->cluster_id;
  r->sender = e->sender;
  r->incarnation = e->incarnation;
  r->dest = e->dest;
  r->proto = e->proto;
  r->kind = e->kind;
  r->seq = e->seq;
  r->lamport = e->lamport;
  r->vc.data = (uint8_t *)(uintptr_t)e->vc;
  r->vc.len = e->vc_len;
  r->hlc_l = e->hlc_l;
  r->hlc_c = e->hlc_c;
  r->payload.data = (uint8_t *)(uintptr_t)e->payload;
  r->payload.len = e->payload_len;
  r->dest_incarnation = e->dest_incarnation;
  r->link_seq = e->link_seq;
}

static void test_encode_matches_protobuf_c(void **state) {
  (void)state;
  static uint8_t vc[300], payload[1000], ours[2048], theirs[2048];
  for (int iter = 0; iter < 20000; iter++) {
    cohort_envelope_t e;
    Cohort__Wire__Envelope r;
    random_envelope(&e, vc, payload);
    to_reference(&e, &r);
    size_t max = cohort_envelope_size_max(&e);
    memset(ours, 0xee, sizeof ours);
    size_t n = cohort_envelope_encode(&e, ours);
    assert_true(n <= max);
    assert_int_equal(ours[max], 0xee); /* nothing written past the bound */
    size_t m = cohort__wire__envelope__get_packed_size(&r);
    assert_int_equal(cohort__wire__envelope__pack(&r, theirs), m);
    assert_int_equal(n, m);
    assert_memory_equal(ours, theirs, n);
    /* Our decoder on our bytes gives back e; protobuf-c agrees. */
    cohort_envelope_t back;
    assert_int_equal(cohort_envelope_decode(ours, n, &back), 0);
    assert_same(&back, &r);
    check_agree(ours, n);
  }
}

/* The bound is tight: every scalar field at its widest reaches it (less
 * the four spare bytes of each one-byte length prefix). */
static void test_size_max_is_reached(void **state) {
  (void)state;
  static const uint8_t one[1] = {7};
  cohort_envelope_t e = {.version_major = UINT32_MAX, .version_minor = UINT32_MAX,
                         .cluster_id = UINT64_MAX, .sender = UINT32_MAX,
                         .incarnation = UINT64_MAX, .dest = UINT32_MAX, .proto = UINT32_MAX,
                         .kind = UINT32_MAX, .seq = UINT64_MAX, .lamport = UINT64_MAX,
                         .hlc_l = INT64_MIN, .hlc_c = UINT32_MAX, .vc = one, .vc_len = 1,
                         .payload = one, .payload_len = 1, .dest_incarnation = UINT64_MAX,
                         .link_seq = UINT64_MAX};
  uint8_t out[COHORT_ENVELOPE_OVERHEAD_MAX + 2];
  size_t n = cohort_envelope_encode(&e, out);
  assert_int_equal(n, cohort_envelope_size_max(&e) - 8);
  check_agree(out, n);
}

/* ---- (b) a newer schema ---------------------------------------------------- */

static void test_newer_schema(void **state) {
  (void)state;
  static uint8_t vc[300], payload[1000], buf[4096];
  for (int iter = 0; iter < 5000; iter++) {
    cohort_envelope_t e;
    random_envelope(&e, vc, payload);
    Cohort__Wire__V2__Envelope v = COHORT__WIRE__V2__ENVELOPE__INIT;
    Cohort__Wire__V2__Extra extra = COHORT__WIRE__V2__EXTRA__INIT;
    uint64_t hints[8];
    char region[32];
    v.version_major = e.version_major;
    v.version_minor = e.version_minor;
    v.cluster_id = e.cluster_id;
    v.sender = e.sender;
    v.incarnation = e.incarnation;
    v.dest = e.dest;
    v.proto = e.proto;
    v.kind = e.kind;
    v.seq = e.seq;
    v.lamport = e.lamport;
    v.vc.data = vc;
    v.vc.len = e.vc_len;
    v.hlc_l = e.hlc_l;
    v.hlc_c = e.hlc_c;
    v.payload.data = payload;
    v.payload.len = e.payload_len;
    v.dest_incarnation = e.dest_incarnation;
    v.link_seq = e.link_seq;
    snprintf(region, sizeof region, "region-%u", (unsigned)below(1000));
    v.trace_context = below(2) ? region : (char *)"";
    v.n_hints = (size_t)below(9);
    for (size_t i = 0; i < v.n_hints; i++) hints[i] = rnd_value();
    v.hints = hints;
    extra.region = region;
    extra.weight = (double)rnd_value();
    v.extra = below(2) ? &extra : NULL;
    size_t n = cohort__wire__v2__envelope__pack(&v, buf);
    cohort_envelope_t got;
    assert_int_equal(cohort_envelope_decode(buf, n, &got), 0);
    Cohort__Wire__Envelope r;
    to_reference(&e, &r);
    assert_same(&got, &r); /* the known fields, the unknown ones skipped */
    check_agree(buf, n);
  }
}

/* ---- (c) wire soup ------------------------------------------------------------ */

typedef struct soup {
  uint8_t b[SOUP_MAX];
  size_t len;
} soup_t;

static void put(soup_t *s, uint8_t byte) {
  if (s->len < SOUP_MAX) s->b[s->len++] = byte;
}

/* A varint, sometimes non-minimal (padded with zero groups), rarely one
 * byte too long for protobuf-c (eleven bytes). */
static void put_varint(soup_t *s, uint64_t v, unsigned max_bytes) {
  uint8_t tmp[16];
  unsigned n = 0;
  do {
    tmp[n++] = (uint8_t)(v & 0x7f);
    v >>= 7;
  } while (v);
  if (below(6) == 0) {
    unsigned pad = (unsigned)below(max_bytes + 2);
    while (pad-- && n < max_bytes + 1) tmp[n++] = 0;
  }
  if (below(40) == 0 && n == 10) tmp[9] |= (uint8_t)(below(0x7f) + 1); /* high garbage */
  for (unsigned i = 0; i < n; i++) put(s, (uint8_t)(tmp[i] | (i + 1 < n ? 0x80 : 0)));
}

static void put_key(soup_t *s, uint32_t field, unsigned wire) {
  if (field == 0 && below(2)) { /* tag 0 in one byte: refused */
    put(s, (uint8_t)wire);
    return;
  }
  put_varint(s, (uint64_t)field << 3 | wire, 5);
}

static uint32_t soup_field(void) {
  switch (below(6)) {
  case 0: return (uint32_t)below(20);                 /* around the known ones */
  case 1: return (uint32_t)below(UINT64_C(1) << 29); /* any valid number */
  case 2: return 0;
  default: return 1 + (uint32_t)below(16);           /* a known one */
  }
}

static unsigned expected_wire(uint32_t field) {
  if (field == 3) return 1;
  if (field == 11 || field == 14) return 2;
  return 0;
}

static void put_item(soup_t *s) {
  uint32_t field = soup_field();
  unsigned wire = field >= 1 && field <= 16 && below(8) ? expected_wire(field)
                  : below(10) ? (unsigned[]){0, 1, 2, 5}[below(4)]
                              : (unsigned)below(8);
  put_key(s, field, wire);
  switch (wire) {
  case 0: put_varint(s, rnd_value(), 10); break;
  case 1:
    for (int i = 0; i < 8; i++) put(s, (uint8_t)rnd());
    break;
  case 5:
    for (int i = 0; i < 4; i++) put(s, (uint8_t)rnd());
    break;
  case 2: {
    size_t n = (size_t)below(below(4) ? 12 : 200);
    put_varint(s, below(30) ? n : n + below(20), 5); /* sometimes past the end */
    for (size_t i = 0; i < n; i++) put(s, (uint8_t)rnd());
    break;
  }
  default: /* 3, 4, 6, 7: refused by both */
    if (below(2)) put(s, (uint8_t)rnd());
    break;
  }
}

static void test_wire_soup(void **state) {
  (void)state;
  soup_t s;
  cases_accepted = cases_refused = 0;
  for (int iter = 0; iter < 30000; iter++) {
    s.len = 0;
    unsigned items = (unsigned)below(below(4) ? 20 : 60);
    for (unsigned i = 0; i < items; i++) put_item(&s);
    check_agree(s.b, s.len);
    if (below(3) == 0) /* every truncation of it */
      for (size_t cut = 0; cut < s.len; cut++) check_agree(s.b, cut);
    else if (s.len) check_agree(s.b, (size_t)below(s.len));
    for (int flips = 0; flips < 3 && s.len; flips++) {
      s.b[below(s.len)] ^= (uint8_t)(1u << below(8));
      check_agree(s.b, s.len);
    }
  }
  /* The generator reaches both outcomes often. */
  assert_true(cases_accepted > 10000);
  assert_true(cases_refused > 10000);
}

/* Truncations of valid envelopes, byte by byte. */
static void test_truncated_envelopes(void **state) {
  (void)state;
  static uint8_t vc[300], payload[1000], buf[2048];
  for (int iter = 0; iter < 300; iter++) {
    cohort_envelope_t e;
    random_envelope(&e, vc, payload);
    size_t n = cohort_envelope_encode(&e, buf);
    for (size_t cut = 0; cut <= n; cut++) check_agree(buf, cut);
  }
}

/* ---- (d) random bytes and fixed vectors --------------------------------------- */

static void test_random_bytes(void **state) {
  (void)state;
  uint8_t buf[256];
  /* A small alphabet reaches past the first byte more often. */
  static const uint8_t alphabet[] = {0x00, 0x01, 0x08, 0x0a, 0x19, 0x5a, 0x72, 0x7f,
                                     0x80, 0x81, 0xff, 0x02, 0x05, 0x03, 0x60, 0x10};
  for (int iter = 0; iter < 50000; iter++) {
    size_t n = (size_t)below(sizeof buf);
    bool small = below(2) != 0;
    for (size_t i = 0; i < n; i++)
      buf[i] = small ? alphabet[below(sizeof alphabet)] : (uint8_t)rnd();
    check_agree(buf, n);
  }
}

static void test_vectors(void **state) {
  (void)state;
  static const struct {
    const char *what;
    uint8_t bytes[16];
    size_t len;
    int rc;
  } v[] = {
      {"empty", {0}, 0, 0},
      {"version 1", {0x08, 0x01}, 2, 0},
      {"last one wins", {0x08, 0x01, 0x08, 0x02}, 4, 0},
      {"tag 0 in one byte", {0x00, 0x01}, 2, COHORT_EPROTO},
      {"tag 0 in two bytes: unknown, skipped", {0x80, 0x00, 0x01}, 3, 0},
      {"key of six bytes", {0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}, 7, COHORT_EPROTO},
      {"key of five bytes", {0x88, 0x80, 0x80, 0x80, 0x00, 0x01}, 6, 0},
      {"group start", {0x0b}, 1, COHORT_EPROTO},
      {"wire type 6", {0x7e}, 1, COHORT_EPROTO},
      {"varint for bytes field", {0x58, 0x01}, 2, COHORT_EPROTO},
      {"bytes for varint field", {0x0a, 0x00}, 2, COHORT_EPROTO},
      {"fixed32 for fixed64 field", {0x1d, 1, 2, 3, 4}, 5, COHORT_EPROTO},
      {"eleven-byte varint",
       {0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 12,
       COHORT_EPROTO},
      {"length past the end", {0x72, 0x05, 0x01}, 3, COHORT_EPROTO},
      {"six-byte length prefix", {0x72, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 7, COHORT_EPROTO},
      {"unknown fixed32", {0x8d, 0x01, 1, 2, 3, 4, 0x08, 0x01}, 8, 0},
      {"fixed32 for dest_incarnation", {0x7d, 1, 2, 3, 4}, 5, COHORT_EPROTO},
      {"link_seq (two-byte key)", {0x80, 0x01, 0x05}, 3, 0},
      {"bytes for link_seq", {0x82, 0x01, 0x00}, 3, COHORT_EPROTO},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    cohort_envelope_t e;
    int rc = cohort_envelope_decode(v[i].bytes, v[i].len, &e);
    if (rc != v[i].rc) fprintf(stderr, "vector '%s': %d\n", v[i].what, rc);
    assert_int_equal(rc, v[i].rc);
    check_agree(v[i].bytes, v[i].len);
  }
  cohort_envelope_t e;
  static const uint8_t last[] = {0x08, 0x01, 0x08, 0x02};
  assert_int_equal(cohort_envelope_decode(last, sizeof last, &e), 0);
  assert_int_equal(e.version_major, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_encode_matches_protobuf_c),
      cmocka_unit_test(test_size_max_is_reached),
      cmocka_unit_test(test_newer_schema),
      cmocka_unit_test(test_truncated_envelopes),
      cmocka_unit_test(test_random_bytes),
      cmocka_unit_test(test_wire_soup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
