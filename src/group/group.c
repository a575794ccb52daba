/*
 * src/group/group.c — group membership: views, joins, exclusion, the
 * flush / collect / commit view change with promises, coordinator
 * takeover, primary component and merge (include/cohort/group.h has the
 * protocol; docs/group.md the reasoning and the wire format).
 *
 * Roles are per view change: the coordinator (the first member in rank
 * that this process does not suspect) proposes; every survivor answers.
 * A proposal is (attempt, coordinator); a survivor answers only a
 * proposal newer than every one it answered, and once it sent FLUSH_OK
 * (the promise) it hands that proposal's SYNC to any other proposer
 * (BOUND), who then completes it instead of its own.
 */
#include <stdarg.h>
#include <string.h>

#include "group_internal.h"

enum { T_TICK = 1 };

/* ---- small helpers --------------------------------------------------------- */

size_t group_index(const cohort_group_t *g, cohort_node_id_t id) {
  for (size_t i = 0; i < g->n; i++)
    if (g->mem[i].id == id) return i;
  return SIZE_MAX;
}

static int64_t now_of(cohort_group_t *g) { return cohort_node_now(g->node); }
static cohort_node_id_t self_id(const cohort_group_t *g) { return cohort_node_id(g->node); }
static cohort_incarnation_t self_inc(const cohort_group_t *g) {
  return cohort_node_incarnation(g->node);
}

int group_send(cohort_group_t *g, cohort_node_id_t to, cohort_incarnation_t inc, uint32_t kind,
               const gw_t *w) {
  if (w->err) return COHORT_EINVAL;
  if (to == self_id(g)) return 0;
  if (kind == GK_DATA || kind == GK_ACK || kind == GK_STABLE) {
  } else {
    g->stats.tx_control++;
  }
  return cohort_node_send_to(g->node, &g->proto, to, inc ? inc : 0, kind, w->p, w->len);
}

void group_trace(cohort_group_t *g, const char *what, const char *fmt, ...) {
  if (!cohort_node_tracing(g->node)) return;
  va_list ap;
  va_start(ap, fmt);
  int n = cohort_vfmt(g->tbuf, g->tbuf_cap, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= g->tbuf_cap) return; /* bounded: tbuf fits the largest view */
  cohort_node_trace_state(g->node, &g->proto, what, g->tbuf);
}

/* "E.C.I" into b. */
static const char *vid_str(cohort_group_view_id_t v, char *b, size_t cap) {
  cohort_fmt(b, cap, "%llu.%u.%llu", (unsigned long long)v.epoch, v.coord,
           (unsigned long long)v.coord_inc);
  return b;
}

static int64_t now_ms_of(int64_t ns) { return ns / COHORT_NS_PER_MS; }

static uint32_t votes_of(const cohort_group_t *g, cohort_node_id_t id) {
  for (size_t i = 0; i < g->cfg.votes_len; i++)
    if (g->vote_nodes[i] == id) return g->votes[i];
  return 1;
}

static bool suspected(cohort_group_t *g, cohort_node_id_t id) {
  return id != self_id(g) && g->fd && cohort_fd_is_suspected(g->fd, id);
}

/* Suspected as this incarnation: the detector watches node ids, so a
 * suspicion left over from a member's previous incarnation does not count
 * until the new one had time to be heard (two flush timeouts). */
static bool member_suspected(cohort_group_t *g, const gmem_t *m) {
  if (!suspected(g, m->id)) return false;
  cohort_fd_peer_info_t info;
  if (cohort_fd_peer_info(g->fd, m->id, &info)) return false;
  if (info.incarnation >= m->inc) return true;
  return now_of(g) - m->since_ns >= 2 * g->cfg.flush_timeout_ns;
}

/* Members the coordinator will leave out of the next view. */
static bool must_go(cohort_group_t *g, const gmem_t *m) {
  return m->failed || m->leaving || member_suspected(g, m);
}

/* The coordinator by rank: the first member neither gone nor suspected. */
static size_t rank_coordinator(cohort_group_t *g) {
  for (size_t i = 0; i < g->n; i++) {
    if (i == g->self) return i;
    if (!must_go(g, &g->mem[i])) return i;
  }
  return g->self;
}

static bool am_coordinator(cohort_group_t *g) {
  return g->in_view && rank_coordinator(g) == g->self && !g->leaving;
}

static void free_pcomp(cohort_group_t *g, pcomp_t *c) {
  cohort_free(g->alloc, c->mem);
  cohort_free(g->alloc, c->cut);
  cohort_free(g->alloc, c->holder);
  cohort_free(g->alloc, c->lp);
  cohort_free(g->alloc, c->sync);
  memset(c, 0, sizeof *c);
}

static void free_proposal(cohort_group_t *g) {
  for (size_t i = 0; i < g->pn; i++) cohort_free(g->alloc, g->pm[i].have);
  cohort_free(g->alloc, g->pm);
  g->pm = NULL;
  g->pn = 0;
  for (size_t i = 0; i < g->ncomp; i++) free_pcomp(g, &g->comp[i]);
  g->ncomp = 0;
  g->proposing = false;
  g->p_phase = 0;
  cohort_free(g->alloc, g->p_held);
  g->p_held = NULL;
  g->p_held_len = 0;
}

static void free_view(cohort_group_t *g) {
  for (size_t i = 0; i < g->n; i++) group_ring_free(g, &g->mem[i]);
  cohort_free(g->alloc, g->mem);
  g->mem = NULL;
  g->n = 0;
  g->in_view = false;
  cohort_free(g->alloc, g->cut);
  cohort_free(g->alloc, g->holder);
  g->cut = NULL;
  g->holder = NULL;
}

static void clear_bound(cohort_group_t *g) {
  cohort_free(g->alloc, g->bound_buf);
  g->bound_buf = NULL;
  g->bound_len = 0;
  g->bound = false;
  g->bound_committed = false;
  g->synced = false;
}

/* ---- joining --------------------------------------------------------------- */

static void start_joining(cohort_group_t *g) {
  g->status = COHORT_GROUP_JOINING;
  g->join_started_ns = now_of(g);
  g->join_next_ns = g->join_started_ns;
  group_trace(g, "joining", "{\"founder\":%s}", g->founder == self_id(g) ? "true" : "false");
}

static void send_joins(cohort_group_t *g) {
  size_t nc;
  const cohort_contact_t *c = cohort_node_contacts(g->node, &nc);
  gw_t w = group_writer(g);
  gw_u64(&w, self_inc(g));
  for (size_t k = 0; k < nc && k < 2; k++) { /* two contacts per round, round robin */
    const cohort_contact_t *ct = &c[(g->join_contact + k) % nc];
    (void)cohort_node_send_addr(g->node, &g->proto, ct->addr, ct->len, GK_JOIN, w.p, w.len);
    g->stats.tx_control++;
  }
  if (nc) g->join_contact = (g->join_contact + 2) % nc;
}

/* Install a view of one: the founder. */
static void install_view(cohort_group_t *g, const gsync_t *s, bool joiner, const uint8_t *body,
                         size_t len);

static bool quorum(cohort_group_t *g, const cohort_group_member_t *ids, size_t n,
                   const cohort_group_member_t *lp, size_t lp_n);

static void found_group(cohort_group_t *g) {
  gsync_t *s = g->sx;
  memset(s, 0, offsetof(gsync_t, mem));
  s->vid = (cohort_group_view_id_t){1, self_id(g), self_inc(g)};
  s->n = 1;
  s->mem[0] = (cohort_group_member_t){self_id(g), self_inc(g)};
  s->addr_len[0] = 0;
  s->primary = quorum(g, &s->mem[0], 1, NULL, 0);
  s->lp_epoch = 0;
  s->lp_n = 0;
  install_view(g, s, false, NULL, 0);
}

/* ---- installing a view ------------------------------------------------------ */

static bool in_list(const cohort_group_member_t *l, size_t n, cohort_node_id_t id,
                    cohort_incarnation_t inc) {
  for (size_t i = 0; i < n; i++)
    if (l[i].id == id && (!inc || l[i].inc == inc)) return true;
  return false;
}

static size_t fmt_members(char *b, size_t cap, const cohort_group_member_t *m, size_t n) {
  size_t pos = 0;
  pos += (size_t)cohort_fmt(b + pos, cap > pos ? cap - pos : 0, "[");
  for (size_t i = 0; i < n && pos < cap; i++)
    pos += (size_t)cohort_fmt(b + pos, cap - pos, "%s[%u,%llu]", i ? "," : "", m[i].id,
                            (unsigned long long)m[i].inc);
  pos += (size_t)cohort_fmt(b + pos, cap > pos ? cap - pos : 0, "]");
  return pos;
}

static void trace_view(cohort_group_t *g, const char *state) {
  if (!cohort_node_tracing(g->node)) return;
  const cohort_group_view_t *v = &g->view;
  size_t cap = g->tbuf_cap, pos = 0;
  char *b = g->tbuf, vs[64];
  pos += (size_t)cohort_fmt(b + pos, cap - pos, "{\"vid\":\"%s\",\"epoch\":%llu,\"coord\":%u,",
                          vid_str(v->id, vs, sizeof vs), (unsigned long long)v->id.epoch,
                          v->id.coord);
  pos += (size_t)cohort_fmt(b + pos, cap - pos, "\"members\":");
  pos += fmt_members(b + pos, cap - pos, v->members, v->members_len);
  pos += (size_t)cohort_fmt(b + pos, cap - pos, ",\"primary\":%s,\"joined\":",
                          v->primary ? "true" : "false");
  pos += fmt_members(b + pos, cap - pos, v->joined, v->joined_len);
  pos += (size_t)cohort_fmt(b + pos, cap - pos, ",\"left\":");
  pos += fmt_members(b + pos, cap - pos, v->left, v->left_len);
  pos += (size_t)cohort_fmt(b + pos, cap - pos, ",\"failed\":");
  pos += fmt_members(b + pos, cap - pos, v->failed, v->failed_len);
  pos += (size_t)cohort_fmt(b + pos, cap - pos, ",\"merged\":[");
  for (size_t i = 0; i < v->merged_len; i++)
    pos += (size_t)cohort_fmt(b + pos, cap - pos, "%s\"%s\"", i ? "," : "",
                            vid_str(v->merged[i], vs, sizeof vs));
  pos += (size_t)cohort_fmt(b + pos, cap - pos, "],\"state\":\"%s\"}", state);
  if (pos < cap) cohort_node_trace_state(g->node, &g->proto, "view", b);
}

