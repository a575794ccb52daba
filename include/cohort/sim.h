/*
 * cohort/sim.h — the deterministic simulator: scenarios, runs, results.
 *
 * The simulator is the second host of cohort nodes (the first is the libuv
 * runtime). It runs every node of a cluster in one thread on virtual true
 * time (ns), with a network model (latency distributions, jitter, loss,
 * duplication, reordering, partitions), per-node clocks C(t) = αt + β with
 * drift, steps and slews, and crashes and restarts. Protocols are created
 * by name from the registry (cohort/registry.h), exactly as `cohort node`
 * creates them, and run as the same object code.
 *
 * Invariants:
 *  - a run is a pure function of (scenario, seed): the same pair gives a
 *    byte-identical trace. Events are ordered by (true time, insertion
 *    sequence); every random draw comes from a PRNG stream keyed by the
 *    seed and by its concern (network per link, clock per node, node
 *    `random` per node, faults), so adding a node does not reshuffle the
 *    draws of the others;
 *  - node ids are 1..nodes; node 0 is never used;
 *  - the simulator writes trace records only for what no node can see:
 *    network drops ("loss", "partition", "crashed") and fault state events
 *    with proto "sim" ("crash", "restart", "partition", "heal", "step",
 *    "slew", "join", "leave", "ctl"); the nodes write everything else.
 *
 * Typical use (the CLI and `cohort bench fd` do exactly this):
 *
 *     cohort_scenario_t *sc;
 *     if (cohort_scenario_load("scenarios/fd-phi.scn", NULL, &sc, err,
 *                              sizeof err)) { puts(err); exit(2); }
 *     cohort_sim_config_t cfg = {.seed = 42, .trace_path = "t.jsonl",
 *                                .run_checks = true};
 *     cohort_sim_t *sim;
 *     if (cohort_sim_new(sc, &cfg, &sim, err, sizeof err)) ...;
 *     cohort_sim_run(sim);                 // to the scenario's duration
 *     const cohort_sim_results_t *r = cohort_sim_results(sim);
 *     ... r->events, r->virtual_ns, r->checks[i].result.violations ...
 *     cohort_sim_free(sim);                // before the scenario
 *     cohort_scenario_free(sc);
 */
#ifndef COHORT_SIM_H
#define COHORT_SIM_H

#include <stdbool.h>

#include "cohort/check.h"
#include "cohort/node.h"
#include "cohort/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Virtual time 0 is this instant of the Unix epoch (2026-01-01T00:00:00Z),
 * so true and wall times in traces look like real timestamps. */
#define COHORT_SIM_EPOCH_NS (INT64_C(1767225600) * COHORT_NS_PER_S)

/* ---- scenarios ----------------------------------------------------------- */

/* A parsed scenario (docs/scenario-format.md). Immutable once parsed; one
 * scenario may be run by many simulators, one after another or at once. */
typedef struct cohort_scenario cohort_scenario_t;

typedef struct cohort_scenario_options {
  const cohort_allocator_t *alloc; /* NULL = default */
  /* Extra protocol factories searched before the registry (tests and
   * benches define protocols of their own). Borrowed; must outlive the
   * scenario and every simulator made from it. */
  const cohort_proto_factory_t *const *extra_factories;
  size_t extra_factories_len;
} cohort_scenario_options_t;

/* Parse scenario text (`len` bytes, need not be NUL-terminated). `name`
 * (e.g. the file name) prefixes error messages: "name:line: reason".
 * Protocol parameters are validated by a trial create on a scratch node,
 * checker names against the checker table. opts may be NULL. Returns 0,
 * COHORT_EINVAL (message in err) or COHORT_ENOMEM; *out only on success. */
int cohort_scenario_parse(const char *text, size_t len, const char *name,
                          const cohort_scenario_options_t *opts,
                          cohort_scenario_t **out, char *err, size_t errcap);
/* Read and parse a file; COHORT_EIO ("path: strerror") if unreadable. */
int cohort_scenario_load(const char *path,
                         const cohort_scenario_options_t *opts,
                         cohort_scenario_t **out, char *err, size_t errcap);
void cohort_scenario_free(cohort_scenario_t *s); /* accepts NULL */

uint32_t cohort_scenario_nodes(const cohort_scenario_t *s);
int64_t cohort_scenario_duration(const cohort_scenario_t *s);
const char *cohort_scenario_name(const cohort_scenario_t *s);
/* Number of `check` lines, and the text of check i ("fd bound=2s"). */
size_t cohort_scenario_checks(const cohort_scenario_t *s);
const char *cohort_scenario_check_text(const cohort_scenario_t *s, size_t i);

/* ---- simulators ------------------------------------------------------------ */

typedef struct cohort_sim cohort_sim_t;

/* Called with every trace record, in order (no trailing newline). */
typedef void (*cohort_sim_trace_fn)(void *ud, const char *line, size_t len);

