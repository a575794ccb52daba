/*
 * src/group/group_internal.h — state of the group membership protocol,
 * shared by group.c (views, flush, commit, joins, merge), group_mcast.c
 * (stability-based multicast, state transfer) and group_wire.c (codec).
 */
#ifndef COHORT_GROUP_INTERNAL_H
#define COHORT_GROUP_INTERNAL_H

#include "cohort/group.h"
#include "cohort/limits.h"

/* Message kinds (docs/group.md, "Wire format"). */
enum {
  GK_JOIN = 1,      /* joiner -> contact: {} (identity in the envelope) */
  GK_JOIN_FWD = 2,  /* member -> coordinator: {id, inc, addr} */
  GK_SYNC = 3,      /* coordinator -> survivor: {prop, view, cut}   */
  GK_COMMIT = 4,    /* coordinator -> member: same body, install it  */
  GK_FLUSH = 5,     /* coordinator -> survivor: {prop, epoch, comps} */
  GK_FLUSH_VEC = 6, /* survivor -> coordinator: {prop, vid, flags, have[]} */
  GK_FLUSH_OK = 7,  /* survivor -> coordinator: {prop} */
  GK_NACK = 8,      /* survivor -> proposer: {prop seen} */
  GK_BOUND = 9,     /* survivor -> proposer: the SYNC it promised */
  GK_DATA = 10,     /* {vid, sender, sinc, seq, stable, payload} */
  GK_ACK = 11,      /* {vid, have} */
  GK_STABLE = 12,   /* {vid, stable} */
  GK_FETCH = 13,    /* {vid, sender, from, to} */
  GK_INSTALLED = 14,/* {vid} */
  GK_EXCLUDED = 15, /* {vid by, vid of} */
  GK_SUSPECT = 16,  /* {vid, peer, inc, phi, mean, since, samples} */
  GK_LEAVE = 17,    /* {vid} */
  GK_PROBE = 18,    /* {vid, lp_epoch, members} */
  GK_STATE_REQ = 19,  /* {vid, start, n} */
  GK_STATE_CHUNK = 20,/* {vid, index, total, data} */
  GK_STATE_GONE = 21, /* {vid} */
  GK_STATUS = 22,     /* {vid}: keep-alive of a member */
  GK_VOID = 23,       /* proposer -> survivor: {att, coord}: that promise is void */
  GK_KIND_MAX = 23
};

/* Bytes of one state chunk (fits a payload with its header). */
#define GROUP_STATE_CHUNK 30000
#define GROUP_RING_MAX COHORT_GROUP_WINDOW_MAX
#define GROUP_PENDING_MAX 64 /* joins / reports waiting for a view change */

typedef struct gw {
  uint8_t *p;
  size_t len, cap;
  bool err;
} gw_t;

typedef struct gr {
  const uint8_t *p;
  size_t len, pos;
  bool err;
} gr_t;

COHORT_INTERNAL void gw_u8(gw_t *w, uint8_t v);
COHORT_INTERNAL void gw_u16(gw_t *w, uint16_t v);
COHORT_INTERNAL void gw_u32(gw_t *w, uint32_t v);
COHORT_INTERNAL void gw_u64(gw_t *w, uint64_t v);
COHORT_INTERNAL void gw_f64(gw_t *w, double v);
COHORT_INTERNAL void gw_bytes(gw_t *w, const void *b, size_t n);
COHORT_INTERNAL uint8_t gr_u8(gr_t *r);
COHORT_INTERNAL uint16_t gr_u16(gr_t *r);
COHORT_INTERNAL uint32_t gr_u32(gr_t *r);
COHORT_INTERNAL uint64_t gr_u64(gr_t *r);
COHORT_INTERNAL double gr_f64(gr_t *r);
COHORT_INTERNAL const uint8_t *gr_bytes(gr_t *r, size_t n);

/* Internal service of a core message: the sequencer's ORDER batch (never
 * handed to the application; group_mcast.c). */
#define GROUP_SVC_ORDER 0x80u

typedef struct gslot {
  uint8_t *data; /* NULL = empty */
  uint32_t len;
  uint8_t svc;   /* ordering bits (COHORT_MCAST_*), or GROUP_SVC_ORDER */
  bool held;     /* stable but held back by its ordering (counted once) */
  uint64_t seq;
  uint64_t *vec; /* causal: the sender's delivered counts, per member (n) */
} gslot_t;

/* A global sequence number's message: sender rank and its seq. */
typedef struct gorder {
  uint32_t sender; /* UINT32_MAX: a hole (the message is beyond the cut) */
  uint64_t seq;
} gorder_t;