static void install_view(cohort_group_t *g, const gsync_t *s, bool joiner, const uint8_t *body,
                         size_t len) {
  /* what the application is told changed, against the view we leave */
  size_t nj = 0, nf = 0, nl = 0;
  for (size_t i = 0; i < s->n; i++)
    if (!g->in_view || !in_list(g->v_members, g->view.members_len, s->mem[i].id, s->mem[i].inc))
      if (!(s->mem[i].id == self_id(g) && !g->in_view)) g->v_joined[nj++] = s->mem[i];
  for (size_t i = 0; i < s->failed_n; i++) g->v_failed[nf++] = s->failed[i];
  for (size_t i = 0; i < s->left_n; i++) g->v_left[nl++] = s->left[i];
  if (joiner) nj = 0; /* a joiner sees the view it enters, not who came before */

  if (g->in_view) {
    g->prev_vid = g->vid;
    g->has_prev = true;
  }
  g->sent_before += g->out_seq;
  free_view(g);
  free_proposal(g);
  clear_bound(g);
  g->mem = cohort_calloc(g->alloc, s->n, sizeof *g->mem);
  g->cut = cohort_calloc(g->alloc, s->n, sizeof *g->cut);
  g->holder = cohort_calloc(g->alloc, s->n, sizeof *g->holder);
  if (!g->mem || !g->cut || !g->holder) { /* no memory: out of the group, join again */
    free_view(g);
    start_joining(g);
    return;
  }
  g->n = s->n;
  g->self = SIZE_MAX;
  for (size_t i = 0; i < s->n; i++) {
    gmem_t *m = &g->mem[i];
    m->id = s->mem[i].id;
    m->inc = s->mem[i].inc;
    m->addr_len = s->addr_len[i];
    if (m->addr_len) memcpy(m->addr, s->addr[i], m->addr_len);
    m->progress_ns = m->since_ns = now_of(g);
    if (m->id == self_id(g)) {
      g->self = i;
      continue;
    }
    /* Learn the member as a peer (its address, for the host), bound to
     * the incarnation the view names. */
    (void)cohort_node_peer_add(g->node, m->id, m->inc, m->addr_len ? m->addr : NULL, m->addr_len);
    /* a view finished on behalf of a vanished coordinator may name a
     * process whose node has restarted since: that process is gone */
    if (cohort_node_peer_incarnation(g->node, m->id) > m->inc) {
      m->failed = true;
      m->failed_by = self_id(g);
      m->reason = "restarted";
    }
  }
  g->in_view = true;
  g->vid = s->vid;
  g->primary = s->primary;
  if (s->primary) {
    cohort_free(g->alloc, g->lp);
    g->lp = cohort_calloc(g->alloc, s->n, sizeof *g->lp);
    g->lp_n = g->lp ? s->n : 0;
    for (size_t i = 0; i < g->lp_n; i++) g->lp[i] = s->mem[i];
    g->lp_epoch = s->vid.epoch;
  } else if (s->lp_epoch >= g->lp_epoch) {
    cohort_free(g->alloc, g->lp);
    g->lp = s->lp_n ? cohort_calloc(g->alloc, s->lp_n, sizeof *g->lp) : NULL;
    g->lp_n = g->lp ? s->lp_n : 0;
    for (size_t i = 0; i < g->lp_n; i++) g->lp[i] = s->lp[i];
    g->lp_epoch = s->lp_epoch;
  }
  if (g->self != SIZE_MAX) g->mem[g->self].base = g->sent_before;
  g->out_seq = 0;
  g->out_bytes = 0;
  g->stable_sent = 0;
  g->stable_dirty = false;
  g->blocked = false;
  g->leave_sent_ns = 0;
  g->joins_len = 0;
  g->partner = false;
  for (size_t i = 0; i < s->n; i++) g->v_members[i] = s->mem[i];
  g->view = (cohort_group_view_t){
      .id = s->vid, .members = g->v_members, .members_len = s->n, .primary = s->primary,
      .joined = g->v_joined, .joined_len = nj, .left = g->v_left, .left_len = nl,
      .failed = g->v_failed, .failed_len = nf, .merged = g->v_merged,
      .merged_len = s->merged_n};
  for (size_t i = 0; i < s->merged_n; i++) g->v_merged[i] = s->merged[i];
  cohort_free(g->alloc, g->last_commit);
  g->last_commit = NULL;
  g->last_commit_len = 0;
  if (g->partner_commit && !vid_eq(g->partner_commit_vid, s->vid)) {
    cohort_free(g->alloc, g->partner_commit);
    g->partner_commit = NULL;
  }
  if (body && len && (g->last_commit = cohort_alloc(g->alloc, len))) {
    memcpy(g->last_commit, body, len);
    g->last_commit_len = len;
  }
  g->stats.views++;
  if (!s->primary) g->stats.non_primary_views++;
  if (s->merged_n > 1) g->stats.merges++;

  bool want_state = joiner && g->cb.set_state && g->self != 0;
  g->status = want_state ? COHORT_GROUP_STATE_WAIT : COHORT_GROUP_MEMBER;
  trace_view(g, want_state ? "pending" : g->cb.set_state || g->cb.get_state ? "ok" : "none");
  group_state_donor_reset(g);
  if (g->self == 0 && nj && g->cb.get_state) { /* we are the donor: snapshot now */
    uint8_t *st = NULL;
    size_t st_len = 0;
    if (g->cb.get_state(g->ud, &st, &st_len) == 0) {
      g->st_buf = st;
      g->st_len = st ? st_len : 0;
      g->st_vid = g->vid;
      g->st_have = true;
    }
  }
  if (want_state) group_state_begin(g, g->mem[0].id);
  if (g->self != 0) {
    gw_t w = group_writer(g);
    gw_vid(&w, g->vid);
    (void)group_send(g, g->mem[0].id, g->mem[0].inc, GK_INSTALLED, &w);
  } else {
    g->mem[0].installed = true;
  }
  if (g->cb.view) g->cb.view(g->ud, &g->view);
  if (s->merged_n > 1 && g->cb.reconcile) g->cb.reconcile(g->ud, &g->view);
}

/* Excluded by a view we are not in: become a new process and join. */
static void on_excluded(cohort_group_t *g, cohort_group_view_id_t by) {
  char a[64], b[64];
  group_trace(g, "excluded", "{\"vid\":\"%s\",\"by_vid\":\"%s\"}", vid_str(g->vid, a, sizeof a),
              vid_str(by, b, sizeof b));
  g->stats.rejoins++;
  group_state_abandon(g, "excluded");
  free_view(g);
  free_proposal(g);
  clear_bound(g);
  if (g->leaving) {
    g->status = COHORT_GROUP_LEFT;
    if (g->cb.excluded) g->cb.excluded(g->ud, by);
    return;
  }
  if (g->cb.excluded) g->cb.excluded(g->ud, by);
  (void)cohort_node_reincarnate(g->node);
  g->sent_before = 0;
  g->out_seq = 0;
  g->out_bytes = 0;
  g->seen_att = 0;
  g->seen_coord = 0;
  start_joining(g);
}

/* ---- the member side of a view change --------------------------------------- */

/* How far the sequencer's stream is known stable here: ORDERs up to it
 * may have been used to deliver (group_mcast.c). */
static uint64_t known_ostable(const cohort_group_t *g) {
  if (!g->n) return 0;
  return g->mem[0].stable < g->mem[0].have ? g->mem[0].stable : g->mem[0].have;
}

static void send_vec(cohort_group_t *g, cohort_node_id_t to, cohort_incarnation_t to_inc) {
  gw_t w = group_writer(g);
  gw_u32(&w, g->seen_att);
  gw_u32(&w, g->seen_coord);
  gw_vid(&w, g->vid);
  gw_u8(&w, g->status == COHORT_GROUP_STATE_WAIT ? 1 : 0);
  gw_u16(&w, (uint16_t)g->n);
  for (size_t i = 0; i < g->n; i++) {
    gw_u32(&w, g->mem[i].id);
    gw_u64(&w, g->mem[i].have);
  }
  gw_u64(&w, g->lp_epoch); /* the newest primary we know: the coordinator takes the max */
  gw_u16(&w, (uint16_t)g->lp_n);
  for (size_t i = 0; i < g->lp_n; i++) {
    gw_u32(&w, g->lp[i].id);
    gw_u64(&w, g->lp[i].inc);
  }
  gw_u64(&w, known_ostable(g));
  (void)group_send(g, to, to_inc, GK_FLUSH_VEC, &w);
}

static void block(cohort_group_t *g, uint64_t next_epoch) {
  if (!g->blocked) {
    g->blocked = true;
    g->blocked_ns = now_of(g);
  }
  if (g->status == COHORT_GROUP_MEMBER) g->status = COHORT_GROUP_BLOCKED;
  if (!vid_eq(g->block_traced, g->vid)) {
    char a[64];
    g->block_traced = g->vid;
    group_trace(g, "block", "{\"vid\":\"%s\",\"next_epoch\":%llu}", vid_str(g->vid, a, sizeof a),
                (unsigned long long)next_epoch);
    if (g->cb.block) g->cb.block(g->ud);
  }
}

/* Have we everything up to the cut? Fetch what is missing. */
static bool synced_complete(cohort_group_t *g, bool fetch) {
  bool ok = true;
  for (size_t i = 0; i < g->n; i++) {
    gmem_t *m = &g->mem[i];
    if (m->have >= g->cut[i]) continue;
    ok = false;
    if (!fetch || g->holder[i] == COHORT_NODE_NONE || g->holder[i] == self_id(g)) continue;
    size_t h = group_index(g, g->holder[i]);
    (void)group_send_fetch(g, g->holder[i], h == SIZE_MAX ? 0 : g->mem[h].inc, m->id,
                           m->have + 1, g->cut[i]);
  }
  return ok;
}

/* Load a SYNC body's cut for our view into g->cut / g->holder. */
static bool load_cut(cohort_group_t *g, const gsync_t *s) {
  for (size_t i = 0; i < g->n; i++) g->cut[i] = g->mem[i].have, g->holder[i] = COHORT_NODE_NONE;
  for (size_t k = 0; k < s->cut_n; k++) {
    size_t i = group_index(g, s->cut_mem[k].id);
    if (i == SIZE_MAX || g->mem[i].inc != s->cut_mem[k].inc) continue;
    if (s->cut[k] > g->mem[i].have + g->ring_cap + 1) return false; /* absurd */
    g->cut[i] = s->cut[k] > g->mem[i].delivered ? s->cut[k] : g->mem[i].delivered;
    g->holder[i] = s->holder[k];
  }
  return true;
}

/* Keep a copy of a SYNC body: it is our promise once FLUSH_OK is sent. */
static void keep_bound(cohort_group_t *g, const uint8_t *b, size_t len, uint32_t att,
                       cohort_node_id_t coord) {
  clear_bound(g);
  if (!(g->bound_buf = cohort_alloc(g->alloc, len))) return;
  memcpy(g->bound_buf, b, len);
  g->bound_len = len;
  g->bound_att = att;
  g->bound_coord = coord;
  g->synced = true;
}

static void coord_on_ok(cohort_group_t *g, cohort_node_id_t from);

static void maybe_flush_ok(cohort_group_t *g) {
  if (!g->synced || g->bound || !synced_complete(g, false)) return;
  g->bound = true;
  if (g->bound_coord == self_id(g)) {
    coord_on_ok(g, self_id(g));
    return;
  }
  gw_t w = group_writer(g);
  gw_u32(&w, g->bound_att);
  gw_u32(&w, g->bound_coord);
  (void)group_send(g, g->bound_coord, 0, GK_FLUSH_OK, &w);
}

