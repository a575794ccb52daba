/*
 * src/core/alloc.c — the injectable allocator. Everything in the library
 * allocates through a cohort_allocator_t so tests can fail the Nth call.
 */
#include <stdlib.h>
#include <string.h>

#include "cohort/core.h"

static void *default_realloc(void *ud, void *ptr, size_t size) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static const cohort_allocator_t default_allocator = {default_realloc, NULL};

const cohort_allocator_t *cohort_allocator_default(void) {
  return &default_allocator;
}

void *cohort_alloc(const cohort_allocator_t *a, size_t size) {
  if (!a) a = &default_allocator;
  if (size == 0) size = 1;
  return a->realloc(a->ud, NULL, size);
}

void *cohort_calloc(const cohort_allocator_t *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = cohort_alloc(a, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}

void *cohort_realloc(const cohort_allocator_t *a, void *ptr, size_t size) {
  if (!a) a = &default_allocator;
  if (size == 0) size = 1;
  return a->realloc(a->ud, ptr, size);
}

void cohort_free(const cohort_allocator_t *a, void *ptr) {
  if (!ptr) return;
  if (!a) a = &default_allocator;
  a->realloc(a->ud, ptr, 0);
}

void *cohort_array_grow(const cohort_allocator_t *a, void *items, size_t *cap, size_t need,
                        size_t max, size_t size) {
  if (need <= *cap) return items;
  if (need > max || (size && max > SIZE_MAX / size)) return NULL;
  size_t n = *cap ? *cap * 2 : 4;
  if (n < need) n = need;
  if (n > max) n = max;
  void *p = cohort_realloc(a, items, n * size);
  if (p) *cap = n;
  return p;
}
