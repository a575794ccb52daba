/* tests/support/failalloc.c — see failalloc.h. */
#include "failalloc.h"

#include <stdlib.h>

static void *failalloc_realloc(void *ud, void *ptr, size_t size) {
  failalloc_t *fa = ud;
  if (size == 0) {
    if (ptr) fa->live--;
    free(ptr);
    return NULL;
  }
  fa->count++;
  if (fa->fail_at > 0 && fa->count == fa->fail_at) return NULL;
  void *p = realloc(ptr, size);
  if (p && !ptr) fa->live++;
  return p;
}

void failalloc_init(failalloc_t *fa, long fail_at) {
  fa->base.realloc = failalloc_realloc;
  fa->base.ud = fa;
  fa->fail_at = fail_at;
  fa->count = 0;
  fa->live = 0;
}