/* Deliver up to the cut, then install the committed view. */
static void commit_install(cohort_group_t *g, const uint8_t *body, size_t len) {
  gsync_t *s = g->sx;
  if (group_sync_decode(body, len, s)) return;
  bool survivor = g->in_view && vid_eq(s->from_vid, g->vid) &&
                  g->status != COHORT_GROUP_STATE_WAIT;
  if (survivor) {
    if (!load_cut(g, s)) return;
    if (!synced_complete(g, true)) { /* fetch first; the commit waits as our promise */
      if (!g->bound) keep_bound(g, body, len, s->att, s->pcoord);
      g->bound = true;
      g->bound_committed = true;
      return;
    }
    g->flush_minority = !s->tail_decides;
    g->flush_ostable = s->ostable;
    g->flush_next = s->vid;
    group_mcast_flush(g);
    g->flush_minority = false;
    for (size_t i = 0; i < g->n; i++)
      if (g->mem[i].have > g->cut[i]) g->stats.discarded_by_flush += g->mem[i].have - g->cut[i];
  } else if (g->status == COHORT_GROUP_STATE_WAIT) {
    group_state_abandon(g, "view change");
  }
  if (!in_list(s->mem, s->n, self_id(g), self_inc(g))) {
    on_excluded(g, s->vid);
    return;
  }
  /* s is g->sx: install_view reads it before anything reuses it */
  install_view(g, s, !survivor, body, len);
}

static void on_flush(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  uint32_t att = gr_u32(r);
  cohort_node_id_t coord = gr_u32(r);
  uint64_t epoch = gr_u64(r);
  uint8_t nc = gr_u8(r);
  bool mine = false;
  for (uint8_t i = 0; i < nc && i < 2; i++)
    if (vid_eq(gr_vid(r), g->vid)) mine = true;
  if (r->err || nc == 0 || nc > 2 || coord != m->from || !g->in_view) return;
  if (!mine) {
    group_on_foreign_vid(g, m, (cohort_group_view_id_t){0, 0, 0});
    return;
  }
  if (g->bound && !(g->bound_att == att && g->bound_coord == coord)) {
    gw_t w = group_writer(g); /* hand on the promise (or the COMMIT) */
    gw_u8(&w, g->bound_committed ? 1 : 0);
    gw_bytes(&w, g->bound_buf, g->bound_len);
    (void)group_send(g, m->from, m->from_incarnation, GK_BOUND, &w);
    return;
  }
  bool newer = att > g->seen_att || (att == g->seen_att && coord >= g->seen_coord);
  if (!newer) {
    gw_t w = group_writer(g);
    gw_u32(&w, g->seen_att);
    gw_u32(&w, g->seen_coord);
    (void)group_send(g, m->from, m->from_incarnation, GK_NACK, &w);
    return;
  }
  if (att != g->seen_att || coord != g->seen_coord) {
    g->synced = false;
    if (g->proposing && coord != self_id(g)) free_proposal(g); /* we yield to a newer one */
  }
  g->seen_att = att;
  g->seen_coord = coord;
  block(g, epoch);
  send_vec(g, m->from, m->from_incarnation);
}

static void member_on_sync(cohort_group_t *g, const uint8_t *body, size_t len,
                           cohort_node_id_t from) {
  gsync_t *s = g->sx;
  if (group_sync_decode(body, len, s) || !g->in_view || !vid_eq(s->from_vid, g->vid)) return;
  if (s->att != g->seen_att || s->pcoord != g->seen_coord || s->pcoord != from) return;
  if (g->bound) { /* the same SYNC again: our FLUSH_OK was lost, say it again */
    if (!g->bound_committed && g->bound_att == s->att && g->bound_coord == s->pcoord &&
        g->bound_coord != self_id(g)) {
      gw_t w = group_writer(g);
      gw_u32(&w, g->bound_att);
      gw_u32(&w, g->bound_coord);
      (void)group_send(g, g->bound_coord, 0, GK_FLUSH_OK, &w);
    }
    return;
  }
  if (!load_cut(g, s)) return;
  keep_bound(g, body, len, s->att, s->pcoord);
  synced_complete(g, true);
  maybe_flush_ok(g);
}

/* A member that promised a proposal whose coordinator is gone completes
 * it: the same COMMIT to every member of our old view it names. */
static void complete_bound(cohort_group_t *g) {
  if (!g->bound || !g->bound_buf) return;
  gsync_t *s = g->sx;
  if (group_sync_decode(g->bound_buf, g->bound_len, s)) return;
  gw_t w = group_writer(g);
  gw_bytes(&w, g->bound_buf, g->bound_len);
  /* to every member: joiners too (a member of a merging component that
   * gets this body and not its own ignores it: on_commit) */
  for (size_t i = 0; i < s->n; i++) {
    if (s->mem[i].id == self_id(g)) continue;
    (void)group_send(g, s->mem[i].id, s->mem[i].inc, GK_COMMIT, &w);
  }
  uint8_t *copy = cohort_alloc(g->alloc, g->bound_len);
  if (!copy) return;
  size_t len = g->bound_len;
  memcpy(copy, g->bound_buf, len);
  commit_install(g, copy, len);
  cohort_free(g->alloc, copy);
}

/* ---- the coordinator side ----------------------------------------------------- */

static int comp_init(cohort_group_t *g, pcomp_t *c, cohort_group_view_id_t vid,
                     const cohort_group_member_t *mem, size_t n, uint64_t lp_epoch,
                     const cohort_group_member_t *lp, size_t lp_n) {
  c->vid = vid;
  c->n = n;
  c->mem = cohort_calloc(g->alloc, n, sizeof *c->mem);
  c->cut = cohort_calloc(g->alloc, n, sizeof *c->cut);
  c->holder = cohort_calloc(g->alloc, n, sizeof *c->holder);
  c->lp = lp_n ? cohort_calloc(g->alloc, lp_n, sizeof *c->lp) : NULL;
  if (!c->mem || !c->cut || !c->holder || (lp_n && !c->lp)) return COHORT_ENOMEM;
  memcpy(c->mem, mem, n * sizeof *mem);
  if (lp_n) memcpy(c->lp, lp, lp_n * sizeof *lp);
  c->lp_n = lp_n;
  c->lp_epoch = lp_epoch;
  return 0;
}

static pmem_t *pm_find(cohort_group_t *g, cohort_node_id_t id) {
  for (size_t i = 0; i < g->pn; i++)
    if (g->pm[i].id == id) return &g->pm[i];
  return NULL;
}

static int pm_add(cohort_group_t *g, cohort_node_id_t id, cohort_incarnation_t inc,
                  const uint8_t *addr, size_t addr_len, int comp) {
  if (pm_find(g, id) || g->pn >= COHORT_GROUP_MEMBERS_MAX) return 0;
  pmem_t *p = &g->pm[g->pn++];
  memset(p, 0, sizeof *p);
  p->id = id;
  p->inc = inc;
  p->comp = comp;
  p->addr_len = (uint8_t)(addr_len <= COHORT_PEER_ADDR_MAX ? addr_len : 0);
  if (p->addr_len) memcpy(p->addr, addr, p->addr_len);
  if (comp >= 0) {
    p->have = cohort_calloc(g->alloc, g->comp[comp].n ? g->comp[comp].n : 1, sizeof *p->have);
    if (!p->have) return COHORT_ENOMEM;
  }
  return 0;
}

static void trace_exclusion(cohort_group_t *g, const gmem_t *m) {
  char a[64];
  double phi = m->phi, mean = m->mean_ms, since = m->since_ms;
  uint32_t samples = m->samples;
  cohort_node_id_t by = m->failed_by;
  if (!m->failed && !m->leaving && g->fd) { /* our own detector suspects it now */
    cohort_fd_peer_info_t info;
    if (cohort_fd_peer_info(g->fd, m->id, &info) == 0) {
      phi = info.phi;
      mean = info.mean_ns / 1e6;
      since = (double)info.since_ns / 1e6;
      samples = info.samples;
    }
    by = self_id(g);
  }
  group_trace(g, "exclude",
              "{\"vid\":\"%s\",\"peer\":%u,\"inc\":%llu,\"by\":%u,\"phi\":%.3f,\"mean_ms\":%.3f,"
              "\"since_ms\":%.3f,\"samples\":%u,\"reason\":\"%s\"}",
              vid_str(g->vid, a, sizeof a), m->id, (unsigned long long)m->inc, by,
              m->leaving ? -1.0 : phi, mean, since, samples,
              m->leaving ? "leave" : m->reason ? m->reason : "suspected");
}

static void send_flush(cohort_group_t *g, const pmem_t *p) {
  gw_t w = group_writer(g);
  gw_u32(&w, g->p_att);
  gw_u32(&w, self_id(g));
  gw_u64(&w, g->p_epoch);
  gw_u8(&w, (uint8_t)g->ncomp);
  for (size_t i = 0; i < g->ncomp; i++) gw_vid(&w, g->comp[i].vid);
  (void)group_send(g, p->id, p->inc, GK_FLUSH, &w);
}

static void coord_on_vec_self(cohort_group_t *g);
static void coord_check_vecs(cohort_group_t *g);
static void decide_held(cohort_group_t *g);

static void start_proposal(cohort_group_t *g) {
  free_proposal(g);
  cohort_group_member_t mem[COHORT_GROUP_MEMBERS_MAX];
  for (size_t i = 0; i < g->n; i++) mem[i] = (cohort_group_member_t){g->mem[i].id, g->mem[i].inc};
  g->pm = cohort_calloc(g->alloc, COHORT_GROUP_MEMBERS_MAX, sizeof *g->pm);
  if (!g->pm || comp_init(g, &g->comp[0], g->vid, mem, g->n, g->lp_epoch, g->lp, g->lp_n)) {
    free_proposal(g);
    return;
  }
  g->ncomp = 1;
  if (g->partner) {
    cohort_group_member_t pmem[COHORT_GROUP_MEMBERS_MAX];
    for (size_t i = 0; i < g->partner_n; i++)
      pmem[i] = (cohort_group_member_t){g->partner_mem[i].id, g->partner_mem[i].inc};
    if (comp_init(g, &g->comp[1], g->partner_vid, pmem, g->partner_n, g->partner_lp_epoch, NULL,
                  0)) {
      free_proposal(g);
      return;
    }
    g->ncomp = 2;
  }
  g->proposing = true;
  g->p_att = (g->seen_att > g->p_att ? g->seen_att : g->p_att) + 1;
  g->seen_att = g->p_att;
  g->seen_coord = self_id(g);
  g->synced = false;
  g->p_epoch = g->vid.epoch + 1;
  if (g->partner && g->partner_vid.epoch >= g->p_epoch) g->p_epoch = g->partner_vid.epoch + 1;
  /* every attempt names a view never named before (a member may hold an
   * earlier attempt's SYNC), above any attempt we hold a promise to */
  if (g->bound && g->bound_buf && !group_sync_decode(g->bound_buf, g->bound_len, g->sx) &&
      (g->p_held = cohort_alloc(g->alloc, g->bound_len))) {
    memcpy(g->p_held, g->bound_buf, g->bound_len);
    g->p_held_len = g->bound_len;
    g->p_held_att = g->bound_att;
    g->p_held_coord = g->bound_coord;
    if (g->sx->vid.epoch >= g->p_epoch) g->p_epoch = g->sx->vid.epoch + 1;
  }
  if (g->p_epoch <= g->last_p_epoch) g->p_epoch = g->last_p_epoch + 1;
  g->last_p_epoch = g->p_epoch;
  g->p_phase = 1;
  g->p_started_ns = g->p_sent_ns = now_of(g);
  g->p_lp_epoch = g->lp_epoch;
  g->p_lp_n = g->lp_n;
  if (g->lp_n) memcpy(g->p_lp, g->lp, g->lp_n * sizeof *g->lp);
  /* survivors: our members that stay (we first), then the partner's */
  pm_add(g, self_id(g), self_inc(g), NULL, 0, 0);
  if (g->p_held && g->pn) g->pm[0].held = true;
  for (size_t i = 0; i < g->n; i++) {
    gmem_t *m = &g->mem[i];
    if (i == g->self) continue;
    if (must_go(g, m)) {
      trace_exclusion(g, m);
      continue;
    }
    if (pm_add(g, m->id, m->inc, m->addr, m->addr_len, 0)) {
      free_proposal(g);
      return;
    }
  }
  for (size_t i = 0; g->partner && i < g->partner_n; i++) {
    pending_join_t *pj = &g->partner_mem[i];
    if (suspected(g, pj->id) || group_index(g, pj->id) != SIZE_MAX) continue;
    if (pm_add(g, pj->id, pj->inc, pj->addr, pj->addr_len, 1)) {
      free_proposal(g);
      return;
    }
  }
  for (size_t i = 0; i < g->joins_len; i++) {
    pending_join_t *pj = &g->joins[i];
    if (pm_find(g, pj->id)) continue;
    if (pm_add(g, pj->id, pj->inc, pj->addr, pj->addr_len, -1)) {
      free_proposal(g);
      return;
    }
  }
  g->stats.view_changes_led++;
  for (size_t i = 1; i < g->pn; i++)
    if (g->pm[i].comp >= 0) send_flush(g, &g->pm[i]);
  block(g, g->p_epoch);
  coord_on_vec_self(g);
  coord_check_vecs(g);
}

