/*
 * bench/multicast/mc_cpg.c — the Corosync CPG peer of `cohort bench
 * multicast` (protocol: bench/multicast/mc_peer.h). It talks to the
 * corosync daemon of its network namespace (bench/multicast/corosync-netns
 * starts one per node) through libcpg, joins the group "cohortbench",
 * prints READY once the group has --nodes members, and after GO multicasts
 * --size byte messages with CPG_TYPE_AGREED (Corosync's totally ordered,
 * virtually synchronous delivery) as fast as the daemon's IPC flow control
 * accepts them. Every delivery, its own messages included, is recorded.
 *
 * One thread, one poll() loop on the CPG fd and stdin. Sending happens in
 * bursts of at most MC_CPG_BURST messages (environment, default 32) between
 * dispatches, so the daemon always sees us reading; on CS_ERR_TRY_AGAIN
 * (the daemon's flow control) the peer counts an eagain, then waits up to
 * 1 ms for the fd (deliveries free the daemon's queues) and dispatches.
 *
 * At --seconds + --drain after GO the record and the RESULT line are
 * written first, then the peer leaves the group and disconnects (cpg_leave
 * waits for the daemon, which does not answer during a membership change:
 * bounded by a 3 s alarm). A setup call (initialize, join) that keeps
 * answering CS_ERR_TRY_AGAIN is retried for at most 2 s; READY must come
 * within 30 s of the join, GO within 300 s of READY.
 *
 * --peers, --service, --key-file and --window are ignored: the daemon's
 * config (corosync-netns) is the system's configuration.
 *
 * Build: cc -O2 -o mc_cpg mc_cpg.c mc_peer.c $(pkg-config --cflags --libs libcpg)
 * (libcpg from libcpg-dev: -lcpg -lqb -pthread).
 */
#include "mc_peer.h"

#include <corosync/corotypes.h>
#include <corosync/cpg.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP_NAME "cohortbench"
#define READY_TIMEOUT_NS (30ull * 1000000000ull) /* join to full membership */
#define GO_TIMEOUT_NS (300ull * 1000000000ull)   /* READY to GO */
#define RETRY_LIMIT 200                          /* TRY_AGAIN on setup calls, 10 ms apart */
#define BURST_DEFAULT 32u
#define BURST_MAX 4096u

static mc_run_t run;
static size_t members;      /* entries of the group's last member list */
static bool saw_membership; /* a confchg for our group arrived */
static bool ready;
static bool finished;             /* mc_finish done: the record file is closed */
static volatile sig_atomic_t exit_rc;

#define LEAVE_TIMEOUT_S 3u

static void on_alarm(int sig) {
  (void)sig;
  static const char m[] = "mc_cpg: cpg_leave/cpg_finalize did not return within 3 s\n";
  ssize_t w = write(2, m, sizeof m - 1);
  (void)w;
  _exit(exit_rc);
}

static const char *cs_name(cs_error_t err) {
  switch (err) {
    case CS_OK: return "CS_OK";
    case CS_ERR_LIBRARY: return "CS_ERR_LIBRARY";
    case CS_ERR_TIMEOUT: return "CS_ERR_TIMEOUT";
    case CS_ERR_TRY_AGAIN: return "CS_ERR_TRY_AGAIN";
    case CS_ERR_INVALID_PARAM: return "CS_ERR_INVALID_PARAM";
    case CS_ERR_NO_MEMORY: return "CS_ERR_NO_MEMORY";
    case CS_ERR_BAD_HANDLE: return "CS_ERR_BAD_HANDLE";
    case CS_ERR_ACCESS: return "CS_ERR_ACCESS";
    case CS_ERR_NOT_EXIST: return "CS_ERR_NOT_EXIST";
    case CS_ERR_EXIST: return "CS_ERR_EXIST";
    case CS_ERR_NOT_SUPPORTED: return "CS_ERR_NOT_SUPPORTED";
    case CS_ERR_MESSAGE_ERROR: return "CS_ERR_MESSAGE_ERROR";
    default: return "?";
  }
}

static void die(const char *what, cs_error_t err) {
  fprintf(stderr, "peer %u: %s failed: cs_error_t %d (%s)\n", run.o.index, what, (int)err,
          cs_name(err));
  exit(1);
}

static bool our_group(const struct cpg_name *g) {
  return g->length == strlen(GROUP_NAME) && memcmp(g->value, GROUP_NAME, g->length) == 0;
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
                       uint32_t pid, void *msg, size_t len) {
  (void)h;
  (void)nodeid;
  (void)pid;
  if (!our_group(group) || finished) return;
  /* Before GO there is no traffic of ours; a stray message still goes to
   * mc_record, which counts a malformed one as bad. */
  mc_record(&run, msg, len);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *group,
                       const struct cpg_address *member_list, size_t member_entries,
                       const struct cpg_address *left_list, size_t left_entries,
                       const struct cpg_address *joined_list, size_t joined_entries) {
  (void)h;
  (void)member_list;
  (void)left_list;
  (void)joined_list;
  (void)joined_entries;
  if (!our_group(group)) return;
  members = member_entries;
  saw_membership = true;
  /* Peers stop within milliseconds of each other: leaves after the
   * sending time are the end of the run, not a failure. */
  if (ready && left_entries > 0 && (!run.go || mc_now_ns() < run.t_send_end_ns))
    fprintf(stderr, "peer %u: CPG membership shrank to %zu member(s) during the run\n",
            run.o.index, member_entries);
}

/* A setup call that may answer CS_ERR_TRY_AGAIN (e.g. while the daemon
 * synchronises after a membership change): retried, bounded. */
