/*
 * src/runtime/config.c — what a runtime node is configured from: listen
 * and peer addresses, fault specifications, the cluster key file and the
 * incarnation counter in the state directory.
 *
 * Everything here reads text or files from outside, so every failure is a
 * return code with a message naming the bad text; nothing asserts on
 * input. Outputs are written only on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cohort/registry.h"
#include "cohort/runtime.h"

#define ADDR_TEXT_MAX 128

static int parse_port(const char *s, bool allow_port0, int *out) {
  uint64_t v;
  if (cohort_parse_u64(s, &v) < 0 || v > 65535 || (v == 0 && !allow_port0))
    return COHORT_EINVAL;
  *out = (int)v;
  return 0;
}

int cohort_runtime_parse_addr(const char *s, bool allow_port0,
                              struct sockaddr_storage *out) {
  char host[ADDR_TEXT_MAX];
  const char *port;
  bool v6 = s && s[0] == '[';
  if (!s || strlen(s) >= sizeof host) return COHORT_EINVAL;
  if (v6) {
    const char *close = strstr(s, "]:");
    if (!close) return COHORT_EINVAL;
    memcpy(host, s + 1, (size_t)(close - s - 1));
    host[close - s - 1] = '\0';
    port = close + 2;
  } else {
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return COHORT_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    port = colon + 1;
  }
  int p;
  if (parse_port(port, allow_port0, &p) < 0) return COHORT_EINVAL;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  int r = v6 ? uv_ip6_addr(host, p, (struct sockaddr_in6 *)&ss)
             : uv_ip4_addr(host, p, (struct sockaddr_in *)&ss);
  if (r != 0) return COHORT_EINVAL;
  *out = ss;
  return 0;
}

static int parse_id(const char *s, cohort_node_id_t *out) {
  uint64_t v;
  if (cohort_parse_u64(s, &v) < 0 || v >= COHORT_NODE_NONE) return COHORT_EINVAL;
  *out = (cohort_node_id_t)v;
  return 0;
}

/* One "ID@ADDR:PORT" item of a peer list (item is a writable copy). */
static int parse_peer_item(char *item, cohort_runtime_peer_t *peer, char *err,
                           size_t errcap) {
  char *at = strchr(item, '@');
  if (!at) {
    snprintf(err, errcap, "peer '%s': expected ID@ADDR:PORT", item);
    return COHORT_EINVAL;
  }
  *at = '\0';
  if (parse_id(item, &peer->id) < 0) {
    snprintf(err, errcap, "peer '%s@%s': bad node id '%s'", item, at + 1, item);
    return COHORT_EINVAL;
  }
  if (cohort_runtime_parse_addr(at + 1, false, &peer->addr) < 0) {
    snprintf(err, errcap,
             "peer %s: bad address '%s' (want IPv4:PORT or [IPv6]:PORT, port 1-65535)",
             item, at + 1);
    return COHORT_EINVAL;
  }
  return 0;
}

int cohort_runtime_parse_peers(const char *s, cohort_runtime_peer_t *peers,
                               size_t *len, size_t cap, char *err,
                               size_t errcap) {
  char item[ADDR_TEXT_MAX + 16];
  size_t n = *len;
  for (const char *p = s;;) {
    size_t w = strcspn(p, ",");
    if (w == 0 || w >= sizeof item) {
      snprintf(err, errcap, "peer list '%s': empty or overlong item", s);
      return COHORT_EINVAL;
    }
    if (n == cap) {
      snprintf(err, errcap, "too many peers (max %zu)", cap);
      return COHORT_EINVAL;
    }
    memcpy(item, p, w);
    item[w] = '\0';
    cohort_runtime_peer_t peer;
    if (parse_peer_item(item, &peer, err, errcap) < 0) return COHORT_EINVAL;
    for (size_t i = 0; i < n; i++)
      if (peers[i].id == peer.id) {
        snprintf(err, errcap, "duplicate peer id %u", (unsigned)peer.id);
        return COHORT_EINVAL;
      }
    peers[n++] = peer;
    if (p[w] == '\0') break;
    p += w + 1;
  }
  *len = n;
  return 0;
}

/* One "key=value" of a fault spec into f. */
static int parse_fault_item(const char *key, const char *value,
                            cohort_runtime_fault_t *f, char *err, size_t errcap) {
  double *prob = !strcmp(key, "drop") ? &f->drop : !strcmp(key, "dup") ? &f->dup : NULL;
  int64_t *dur = !strcmp(key, "delay")    ? &f->delay_ns
                 : !strcmp(key, "jitter") ? &f->jitter_ns
                                          : NULL;
  if (prob) {
    double v;
    if (cohort_parse_double(value, &v) < 0 || v < 0 || v > 1) {
      snprintf(err, errcap, "fault %s: '%s' is not a probability in [0, 1]", key, value);
      return COHORT_EINVAL;
    }
    *prob = v;
    return 0;
  }
  if (dur) {
    if (cohort_parse_duration(value, dur) < 0) {
      snprintf(err, errcap, "fault %s: '%s' is not a duration (e.g. 5ms)", key, value);
      return COHORT_EINVAL;
    }
    return 0;
  }
  snprintf(err, errcap, "fault: unknown key '%s' (known: drop, dup, delay, jitter)", key);
  return COHORT_EINVAL;
}

