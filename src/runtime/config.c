/*
 * src/runtime/config.c — what a runtime node is configured from: listen,
 * peer and contact addresses, fault specifications, the cluster key file (a key
 * ring, with its permissions checked) and the incarnation floor in the
 * state directory.
 *
 * Everything here reads text or files from outside, so every failure is a
 * return code with a message naming the bad text; nothing asserts on
 * input. Outputs are written only on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return false;
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
  }
  const struct sockaddr_in *x = (const struct sockaddr_in *)a;
  const struct sockaddr_in *y = (const struct sockaddr_in *)b;
  return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

int cohort_runtime_parse_contacts(const char *s, struct sockaddr_storage *out,
                                  size_t *len, size_t cap, char *err,
                                  size_t errcap) {
  char item[ADDR_TEXT_MAX];
  struct sockaddr_storage got[COHORT_CONTACTS_MAX];
  size_t n = 0;
  if (cap > COHORT_CONTACTS_MAX) cap = COHORT_CONTACTS_MAX;
  if (!s || !*s) {
    snprintf(err, errcap, "empty contact list (want HOST:PORT[,HOST:PORT...])");
    return COHORT_EINVAL;
  }
  for (const char *p = s;;) {
    size_t w = strcspn(p, ",");
    if (w == 0 || w >= sizeof item) {
      snprintf(err, errcap, "contact list '%s': empty or overlong item", s);
      return COHORT_EINVAL;
    }
    if (n == cap) {
      snprintf(err, errcap, "too many contact points (max %zu)", cap);
      return COHORT_EINVAL;
    }
    memcpy(item, p, w);
    item[w] = '\0';
    if (cohort_runtime_parse_addr(item, false, &got[n]) < 0) {
      snprintf(err, errcap,
               "contact '%s': bad address (want IPv4:PORT or [IPv6]:PORT, port 1-65535)",
               item);
      return COHORT_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
      if (same_addr(&got[i], &got[n])) {
        snprintf(err, errcap, "duplicate contact '%s'", item);
        return COHORT_EINVAL;
      }
    n++;
    if (p[w] == '\0') break;
    p += w + 1;
  }
  memcpy(out, got, n * sizeof *got);
  *len = n;
  return 0;
}

/* One "key=value" of a fault spec into f. */
static int parse_fault_item(const char *key, const char *value,
                            cohort_runtime_fault_t *f, char *err, size_t errcap) {
  double *prob = !strcmp(key, "drop")     ? &f->drop
                 : !strcmp(key, "dup")    ? &f->dup
                 : !strcmp(key, "replay") ? &f->replay
                                          : NULL;
  int64_t *dur = !strcmp(key, "delay")          ? &f->delay_ns
                 : !strcmp(key, "jitter")       ? &f->jitter_ns
                 : !strcmp(key, "replay-delay") ? &f->replay_delay_ns
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
  snprintf(err, errcap,
           "fault: unknown key '%s' (known: drop, dup, delay, jitter, replay, replay-delay)",
           key);
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
  cohort_runtime_fault_t f = {.replay_delay_ns = 10 * COHORT_NS_PER_S};
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

static uint64_t entropy64(void) {
  uint64_t x = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &x, sizeof x) != (ssize_t)sizeof x) x = 0;
    close(fd);
  }
  return x ^ (uint64_t)getpid();
}

/* Incarnations never repeat: (µs since the epoch) << 10 | 10 random bits
 * (cohort_incarnation_from_wall), and, with a state directory, at least
 * one more than the last one written there durably — so a clock stepped
 * back across a restart cannot hand out an old incarnation again. */
int cohort_runtime_incarnation(const char *state_dir, cohort_node_id_t id,
                               cohort_incarnation_t *out, char *err,
                               size_t errcap) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t wall = (int64_t)ts.tv_sec * COHORT_NS_PER_S + ts.tv_nsec;
  cohort_incarnation_t inc = cohort_incarnation_from_wall(wall, entropy64());
  if (!state_dir) {
    *out = inc;
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
  if (rc < 0) return rc;
  if (v >= COHORT_COUNTER_REMOTE_MAX) {
    snprintf(err, errcap, "%s: incarnation %llu is at the limit 2^62", path,
             (unsigned long long)v);
    return COHORT_EINVAL;
  }
  if (inc <= v) inc = v + 1;
  rc = write_counter(state_dir, path, inc, err, errcap);
  if (rc < 0) return rc;
  *out = inc;
  return 0;
}