#define RETRY(what, call)                                                  \
  do {                                                                     \
    cs_error_t err_;                                                       \
    int tries_ = 0;                                                        \
    while ((err_ = (call)) == CS_ERR_TRY_AGAIN && ++tries_ < RETRY_LIMIT)  \
      (void)poll(NULL, 0, 10);                                             \
    if (err_ != CS_OK) die(what, err_);                                    \
  } while (0)

static void dispatch(cpg_handle_t h) {
  cs_error_t err = cpg_dispatch(h, CS_DISPATCH_ALL);
  if (err != CS_OK && err != CS_ERR_TRY_AGAIN) die("cpg_dispatch", err);
}

static unsigned burst_size(void) {
  const char *s = getenv("MC_CPG_BURST");
  if (s == NULL || *s == '\0') return BURST_DEFAULT;
  char *end = NULL;
  unsigned long v = strtoul(s, &end, 10);
  if (*end != '\0' || v < 1 || v > BURST_MAX) {
    fprintf(stderr, "peer %u: MC_CPG_BURST must be 1..%u\n", run.o.index, BURST_MAX);
    exit(2);
  }
  return (unsigned)v;
}

int main(int argc, char **argv) {
  mc_opts_t o;
  mc_parse(argc, argv, "mc_cpg", &o);
  mc_run_open(&run, &o);
  const unsigned burst = burst_size();

  cpg_model_v1_data_t model = {
      .model = CPG_MODEL_V1,
      .cpg_deliver_fn = on_deliver,
      .cpg_confchg_fn = on_confchg,
      .cpg_totem_confchg_fn = NULL,
      .flags = 0,
  };
  cpg_handle_t h;
  RETRY("cpg_model_initialize (is corosync running in this network namespace?)",
        cpg_model_initialize(&h, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL));
  int cfd = -1;
  RETRY("cpg_fd_get", cpg_fd_get(h, &cfd));
  struct cpg_name group;
  memset(&group, 0, sizeof group);
  group.length = (uint32_t)strlen(GROUP_NAME);
  memcpy(group.value, GROUP_NAME, group.length);
  RETRY("cpg_join", cpg_join(h, &group));

  static uint8_t msg[MC_SIZE_MAX];
  struct iovec iov = {.iov_base = msg, .iov_len = o.size};
  const uint64_t t_join = mc_now_ns();
  uint64_t t_ready = 0;

  for (;;) {
    uint64_t now = mc_now_ns();
    if (run.go && now >= run.t_end_ns) break;
    if (!ready) {
      if (saw_membership && members >= o.nodes) {
        ready = true;
        t_ready = now;
        mc_ready();
      } else if (now - t_join > READY_TIMEOUT_NS) {
        fprintf(stderr, "peer %u: CPG group '%s' has %zu of %u members after 30 s\n", o.index,
                GROUP_NAME, members, o.nodes);
        exit(1);
      }
    } else if (!run.go && now - t_ready > GO_TIMEOUT_NS) {
      fprintf(stderr, "peer %u: no GO within 300 s of READY\n", o.index);
      exit(1);
    }

    /* Send a burst; stop it at the daemon's flow control. */
    bool sending = mc_sending(&run, now), blocked = false;
    for (unsigned k = 0; sending && k < burst; k++) {
      mc_fill(&run, msg);
      cs_error_t err = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
      if (err == CS_ERR_TRY_AGAIN) {
        run.eagain++;
        blocked = true;
        break;
      }
      if (err != CS_OK) die("cpg_mcast_joined", err);
      run.sent++;
      sending = mc_sending(&run, mc_now_ns());
    }

    /* Then read: at once while we may send, up to 1 ms when blocked,
     * otherwise until the next deadline (at most 100 ms). */
    int timeout_ms = 100;
    if (sending) timeout_ms = blocked ? 1 : 0;
    if (run.go) {
      now = mc_now_ns();
      uint64_t next = run.t_end_ns;
      if (run.o.index < run.o.senders && now < run.t_send_end_ns) next = run.t_send_end_ns;
      uint64_t left_ms = next > now ? (next - now) / 1000000u + 1 : 0;
      if ((uint64_t)timeout_ms > left_ms) timeout_ms = (int)left_ms;
    }
    struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    nfds_t np = run.go ? 1 : 2; /* stdin only matters until GO */
    int n = poll(p, np, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "peer %u: poll: %s\n", o.index, strerror(errno));
      exit(1);
    }
    if (p[0].revents & (POLLERR | POLLNVAL)) {
      fprintf(stderr, "peer %u: the CPG connection failed (corosync gone?)\n", o.index);
      exit(1);
    }
    if (p[0].revents & (POLLIN | POLLHUP)) dispatch(h);
    if (np == 2 && (p[1].revents & (POLLIN | POLLHUP))) (void)mc_poll_go(&run);
  }

  /* The run is over at t_end: the record and the RESULT line go out now,
   * since cpg_leave waits for the daemon's answer, which can take seconds
   * (a daemon in the middle of a membership change does not answer). Then
   * leave and disconnect, bounded by an alarm; a failure here is reported
   * but does not change the result. */
  finished = true; /* late deliveries are not recorded */
  exit_rc = mc_finish(&run);
  signal(SIGALRM, on_alarm);
  alarm(LEAVE_TIMEOUT_S);
  cs_error_t err;
  int tries = 0;
  while ((err = cpg_leave(h, &group)) == CS_ERR_TRY_AGAIN && ++tries < 100) (void)poll(NULL, 0, 10);
  if (err != CS_OK)
    fprintf(stderr, "peer %u: cpg_leave: cs_error_t %d (%s)\n", o.index, (int)err, cs_name(err));
  err = cpg_finalize(h);
  if (err != CS_OK)
    fprintf(stderr, "peer %u: cpg_finalize: cs_error_t %d (%s)\n", o.index, (int)err,
            cs_name(err));
  return exit_rc;
}