/* Entries of one ORDER message (fits a payload: 12 bytes each). */
#define GROUP_ORDER_BATCH_MAX 1024
/* Arrivals past a gap before a receiver asks the sender for it (FETCH). */
#define GROUP_NACK_REORDER 3

/* A member of the current view, as a sender and as a receiver. */
typedef struct gmem {
  cohort_node_id_t id;
  cohort_incarnation_t inc;
  uint8_t addr_len;
  uint8_t addr[COHORT_PEER_ADDR_MAX];
  /* its messages, here */
  uint64_t have;       /* received contiguously */
  uint64_t delivered;  /* handed to the application */
  uint64_t stable;     /* announced stable by the sender */
  uint64_t acked_sent; /* what we last acknowledged to it */
  uint64_t nacked;     /* the last seq we asked it for again (FETCH, a gap) */
  int64_t nack_ns;     /* when we last asked */
  uint64_t base;       /* its multicasts before this view (message ids) */
  gslot_t *ring;       /* seq s at ring[s % ring_cap], for s in (delivered, ...] */
  /* our messages, there */
  uint64_t acked;
  int64_t progress_ns; /* last ack progress (or last retransmission) */
  int64_t since_ns;    /* in this view since */
  /* why it must go */
  bool failed, leaving, installed;
  cohort_node_id_t failed_by;
  double phi, mean_ms, since_ms;
  uint32_t samples;
  const char *reason;
  int64_t last_report_ns; /* a SUSPECT about it was last sent */
} gmem_t;

/* A proposed member (coordinator side). */
typedef struct pmem {
  cohort_node_id_t id;
  cohort_incarnation_t inc;
  uint8_t addr_len;
  uint8_t addr[COHORT_PEER_ADDR_MAX];
  int comp;          /* old view component index, -1 = joiner */
  bool vec, ok, installed, no_state;
  bool held;         /* answered with a promise to the held attempt (p_held) */
  bool other;        /* answered with a promise to yet another attempt */
  uint64_t *have;    /* per member of its component's view */
  uint64_t ostable;   /* the sequencer's stream known stable there (ORDERs anyone used) */
} pmem_t;

/* An old view taking part in a view change. */
typedef struct pcomp {
  cohort_group_view_id_t vid;
  cohort_group_member_t *mem; /* its members (the senders of that view) */
  size_t n;
  uint64_t *cut;
  cohort_node_id_t *holder;
  uint64_t ostable; /* the highest ostable of its survivors (capped at the cut) */
  uint64_t lp_epoch;
  cohort_group_member_t *lp; /* processes (id, incarnation) */
  size_t lp_n;
  uint8_t *sync; /* the SYNC/COMMIT body for its survivors */
  size_t sync_len;
} pcomp_t;

typedef struct pending_join {
  cohort_node_id_t id;
  cohort_incarnation_t inc;
  uint8_t addr_len;
  uint8_t addr[COHORT_PEER_ADDR_MAX];
} pending_join_t;

/* A parsed SYNC / COMMIT / BOUND body (borrowing the datagram). */
typedef struct gsync {
  uint32_t att;
  cohort_node_id_t pcoord;
  cohort_group_view_id_t vid, from_vid;
  bool primary;
  uint64_t lp_epoch;
  size_t n, lp_n, cut_n, merged_n, failed_n, left_n;
  cohort_group_member_t mem[COHORT_GROUP_MEMBERS_MAX];
  uint8_t addr_len[COHORT_GROUP_MEMBERS_MAX];
  const uint8_t *addr[COHORT_GROUP_MEMBERS_MAX];
  cohort_group_member_t lp[COHORT_GROUP_MEMBERS_MAX];
  cohort_group_member_t cut_mem[COHORT_GROUP_MEMBERS_MAX];
  uint64_t cut[COHORT_GROUP_MEMBERS_MAX];
  uint64_t ostable; /* our component's: ORDERs up to it may have been used */
  bool tail_decides; /* our component carries on a majority of the old view */
  cohort_node_id_t holder[COHORT_GROUP_MEMBERS_MAX];
  cohort_group_view_id_t merged[2];
  cohort_group_member_t failed[COHORT_GROUP_MEMBERS_MAX], left[COHORT_GROUP_MEMBERS_MAX];
} gsync_t;

COHORT_INTERNAL int group_sync_decode(const uint8_t *b, size_t len, gsync_t *s);

struct cohort_group {
  cohort_proto_t proto; /* first: the node calls us through it */
  cohort_group_config_t cfg;
  cohort_node_id_t *vote_nodes;
  uint32_t *votes;
  cohort_group_callbacks_t cb;
  void *ud;
  const cohort_allocator_t *alloc;
  cohort_node_t *node;
  cohort_fd_t *fd;
  bool own_fd, fd_attached, started;
  cohort_group_status_t status;
  cohort_node_id_t founder;

