/* runtime/mpi.c — finds the MPI plugin and wraps its collectives for the trainer.
 *
 * Consumes: the launcher's environment (OMPI_COMM_WORLD_SIZE/RANK from Open MPI's mpirun,
 * PMI_SIZE/RANK from others) and libnnrt_mpi.so, searched in this order:
 *   $NNRT_MPI_PLUGIN (a path to the file), $NNC_RUNTIME_DIR/, the executable's own directory
 *   and its ../lib (an install prefix copied to a host), the build's runtime directory, the
 *   install's lib directory, then the dynamic loader's own search (LD_LIBRARY_PATH, ...).
 * Produces: rank and size (0 and 1 when not launched by mpirun, or launched with -np 1: then
 * nothing is loaded), and collectives that are no-ops in a world of one process. A launch
 * with several processes and no plugin is refused with a clear message naming the host
 * (status NNRT_EUSAGE); that failure is this process's alone (nnrt__mpi_failed_alone).
 * Also the state of --shard-data: which rows of the training file this rank keeps (r, r+K,
 * ...), where a global sample position is in its own order, and the ranks' total samples.
 */
#define _GNU_SOURCE /* dlinfo */
#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_api.h"

#ifndef NNRT_MPI_BUILT
#define NNRT_MPI_BUILT 0
#endif
#ifndef NNRT_MPI_BUILD_DIR
#define NNRT_MPI_BUILD_DIR ""
#endif
#ifndef NNRT_MPI_INSTALL_DIR
#define NNRT_MPI_INSTALL_DIR ""
#endif
#define PLUGIN_FILE "libnnrt_mpi.so"

static const nnrt_mpi_api *api;
static int world_rank, world_size = 1, failed_alone;

static int env_int(const char *a, const char *b, int dflt) {
  const char *v = getenv(a);
  if (!v || !*v)
    v = getenv(b);
  return v && *v ? atoi(v) : dflt;
}

int nnrt__mpi_launched_size(void) {
  return env_int("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", 1);
}

int nnrt__mpi_launched_rank(void) {
  return env_int("OMPI_COMM_WORLD_RANK", "PMI_RANK", 0);
}

/* Appends to buf (of size bytes), cutting what does not fit. */
static void append(char *buf, size_t size, const char *fmt, ...) {
  size_t used = strlen(buf);
  va_list ap;
  va_start(ap, fmt);
  if (used + 1 < size)
    vsnprintf(buf + used, size - used, fmt, ap);
  va_end(ap);
}

/* RTLD_GLOBAL: Open MPI's own components, loaded later by libmpi, need its symbols. A file
 * that exists but does not load (a missing libmpi, another architecture) gives the reason,
 * kept in why; otherwise why lists where the plugin was looked for ("not in A, B"). */
static void *try_open(const char *dir, const char *file, char *why, size_t size) {
  char path[2 * PATH_MAX];
  if (!dir || !*dir)
    return NULL;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (h || (*why && strncmp(why, "not in ", 7) != 0))
    return h;
  if (access(path, F_OK) == 0) {
    why[0] = 0;
    append(why, size, "%s", dlerror());
  } else {
    append(why, size, *why ? ", %s" : "not in %s", path);
  }
  return NULL;
}

/* The directory of the running executable, "" if unknown. */
static const char *executable_dir(char *exe, size_t size) {
  ssize_t n = readlink("/proc/self/exe", exe, size - 1);
  char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
  if (!slash)
    return "";
  *slash = 0;
  return exe;
}

static void *open_plugin(char *why, size_t size) {
  void *h = NULL;
  const char *explicit_path = getenv("NNRT_MPI_PLUGIN");
  if (explicit_path && *explicit_path) {
    if (!(h = dlopen(explicit_path, RTLD_NOW | RTLD_GLOBAL)))
      snprintf(why, size, "NNRT_MPI_PLUGIN=%s: %s", explicit_path, dlerror());
    return h;
  }
  char exe[PATH_MAX];
  const char *here = executable_dir(exe, sizeof exe);
  /* beside the executable, or in its ../lib: an install prefix copied whole to each host */
  const char *dirs[][2] = {{getenv("NNC_RUNTIME_DIR"), PLUGIN_FILE}, {here, PLUGIN_FILE},
                           {here, "../lib/" PLUGIN_FILE}, {NNRT_MPI_BUILD_DIR, PLUGIN_FILE},
                           {NNRT_MPI_INSTALL_DIR, PLUGIN_FILE}};
  why[0] = 0;
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !h; i++)
    h = try_open(dirs[i][0], dirs[i][1], why, size);
  if (!h && !(h = dlopen(PLUGIN_FILE, RTLD_NOW | RTLD_GLOBAL)) && strncmp(why, "not in ", 7) == 0)
    append(why, size, ", nor on the loader's path");
  return h;
}