typedef struct cohort_sim_config {
  uint64_t seed;
  /* Where the trace goes; any combination, or none (tracing is then off
   * in the nodes too, which is the fast path `cohort bench sim` uses). */
  const char *trace_path;   /* JSON Lines file, truncated; NULL = none */
  cohort_sim_trace_fn trace_fn; /* per-record callback; NULL = none */
  void *trace_ud;
  /* Keep the trace in memory and run the scenario's `check` lines when
   * the run ends (cohort_sim_run) or at cohort_sim_check. */
  bool run_checks;
  const cohort_allocator_t *alloc; /* NULL = the scenario's */
  /* Budgets (0 = the defaults COHORT_SIM_*_BUDGET of cohort/limits.h):
   * events processed, bytes held through the simulator's allocator (the
   * nodes, protocols, queue and datagram pool), bytes of trace written to
   * every sink. When one runs out the run stops (COHORT_EFULL) and
   * cohort_sim_results says which (budget, budget_msg). */
  uint64_t max_events;
  uint64_t max_memory_bytes;
  uint64_t max_trace_bytes;
} cohort_sim_config_t;

/* Outcome of one `check` line. */
typedef struct cohort_sim_check_outcome {
  const char *text; /* the check line ("fd bound=2s"), borrowed */
  int rc;           /* checker's return: 0 ran, or COHORT_EINVAL (see err) */
  char err[256];
  cohort_check_result_t result; /* valid when rc == 0 */
} cohort_sim_check_outcome_t;

/* COHORT_SIM_CHECKS_MAX (cohort/limits.h) bounds check lines. */
typedef struct cohort_sim_results {
  uint64_t events;       /* events processed: deliveries, wake-ups, faults */
  int64_t virtual_ns;    /* virtual time reached */
  uint64_t trace_records;
  /* Network. */
  uint64_t datagrams_sent;      /* accepted by the network from a node */
  uint64_t datagrams_delivered; /* handed to a live node */
  uint64_t datagrams_duplicated;
  uint64_t datagrams_reordered;
  uint64_t datagrams_replayed;  /* extra copies delivered after replay-delay */
  uint64_t datagrams_corrupted; /* bits flipped in flight */
  uint64_t drop_loss, drop_partition, drop_crashed, drop_full;
  /* Faults. */
  uint64_t crashes, restarts, partitions, heals, steps, slews;
  /* Membership and operator events: nodes that joined late (`join`),
   * leaves and ctl commands delivered, commands a protocol refused (its
   * control op returned an error), and leave / ctl lines ignored because
   * their node was down (a random crash). */
  uint64_t joins, leaves, controls, control_errors, ignored;
  /* Checks (filled once they ran). */
  bool checked;
  size_t checks_len;
  cohort_sim_check_outcome_t checks[COHORT_SIM_CHECKS_MAX];
  uint64_t violations; /* sum over checks; a check error counts as one */
  /* Budgets: the one that ran out ("events", "memory", "trace") or NULL,
   * a sentence saying so and how to raise it, and what was used. */
  const char *budget;
  char budget_msg[160];
  uint64_t memory_bytes_peak, trace_bytes;
  /* Failure models (docs/failure-models.md). Omission: datagrams a node's
   * send / receive omission dropped (traced as drops, reasons
   * "send-omission" / "recv-omission"), omit lines applied. Fail-stop:
   * crash notices given to live nodes. Timing: datagrams delayed by a slow
   * node or link, slow / slow-link lines applied, delays the network
   * timing model clamped to its bound, and the run's GST (partial
   * synchrony; -1 if none). Byzantine: forged copies sent, and of those
   * delivered, the ones authentication refused and the ones that passed
   * it (an unkeyed cluster); datagrams a stuck bit changed, stuck lines. */
  uint64_t drop_send_omission, drop_recv_omission, omissions;
  uint64_t notices;
  uint64_t datagrams_slowed, timing_faults, timing_clamped;
  int64_t gst_ns;
  uint64_t datagrams_forged, forged_refused, forged_passed;
  uint64_t datagrams_stuck, stuck_faults;
} cohort_sim_results_t;

/* Build the cluster of scenario `s` (borrowed: it must outlive the
 * simulator): create and start every node and protocol at virtual time 0.
 * Returns 0, COHORT_EINVAL (message in err, e.g. a protocol refusing its
 * parameters), COHORT_EIO (trace file), COHORT_EFULL (a budget ran out
 * while building: err names it) or COHORT_ENOMEM. */
int cohort_sim_new(const cohort_scenario_t *s, const cohort_sim_config_t *cfg,
                   cohort_sim_t **out, char *err, size_t errcap);
void cohort_sim_free(cohort_sim_t *sim); /* accepts NULL; closes the trace */

/* Run to the scenario's duration, then run the checks (if configured).
 * Returns 0, or a negative error if the simulator itself failed: COHORT_EIO
 * (trace file write error) or COHORT_EFULL (a budget ran out: results say
 * which; checks are not run). Violations are results, not errors. */
