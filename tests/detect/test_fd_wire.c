/*
 * tests/detect/test_fd_wire.c — the failure detector's allocation-free
 * decoder (src/detect/fd_wire.c) against its reference, protobuf-c's
 * generated code for proto/detect.proto: on random valid messages, their
 * truncations, random byte strings built from protobuf's pieces (keys of
 * every wire type, overlong varints, bad lengths, unknown and repeated
 * fields) and hand-picked edge cases, both must accept the same bytes and
 * read the same values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cohort/prng.h"
#include "detect.pb-c.h"
#include "fd_wire.h"

typedef enum { HEARTBEAT, PING, PONG } which_t;
static const unsigned n_fields[3] = {4, 2, 3};

/* protobuf-c's verdict: 0 and the fields, or -1. */
static int reference(which_t w, const uint8_t *b, size_t len, uint64_t f[4]) {
  memset(f, 0, 4 * sizeof *f);
  switch (w) {
  case HEARTBEAT: {
    Cohort__Detect__Heartbeat *m = cohort__detect__heartbeat__unpack(NULL, len, b);
    if (!m) return -1;
    f[0] = m->seq, f[1] = (uint64_t)m->sent_mono_ns, f[2] = (uint64_t)m->sent_wall_ns;
    f[3] = m->interval_ns;
    cohort__detect__heartbeat__free_unpacked(m, NULL);
    return 0;
  }
  case PING: {
    Cohort__Detect__Ping *m = cohort__detect__ping__unpack(NULL, len, b);
    if (!m) return -1;
    f[0] = m->seq, f[1] = (uint64_t)m->sent_mono_ns;
    cohort__detect__ping__free_unpacked(m, NULL);
    return 0;
  }
  default: {
    Cohort__Detect__Pong *m = cohort__detect__pong__unpack(NULL, len, b);
    if (!m) return -1;
    f[0] = m->seq, f[1] = (uint64_t)m->ping_sent_mono_ns, f[2] = (uint64_t)m->sent_wall_ns;
    cohort__detect__pong__free_unpacked(m, NULL);
    return 0;
  }
  }
}

static unsigned long compared, accepted;

/* Both decoders on the same bytes: same verdict, same values. */
static void same(which_t w, const uint8_t *b, size_t len) {
  uint64_t want[4], got[4];
  int r = reference(w, b, len, want);
  int g = cohort_fd_wire_decode(b, len, n_fields[w], got);
  compared++;
  if ((r == 0) != (g == 0)) {
    char hex[512] = "";
    for (size_t i = 0; i < len && i < 100; i++) snprintf(hex + 3 * i, 4, "%02x ", b[i]);
    fail_msg("message %d, %zu bytes [%s]: protobuf-c %s, fd_wire %s", (int)w, len, hex,
             r == 0 ? "accepts" : "refuses", g == 0 ? "accepts" : "refuses");
  }
  if (r != 0) return;
  accepted++;
  assert_int_equal(got[0], want[0]);
  /* sint64 fields: fd_wire returns the raw zigzag varint. */
  for (unsigned k = 1; k < n_fields[w]; k++) {
    bool is_sint = !(w == HEARTBEAT && k == 3);
    uint64_t v = is_sint ? (uint64_t)cohort_fd_wire_sint(got[k]) : got[k];
    assert_int_equal(v, want[k]);
  }
}

static uint64_t rnd(uint64_t *s) { return cohort_splitmix64_next(s); }

/* A value with a random bit length (small and huge ones both common). */
static uint64_t rnd_value(uint64_t *s) {
  uint64_t r = rnd(s);
  unsigned bits = (unsigned)(r % 65);
  return bits == 64 ? rnd(s) : rnd(s) & ((UINT64_C(1) << bits) - 1);
}

static size_t pack(which_t w, uint64_t *s, uint8_t *out) {
  switch (w) {
  case HEARTBEAT: {
    Cohort__Detect__Heartbeat m = COHORT__DETECT__HEARTBEAT__INIT;
    m.seq = rnd_value(s), m.sent_mono_ns = (int64_t)rnd_value(s);
    m.sent_wall_ns = -(int64_t)rnd_value(s), m.interval_ns = rnd_value(s);
    return cohort__detect__heartbeat__pack(&m, out);
  }
  case PING: {
    Cohort__Detect__Ping m = COHORT__DETECT__PING__INIT;
    m.seq = rnd_value(s), m.sent_mono_ns = (int64_t)rnd_value(s);
    return cohort__detect__ping__pack(&m, out);
  }
  default: {
    Cohort__Detect__Pong m = COHORT__DETECT__PONG__INIT;
    m.seq = rnd_value(s), m.ping_sent_mono_ns = -(int64_t)rnd_value(s);
    m.sent_wall_ns = (int64_t)rnd_value(s);
    return cohort__detect__pong__pack(&m, out);
  }
  }
}