/* ---- key files ------------------------------------------------------------ */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The file holds secrets: it must be a regular file of ours (or root's)
 * that nobody else can read or write, as ssh insists for private keys. */
static int check_key_file(int fd, const char *path, char *err, size_t errcap) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errcap, "key file '%s' is not a regular file", path);
    return COHORT_EINVAL;
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    snprintf(err, errcap, "key file '%s' belongs to uid %u, not to us (uid %u)", path,
             (unsigned)st.st_uid, (unsigned)geteuid());
    return COHORT_EINVAL;
  }
  if (st.st_mode & 077) {
    snprintf(err, errcap, "key file '%s' is accessible by group or others (mode %04o): "
             "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
    return COHORT_EINVAL;
  }
  return 0;
}

static int key_line(char *line, unsigned lineno, cohort_runtime_keys_t *k, bool *use_set,
                    const char *path, char *err, size_t errcap) {
  char *save = NULL, *a = strtok_r(line, " \t\r", &save), *b = strtok_r(NULL, " \t\r", &save);
  uint64_t id;
  if (!a || *a == '#') return 0;
  bool use = !strcmp(a, "use");
  if (use ? (!b || cohort_parse_u64(b, &id) < 0) : cohort_parse_u64(a, &id) < 0 || !b ||
                                                       strtok_r(NULL, " \t\r", &save)) {
    snprintf(err, errcap, "%s:%u: expected 'ID HEXKEY' or 'use ID'", path, lineno);
    return COHORT_EINVAL;
  }
  if (id > 255) {
    snprintf(err, errcap, "%s:%u: key id %llu is not in 0..255", path, lineno,
             (unsigned long long)id);
    return COHORT_EINVAL;
  }
  if (use) {
    k->use = (uint8_t)id;
    *use_set = true;
    return 0;
  }
  size_t hex = strlen(b);
  if (hex < 2 || hex % 2 || hex / 2 > COHORT_CLUSTER_KEY_MAX) {
    snprintf(err, errcap, "%s:%u: key must be 2 to %d hex digits (1 to %d bytes)", path,
             lineno, 2 * COHORT_CLUSTER_KEY_MAX, COHORT_CLUSTER_KEY_MAX);
    return COHORT_EINVAL;
  }
  for (size_t i = 0; i < k->len; i++)
    if (k->ids[i] == id) {
      snprintf(err, errcap, "%s:%u: key id %llu given twice", path, lineno,
               (unsigned long long)id);
      return COHORT_EINVAL;
    }
  if (k->len == COHORT_KEYS_MAX) {
    snprintf(err, errcap, "%s:%u: more than %d keys", path, lineno, COHORT_KEYS_MAX);
    return COHORT_EINVAL;
  }
  for (size_t i = 0; i < hex / 2; i++) {
    int hi = hexval(b[2 * i]), lo = hexval(b[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      snprintf(err, errcap, "%s:%u: key is not hexadecimal", path, lineno);
      return COHORT_EINVAL;
    }
    k->keys[k->len][i] = (uint8_t)(hi << 4 | lo);
  }
  k->ids[k->len] = (uint8_t)id;
  k->lens[k->len++] = hex / 2;
  return 0;
}

static int parse_keys(char *text, cohort_runtime_keys_t *k, const char *path, char *err,
                      size_t errcap) {
  bool use_set = false;
  unsigned lineno = 0;
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    int rc = key_line(line, lineno, k, &use_set, path, err, errcap);
    if (rc) return rc;
  }
  if (k->len == 0) {
    snprintf(err, errcap, "key file '%s' holds no key ('ID HEXKEY' lines)", path);
    return COHORT_EINVAL;
  }
  if (!use_set) k->use = k->ids[0];
  for (size_t i = 0; i < k->len; i++)
    if (k->ids[i] == k->use) return 0;
  snprintf(err, errcap, "%s: 'use %u' names no key of the file", path, (unsigned)k->use);
  return COHORT_EINVAL;
}

int cohort_runtime_read_keys(const char *path, cohort_runtime_keys_t *out, char *err,
                             size_t errcap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errcap, "cannot read key file '%s': %s", path, strerror(errno));
    return COHORT_EIO;
  }
  char text[4096];
  int rc = check_key_file(fd, path, err, errcap);
  ssize_t n = rc ? 0 : read(fd, text, sizeof text);
  close(fd);
  if (rc) return rc;
  if (n < 0 || n == (ssize_t)sizeof text) {
    snprintf(err, errcap, "key file '%s': %s", path, n < 0 ? strerror(errno) : "too large");
    return n < 0 ? COHORT_EIO : COHORT_EINVAL;
  }
  text[n] = '\0';
  cohort_runtime_keys_t k;
  memset(&k, 0, sizeof k);
  rc = parse_keys(text, &k, path, err, errcap);
  memset(text, 0, sizeof text);
  if (rc == 0) *out = k;
  memset(&k, 0, sizeof k);
  return rc;
}
