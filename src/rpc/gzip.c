/*
 * src/rpc/gzip.c — grpc-encoding "gzip" (zlib, RFC 1952 framing) for one
 * message at a time, through the call's cohort allocator.
 *
 * Invariants: inflating never produces more than the caller's maximum (a
 * decompression bomb stops at max + 1 bytes with COHORT_EFULL, having
 * held at most that much); corrupt or truncated input is COHORT_EPROTO,
 * never an assertion; `out` is only appended to.
 */
#include <string.h>
#include <zlib.h>

#include "internal.h"

static voidpf z_alloc(voidpf ud, uInt items, uInt size) {
  if (size && items > SIZE_MAX / size) return Z_NULL;
  return cohort_alloc(ud, (size_t)items * size);
}

static void z_free(voidpf ud, voidpf p) { cohort_free(ud, p); }

static void z_init(z_stream *z, const cohort_allocator_t *a) {
  memset(z, 0, sizeof *z);
  z->zalloc = z_alloc;
  z->zfree = z_free;
  z->opaque = (voidpf)(uintptr_t)a;
}

int rpc_gzip_inflate(const cohort_allocator_t *a, const uint8_t *in, size_t n, size_t max,
                     rpc_bytes_t *out) {
  if (n > UINT32_MAX) return COHORT_EPROTO;
  z_stream z;
  z_init(&z, a);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return COHORT_ENOMEM; /* gzip only */
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  size_t start = out->len;
  int rc = 0, zr = Z_OK;
  while (zr != Z_STREAM_END) {
    size_t got = out->len - start;
    if (got > max) {
      rc = COHORT_EFULL;
      break;
    }
    size_t chunk = max + 1 - got < 65536 ? max + 1 - got : 65536;
    if ((rc = rpc_bytes_reserve(out, a, chunk)) != 0) break;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)chunk;
    zr = inflate(&z, Z_NO_FLUSH);
    out->len += chunk - z.avail_out;
    if (zr == Z_MEM_ERROR) rc = COHORT_ENOMEM;
    else if (zr != Z_OK && zr != Z_STREAM_END) rc = COHORT_EPROTO; /* data / buf error */
    else if (zr == Z_OK && z.avail_in == 0 && z.avail_out > 0) rc = COHORT_EPROTO; /* cut */
    if (rc) break;
  }
  if (!rc && out->len - start > max) rc = COHORT_EFULL;
  if (!rc && z.avail_in != 0) rc = COHORT_EPROTO; /* bytes after the gzip member */
  inflateEnd(&z);
  if (rc) out->len = start;
  return rc;
}

int rpc_gzip_deflate(const cohort_allocator_t *a, const uint8_t *in, size_t n, rpc_bytes_t *out) {
  if (n > UINT32_MAX) return COHORT_EINVAL;
  z_stream z;
  z_init(&z, a);
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return COHORT_ENOMEM;
  size_t bound = deflateBound(&z, (uLong)n);
  int rc = rpc_bytes_reserve(out, a, bound);
  if (!rc) {
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    if (zr == Z_STREAM_END)
      out->len += bound - z.avail_out;
    else
      rc = zr == Z_MEM_ERROR ? COHORT_ENOMEM : COHORT_EIO;
  }
  deflateEnd(&z);
  return rc;
}