  /* the current view */
  bool in_view;
  cohort_group_view_id_t vid;
  bool primary;
  gmem_t *mem;
  size_t n, self;
  uint32_t ring_cap;
  uint64_t out_seq;       /* our messages in this view */
  uint64_t sent_before;   /* our messages in earlier views of this incarnation */
  uint64_t stable_sent;   /* what we last announced */
  bool stable_dirty;      /* stability advanced since the last announcement */
  uint64_t lp_epoch;      /* the last primary view known, by epoch */
  cohort_group_member_t *lp; /* processes (id, incarnation) */
  size_t lp_n;
  cohort_group_view_t view; /* what the application reads */
  cohort_group_member_t *v_members, *v_joined, *v_left, *v_failed;
  cohort_group_view_id_t v_merged[2];
  uint8_t *last_commit;   /* the COMMIT that made this view (for laggards) */
  size_t last_commit_len;
  /* After a merge: the COMMIT of the other component (its members match
   * it against their own view), re-sent with last_commit to laggards. */
  uint8_t *partner_commit;
  size_t partner_commit_len;
  cohort_group_view_id_t partner_commit_vid;
  cohort_group_view_id_t prev_vid;
  bool has_prev;
  bool leaving;
  int64_t leave_sent_ns;

  /* member side of a view change */
  uint32_t seen_att;       /* highest proposal answered */
  cohort_node_id_t seen_coord;
  bool blocked;
  int64_t blocked_ns;
  bool synced;             /* a SYNC for the proposal we answered */
  uint64_t *cut;           /* per member of our view */
  cohort_node_id_t *holder;
  /* the flush being done: may it not decide the old view's TOTAL tail
   * (its component carries on no majority of the old view)?, the view it
   * leads to, and how far the old view's ORDERs are known stable there */
  bool flush_minority;
  cohort_group_view_id_t flush_next;
  uint64_t flush_ostable;
  bool bound;              /* FLUSH_OK sent: the promise */
  uint8_t *bound_buf;
  size_t bound_len;
  uint32_t bound_att;
  cohort_node_id_t bound_coord;
  bool bound_committed; /* the bound body is a COMMIT we received, not a SYNC */
  /* An earlier attempt some survivors promised (ours or another
   * coordinator's), found while proposing: completed if it may have been
   * committed, voided if it cannot have been (group.c, decide_held). */
  uint8_t *p_held;
  size_t p_held_len;
  uint32_t p_held_att;
  cohort_node_id_t p_held_coord;
  uint64_t last_p_epoch; /* the highest epoch we ever proposed */
  int64_t fetch_ns;
  cohort_group_view_id_t block_traced;

  /* coordinator side */
  bool proposing;
  uint32_t p_att;
  uint64_t p_epoch;
  pmem_t *pm;
  size_t pn;
  pcomp_t comp[2];
  size_t ncomp;
  int p_phase; /* 1 collect vectors, 2 sync sent, 3 committed */
  uint64_t p_lp_epoch; /* the newest last-primary view any survivor knows */
  cohort_group_member_t p_lp[COHORT_GROUP_MEMBERS_MAX];
  size_t p_lp_n;
  int64_t p_started_ns, p_sent_ns;
  bool p_leader_leaves;
  pending_join_t joins[GROUP_PENDING_MAX];
  size_t joins_len;
  int64_t first_join_ns;
  /* merge partner found by a probe */
  bool partner;
  cohort_group_view_id_t partner_vid;
  uint64_t partner_lp_epoch;
  pending_join_t partner_mem[COHORT_GROUP_MEMBERS_MAX];
  size_t partner_n;
  int64_t last_probe_ns;

  /* joining */
  int64_t join_next_ns, join_started_ns;
  size_t join_contact;

  /* state transfer: donor */
  uint8_t *st_buf;
  size_t st_len;
  cohort_group_view_id_t st_vid;
  bool st_have;
  /* joiner */
  bool st_wait, st_none;
  uint8_t *st_in;
  size_t st_total;
  uint8_t *st_got; /* one byte per chunk */
  size_t st_chunks, st_received, st_next_req;
  int64_t st_progress_ns, st_req_ns;
  cohort_node_id_t st_donor;