/* Our own vector, as a survivor of our own proposal. */
static void coord_on_vec_self(cohort_group_t *g) {
  pmem_t *p = &g->pm[0];
  for (size_t i = 0; i < g->n; i++) p->have[i] = g->mem[i].have;
  p->ostable = known_ostable(g);
  p->vec = true;
}

/* Primary: the processes in `ids` hold more than half the votes of the
 * last primary view `lp`. Only survivors count: a joiner promised nothing.
 * With no last primary known (the group boots, or every process that knew
 * it restarted without stable storage), all expected votes must be present
 * at once — Corosync's wait_for_all: a majority of fresh processes cannot
 * tell whether the old primary still runs beside them. */
static bool quorum(cohort_group_t *g, const cohort_group_member_t *ids, size_t n,
                   const cohort_group_member_t *lp, size_t lp_n) {
  uint64_t have = 0, total = 0;
  if (lp_n) {
    for (size_t i = 0; i < lp_n; i++) {
      uint32_t v = votes_of(g, lp[i].id);
      total += v;
      for (size_t k = 0; k < n; k++) /* the same process: a restarted node is new */
        if (ids[k].id == lp[i].id && ids[k].inc == lp[i].inc) {
          have += v;
          break;
        }
    }
    return 2 * have > total;
  }
  for (size_t k = 0; k < n; k++) have += votes_of(g, ids[k].id);
  return have >= g->cfg.expected_votes;
}

/* Write the SYNC / COMMIT body for the survivors of component c. */
static int build_sync(cohort_group_t *g, size_t ci, const cohort_group_member_t *order,
                      size_t on, bool primary) {
  pcomp_t *c = &g->comp[ci];
  gw_t w = group_writer(g);
  cohort_group_view_id_t vid = {g->p_epoch, order[0].id, order[0].inc};
  gw_u32(&w, g->p_att);
  gw_u32(&w, self_id(g));
  gw_vid(&w, vid);
  gw_vid(&w, c->vid);
  gw_u8(&w, primary ? 1 : 0);
  gw_u64(&w, g->p_lp_epoch);
  gw_u16(&w, (uint16_t)on);
  for (size_t i = 0; i < on; i++) {
    pmem_t *p = pm_find(g, order[i].id);
    gw_u32(&w, order[i].id);
    gw_u64(&w, order[i].inc);
    gw_u8(&w, p ? p->addr_len : 0);
    if (p && p->addr_len) gw_bytes(&w, p->addr, p->addr_len);
  }
  gw_u16(&w, (uint16_t)g->p_lp_n);
  for (size_t i = 0; i < g->p_lp_n; i++) {
    gw_u32(&w, g->p_lp[i].id);
    gw_u64(&w, g->p_lp[i].inc);
  }
  gw_u8(&w, (uint8_t)(g->ncomp > 1 ? g->ncomp : 0));
  for (size_t i = 0; g->ncomp > 1 && i < g->ncomp; i++) gw_vid(&w, g->comp[i].vid);
  /* failed and left: members of component c not in the new view */
  size_t nf = 0, nl = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (pm_find(g, c->mem[i].id)) continue;
    size_t k = ci == 0 ? group_index(g, c->mem[i].id) : SIZE_MAX;
    if (k != SIZE_MAX && g->mem[k].leaving) nl++;
    else nf++;
  }
  gw_u16(&w, (uint16_t)nf);
  for (size_t i = 0; i < c->n; i++) {
    if (pm_find(g, c->mem[i].id)) continue;
    size_t k = ci == 0 ? group_index(g, c->mem[i].id) : SIZE_MAX;
    if (k != SIZE_MAX && g->mem[k].leaving) continue;
    gw_u32(&w, c->mem[i].id);
    gw_u64(&w, c->mem[i].inc);
  }
  gw_u16(&w, (uint16_t)nl);
  for (size_t i = 0; i < c->n; i++) {
    if (pm_find(g, c->mem[i].id)) continue;
    size_t k = ci == 0 ? group_index(g, c->mem[i].id) : SIZE_MAX;
    if (k == SIZE_MAX || !g->mem[k].leaving) continue;
    gw_u32(&w, c->mem[i].id);
    gw_u64(&w, c->mem[i].inc);
  }
  gw_u16(&w, (uint16_t)c->n);
  for (size_t i = 0; i < c->n; i++) {
    gw_u32(&w, c->mem[i].id);
    gw_u64(&w, c->mem[i].inc);
    gw_u64(&w, c->cut[i]);
    gw_u32(&w, c->holder[i]);
  }
  gw_u64(&w, c->n && c->ostable > c->cut[0] ? c->cut[0] : c->ostable);
  /* Does this component decide its old view's tail of TOTAL messages?
   * Only if it carries on more than half of that view's members: no other
   * component of it can, so no other numbers the same tail differently. */
  size_t carried = 0;
  for (size_t i = 0; i < on; i++) {
    pmem_t *p = pm_find(g, order[i].id);
    if (p && p->inc == order[i].inc && p->comp == (int)ci) carried++;
  }
  gw_u8(&w, 2 * carried > c->n ? 1 : 0);
  if (w.err) return COHORT_EFULL;
  cohort_free(g->alloc, c->sync);
  if (!(c->sync = cohort_alloc(g->alloc, w.len))) return COHORT_ENOMEM;
  memcpy(c->sync, w.p, w.len);
  c->sync_len = w.len;
  return 0;
}

static void coord_all_vecs(cohort_group_t *g) {
  /* the cut of each component: the furthest any of its survivors got */
  for (size_t ci = 0; ci < g->ncomp; ci++) {
    pcomp_t *c = &g->comp[ci];
    c->ostable = 0;
    for (size_t k = 0; k < g->pn; k++)
      if (g->pm[k].comp == (int)ci && g->pm[k].vec && g->pm[k].ostable > c->ostable)
        c->ostable = g->pm[k].ostable;
    for (size_t s = 0; s < c->n; s++) {
      c->cut[s] = 0;
      c->holder[s] = COHORT_NODE_NONE;
      for (size_t k = 0; k < g->pn; k++) {
        pmem_t *p = &g->pm[k];
        if (p->comp != (int)ci || !p->vec) continue;
        if (c->holder[s] == COHORT_NODE_NONE || p->have[s] > c->cut[s]) {
          c->cut[s] = p->have[s];
          c->holder[s] = p->id;
        }
      }
    }
  }
  /* primary views form one line: above every primary any survivor knows */
  if (g->p_lp_epoch >= g->p_epoch) g->p_epoch = g->p_lp_epoch + 1;
  if (g->p_epoch > g->last_p_epoch) g->last_p_epoch = g->p_epoch;
  /* the new view: component 0's survivors, the partner's, then joiners */
  cohort_group_member_t order[COHORT_GROUP_MEMBERS_MAX];
  size_t on = 0;
  for (int pass = 0; pass < 3; pass++)
    for (size_t k = 0; k < g->pn; k++) {
      pmem_t *p = &g->pm[k];
      int want = pass == 2 ? -1 : pass;
      if (p->comp != want || (g->p_leader_leaves && p->id == self_id(g))) continue;
      order[on++] = (cohort_group_member_t){p->id, p->inc};
    }
  if (on == 0) return;
  /* primary: survivors holding a majority of the newest last-primary view
   * any of them knows */
  cohort_group_member_t surv[COHORT_GROUP_MEMBERS_MAX];
  size_t sn = 0;
  for (size_t k = 0; k < g->pn; k++)
    if (g->pm[k].comp >= 0 && !(g->p_leader_leaves && g->pm[k].id == self_id(g)))
      surv[sn++] = (cohort_group_member_t){g->pm[k].id, g->pm[k].inc};
  bool primary = quorum(g, surv, sn, g->p_lp, g->p_lp_n);
  for (size_t ci = 0; ci < g->ncomp; ci++)
    if (build_sync(g, ci, order, on, primary)) {
      free_proposal(g);
      return;
    }
  g->p_phase = 2;
  g->p_sent_ns = now_of(g);
  for (size_t k = 0; k < g->pn; k++) {
    pmem_t *p = &g->pm[k];
    if (p->comp < 0) continue;
    pcomp_t *c = &g->comp[p->comp];
    if (p->id == self_id(g)) {
      member_on_sync(g, c->sync, c->sync_len, self_id(g));
      if (!g->proposing) return; /* (cannot happen: our own proposal) */
      continue;
    }
    gw_t w = {.p = c->sync, .len = c->sync_len, .cap = c->sync_len};
    (void)group_send(g, p->id, p->inc, GK_SYNC, &w);
  }
}

/* The COMMIT(s) that made the current view, to a member that missed it. */
static void resend_commit(cohort_group_t *g, cohort_node_id_t id, cohort_incarnation_t inc) {
  if (g->last_commit) {
    gw_t w = {.p = g->last_commit, .len = g->last_commit_len, .cap = g->last_commit_len};
    (void)group_send(g, id, inc, GK_COMMIT, &w);
  }
  if (g->partner_commit && vid_eq(g->partner_commit_vid, g->vid)) {
    gw_t w = {.p = g->partner_commit, .len = g->partner_commit_len, .cap = g->partner_commit_len};
    (void)group_send(g, id, inc, GK_COMMIT, &w);
  }
}

static void send_commit_to(cohort_group_t *g, const pmem_t *p) {
  const pcomp_t *c = &g->comp[p->comp >= 0 ? p->comp : 0];
  gw_t w = {.p = c->sync, .len = c->sync_len, .cap = c->sync_len};
  (void)group_send(g, p->id, p->inc, GK_COMMIT, &w);
}

