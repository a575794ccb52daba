/*
 * src/group/group_wire.c — the group's wire codec: little-endian fixed
 * fields with explicit lengths, every read bounds-checked (a short or
 * lying datagram sets err and reads zeros, never past the end). The
 * format is in docs/group.md ("Wire format"); it is hand-written rather
 * than protobuf because DATA and ACK are on the hot path of every
 * multicast and carry five fixed fields.
 */
#include <string.h>

#include "group_internal.h"

static uint8_t *room(gw_t *w, size_t n) {
  if (w->err || w->cap - w->len < n) {
    w->err = true;
    return NULL;
  }
  uint8_t *p = w->p + w->len;
  w->len += n;
  return p;
}

void gw_u8(gw_t *w, uint8_t v) {
  uint8_t *p = room(w, 1);
  if (p) p[0] = v;
}
void gw_u16(gw_t *w, uint16_t v) {
  uint8_t *p = room(w, 2);
  if (p) p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}
void gw_u32(gw_t *w, uint32_t v) {
  uint8_t *p = room(w, 4);
  for (int i = 0; p && i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
void gw_u64(gw_t *w, uint64_t v) {
  uint8_t *p = room(w, 8);
  for (int i = 0; p && i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
void gw_f64(gw_t *w, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  gw_u64(w, u);
}
void gw_bytes(gw_t *w, const void *b, size_t n) {
  uint8_t *p = room(w, n);
  if (p && n) memcpy(p, b, n);
}

static const uint8_t *take(gr_t *r, size_t n) {
  if (r->err || r->len - r->pos < n) {
    r->err = true;
    return NULL;
  }
  const uint8_t *p = r->p + r->pos;
  r->pos += n;
  return p;
}

uint8_t gr_u8(gr_t *r) {
  const uint8_t *p = take(r, 1);
  return p ? p[0] : 0;
}
uint16_t gr_u16(gr_t *r) {
  const uint8_t *p = take(r, 2);
  if (!p) return 0; /* a conditional would promote to int (-Wconversion under UBSan) */
  return (uint16_t)(p[0] | p[1] << 8);
}
uint32_t gr_u32(gr_t *r) {
  const uint8_t *p = take(r, 4);
  uint32_t v = 0;
  for (int i = 0; p && i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}
uint64_t gr_u64(gr_t *r) {
  const uint8_t *p = take(r, 8);
  uint64_t v = 0;
  for (int i = 0; p && i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}
double gr_f64(gr_t *r) {
  uint64_t u = gr_u64(r);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}
const uint8_t *gr_bytes(gr_t *r, size_t n) { return take(r, n); }

void gw_vid(gw_t *w, cohort_group_view_id_t v) {
  gw_u64(w, v.epoch);
  gw_u32(w, v.coord);
  gw_u64(w, v.coord_inc);
}
cohort_group_view_id_t gr_vid(gr_t *r) {
  cohort_group_view_id_t v;
  v.epoch = gr_u64(r);
  v.coord = gr_u32(r);
  v.coord_inc = gr_u64(r);
  return v;
}

/* A member list entry: id, inc (and, in views, the address). */
static bool read_members(gr_t *r, size_t *n, cohort_group_member_t *mem, uint8_t *alen,
                         const uint8_t **addr) {
  *n = gr_u16(r);
  if (*n > COHORT_GROUP_MEMBERS_MAX) return false;
  for (size_t i = 0; i < *n && !r->err; i++) {
    mem[i].id = gr_u32(r);
    mem[i].inc = gr_u64(r);
    if (mem[i].id == COHORT_NODE_NONE || mem[i].inc == 0) return false;
    if (alen) {
      alen[i] = gr_u8(r);
      if (alen[i] > COHORT_PEER_ADDR_MAX) return false;
      addr[i] = gr_bytes(r, alen[i]);
    }
  }
  return !r->err;
}

/* SYNC / COMMIT / BOUND body:
 *   att u32, pcoord u32, vid, from_vid, primary u8, lp_epoch u64,
 *   members u16 [id u32, inc u64, alen u8, addr], lp u16 [id u32, inc u64],
 *   merged u8 [vid], failed u16 [id, inc], left u16 [id, inc],
 *   cut u16 [id u32, inc u64, cut u64, holder u32] */
int group_sync_decode(const uint8_t *b, size_t len, gsync_t *s) {
  gr_t r = {.p = b, .len = len};
  s->att = gr_u32(&r);
  s->pcoord = gr_u32(&r);
  s->vid = gr_vid(&r);
  s->from_vid = gr_vid(&r);
  s->primary = gr_u8(&r) != 0;
  s->lp_epoch = gr_u64(&r);
  if (!read_members(&r, &s->n, s->mem, s->addr_len, s->addr) || s->n == 0)
    return COHORT_EPROTO;
  s->lp_n = gr_u16(&r);
  if (s->lp_n > COHORT_GROUP_MEMBERS_MAX) return COHORT_EPROTO;
  for (size_t i = 0; i < s->lp_n; i++) {
    s->lp[i].id = gr_u32(&r);
    s->lp[i].inc = gr_u64(&r);
  }
  s->merged_n = gr_u8(&r);
  if (s->merged_n > 2) return COHORT_EPROTO;
  for (size_t i = 0; i < s->merged_n; i++) s->merged[i] = gr_vid(&r);
  if (!read_members(&r, &s->failed_n, s->failed, NULL, NULL) ||
      !read_members(&r, &s->left_n, s->left, NULL, NULL))
    return COHORT_EPROTO;
  s->cut_n = gr_u16(&r);
  if (s->cut_n > COHORT_GROUP_MEMBERS_MAX) return COHORT_EPROTO;
  for (size_t i = 0; i < s->cut_n; i++) {
    s->cut_mem[i].id = gr_u32(&r);
    s->cut_mem[i].inc = gr_u64(&r);
    s->cut[i] = gr_u64(&r);
    s->holder[i] = gr_u32(&r);
  }
  s->ostable = gr_u64(&r);
  s->tail_decides = gr_u8(&r) != 0;
  if (r.err || r.pos != r.len || s->vid.epoch == 0 || s->vid.epoch > COHORT_COUNTER_REMOTE_MAX ||
      s->vid.coord != s->mem[0].id || s->vid.coord_inc != s->mem[0].inc)
    return COHORT_EPROTO;
  return 0;
}
