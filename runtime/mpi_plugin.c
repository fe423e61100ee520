/* runtime/mpi_plugin.c — libnnrt_mpi.so: the only code of nnc that includes <mpi.h>.
 *
 * Consumes: calls from libnnrt (runtime/mpi.c) through the nnrt_mpi_api table.
 * Produces: MPI_Init/Finalize and the few collectives data-parallel training needs, over
 * MPI_COMM_WORLD with its default error handler (MPI_ERRORS_ARE_FATAL: any MPI error, or a
 * peer that died, ends the whole job instead of leaving a rank blocked).
 * Counts above INT_MAX elements are sent in pieces.
 */
#include <limits.h>
#include <mpi.h>

#include "mpi_api.h"

const nnrt_mpi_api *nnrt_mpi_plugin(void);

static int plugin_init(int *rank, int *size) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited && MPI_Init(NULL, NULL) != MPI_SUCCESS)
    return 1;
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
  return 0;
}

static int plugin_allreduce_sum(void *buf, int64_t n, int real_bytes) {
  MPI_Datatype t = real_bytes == 4 ? MPI_FLOAT : MPI_DOUBLE;
  char *p = buf;
  for (int64_t done = 0; done < n;) {
    int k = n - done > INT_MAX ? INT_MAX : (int)(n - done);
    if (MPI_Allreduce(MPI_IN_PLACE, p + done * real_bytes, k, t, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
      return 1;
    done += k;
  }
  return 0;
}

static int plugin_allreduce_max(double *buf, int n) {
  return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS;
}

static int plugin_bcast(void *buf, int64_t bytes) {
  char *p = buf;
  for (int64_t done = 0; done < bytes;) {
    int k = bytes - done > INT_MAX ? INT_MAX : (int)(bytes - done);
    if (MPI_Bcast(p + done, k, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
      return 1;
    done += k;
  }
  return 0;
}

static void plugin_abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
}

static void plugin_finalize(void) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Finalize();
}

const nnrt_mpi_api *nnrt_mpi_plugin(void) {
  static const nnrt_mpi_api api = {NNRT_MPI_PLUGIN_VERSION, plugin_init, plugin_allreduce_sum,
                                   plugin_allreduce_max, plugin_bcast, plugin_abort, plugin_finalize};
  return &api;
}