static void coord_on_ok(cohort_group_t *g, cohort_node_id_t from) {
  if (!g->proposing || g->p_phase != 2) return;
  pmem_t *p = pm_find(g, from);
  if (!p || p->comp < 0) return;
  p->ok = true;
  for (size_t k = 0; k < g->pn; k++)
    if (g->pm[k].comp >= 0 && !g->pm[k].ok) return;
  /* every survivor promised: commit */
  g->p_phase = 3;
  for (size_t k = 0; k < g->pn; k++)
    if (g->pm[k].id != self_id(g)) send_commit_to(g, &g->pm[k]);
  /* keep the bodies: install_view frees the proposal */
  pcomp_t *c = &g->comp[0];
  size_t len = c->sync_len;
  uint8_t *body = cohort_alloc(g->alloc, len);
  if (!body) return;
  memcpy(body, c->sync, len);
  /* partner survivors that miss their COMMIT get it again (resend_commit) */
  cohort_free(g->alloc, g->partner_commit);
  g->partner_commit = NULL;
  if (g->ncomp > 1 && g->comp[1].sync_len && !group_sync_decode(g->comp[1].sync, g->comp[1].sync_len, g->sx) &&
      (g->partner_commit = cohort_alloc(g->alloc, g->comp[1].sync_len))) {
    memcpy(g->partner_commit, g->comp[1].sync, g->comp[1].sync_len);
    g->partner_commit_len = g->comp[1].sync_len;
    g->partner_commit_vid = g->sx->vid;
  }
  if (g->p_leader_leaves) {
    g->status = COHORT_GROUP_LEFT;
    free_view(g);
    free_proposal(g);
    clear_bound(g);
  } else {
    commit_install(g, body, len);
  }
  cohort_free(g->alloc, body);
}

static void coord_check_vecs(cohort_group_t *g) {
  if (!g->proposing || g->p_phase != 1) return;
  for (size_t k = 0; k < g->pn; k++)
    if (g->pm[k].comp >= 0 && !g->pm[k].vec && !g->pm[k].held) return;
  if (g->p_held) decide_held(g);
  else coord_all_vecs(g);
}

static void on_flush_vec(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  uint32_t att = gr_u32(r);
  cohort_node_id_t coord = gr_u32(r);
  cohort_group_view_id_t vid = gr_vid(r);
  uint8_t flags = gr_u8(r);
  uint16_t n = gr_u16(r);
  if (r->err || !g->proposing || g->p_phase != 1 || att != g->p_att || coord != self_id(g)) return;
  pmem_t *p = pm_find(g, m->from);
  if (!p || p->inc != m->from_incarnation || p->comp < 0) return;
  pcomp_t *c = &g->comp[p->comp];
  if (!vid_eq(vid, c->vid)) return;
  if (flags & 1) { /* waiting for a state it will not get: it joins afresh */
    p->comp = -1;
    p->no_state = true;
  } else {
    if (n != c->n) return;
    for (size_t i = 0; i < n; i++) {
      cohort_node_id_t id = gr_u32(r);
      uint64_t have = gr_u64(r);
      if (id != c->mem[i].id) return;
      p->have[i] = have;
    }
    uint64_t lpe = gr_u64(r);
    uint16_t lpn = gr_u16(r);
    if (r->err || lpn > COHORT_GROUP_MEMBERS_MAX) return;
    cohort_group_member_t lp[COHORT_GROUP_MEMBERS_MAX];
    for (size_t i = 0; i < lpn; i++) {
      lp[i].id = gr_u32(r);
      lp[i].inc = gr_u64(r);
    }
    uint64_t ost = gr_u64(r);
    if (r->err) return;
    p->ostable = ost;
    if (lpe > g->p_lp_epoch && lpe <= COHORT_COUNTER_REMOTE_MAX) {
      g->p_lp_epoch = lpe;
      g->p_lp_n = lpn;
      memcpy(g->p_lp, lp, lpn * sizeof *lp);
    }
    p->vec = true;
  }
  coord_check_vecs(g);
}

/* ---- receiving ------------------------------------------------------------------ */

static void add_join(cohort_group_t *g, cohort_node_id_t id, cohort_incarnation_t inc,
                     const uint8_t *addr, size_t addr_len) {
  if (id == COHORT_NODE_NONE || id == self_id(g) || inc == 0) return;
  size_t k = group_index(g, id);
  if (k != SIZE_MAX) {
    if (g->mem[k].inc == inc) { /* a member that missed its COMMIT */
      resend_commit(g, id, inc);
      return;
    }
    if (inc < g->mem[k].inc) return; /* an old incarnation's JOIN */
    g->mem[k].failed = true;         /* it restarted: the old process is gone */
    g->mem[k].reason = "restarted";
    g->mem[k].failed_by = self_id(g);
  }
  for (size_t i = 0; i < g->joins_len; i++)
    if (g->joins[i].id == id) {
      if (inc > g->joins[i].inc) g->joins[i].inc = inc;
      if (addr_len && addr_len <= COHORT_PEER_ADDR_MAX) {
        memcpy(g->joins[i].addr, addr, addr_len);
        g->joins[i].addr_len = (uint8_t)addr_len;
      }
      return;
    }
  if (g->joins_len == GROUP_PENDING_MAX) return;
  pending_join_t *pj = &g->joins[g->joins_len++];
  *pj = (pending_join_t){.id = id, .inc = inc};
  if (addr_len && addr_len <= COHORT_PEER_ADDR_MAX) {
    memcpy(pj->addr, addr, addr_len);
    pj->addr_len = (uint8_t)addr_len;
  }
  if (g->joins_len == 1) g->first_join_ns = now_of(g);
  /* the host learns its address now, so the COMMIT can reach it */
  (void)cohort_node_peer_add(g->node, id, inc, addr_len ? addr : NULL, addr_len);
}

static void on_join(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  uint64_t inc = gr_u64(r);
  if (r->err || inc != m->from_incarnation || !g->in_view) return;
  size_t c = rank_coordinator(g);
  if (c == g->self) {
    add_join(g, m->from, inc, m->addr, m->addr_len);
    return;
  }
  gw_t w = group_writer(g);
  gw_u32(&w, m->from);
  gw_u64(&w, inc);
  gw_u8(&w, (uint8_t)(m->addr_len <= COHORT_PEER_ADDR_MAX ? m->addr_len : 0));
  if (m->addr_len <= COHORT_PEER_ADDR_MAX) gw_bytes(&w, m->addr, m->addr_len);
  (void)group_send(g, g->mem[c].id, g->mem[c].inc, GK_JOIN_FWD, &w);
}

static void on_join_fwd(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_node_id_t id = gr_u32(r);
  uint64_t inc = gr_u64(r);
  uint8_t alen = gr_u8(r);
  const uint8_t *addr = alen <= COHORT_PEER_ADDR_MAX ? gr_bytes(r, alen) : NULL;
  if (r->err || !g->in_view || group_index(g, m->from) == SIZE_MAX || !am_coordinator(g)) return;
  add_join(g, id, inc, addr, addr ? alen : 0);
}

/* Traffic naming a view other than ours: tell a member that is behind
 * what it missed, or that it was excluded. */
void group_on_foreign_vid(cohort_group_t *g, const cohort_msg_t *m, cohort_group_view_id_t their) {
  g->stats.rx_stale++;
  if (!g->in_view) return;
  size_t k = group_index(g, m->from);
  bool ours = k != SIZE_MAX && g->mem[k].inc == m->from_incarnation;
  if (ours) { /* one of ours, behind: the commit it missed, if we have it */
    if (g->has_prev && vid_eq(their, g->prev_vid) && (!g->blocked || g->self == 0))
      resend_commit(g, m->from, m->from_incarnation);
    return;
  }
  /* The sender still counts us in a view we have left (it sends to us as
   * a member of `their`), and it is not in ours: a view older than ours
   * (the previous one, or one it learned late, after everyone else moved
   * on) is dead, so it must rejoin. A newer or equal epoch is not ours to
   * judge: the merge probes deal with concurrent components. */
  if (their.epoch == 0 || their.epoch >= g->vid.epoch) {
    if (!(g->has_prev && vid_eq(their, g->prev_vid))) return;
  }
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_vid(&w, their);
  (void)group_send(g, m->from, m->from_incarnation, GK_EXCLUDED, &w);
}

/* Tell the coordinator of `v` (a view that names us while we are in
 * another) that we leave it: its next view drops us. */
static void decline_view(cohort_group_t *g, cohort_group_view_id_t v) {
  gw_t w = group_writer(g);
  gw_vid(&w, v);
  (void)group_send(g, v.coord, v.coord_inc, GK_LEAVE, &w);
  g->stats.declined++;
}

static void on_commit(cohort_group_t *g, const cohort_msg_t *m, const uint8_t *b, size_t len) {
  gsync_t *s = g->sx;
  if (group_sync_decode(b, len, s)) return;
  (void)m;
  if (g->in_view && vid_eq(s->vid, g->vid)) { /* a repeat: we installed it */
    if (g->self != 0) {
      gw_t w = group_writer(g);
      gw_vid(&w, g->vid);
      (void)group_send(g, g->mem[0].id, g->mem[0].inc, GK_INSTALLED, &w);
    }
    return;
  }
  if (g->status == COHORT_GROUP_LEFT) return;
  bool survivor = g->in_view && vid_eq(s->from_vid, g->vid);
  bool named = in_list(s->mem, s->n, self_id(g), self_inc(g));
  /* the COMMIT of a merge for the other component: ours comes apart */
  bool merging = false;
  for (size_t i = 0; g->in_view && i < s->merged_n && i < 2; i++)
    if (vid_eq(s->merged[i], g->vid)) merging = true;
  if (g->in_view && s->vid.epoch <= g->vid.epoch) {
    /* a view of another component that counts us (its coordinator
     * re-sends it to us): decline, as below */
    if (named && !merging && !vid_eq(s->from_vid, g->vid)) decline_view(g, s->vid);
    return;
  }
  if (!survivor && !named) return; /* not for us */
  /* A founder whose JOIN was answered late sits in a group of one it
   * founded meanwhile: non-primary and idle, that group holds nothing
   * anybody else has, so it enters the view that names it (as a joiner,
   * taking the group's state). Otherwise the view would wait for it until
   * the flush timeout, while each side's probes name the other's member
   * as its own and no merge starts. */
  bool lone = g->in_view && g->n == 1 && !g->primary && !g->proposing && !g->blocked;
  if (!survivor && g->in_view && g->status != COHORT_GROUP_STATE_WAIT && !lone) {
    if (merging) return;
    /* Admitted by two coordinators (a JOIN goes to two contacts) and in
     * the other's view already: decline, or that view waits for us for
     * ever and each side's merge probes name us as its own member. */
    decline_view(g, s->vid);
    return;
  }
  /* b is in the datagram: copy it (commit_install may send and reuse buffers) */
  uint8_t *copy = cohort_alloc(g->alloc, len);
  if (!copy) return;
  memcpy(copy, b, len);
  commit_install(g, copy, len);
  cohort_free(g->alloc, copy);
}

/* Finish the attempt in body b (a COMMIT received, or an attempt decided
 * by decide_held): install it and hand it to its members. */
static void finish_attempt(cohort_group_t *g, const uint8_t *b, size_t len) {
  gsync_t *s = g->sx;
  uint8_t *copy = cohort_alloc(g->alloc, len);
  if (!copy) return;
  memcpy(copy, b, len);
  free_proposal(g);
  if (group_sync_decode(copy, len, s)) {
    cohort_free(g->alloc, copy);
    return;
  }
  keep_bound(g, copy, len, s->att, s->pcoord);
  cohort_free(g->alloc, copy);
  g->bound = true;
  g->bound_committed = true;
  if (load_cut(g, s) && synced_complete(g, true)) complete_bound(g);
  /* else: fetch, then complete from the tick */
}