int cohort_sim_run(cohort_sim_t *sim);
/* Process every event with true time <= t_ns (virtual ns since start),
 * then set the clock to t_ns. May be called repeatedly with growing t,
 * with crash/restart/partition calls in between. Does not run checks.
 * COHORT_EFULL if a budget ran out (the clock stays at the last event;
 * every later call fails the same way). */
int cohort_sim_run_until(cohort_sim_t *sim, int64_t t_ns);
/* Run the scenario's checks over the trace so far (needs run_checks).
 * Returns 0 or COHORT_ESTATE. Results in cohort_sim_results. */
int cohort_sim_check(cohort_sim_t *sim);

int64_t cohort_sim_now(const cohort_sim_t *sim); /* virtual ns */
const cohort_sim_results_t *cohort_sim_results(const cohort_sim_t *sim);
const cohort_scenario_t *cohort_sim_scenario(const cohort_sim_t *sim);

/* ---- shrinking (docs/simulator.md, "Shrinking") --------------------------- */

typedef struct cohort_shrink_stats {
  size_t faults_before, faults_after; /* before: scripted + random as applied */
  uint32_t nodes_before, nodes_after;
  int64_t duration_before_ns, duration_after_ns;
  unsigned runs;   /* simulations it took */
  char check[256]; /* the check the seed fails, and the shrunk one still does */
} cohort_shrink_stats_t;

/* Shrink the fault schedule of a failing seed (cfg->seed; cfg's budgets
 * apply to every run, its trace settings are ignored): the seed's random
 * faults are written out as `at` lines, then faults are dropped,
 * shortened and moved later, and nodes and duration cut, as long as the
 * scenario still fails the same check. *out (a complete scenario text
 * with a comment saying what it still fails; free it with cohort_free and
 * opts' allocator) and *stats on success. Errors (message in err):
 * COHORT_ENOTFOUND the seed passes, COHORT_ESTATE the materialised
 * schedule no longer fails, COHORT_EINVAL bad scenario, COHORT_ENOMEM. At
 * most COHORT_SIM_SHRINK_RUNS_MAX simulations. */
int cohort_sim_shrink(const char *text, size_t len, const char *name,
                      const cohort_scenario_options_t *opts, const cohort_sim_config_t *cfg,
                      char **out, cohort_shrink_stats_t *stats, char *err, size_t errcap);

/* ---- access to the simulated cluster ------------------------------------- */

/* The live node with this id, or NULL if it is down or out of range. The
 * pointer is invalid after the node crashes. */
cohort_node_t *cohort_sim_node(cohort_sim_t *sim, cohort_node_id_t id);
/* The instance of protocol `name` ("fd") on a live node, or NULL. Cast it
 * to the protocol's own type to read its state (e.g. φ). */
cohort_proto_t *cohort_sim_proto(cohort_sim_t *sim, cohort_node_id_t id,
                                 const char *name);
bool cohort_sim_node_up(const cohort_sim_t *sim, cohort_node_id_t id);
/* Current (or last) incarnation of node id; 0 if out of range. */
cohort_incarnation_t cohort_sim_incarnation(const cohort_sim_t *sim,
                                            cohort_node_id_t id);
/* A node's clocks at the current virtual time (monotonic and physical). */
int64_t cohort_sim_node_now(const cohort_sim_t *sim, cohort_node_id_t id);
int64_t cohort_sim_node_wall(const cohort_sim_t *sim, cohort_node_id_t id);

/* ---- faults, programmatically (the same as `at` lines) --------------------- */

/* Each takes effect at the current virtual time and is traced like its
 * scenario line. COHORT_EINVAL for a bad id, COHORT_ESTATE for crashing a
 * down node or restarting a live one. */
int cohort_sim_crash(cohort_sim_t *sim, cohort_node_id_t id);
/* stable: keep the node's stable-storage blob (else it is erased). */
int cohort_sim_restart(cohort_sim_t *sim, cohort_node_id_t id, bool stable);
/* Block (block=true) or unblock datagrams from -> to (one direction). */
int cohort_sim_block(cohort_sim_t *sim, cohort_node_id_t from,
                     cohort_node_id_t to, bool block);
void cohort_sim_heal(cohort_sim_t *sim); /* unblock every link */

/* ---- stable storage ------------------------------------------------------ */

/* One blob per node that survives a restart marked "stable" and is erased
 * by any other restart. Nodes' protocols reach it through the simulator
 * running on this thread (cohort_sim_current). put copies the bytes
 * (COHORT_ENOMEM, or COHORT_EINVAL for a bad id or len above
 * COHORT_SIM_STABLE_MAX); get borrows them until the next put, or returns
 * COHORT_ENOTFOUND if nothing was stored. */
int cohort_sim_stable_put(cohort_sim_t *sim, cohort_node_id_t id,
                          const void *data, size_t len);
int cohort_sim_stable_get(const cohort_sim_t *sim, cohort_node_id_t id,
                          const void **data, size_t *len);
/* The simulator whose event is being processed on this thread, or NULL. */
cohort_sim_t *cohort_sim_current(void);

#ifdef __cplusplus
}
#endif
#endif
