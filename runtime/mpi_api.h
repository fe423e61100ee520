/* runtime/mpi_api.h — data-parallel training over MPI, private to libnnrt.
 *
 * libnnrt itself never links MPI. When a generated executable is started under mpirun with
 * more than one process, mpi.c dlopen()s the plugin libnnrt_mpi.so (mpi_plugin.c, linked with
 * Open MPI) and reaches MPI only through the table below. Without mpirun nothing is loaded and
 * every nnrt__mpi_* call is a no-op for a world of one process. See docs/mpi.md.
 */
#ifndef NNRT_MPI_API_H
#define NNRT_MPI_API_H

#include <stdint.h>

#include "internal.h"

#define NNRT_MPI_PLUGIN_VERSION 1
#define NNRT_MPI_PLUGIN_SYMBOL "nnrt_mpi_plugin"

/* What libnnrt_mpi.so exports as `nnrt_mpi_plugin()`. Every call is collective over
 * MPI_COMM_WORLD and returns 0 on success; MPI errors abort the job (MPI_ERRORS_ARE_FATAL). */
typedef struct nnrt_mpi_api {
  int version;                                         /* NNRT_MPI_PLUGIN_VERSION */
  int (*init)(int *rank, int *size);
  int (*allreduce_sum)(void *buf, int64_t n, int real_bytes); /* in place, float or double */
  int (*allreduce_max)(double *buf, int n);             /* in place */
  int (*bcast)(void *buf, int64_t bytes);               /* from rank 0 */
  void (*abort)(int code);
  void (*finalize)(void);
} nnrt_mpi_api;

typedef const nnrt_mpi_api *(*nnrt_mpi_plugin_fn)(void);

/* mpi.c. The world size asked for by the launcher (OMPI_COMM_WORLD_SIZE, PMI_SIZE), 1 if none;
 * the rank likewise, 0 if none. */
int nnrt__mpi_launched_size(void);
int nnrt__mpi_launched_rank(void);
/* Loads the plugin and initialises MPI when launched with more than one process. */
int nnrt__mpi_start(nnrt_error *err);
/* 1 after nnrt__mpi_start failed: an error no other process knows of (a host without the
 * plugin), which this process must report itself. */
int nnrt__mpi_failed_alone(void);
/* This host's name (gethostname), for messages that name the host of a rank. */
const char *nnrt__mpi_host(void);
void nnrt__mpi_stop(void);
int nnrt__mpi_rank(void);   /* 0 without MPI */
int nnrt__mpi_size(void);   /* 1 without MPI */
/* Collectives; no-ops in a world of one. */
void nnrt__mpi_sum_reals(void *buf, int64_t n, int32_t real_bytes);
void nnrt__mpi_max(double *buf, int n);
void nnrt__mpi_bcast(void *buf, int64_t bytes);
/* The largest status of all ranks (they all call it at the same point). */
int nnrt__mpi_agree(int status);
/* A 64-bit fingerprint of bytes, chained from h (start with 0xcbf29ce484222325). */
uint64_t nnrt__fingerprint(uint64_t h, const void *data, int64_t bytes);
/* Whether this rank's v[0..n) equal rank 0's, which are returned in rank0[0..n) (all ranks
 * call it at the same point; without MPI always 1). */
int nnrt__mpi_same_as_rank0(const uint64_t *v, int n, uint64_t *rank0);
void nnrt__mpi_abort(int code);

/* ---- data shards (--shard-data): rank r of K holds rows r, r+K, r+2K, ... of the training
 * file; global sample position p of an epoch is local position p/K on rank p mod K. ---- */
void nnrt__shard_enable(int on);
int nnrt__sharded(void);                    /* --shard-data and more than one process */
int nnrt__shard_keeps(int64_t row);         /* whether this rank holds file row `row` (0-based) */
int64_t nnrt__shard_before(int64_t pos);    /* this rank's positions among global ones [0, pos) */
/* The file's row count as the reader saw it, and the training samples of all ranks (their sum). */
void nnrt__shard_note_rows(int64_t rows);
int64_t nnrt__shard_file_rows(void);
void nnrt__shard_set_total(int64_t n);
int64_t nnrt__shard_total(int64_t local_n); /* the sum set above when sharded, else local_n */

#endif