static void on_bound(cohort_group_t *g, const cohort_msg_t *m, const uint8_t *b, size_t len) {
  gsync_t *s = g->sx;
  if (len < 1 || !g->proposing) return;
  bool committed = b[0] != 0;
  b++, len--;
  if (group_sync_decode(b, len, s)) return;
  pmem_t *p = pm_find(g, m->from);
  if (!vid_eq(s->from_vid, g->vid)) { /* a partner member bound elsewhere: leave it out */
    if (p && p->comp == 1) p->comp = -2; /* ignored from now on */
    return;
  }
  if (committed) { /* proof that attempt was committed: finish it */
    finish_attempt(g, b, len);
    return;
  }
  if (g->p_phase != 1 || !p || p->inc != m->from_incarnation) return;
  /* A promise to another attempt: hold it until every survivor answered. */
  if (!g->p_held) {
    if (!(g->p_held = cohort_alloc(g->alloc, len))) return;
    memcpy(g->p_held, b, len);
    g->p_held_len = len;
    g->p_held_att = s->att;
    g->p_held_coord = s->pcoord;
  }
  if (s->att == g->p_held_att && s->pcoord == g->p_held_coord) p->held = true;
  else p->other = true; /* promised yet another attempt: it promised not ours */
  coord_check_vecs(g);
}

/* Every survivor answered and some promised an earlier attempt X (held).
 * X may have been committed only if every survivor of X promised it: a
 * survivor that answered us with its vector (or promised something else)
 * proves X never will be, and so does X being our own (we gave it up, and
 * only its coordinator commits it). Without such proof X is finished if
 * those who promised it hold a quorum of the last primary view (any other
 * side is then a minority and cannot be primary); otherwise it is voided
 * and our attempt goes on without it (as a minority: non-primary). */
static void decide_held(cohort_group_t *g) {
  gsync_t *s = g->sx;
  if (group_sync_decode(g->p_held, g->p_held_len, s)) { /* cannot happen: decoded before */
    cohort_free(g->alloc, g->p_held);
    g->p_held = NULL;
    return;
  }
  bool proof = g->p_held_coord == self_id(g);
  cohort_group_member_t held[COHORT_GROUP_MEMBERS_MAX];
  size_t nh = 0;
  for (size_t k = 0; k < g->pn; k++) {
    const pmem_t *p = &g->pm[k];
    if (p->comp != 0 || !in_list(s->mem, s->n, p->id, p->inc)) continue;
    if (p->other || (p->vec && !p->held)) proof = true;
    if (p->held) held[nh++] = (cohort_group_member_t){p->id, p->inc};
  }
  if (!proof && quorum(g, held, nh, g->p_lp, g->p_lp_n)) {
    uint8_t *b = g->p_held;
    size_t len = g->p_held_len;
    g->p_held = NULL; /* finish_attempt frees the proposal */
    g->stats.attempts_finished++;
    finish_attempt(g, b, len);
    cohort_free(g->alloc, b);
    return;
  }
  /* void it: those who promised it drop the promise and answer again */
  gw_t w = group_writer(g);
  gw_u32(&w, g->p_held_att);
  gw_u32(&w, g->p_held_coord);
  for (size_t k = 1; k < g->pn; k++) {
    pmem_t *p = &g->pm[k];
    if (!p->held) continue;
    p->held = false;
    (void)group_send(g, p->id, p->inc, GK_VOID, &w);
  }
  if (g->bound && !g->bound_committed && g->bound_att == g->p_held_att &&
      g->bound_coord == g->p_held_coord)
    clear_bound(g);
  g->pm[0].held = false;
  g->stats.attempts_voided++;
  cohort_free(g->alloc, g->p_held);
  g->p_held = NULL;
  coord_check_vecs(g);
}

static void on_void(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  uint32_t att = gr_u32(r);
  cohort_node_id_t coord = gr_u32(r);
  (void)m;
  if (r->err || !g->in_view || !g->bound || g->bound_committed) return;
  if (g->bound_att == att && g->bound_coord == coord) clear_bound(g);
}

static void on_nack(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  uint32_t att = gr_u32(r);
  (void)gr_u32(r);
  (void)m;
  if (r->err || !g->proposing) return;
  if (att >= g->seen_att) g->seen_att = att; /* the next attempt starts above it */
  g->p_started_ns = now_of(g) - g->cfg.flush_timeout_ns; /* retry at the next tick */
}

static void on_suspect(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  cohort_node_id_t peer = gr_u32(r);
  uint64_t inc = gr_u64(r);
  double phi = gr_f64(r), mean = gr_f64(r), since = gr_f64(r);
  uint32_t samples = gr_u32(r);
  if (r->err || !g->in_view || !vid_eq(vid, g->vid) || g->cfg.local_suspicion_only) return;
  if (group_index(g, m->from) == SIZE_MAX) return;
  size_t k = group_index(g, peer);
  if (k == SIZE_MAX || k == g->self || g->mem[k].inc != inc || g->mem[k].failed) return;
  gmem_t *x = &g->mem[k];
  x->failed = true;
  x->failed_by = m->from;
  x->phi = phi;
  x->mean_ms = mean;
  x->since_ms = since;
  x->samples = samples;
  x->reason = "reported";
}

static void on_leave(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  if (r->err || !g->in_view || !vid_eq(vid, g->vid)) return;
  size_t k = group_index(g, m->from);
  if (k != SIZE_MAX && g->mem[k].inc == m->from_incarnation) g->mem[k].leaving = true;
}

static void on_installed(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  if (r->err || !g->in_view || !vid_eq(vid, g->vid)) return;
  size_t k = group_index(g, m->from);
  if (k != SIZE_MAX && g->mem[k].inc == m->from_incarnation) g->mem[k].installed = true;
}

static void on_excluded_msg(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_group_view_id_t by = gr_vid(r), of = gr_vid(r);
  (void)m;
  if (r->err || !g->in_view || !vid_eq(of, g->vid) || by.epoch <= g->vid.epoch) return;
  on_excluded(g, by);
}

static void on_probe(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  uint64_t lp_epoch = gr_u64(r);
  uint16_t n = gr_u16(r);
  if (r->err || n == 0 || n > COHORT_GROUP_MEMBERS_MAX) return;
  if (!g->in_view) { /* we are joining: here is a group */
    if (g->status != COHORT_GROUP_JOINING) return;
    gw_t w = group_writer(g);
    gw_u64(&w, self_inc(g));
    (void)cohort_node_send_to(g->node, &g->proto, m->from, m->from_incarnation, GK_JOIN, w.p,
                              w.len);
    return;
  }
  if (vid_eq(vid, g->vid) || g->proposing || g->blocked || !am_coordinator(g)) return;
  if (group_index(g, m->from) != SIZE_MAX) return; /* one of ours, behind: it learns otherwise */
  /* the lower coordinator id leads the merge */
  if (self_id(g) > vid.coord || (self_id(g) == vid.coord && self_inc(g) > vid.coord_inc)) return;
  size_t pn = 0;
  for (uint16_t i = 0; i < n; i++) {
    pending_join_t *pj = &g->partner_mem[pn];
    pj->id = gr_u32(r);
    pj->inc = gr_u64(r);
    pj->addr_len = gr_u8(r);
    if (pj->addr_len > COHORT_PEER_ADDR_MAX) return;
    const uint8_t *a = gr_bytes(r, pj->addr_len);
    if (r->err) return;
    if (pj->addr_len) memcpy(pj->addr, a, pj->addr_len);
    if (pj->id == self_id(g) || group_index(g, pj->id) != SIZE_MAX) return; /* overlapping */
    pn++;
  }
  if (r->err || pn == 0) return;
  g->partner = true;
  g->partner_vid = vid;
  g->partner_lp_epoch = lp_epoch;
  g->partner_n = pn;
  for (size_t i = 0; i < pn; i++)
    (void)cohort_node_peer_add(g->node, g->partner_mem[i].id, g->partner_mem[i].inc,
                               g->partner_mem[i].addr_len ? g->partner_mem[i].addr : NULL,
                               g->partner_mem[i].addr_len);
}

static void on_status(cohort_group_t *g, const cohort_msg_t *m, gr_t *r) {
  cohort_group_view_id_t vid = gr_vid(r);
  if (r->err) return;
  if (!g->in_view || !vid_eq(vid, g->vid)) group_on_foreign_vid(g, m, vid);
}

static int g_recv(cohort_proto_t *p, const cohort_msg_t *m) {
  cohort_group_t *g = (cohort_group_t *)p;
  gr_t r = {.p = m->payload, .len = m->payload_len};
  if (m->kind == 0 || m->kind > GK_KIND_MAX) {
    g->stats.rx_malformed++;
    return COHORT_EPROTO;
  }
  if (g->status == COHORT_GROUP_LEFT) return 0;
  /* Only a JOIN (and a PROBE or COMMIT to a joiner) may come from a
   * sender that is not a peer yet. */
  if (!m->from_peer && m->kind != GK_JOIN && m->kind != GK_COMMIT && m->kind != GK_PROBE)
    return 0;
  switch (m->kind) {
  case GK_JOIN: on_join(g, m, &r); break;
  case GK_JOIN_FWD: on_join_fwd(g, m, &r); break;
  case GK_SYNC: member_on_sync(g, m->payload, m->payload_len, m->from); break;
  case GK_COMMIT: on_commit(g, m, m->payload, m->payload_len); break;
  case GK_FLUSH: on_flush(g, m, &r); break;
  case GK_FLUSH_VEC: on_flush_vec(g, m, &r); break;
  case GK_FLUSH_OK: {
    uint32_t att = gr_u32(&r);
    cohort_node_id_t coord = gr_u32(&r);
    if (!r.err && g->proposing && att == g->p_att && coord == self_id(g)) {
      pmem_t *pm = pm_find(g, m->from);
      if (pm && pm->inc == m->from_incarnation) coord_on_ok(g, m->from);
    }
    break;
  }
  case GK_NACK: on_nack(g, m, &r); break;
  case GK_BOUND: on_bound(g, m, m->payload, m->payload_len); break;
  case GK_DATA: group_mcast_recv_data(g, m, &r); break;
  case GK_ACK: group_mcast_recv_ack(g, m, &r); break;
  case GK_STABLE: group_mcast_recv_stable(g, m, &r); break;
  case GK_FETCH: group_mcast_recv_fetch(g, m, &r); break;
  case GK_INSTALLED: on_installed(g, m, &r); break;
  case GK_EXCLUDED: on_excluded_msg(g, m, &r); break;
  case GK_SUSPECT: on_suspect(g, m, &r); break;
  case GK_LEAVE: on_leave(g, m, &r); break;
  case GK_PROBE: on_probe(g, m, &r); break;
  case GK_STATE_REQ: group_state_recv_req(g, m, &r); break;
  case GK_STATE_CHUNK: group_state_recv_chunk(g, m, &r); break;
  case GK_STATE_GONE: group_state_recv_gone(g, m, &r); break;
  case GK_STATUS: on_status(g, m, &r); break;
  case GK_VOID: on_void(g, m, &r); break;
  default: break;
  }
  if (r.err) {
    g->stats.rx_malformed++;
    return COHORT_EPROTO;
  }
  return 0;
}

