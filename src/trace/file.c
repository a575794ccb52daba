/*
 * src/trace/file.c — cohort_trace_fopen (trace_util.h): trace files plain
 * or gzip-compressed behind one FILE, so the loader, the simulator's and
 * the runtime's writers and every `cohort trace` command handle both
 * without knowing which (fopencookie over zlib's gzFile).
 *
 * Invariants: a plain file is a plain FILE (no copy through zlib); a read
 * error of the compressed stream is reported, never silently taken for the
 * end of the trace, except for a stream that merely stops (a writer killed
 * before it closed), which reads up to where its data ends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cohort/trace_util.h"

static ssize_t gz_read(void *c, char *buf, size_t n) {
  int r = gzread((gzFile)c, buf, n > (1u << 30) ? 1u << 30 : (unsigned)n);
  if (r >= 0) return r;
  int zerr;
  gzerror((gzFile)c, &zerr);
  if (zerr == Z_BUF_ERROR) return 0; /* truncated: the data ends here */
  errno = EBADMSG;
  return -1;
}

static ssize_t gz_write(void *c, const char *buf, size_t n) {
  if (n == 0) return 0;
  int r = gzwrite((gzFile)c, buf, n > (1u << 30) ? 1u << 30 : (unsigned)n);
  if (r <= 0) {
    errno = EIO;
    return -1;
  }
  return r;
}

static int gz_close(void *c) { return gzclose((gzFile)c) == Z_OK ? 0 : EOF; }

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

static FILE *open_gz(const char *path, bool write) {
  gzFile gz = gzopen(path, write ? "wb1" : "rb"); /* level 1: 4x less, 2x faster than 6 */
  if (!gz) {
    if (!errno) errno = ENOMEM;
    return NULL;
  }
  gzbuffer(gz, 128 * 1024);
  cookie_io_functions_t io = {.read = write ? NULL : gz_read,
                              .write = write ? gz_write : NULL,
                              .close = gz_close};
  FILE *f = fopencookie(gz, write ? "w" : "r", io);
  if (!f) gzclose(gz);
  return f;
}

FILE *cohort_trace_fopen(const char *path, const char *mode) {
  bool write = mode[0] == 'w';
  if (write) return ends_with(path, ".gz") ? open_gz(path, true) : fopen(path, "wb");
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char magic[2];
  size_t n = fread(magic, 1, 2, f);
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    fclose(f);
    return open_gz(path, false);
  }
  rewind(f);
  return f;
}