  /* ordering services of the current view (group_mcast.c; reset when
   * the view id changes) */
  cohort_group_view_id_t ord_vid;
  bool ord_ready;
  gorder_t *ord;          /* gseq g at ord[g & (ord_cap - 1)], g in [ord_next, ord_end) */
  size_t ord_cap;
  uint64_t ord_next;      /* the next gseq to deliver (from 1) */
  uint64_t ord_end;       /* one past the highest gseq known */
  uint64_t *ord_hi;       /* per member: its highest seq given a gseq */
  uint64_t ord_applied;   /* the sequencer's messages read for ORDERs */
  uint64_t *seq_scan;     /* sequencer: per member, seqs looked at */
  uint64_t out_bytes;     /* payload bytes of our messages not yet delivered here */
  uint64_t seq_next;      /* sequencer: the next gseq to hand out */
  gorder_t *seq_batch;    /* sequencer: entries not yet sent */
  size_t seq_batch_len;

  int64_t tick_ns, last_retx_ns, last_status_ns;
  void (*app_tick)(void *ud, int64_t now); /* the factory's test application */
  cohort_group_stats_t stats;
  uint8_t *scratch; /* COHORT_PAYLOAD_MAX bytes for encoding */
  gsync_t *sx;      /* a decoded SYNC / COMMIT (too large for the stack) */
  char *tbuf;       /* trace data */
  size_t tbuf_cap;
};

/* group_mcast.c */
COHORT_INTERNAL void group_mcast_recv_data(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
COHORT_INTERNAL void group_mcast_recv_ack(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
COHORT_INTERNAL void group_mcast_recv_stable(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
/* Ask member `to_id` (incarnation to_inc) for `sender`'s messages
 * [from, upto] of this view (FETCH); group_send's result. */
COHORT_INTERNAL int group_send_fetch(cohort_group_t *g, cohort_node_id_t to_id,
                                     cohort_incarnation_t to_inc, cohort_node_id_t sender,
                                     uint64_t from, uint64_t upto);
COHORT_INTERNAL void group_mcast_recv_fetch(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
COHORT_INTERNAL void group_mcast_tick(cohort_group_t *g, int64_t now);
COHORT_INTERNAL void group_try_deliver(cohort_group_t *g, size_t s, uint64_t upto, bool flush);
/* The flush of a view change: deliver every message up to g->cut, in an
 * order every survivor shares (ordered TOTAL messages by gseq, then the
 * unordered ones by (sender rank, seq)). */
COHORT_INTERNAL void group_mcast_flush(cohort_group_t *g);
COHORT_INTERNAL void group_mcast_free(cohort_group_t *g);
COHORT_INTERNAL void group_ring_free(cohort_group_t *g, gmem_t *m);
COHORT_INTERNAL gslot_t *group_slot(cohort_group_t *g, gmem_t *m, uint64_t seq);
COHORT_INTERNAL void group_send_data(cohort_group_t *g, size_t to, cohort_node_id_t sender_idx_id,
                                     size_t sender, uint64_t seq, bool retx);
COHORT_INTERNAL void group_state_recv_req(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
COHORT_INTERNAL void group_state_recv_chunk(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
COHORT_INTERNAL void group_state_recv_gone(cohort_group_t *g, const cohort_msg_t *m, gr_t *r);
COHORT_INTERNAL void group_state_tick(cohort_group_t *g, int64_t now);
COHORT_INTERNAL void group_state_begin(cohort_group_t *g, cohort_node_id_t donor);
COHORT_INTERNAL void group_state_abandon(cohort_group_t *g, const char *reason);
/* Abandon the transfer and rejoin as a new incarnation (group.c). */
COHORT_INTERNAL void group_restart_as_new(cohort_group_t *g, const char *reason);
COHORT_INTERNAL void group_state_donor_reset(cohort_group_t *g);

/* group.c, used by group_mcast.c */
COHORT_INTERNAL int group_send(cohort_group_t *g, cohort_node_id_t to, cohort_incarnation_t inc,
                               uint32_t kind, const gw_t *w);
COHORT_INTERNAL size_t group_index(const cohort_group_t *g, cohort_node_id_t id);
COHORT_INTERNAL void group_trace(cohort_group_t *g, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
COHORT_INTERNAL void gw_vid(gw_t *w, cohort_group_view_id_t v);
COHORT_INTERNAL cohort_group_view_id_t gr_vid(gr_t *r);
COHORT_INTERNAL void group_on_foreign_vid(cohort_group_t *g, const cohort_msg_t *m,
                                          cohort_group_view_id_t their);
static inline bool vid_eq(cohort_group_view_id_t a, cohort_group_view_id_t b) {
  return a.epoch == b.epoch && a.coord == b.coord && a.coord_inc == b.coord_inc;
}
static inline gw_t group_writer(cohort_group_t *g) {
  return (gw_t){.p = g->scratch, .cap = COHORT_PAYLOAD_MAX};
}

#endif