/* ---- the tick: every duty that waits on time ------------------------------------- */

static void report_suspicions(cohort_group_t *g, int64_t now, size_t coord) {
  if (coord == g->self || !g->fd) return;
  for (size_t i = 0; i < g->n; i++) {
    gmem_t *x = &g->mem[i];
    if (i == g->self || i == coord || !member_suspected(g, x)) continue;
    if (now - x->last_report_ns < 10 * g->cfg.ack_interval_ns) continue;
    x->last_report_ns = now;
    cohort_fd_peer_info_t info = {0};
    (void)cohort_fd_peer_info(g->fd, x->id, &info);
    gw_t w = group_writer(g);
    gw_vid(&w, g->vid);
    gw_u32(&w, x->id);
    gw_u64(&w, x->inc);
    gw_f64(&w, info.phi);
    gw_f64(&w, info.mean_ns / 1e6);
    gw_f64(&w, (double)info.since_ns / 1e6);
    gw_u32(&w, info.samples);
    (void)group_send(g, g->mem[coord].id, g->mem[coord].inc, GK_SUSPECT, &w);
  }
}

static void send_probes(cohort_group_t *g) {
  size_t np;
  const cohort_node_id_t *peers = cohort_node_peers(g->node, &np);
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  gw_u64(&w, g->lp_epoch);
  gw_u16(&w, (uint16_t)g->n);
  for (size_t i = 0; i < g->n; i++) {
    gw_u32(&w, g->mem[i].id);
    gw_u64(&w, g->mem[i].inc);
    gw_u8(&w, g->mem[i].addr_len);
    gw_bytes(&w, g->mem[i].addr, g->mem[i].addr_len);
  }
  for (size_t i = 0; i < np; i++)
    if (group_index(g, peers[i]) == SIZE_MAX && !suspected(g, peers[i]))
      (void)cohort_node_send_to(g->node, &g->proto, peers[i], COHORT_INCARNATION_ANY, GK_PROBE,
                                w.p, w.len);
}

static void coord_tick(cohort_group_t *g, int64_t now) {
  if (g->proposing) {
    /* a survivor that fails or stays silent is left out: try again */
    bool restart = false;
    for (size_t k = 1; k < g->pn; k++) {
      pmem_t *p = &g->pm[k];
      if (p->comp < 0) continue;
      size_t i = p->comp == 0 ? group_index(g, p->id) : SIZE_MAX;
      bool gone = i != SIZE_MAX ? member_suspected(g, &g->mem[i]) || g->mem[i].failed
                                : suspected(g, p->id);
      bool late = now - g->p_started_ns >= g->cfg.flush_timeout_ns &&
                  (g->p_phase == 1 ? !p->vec && !p->held : !p->ok);
      if (!gone && !late) continue;
      restart = true;
      if (i != SIZE_MAX && !g->mem[i].failed) {
        g->mem[i].failed = true;
        g->mem[i].failed_by = self_id(g);
        g->mem[i].reason = gone ? "suspected" : "flush-timeout";
      } else if (p->comp == 1) {
        g->partner = false; /* the merge did not work out this time */
      }
    }
    if (restart) {
      start_proposal(g);
      return;
    }
    if (now - g->p_sent_ns >= g->cfg.retransmit_ns) { /* resend what is unanswered */
      g->p_sent_ns = now;
      for (size_t k = 1; k < g->pn; k++) {
        pmem_t *p = &g->pm[k];
        if (p->comp < 0) continue;
        if (g->p_phase == 1 && !p->vec) send_flush(g, p);
        if (g->p_phase == 2 && !p->ok) {
          pcomp_t *c = &g->comp[p->comp];
          gw_t w = {.p = c->sync, .len = c->sync_len, .cap = c->sync_len};
          (void)group_send(g, p->id, p->inc, GK_SYNC, &w);
        }
      }
      if (g->p_phase == 2 && g->bound == false) synced_complete(g, true);
    }
    return;
  }
  if (g->blocked) return; /* someone else's proposal: the member timers handle it */
  bool change = g->self != 0 || g->partner;
  for (size_t i = 0; i < g->n && !change; i++)
    if (i != g->self && must_go(g, &g->mem[i])) change = true;
  if (g->joins_len && now - g->first_join_ns >= g->cfg.join_delay_ns) change = true;
  if (!change && !g->primary && g->n > 1) { /* joiners made a quorum: confirm it */
    cohort_group_member_t ids[COHORT_GROUP_MEMBERS_MAX];
    for (size_t i = 0; i < g->n; i++) ids[i] = (cohort_group_member_t){g->mem[i].id, g->mem[i].inc};
    bool all_in = true;
    for (size_t i = 0; i < g->n; i++)
      if (g->mem[i].since_ns > now - g->cfg.flush_timeout_ns) all_in = false;
    if (all_in && quorum(g, ids, g->n, g->lp, g->lp_n) && g->status == COHORT_GROUP_MEMBER)
      change = now - g->mem[g->self].since_ns >= g->cfg.flush_timeout_ns &&
               g->view.joined_len > 0;
  }
  if (change) {
    start_proposal(g);
    return;
  }
  /* re-send the COMMIT to members that have not installed it */
  if (now - g->last_retx_ns >= g->cfg.retransmit_ns && g->last_commit) {
    for (size_t i = 1; i < g->n; i++) {
      if (g->mem[i].installed) continue;
      resend_commit(g, g->mem[i].id, g->mem[i].inc);
    }
  }
  if (now - g->last_probe_ns >= g->cfg.merge_interval_ns) {
    g->last_probe_ns = now;
    send_probes(g);
  }
}

/* Our view id, to the coordinator and one random member: a member that
 * moved on answers with the COMMIT we missed or with EXCLUDED
 * (group_on_foreign_vid), so a process stranded in a dead view learns it. */
static void send_status(cohort_group_t *g, int64_t now, size_t coord) {
  if (now - g->last_status_ns < g->cfg.merge_interval_ns) return;
  g->last_status_ns = now;
  gw_t w = group_writer(g);
  gw_vid(&w, g->vid);
  (void)group_send(g, g->mem[coord].id, g->mem[coord].inc, GK_STATUS, &w);
  size_t other = (size_t)cohort_node_random_below(g->node, g->n);
  if (other != g->self && other != coord)
    (void)group_send(g, g->mem[other].id, g->mem[other].inc, GK_STATUS, &w);
}

static void member_tick(cohort_group_t *g, int64_t now, size_t coord) {
  if (g->blocked) {
    if (g->synced && !g->bound) synced_complete(g, now - g->fetch_ns >= g->cfg.retransmit_ns);
    if (now - g->fetch_ns >= g->cfg.retransmit_ns) {
      g->fetch_ns = now;
      if (g->bound && !synced_complete(g, true)) {
      } else if (g->bound && g->bound_buf) {
        gsync_t *s = g->sx; /* a COMMIT waiting for fetched messages */
        if (!group_sync_decode(g->bound_buf, g->bound_len, s)) {
          (void)s;
        }
      }
      maybe_flush_ok(g);
    }
    /* the proposer is gone and nobody finished: take over */
    if (now - g->blocked_ns >= 3 * g->cfg.flush_timeout_ns && coord == g->self) {
      g->blocked_ns = now;
      /* a COMMIT we hold is proof: finish it; a mere promise is not
       * (the attempt may never have been committed): propose, holding it */
      if (g->bound && g->bound_committed) complete_bound(g);
      else start_proposal(g);
    }
    /* blocked for long: perhaps the view changed without us */
    if (now - g->blocked_ns >= g->cfg.flush_timeout_ns && coord != g->self)
      send_status(g, now, coord);
    return;
  }
  report_suspicions(g, now, coord);
  if (g->leaving && now - g->leave_sent_ns >= g->cfg.retransmit_ns * 4) {
    g->leave_sent_ns = now;
    gw_t w = group_writer(g);
    gw_vid(&w, g->vid);
    (void)group_send(g, g->mem[coord].id, g->mem[coord].inc, GK_LEAVE, &w);
  }
  send_status(g, now, coord);
}

/* A member waiting for a state nobody can give it holds nothing the group
 * needs: it starts over as a new process (a new incarnation that joins). */
void group_restart_as_new(cohort_group_t *g, const char *reason) {
  group_state_abandon(g, reason);
  free_view(g);
  free_proposal(g);
  clear_bound(g);
  (void)cohort_node_reincarnate(g->node);
  g->sent_before = 0;
  g->out_seq = 0;
  g->out_bytes = 0;
  g->seen_att = 0;
  g->seen_coord = 0;
  g->stats.rejoins++;
  start_joining(g);
}

static void g_timer(cohort_proto_t *p, uint32_t id) {
  cohort_group_t *g = (cohort_group_t *)p;
  if (id != T_TICK) return;
  int64_t now = now_of(g);
  (void)cohort_node_timer_set(g->node, p, T_TICK, now + g->cfg.ack_interval_ns);
  if (g->status == COHORT_GROUP_LEFT) return;
  if (!g->in_view) {
    if (now >= g->join_next_ns) {
      g->join_next_ns = now + g->cfg.join_retry_ns;
      send_joins(g);
    }
    /* the founder founds once every contact had two chances to answer */
    size_t nc;
    (void)cohort_node_contacts(g->node, &nc);
    int64_t wait = g->cfg.join_retry_ns * (int64_t)(nc + 1);
    if (g->founder == self_id(g) && now - g->join_started_ns >= wait) found_group(g);
    return;
  }
  /* a bound member with a COMMIT waiting: install once everything arrived */
  if (g->bound && g->bound_buf && g->blocked && synced_complete(g, false) && !g->proposing) {
    gsync_t *s = g->sx;
    if (!group_sync_decode(g->bound_buf, g->bound_len, s) && g->status != COHORT_GROUP_STATE_WAIT) {
      /* nothing: the COMMIT comes from the coordinator (or a completer) */
    }
  }
  size_t coord = rank_coordinator(g);
  if (coord == g->self && g->status == COHORT_GROUP_STATE_WAIT) {
    /* everyone who could give us the state is gone */
    group_restart_as_new(g, "no donor left");
    return;
  }
  if (coord == g->self && !g->leaving) coord_tick(g, now);
  else if (g->leaving && g->self == coord && g->n > 1) {
    /* a leaving coordinator hands over: the next member takes over */
    size_t next = g->self == 0 ? 1 : 0;
    if (now - g->leave_sent_ns >= g->cfg.retransmit_ns * 4) {
      g->leave_sent_ns = now;
      gw_t w = group_writer(g);
      gw_vid(&w, g->vid);
      (void)group_send(g, g->mem[next].id, g->mem[next].inc, GK_LEAVE, &w);
    }
  }
  if (!g->in_view) return;
  if (coord != g->self || g->blocked) member_tick(g, now, coord);
  if (!g->in_view) return;
  group_mcast_tick(g, now);
  group_state_tick(g, now);
  if (g->app_tick && g->in_view) g->app_tick(g->ud, now);
}

static void g_peer(cohort_proto_t *p, cohort_node_id_t peer, cohort_peer_event_t ev) {
  cohort_group_t *g = (cohort_group_t *)p;
  if (!g->in_view) return;
  size_t k = group_index(g, peer);
  if (k == SIZE_MAX || k == g->self) return;
  gmem_t *m = &g->mem[k];
  if (ev == COHORT_PEER_RESTARTED || ev == COHORT_PEER_FAILED) {
    cohort_incarnation_t now_inc = cohort_node_peer_incarnation(g->node, peer);
    if (ev == COHORT_PEER_FAILED || now_inc > m->inc) {
      m->failed = true;
      m->failed_by = self_id(g);
      m->reason = ev == COHORT_PEER_FAILED ? "failed" : "restarted";
    }
  }
}

