/*
 * tools/cmd.h — the sub-commands of the `cohort` command. Each returns the
 * process exit status: 0 success, 1 a failed check or run, 2 bad usage
 * (after printing a clear message to stderr).
 */
#ifndef COHORT_TOOLS_CMD_H
#define COHORT_TOOLS_CMD_H

#include <stddef.h>

int cohort_cmd_sim(int argc, char **argv);     /* cmd_sim.c */
int cohort_cmd_node(int argc, char **argv);    /* cmd_node.c */
int cohort_cmd_cluster(int argc, char **argv); /* cmd_cluster.c */
int cohort_cmd_trace(int argc, char **argv);   /* cmd_trace.c */
int cohort_cmd_bench(int argc, char **argv);   /* cohort.c: dispatches */
int cohort_cmd_ntp(int argc, char **argv);     /* cmd_ntp.c */
int cohort_cmd_status(int argc, char **argv);  /* cmd_status.c */

/* node_observe.c: `cohort node --metrics/--control` (either may be NULL;
 * with a state dir and no control path, DIR/node-ID.sock). Prints what it
 * serves; returns 0, or 1 with a message when it cannot listen. *out is
 * NULL when nothing was asked for. */
typedef struct uv_loop_s uv_loop_t;
typedef struct cohort_runtime_node cohort_runtime_node_t;
typedef struct cohort_observe cohort_observe_t;
int node_observe_start(uv_loop_t *loop, cohort_runtime_node_t *rn, const char *metrics_addr,
                       const char *control_path, const char *state_dir,
                       cohort_observe_t **out);

/* Host-side facilities protocols may use (mutex_workload.c: the file
 * recorder of the mutex's workload=file). Called once by main. */
void cohort_tool_register_hosts(void);
/* The runtime node whose trace mutex_workload.c flushes before each line
 * it appends to a critical-section file, so that a SIGKILL cannot leave an
 * effect outside without its trace record (NULL: none). `cohort node`
 * sets it to its one node before creating protocols and clears it before
 * freeing the runtime. */
struct cohort_runtime_node;
void cohort_tool_flush_before_effects(struct cohort_runtime_node *rn);

/* `cohort bench NAME` targets. */
int cohort_bench_sim(int argc, char **argv); /* bench_sim.c */
/* The event-queue candidates side by side; 0, or 1 if one misbehaved. */
int cohort_bench_queues(void); /* bench_queue.c */
int cohort_bench_fd(int argc, char **argv);  /* bench_fd.c */
int cohort_bench_rpc(int argc, char **argv); /* bench_rpc.c */
int cohort_bench_clock(int argc, char **argv); /* bench_clock.c */
int cohort_bench_mutex(int argc, char **argv); /* bench_mutex.c */
int cohort_bench_election(int argc, char **argv); /* bench_election.c */
int cohort_bench_group(int argc, char **argv); /* bench_group.c */
int cohort_bench_multicast(int argc, char **argv); /* bench_multicast.c */
/* bench_util.c. The directory of a bench's peer programs: $env_name,
 * else ../bench/<sub> beside this binary. 0, or -1. */
int cohort_bench_peer_dir(const char *env_name, const char *sub, char *dir, size_t cap);
/* One ratio line, num / den against target: at_least 1 (a floor), 0 (a
 * ceiling) — "met" / "NOT met" — or -1 (no target: `reference` names the
 * figure beside it); "n/a" when either side is missing. */
void cohort_bench_ratio(int width, const char *what, double num, double den, double target,
                        int at_least, const char *reference);

#endif
