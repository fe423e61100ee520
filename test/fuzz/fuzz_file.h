/* fuzz_file.h — what the reader fuzz targets share: the input as a real file.
 * Consumes: the fuzzer's bytes. Produces: a path (/proc/self/fd/N of a memfd, no disk I/O)
 * holding them, plain or gzip-compressed, so the readers run their real code path: open,
 * stat, zlib, read. One memfd per slot, rewritten for every input. */
#ifndef FUZZ_FILE_H
#define FUZZ_FILE_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

/* Writes data into memfd number slot (0..3) and returns its path. */
static const char *fuzz_file(int slot, const void *data, size_t size) {
  static int fds[4] = {-1, -1, -1, -1};
  static char paths[4][64];
  if (fds[slot] < 0) {
    fds[slot] = memfd_create("fuzz", 0);
    if (fds[slot] < 0)
      abort();
    snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d", fds[slot]);
  }
  if (ftruncate(fds[slot], 0) != 0 || pwrite(fds[slot], data, size, 0) != (ssize_t)size)
    abort();
  return paths[slot];
}

/* data gzip-compressed into a malloc'd buffer (*out, *out_size). */
static void fuzz_gzip(const void *data, size_t size, unsigned char **out, size_t *out_size) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    abort();
  size_t cap = deflateBound(&z, (uLong)size) + 64;
  *out = malloc(cap);
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)size;
  z.next_out = *out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    abort();
  *out_size = cap - z.avail_out;
  deflateEnd(&z);
}

/* The input as a file in slot, gzip-compressed first when gz. */
static const char *fuzz_file_maybe_gz(int slot, const uint8_t *data, size_t size, int gz) {
  if (!gz)
    return fuzz_file(slot, data, size);
  unsigned char *z;
  size_t n;
  fuzz_gzip(data, size, &z, &n);
  const char *p = fuzz_file(slot, z, n);
  free(z);
  return p;
}

/* A weights image with its checksum field (bytes 40..47, FNV-1a 64 over the rest) made
 * right, so mutations reach the checks behind it; a malloc'd copy, or NULL if too short. */
static unsigned char *fuzz_fix_checksum(const uint8_t *data, size_t size) {
  if (size < 48)
    return NULL;
  unsigned char *img = malloc(size);
  memcpy(img, data, size);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++)
    if (i < 40 || i >= 48)
      h = (h ^ img[i]) * 0x100000001b3ull;
  for (int i = 0; i < 8; i++)
    img[40 + i] = (unsigned char)(h >> (8 * i));
  return img;
}

#endif