static void test_valid_and_truncated(void **state) {
  (void)state;
  uint64_t s = 1;
  uint8_t b[128];
  for (int i = 0; i < 30000; i++) {
    which_t w = (which_t)(i % 3);
    size_t len = pack(w, &s, b);
    same(w, b, len);
    same(w, b, rnd(&s) % (len + 1)); /* a truncation */
  }
}

static size_t put_varint(uint8_t *p, uint64_t v, unsigned pad) {
  size_t n = 0;
  while (v >= 0x80 || pad > 0) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
    if (v == 0 && pad > 0) pad--;
  }
  p[n++] = (uint8_t)v;
  return n;
}

/* Random strings of protobuf pieces: fields 0..6 and large ones, every
 * wire type, overlong encodings, lengths past the end. */
static void test_random_pieces(void **state) {
  (void)state;
  uint64_t s = 99;
  uint8_t b[256];
  for (int i = 0; i < 200000; i++) {
    size_t len = 0;
    unsigned pieces = (unsigned)(rnd(&s) % 6);
    for (unsigned k = 0; k < pieces && len < 200; k++) {
      uint64_t r = rnd(&s);
      uint64_t field = r % 8 < 6 ? r % 7 : (r >> 8) & 0xffffffffu;
      unsigned wire = (r >> 40) % 4 == 0 ? (unsigned)((r >> 44) % 8) : 0;
      len += put_varint(b + len, field << 3 | wire, (unsigned)((r >> 48) % 8 == 0));
      uint64_t v = rnd_value(&s);
      switch (wire) {
      case 0: len += put_varint(b + len, v, (unsigned)((r >> 52) % 12 == 0 ? 4 : 0)); break;
      case 2: {
        size_t n = (size_t)(v % 9);
        len += put_varint(b + len, n + ((r >> 56) % 10 == 0), 0);
        for (size_t j = 0; j < n; j++) b[len++] = (uint8_t)rnd(&s);
        break;
      }
      case 1: case 5: {
        size_t n = wire == 1 ? 8 : 4;
        for (size_t j = 0; j < n; j++) b[len++] = (uint8_t)rnd(&s);
        break;
      }
      default: break;
      }
    }
    if (rnd(&s) % 4 == 0 && len > 0) len = rnd(&s) % len;
    same((which_t)(i % 3), b, len);
    if (rnd(&s) % 8 == 0) b[rnd(&s) % (len + 1)] ^= (uint8_t)rnd(&s); /* a flipped byte */
    same((which_t)(i % 3), b, len);
  }
  /* The decoders must disagree nowhere, and the generator must reach
   * both verdicts often. */
  assert_true(accepted > compared / 10 && accepted < compared * 9 / 10);
}

static void test_edges(void **state) {
  (void)state;
  static const struct {
    uint8_t b[16];
    size_t len;
  } cases[] = {
      {{0x08, 0x01}, 2},                               /* seq = 1 */
      {{0x08, 0x01, 0x08, 0x05}, 4},                   /* last wins */
      {{0x00, 0x01}, 2},                               /* field 0, one byte */
      {{0x80, 0x00, 0x01}, 3},                         /* field 0, two bytes */
      {{0x88, 0x80, 0x80, 0x80, 0x00, 0x01}, 6},       /* 5-byte key */
      {{0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}, 7}, /* 6-byte key */
      {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 11}, /* 10 bytes */
      {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12},
      {{0x09, 1, 2, 3, 4, 5, 6, 7, 8}, 9},             /* seq as fixed64 */
      {{0x0a, 0x00}, 2},                               /* seq as bytes */
      {{0x2a, 0x02, 0x01, 0x02}, 4},                   /* unknown bytes (field 5) */
      {{0x2d, 1, 2, 3, 4}, 5},                         /* unknown fixed32 */
      {{0x29, 1, 2, 3, 4, 5, 6, 7, 8}, 9},             /* unknown fixed64 */
      {{0x2b, 0x2c}, 2},                               /* a group */
      {{0x2e, 0x00}, 2},                               /* wire type 6 */
      {{0x2a, 0x80, 0x80, 0x80, 0x80, 0x08}, 6},       /* length > INT_MAX */
      {{0x2a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 7}, /* 6-byte length */
      {{0x2a, 0x05, 0x01}, 3},                         /* length past the end */
      {{0x08}, 1},                                     /* key, no value */
      {{0x08, 0x80}, 2},                               /* unterminated varint */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int w = 0; w < 3; w++) same((which_t)w, cases[i].b, cases[i].len);
  same(PING, NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_and_truncated),
      cmocka_unit_test(test_random_pieces),
      cmocka_unit_test(test_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