const char *nnrt__mpi_host(void) {
  static char host[256];
  if (!host[0] && gethostname(host, sizeof host - 1) != 0)
    snprintf(host, sizeof host, "?");
  return host;
}

int nnrt__mpi_failed_alone(void) {
  return failed_alone;
}

/* Hosts may differ in what is installed on them: the message names this one. */
static int no_plugin(nnrt_error *err, int size, const char *why) {
  failed_alone = 1;
  if (!NNRT_MPI_BUILT)
    return nnrt__fail(err, NNRT_EUSAGE, "started by mpirun with %d processes, but this nnc was built without "
                      "MPI support (-DNNC_MPI=OFF or no libopenmpi-dev): rebuild nnc with Open MPI, or run "
                      "one process without mpirun", size);
  return nnrt__fail(err, NNRT_EUSAGE, "started by mpirun with %d processes, but the MPI plugin %s cannot be "
                    "loaded on host %s (%s); install nnc on every host, or set NNRT_MPI_PLUGIN=/path/to/%s "
                    "or NNC_RUNTIME_DIR, or run one process", size, PLUGIN_FILE, nnrt__mpi_host(), why,
                    PLUGIN_FILE);
}

int nnrt__mpi_start(nnrt_error *err) {
  char why[1024] = "";
  int size = nnrt__mpi_launched_size();
  if (size <= 1 || api)
    return NNRT_OK;
  void *h = open_plugin(why, sizeof why);
  if (!h)
    return no_plugin(err, size, why);
  nnrt_mpi_plugin_fn get = (nnrt_mpi_plugin_fn)dlsym(h, NNRT_MPI_PLUGIN_SYMBOL);
  const nnrt_mpi_api *a = get ? get() : NULL;
  if (!a || a->version != NNRT_MPI_PLUGIN_VERSION) {
    struct link_map *lm = NULL;
    snprintf(why, sizeof why, "%s: not an nnc MPI plugin of this version",
             dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name[0] ? lm->l_name : PLUGIN_FILE);
    return no_plugin(err, size, why);
  }
  if (a->init(&world_rank, &world_size)) {
    failed_alone = 1;
    return nnrt__fail(err, NNRT_EUSAGE, "MPI_Init failed on host %s", nnrt__mpi_host());
  }
  api = a;
  return NNRT_OK;
}

void nnrt__mpi_stop(void) {
  if (api)
    api->finalize();
  api = NULL;
  world_rank = 0;
  world_size = 1;
}

int nnrt__mpi_rank(void) {
  return world_rank;
}

int nnrt__mpi_size(void) {
  return world_size;
}

void nnrt__mpi_sum_reals(void *buf, int64_t n, int32_t real_bytes) {
  if (api && world_size > 1 && api->allreduce_sum(buf, n, real_bytes))
    api->abort(1);
}

void nnrt__mpi_max(double *buf, int n) {
  if (api && world_size > 1 && api->allreduce_max(buf, n))
    api->abort(1);
}

void nnrt__mpi_bcast(void *buf, int64_t bytes) {
  if (api && world_size > 1 && api->bcast(buf, bytes))
    api->abort(1);
}

int nnrt__mpi_agree(int status) {
  double v = status;
  nnrt__mpi_max(&v, 1);
  return (int)v;
}

uint64_t nnrt__fingerprint(uint64_t h, const void *data, int64_t bytes) {
  const unsigned char *p = data;
  int64_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < bytes; i++)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

int nnrt__mpi_same_as_rank0(const uint64_t *v, int n, uint64_t *rank0) {
  memcpy(rank0, v, (size_t)n * sizeof *v);
  nnrt__mpi_bcast(rank0, (int64_t)n * (int64_t)sizeof *v);
  return memcmp(rank0, v, (size_t)n * sizeof *v) == 0;
}

void nnrt__mpi_abort(int code) {
  if (api)
    api->abort(code);
  exit(code);
}

/* ---- data shards (--shard-data) ---- */

static int shard_on;
static int64_t shard_rows, shard_sum;

void nnrt__shard_enable(int on) {
  shard_on = on;
}

int nnrt__sharded(void) {
  return shard_on && world_size > 1;
}

int nnrt__shard_keeps(int64_t row) {
  return !nnrt__sharded() || row % world_size == world_rank;
}

int64_t nnrt__shard_before(int64_t pos) {
  if (!nnrt__sharded())
    return pos;
  return pos > world_rank ? (pos - world_rank - 1) / world_size + 1 : 0;
}

void nnrt__shard_note_rows(int64_t rows) {
  shard_rows = rows;
}

int64_t nnrt__shard_file_rows(void) {
  return shard_rows;
}

void nnrt__shard_set_total(int64_t n) {
  shard_sum = n;
}

int64_t nnrt__shard_total(int64_t local_n) {
  return nnrt__sharded() ? shard_sum : local_n;
}
