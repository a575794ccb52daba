/*
 * tools/mutex_workload.c — the host side of the mutex's `workload=file`
 * (cohort/mutex.h, cohort_mutex_file_host_t): protocol code may not touch
 * files, so the `cohort` tool records the critical sections of `cohort
 * node ... --proto "mutex workload=file path=F"` here. Every enter, exit
 * and lease expiry becomes one line "NODE SEQ enter|exit|expire TOKEN"
 * appended to F.
 *
 * Invariants: F is opened with O_APPEND and every line is one write(2) of
 * the whole line, so lines of different processes never tear and never
 * overwrite each other — any interleaving of two nodes' enter/exit pairs
 * in F is the mutex's, not the recorder's. The trace is written before the
 * effect it records: the runtime buffers trace records (flushing before
 * sends and every COHORT_RUNTIME_TRACE_FLUSH_MS), and the mutex traces
 * lock_grant before it calls the recorder, so the recorder flushes the
 * node's trace (cohort_runtime_node_flush) before each append; a SIGKILL
 * after the append then cannot lose the grant the file shows
 * (tests/coord/mutex_kill_trace.sh). A failed flush is counted by the
 * runtime (trace_errors) and the line is still appended: the file is the
 * critical section itself, and holding it back would not undo the entry. No fsync: the test reads the
 * file after the writers are gone (the page cache is shared); a crash of
 * the machine is not what it checks. The handle is the descriptor + 1 (so
 * that descriptor 0 is not NULL).
 *
 * main() registers the recorder (cohort_tool_register_hosts) before any
 * sub-command runs, because the protocols of `cohort node` are created
 * through the registry, which has no per-protocol host hook.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd.h"
#include "cohort/mutex.h"
#include "cohort/runtime.h"

/* The one runtime node of this `cohort node` process (see cmd.h). */
static cohort_runtime_node_t *flush_node;

void cohort_tool_flush_before_effects(cohort_runtime_node_t *rn) { flush_node = rn; }

static void *file_open(const char *path, char *err, size_t errcap) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(err, errcap, "%s: cannot open for appending", path);
    return NULL;
  }
  return (void *)(intptr_t)(fd + 1);
}

static void file_record(void *ud, cohort_node_id_t node, cohort_mutex_cs_event_t ev,
                        uint64_t seq, uint64_t token) {
  int fd = (int)(intptr_t)ud - 1;
  char line[96];
  int n = snprintf(line, sizeof line, "%u %llu %s %llu\n", node, (unsigned long long)seq,
                   cohort_mutex_cs_event_name(ev), (unsigned long long)token);
  if (n <= 0 || (size_t)n >= sizeof line) return;
  if (flush_node && cohort_node_id(cohort_runtime_node(flush_node)) == node)
    (void)cohort_runtime_node_flush(flush_node); /* the record before the effect */
  ssize_t w = write(fd, line, (size_t)n);
  if (w != n) { /* a short append would tear the record: say so, once */
    static int warned;
    if (!warned++) fprintf(stderr, "cohort: mutex workload: append failed\n");
  }
}

static void file_close(void *h) { close((int)(intptr_t)h - 1); }

static const cohort_mutex_file_host_t file_host = {file_open, file_record, file_close};

void cohort_tool_register_hosts(void) { cohort_mutex_set_file_host(&file_host); }