static int parse_fault_list(const char *list, cohort_runtime_fault_t *f, char *err,
                            size_t errcap) {
  char item[64];
  for (const char *p = list;;) {
    size_t w = strcspn(p, ",");
    if (w == 0 || w >= sizeof item) {
      snprintf(err, errcap, "fault list '%s': empty or overlong item", list);
      return COHORT_EINVAL;
    }
    memcpy(item, p, w);
    item[w] = '\0';
    char *eq = strchr(item, '=');
    if (!eq) {
      snprintf(err, errcap, "fault '%s': expected KEY=VALUE", item);
      return COHORT_EINVAL;
    }
    *eq = '\0';
    if (parse_fault_item(item, eq + 1, f, err, errcap) < 0) return COHORT_EINVAL;
    if (p[w] == '\0') return 0;
    p += w + 1;
  }
}

int cohort_runtime_parse_fault(const char *s, cohort_node_id_t *peer,
                               cohort_runtime_fault_t *out, char *err,
                               size_t errcap) {
  const char *colon = strchr(s, ':');
  char who[16];
  if (!colon || (size_t)(colon - s) >= sizeof who || colon[1] == '\0') {
    snprintf(err, errcap, "fault '%s': expected PEER:KEY=VALUE,... (PEER an id or 'all')",
             s);
    return COHORT_EINVAL;
  }
  memcpy(who, s, (size_t)(colon - s));
  who[colon - s] = '\0';
  cohort_node_id_t id = COHORT_NODE_NONE;
  if (strcmp(who, "all") != 0 && parse_id(who, &id) < 0) {
    snprintf(err, errcap, "fault '%s': bad peer '%s' (an id or 'all')", s, who);
    return COHORT_EINVAL;
  }
  cohort_runtime_fault_t f = {0};
  if (parse_fault_list(colon + 1, &f, err, errcap) < 0) return COHORT_EINVAL;
  *peer = id;
  *out = f;
  return 0;
}

/* ---- incarnation ------------------------------------------------------------ */

static int read_counter(const char *path, uint64_t *out, char *err, size_t errcap) {
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) {
      *out = 0;
      return 0;
    }
    snprintf(err, errcap, "cannot read '%s': %s", path, strerror(errno));
    return COHORT_EIO;
  }
  char text[32] = {0};
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
  if (cohort_parse_u64(text, out) < 0 || *out == UINT64_MAX) {
    snprintf(err, errcap, "'%s' does not hold an incarnation number", path);
    return COHORT_EIO;
  }
  return 0;
}

static int write_counter(const char *dir, const char *path, uint64_t v, char *err,
                         size_t errcap) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char text[32];
  int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)v);
  bool ok = fd >= 0 && write(fd, text, (size_t)len) == len && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = false;
  if (ok && rename(tmp, path) != 0) ok = false;
  if (!ok) {
    snprintf(err, errcap, "cannot write '%s': %s", path, strerror(errno));
    unlink(tmp);
    return COHORT_EIO;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { /* make the rename durable */
    (void)fsync(dfd);
    close(dfd);
  }
  return 0;
}

int cohort_runtime_incarnation(const char *state_dir, cohort_node_id_t id,
                               cohort_incarnation_t *out, char *err,
                               size_t errcap) {
  if (!state_dir) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *out = (cohort_incarnation_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
  }
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/node-%u.incarnation", state_dir,
                       (unsigned)id) >= sizeof path - 8) {
    snprintf(err, errcap, "state directory path too long");
    return COHORT_EINVAL;
  }
  uint64_t v;
  int rc = read_counter(path, &v, err, errcap);
  if (rc == 0) rc = write_counter(state_dir, path, v + 1, err, errcap);
  if (rc < 0) return rc;
  *out = v + 1;
  return 0;
}

/* ---- key file ------------------------------------------------------------- */

int cohort_runtime_read_key(const char *path, uint8_t *key, size_t cap,
                            char *err, size_t errcap) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errcap, "cannot read key file '%s': %s", path, strerror(errno));
    return COHORT_EIO;
  }
  uint8_t buf[COHORT_CLUSTER_KEY_MAX + 64];
  size_t n = fread(buf, 1, sizeof buf, f);
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed) {
    snprintf(err, errcap, "cannot read key file '%s'", path);
    return COHORT_EIO;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
                   buf[n - 1] == '\t'))
    n--;
  if (n == 0 || n > cap || n > COHORT_CLUSTER_KEY_MAX) {
    snprintf(err, errcap, "key file '%s': key must be 1 to %zu bytes, found %zu", path,
             cap < COHORT_CLUSTER_KEY_MAX ? cap : (size_t)COHORT_CLUSTER_KEY_MAX, n);
    return COHORT_EINVAL;
  }
  memcpy(key, buf, n);
  return (int)n;
}