static void g_start(cohort_proto_t *p) {
  cohort_group_t *g = (cohort_group_t *)p;
  g->started = true;
  start_joining(g);
  (void)cohort_node_timer_set(g->node, p, T_TICK, now_of(g) + g->cfg.ack_interval_ns);
}

static int g_control(cohort_proto_t *p, const char *cmd) {
  cohort_group_t *g = (cohort_group_t *)p;
  if (!strcmp(cmd, "leave")) return cohort_group_leave(g);
  return COHORT_EUNKNOWN;
}

static const cohort_proto_ops_t group_ops = {
    .name = "group", .proto_id = COHORT_PROTO_GROUP, .kind_name = cohort_group_kind_name,
    .start = g_start, .recv = g_recv, .timer = g_timer, .peer = g_peer,
    .flags = COHORT_PROTO_ACCEPT_UNKNOWN, .control = g_control};

/* ---- public ------------------------------------------------------------------------ */

const char *cohort_group_kind_name(uint32_t kind) {
  static const char *const names[] = {
      NULL, "join", "join_fwd", "sync", "commit", "flush", "flush_vec", "flush_ok", "nack",
      "bound", "data", "ack", "stable", "fetch", "installed", "excluded", "suspect", "leave",
      "probe", "state_req", "state_chunk", "state_gone", "status", "void"};
  return kind <= GK_KIND_MAX ? names[kind] : NULL;
}

void cohort_group_config_default(cohort_group_config_t *cfg) {
  *cfg = (cohort_group_config_t){
      .ack_interval_ns = 5 * COHORT_NS_PER_MS, .retransmit_ns = 50 * COHORT_NS_PER_MS,
      .join_retry_ns = 300 * COHORT_NS_PER_MS, .join_delay_ns = 20 * COHORT_NS_PER_MS,
      .flush_timeout_ns = 1000 * COHORT_NS_PER_MS, .merge_interval_ns = 1000 * COHORT_NS_PER_MS,
      .state_timeout_ns = 3000 * COHORT_NS_PER_MS, .window = 256, .window_bytes = 1u << 20,
      .state_window = 16,
      .expected_votes = 1, .minority = COHORT_GROUP_MINORITY_CONTINUE};
}

int cohort_group_config_check(const cohort_group_config_t *c, char *err, size_t errcap) {
  const char *bad = NULL;
  if (c->ack_interval_ns <= 0 || c->ack_interval_ns > 10 * COHORT_NS_PER_S) bad = "ack";
  else if (c->retransmit_ns < c->ack_interval_ns) bad = "retransmit (>= ack)";
  else if (c->join_retry_ns <= 0 || c->join_delay_ns < 0) bad = "join-retry / join-delay";
  else if (c->flush_timeout_ns < c->retransmit_ns) bad = "flush-timeout (>= retransmit)";
  else if (c->merge_interval_ns <= 0 || c->state_timeout_ns <= 0) bad = "merge-interval";
  else if (c->window < 1 || c->window > COHORT_GROUP_WINDOW_MAX) bad = "window (1..4096)";
  else if (c->window_bytes < COHORT_GROUP_MSG_MAX || c->window_bytes > 1u << 30)
    bad = "window-bytes (30000..1 GiB)";
  else if (c->state_window < 1 || c->state_window > 256) bad = "state-window (1..256)";
  else if (c->expected_votes < 1 || c->expected_votes > 1u << 20) bad = "expected";
  else if (c->minority > COHORT_GROUP_MINORITY_BLOCK) bad = "minority";
  else if (c->votes_len > COHORT_NODES_MAX || (c->votes_len && (!c->votes || !c->vote_nodes)))
    bad = "votes";
  for (size_t i = 0; !bad && i < c->votes_len; i++)
    if (c->votes[i] > 1u << 16) bad = "votes (each 0..65536)";
  if (bad) {
    cohort_fmt(err, errcap, "group: bad %s", bad);
    return COHORT_EINVAL;
  }
  return 0;
}

int cohort_group_new(cohort_node_t *node, const cohort_group_config_t *cfg,
                     const cohort_group_callbacks_t *cb, void *ud, cohort_group_t **out) {
  cohort_group_config_t def;
  if (!cfg) {
    cohort_group_config_default(&def);
    cfg = &def;
  }
  if (!node || !out || cohort_group_config_check(cfg, NULL, 0)) return COHORT_EINVAL;
  const cohort_allocator_t *a = cohort_node_allocator(node);
  cohort_group_t *g = cohort_calloc(a, 1, sizeof *g);
  if (!g) return COHORT_ENOMEM;
  g->alloc = a;
  g->node = node;
  g->cfg = *cfg;
  if (cb) g->cb = *cb;
  g->ud = ud;
  g->founder = 1;
  g->proto.ops = &group_ops;
  g->ring_cap = 1;
  while (g->ring_cap < cfg->window) g->ring_cap <<= 1;
  g->tbuf_cap = 1024 + (size_t)COHORT_GROUP_MEMBERS_MAX * 4 * 48;
  g->scratch = cohort_alloc(a, COHORT_PAYLOAD_MAX);
  g->sx = cohort_alloc(a, sizeof *g->sx);
  g->tbuf = cohort_alloc(a, g->tbuf_cap);
  g->v_members = cohort_calloc(a, COHORT_GROUP_MEMBERS_MAX, sizeof *g->v_members);
  g->v_joined = cohort_calloc(a, COHORT_GROUP_MEMBERS_MAX, sizeof *g->v_joined);
  g->v_left = cohort_calloc(a, COHORT_GROUP_MEMBERS_MAX, sizeof *g->v_left);
  g->v_failed = cohort_calloc(a, COHORT_GROUP_MEMBERS_MAX, sizeof *g->v_failed);
  if (cfg->votes_len) {
    g->vote_nodes = cohort_calloc(a, cfg->votes_len, sizeof *g->vote_nodes);
    g->votes = cohort_calloc(a, cfg->votes_len, sizeof *g->votes);
  }
  bool ok = g->scratch && g->sx && g->tbuf && g->v_members && g->v_joined && g->v_left &&
            g->v_failed && (!cfg->votes_len || (g->vote_nodes && g->votes));
  if (ok && cfg->votes_len) {
    memcpy(g->vote_nodes, cfg->vote_nodes, cfg->votes_len * sizeof *g->vote_nodes);
    memcpy(g->votes, cfg->votes, cfg->votes_len * sizeof *g->votes);
    g->cfg.vote_nodes = g->vote_nodes;
    g->cfg.votes = g->votes;
  }
  if (ok) {
    cohort_proto_t *fdp = cohort_node_proto(node, COHORT_PROTO_FD);
    g->fd = fdp ? cohort_fd_from_proto(fdp) : NULL;
    if (!g->fd) {
      cohort_fd_config_t fc;
      cohort_fd_config_default(&fc);
      g->fd = cohort_alloc(a, sizeof *g->fd);
      if (!g->fd || cohort_fd_init(g->fd, node, &fc)) {
        cohort_free(a, g->fd);
        g->fd = NULL;
        ok = false;
      } else {
        g->own_fd = true;
        if (cohort_node_attach(node, cohort_fd_proto(g->fd)) == 0) g->fd_attached = true;
        else ok = false;
      }
    }
  }
  if (!ok) {
    cohort_group_free(g);
    return COHORT_ENOMEM;
  }
  if (cfg->founder) g->founder = cohort_node_id(node);
  *out = g;
  return 0;
}

void cohort_group_free(cohort_group_t *g) {
  if (!g) return;
  const cohort_allocator_t *a = g->alloc;
  free_view(g);
  group_mcast_free(g);
  free_proposal(g);
  clear_bound(g);
  group_state_abandon(g, NULL);
  group_state_donor_reset(g);
  if (g->own_fd && g->fd) {
    if (g->fd_attached) cohort_node_detach(g->node, cohort_fd_proto(g->fd));
    cohort_fd_close(g->fd);
    cohort_free(a, g->fd);
  }
  cohort_free(a, g->last_commit);
  cohort_free(a, g->partner_commit);
  cohort_free(a, g->lp);
  cohort_free(a, g->scratch);
  cohort_free(a, g->sx);
  cohort_free(a, g->tbuf);
  cohort_free(a, g->v_members);
  cohort_free(a, g->v_joined);
  cohort_free(a, g->v_left);
  cohort_free(a, g->v_failed);
  cohort_free(a, g->vote_nodes);
  cohort_free(a, g->votes);
  cohort_free(a, g);
}

cohort_proto_t *cohort_group_proto(cohort_group_t *g) { return &g->proto; }
cohort_group_t *cohort_group_from_proto(cohort_proto_t *p) {
  return p && p->ops == &group_ops ? (cohort_group_t *)p : NULL;
}
cohort_fd_t *cohort_group_fd(cohort_group_t *g) { return g->fd; }
cohort_group_status_t cohort_group_status(const cohort_group_t *g) { return g->status; }
const cohort_group_view_t *cohort_group_view(const cohort_group_t *g) {
  return g->in_view ? &g->view : NULL;
}
const cohort_group_stats_t *cohort_group_stats(const cohort_group_t *g) { return &g->stats; }

/* Used by cohort_group_factory to make one node the founder. */
COHORT_INTERNAL void group_set_founder(cohort_group_t *g, cohort_node_id_t id);
void group_set_founder(cohort_group_t *g, cohort_node_id_t id) { g->founder = id; }

int cohort_group_leave(cohort_group_t *g) {
  if (!g->in_view || g->leaving) return COHORT_ESTATE;
  char a[64];
  group_trace(g, "leave", "{\"vid\":\"%s\"}", vid_str(g->vid, a, sizeof a));
  g->leaving = true;
  if (g->n == 1) {
    free_view(g);
    g->status = COHORT_GROUP_LEFT;
    return 0;
  }
  g->leave_sent_ns = 0;
  return 0;
}

int cohort_group_status_line(const cohort_group_t *g, char *buf, size_t cap) {
  static const char *const st[] = {"joining", "member", "blocked", "state-wait", "left"};
  if (!g->in_view) return cohort_fmt(buf, cap, "group %s", st[g->status]);
  char a[64];
  int pos = cohort_fmt(buf, cap, "view %s [", vid_str(g->vid, a, sizeof a));
  for (size_t i = 0; i < g->n && pos >= 0; i++)
    pos += cohort_fmt(buf + ((size_t)pos < cap ? (size_t)pos : cap),
                    (size_t)pos < cap ? cap - (size_t)pos : 0, "%s%u", i ? " " : "", g->mem[i].id);
  pos += cohort_fmt(buf + ((size_t)pos < cap ? (size_t)pos : cap),
                  (size_t)pos < cap ? cap - (size_t)pos : 0, "] %s %s",
                  g->primary ? "primary" : "non-primary", st[g->status]);
  return pos;
}

/* (now_ms_of is for future status lines) */
COHORT_INTERNAL int64_t group_now_ms(cohort_group_t *g);
int64_t group_now_ms(cohort_group_t *g) { return now_ms_of(now_of(g)); }
