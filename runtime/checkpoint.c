/* runtime/checkpoint.c — writes and resumes training checkpoints.
 *
 * Consumes: the trainer's state at the end of an epoch (parameters, velocity, the run's and
 * the overall best parameters, nnrt_checkpoint_state).
 * Produces: a weights file whose parameters are the current ones, with trailer sections CKPT,
 * VELO, RBST, GBST and SCAL (see nnc/nnrt.h), written whole or not at all (files.c); and,
 * resuming, the trainer state back. A plain weights file (no CKPT) resumes as the starting
 * point of the first run.
 */
#include <math.h>
#include <string.h>

#include "mpi_api.h"
#include "trainer.h"

#define CKPT_FIELDS 8

static void encode_state(const nnrt_checkpoint_state *s, unsigned char *p) {
  uint64_t v[CKPT_FIELDS];
  v[0] = (uint64_t)s->restart;
  v[1] = (uint64_t)s->epoch;
  v[2] = s->run_seed;
  v[3] = (uint64_t)s->steps;
  memcpy(&v[4], &s->run_best, 8);
  v[5] = (uint64_t)s->bad_epochs;
  memcpy(&v[6], &s->global_best, 8);
  v[7] = (uint64_t)s->global_best_restart;
  for (int i = 0; i < CKPT_FIELDS; i++)
    nnrt__put_u64(p + 8 * i, v[i]);
}

static void decode_state(nnrt_checkpoint_state *s, const unsigned char *p) {
  uint64_t v[CKPT_FIELDS];
  for (int i = 0; i < CKPT_FIELDS; i++)
    v[i] = nnrt__get_u64(p + 8 * i);
  s->restart = (int64_t)v[0];
  s->epoch = (int64_t)v[1];
  s->run_seed = v[2];
  s->steps = (int64_t)v[3];
  memcpy(&s->run_best, &v[4], 8);
  s->bad_epochs = (int64_t)v[5];
  memcpy(&s->global_best, &v[6], 8);
  s->global_best_restart = (int64_t)v[7];
}

static nnrt_section section(const char *tag, const void *data, uint64_t len) {
  nnrt_section s;
  memcpy(s.tag, tag, 4);
  s.data = data;
  s.len = len;
  return s;
}

static int write_checkpoint(nnrt_trainer *tr, const char *path, const nnrt_scaler *sc,
                            char *chosen, size_t cap, nnrt_error *err) {
  unsigned char state[8 * CKPT_FIELDS];
  int64_t np = tr->m->n_params;
  uint64_t pbytes = (uint64_t)np * (uint64_t)tr->m->real_bytes, sc_len = 0;
  void *sc_buf = NULL;
  unsigned char *le = nnrt__alloc(3 * pbytes);
  nnrt_section secs[5];
  int n = 0, rc;
  if (!le)
    return nnrt__oom_writing(err, path);
  encode_state(&tr->st, state);
  nnrt__put_reals(le, tr->velocity, np, tr->m->real_bytes);
  nnrt__put_reals(le + pbytes, tr->run_best, np, tr->m->real_bytes);
  nnrt__put_reals(le + 2 * pbytes, tr->best, np, tr->m->real_bytes);
  secs[n++] = section("CKPT", state, sizeof state);
  secs[n++] = section("VELO", le, pbytes);
  if (tr->val)
    secs[n++] = section("RBST", le + pbytes, pbytes);
  if (tr->st.global_best_restart >= 0)
    secs[n++] = section("GBST", le + 2 * pbytes, pbytes);
  rc = NNRT_OK;
  if (sc && sc->mode != NNC_SCALE_NONE && (rc = nnrt__scaler_encode(sc, &sc_buf, &sc_len, err)) == NNRT_OK)
    secs[n++] = section("SCAL", sc_buf, sc_len);
  if (rc == NNRT_OK)
    rc = nnrt__wfile_write(path, tr->m, tr->params, secs, n, chosen, cap, err);
  nnrt__free(sc_buf);
  nnrt__free(le);
  return rc;
}

/* Under MPI rank 0 writes and every rank returns its status (a collective call). */
int nnrt__checkpoint_write(nnrt_trainer *tr, const char *path, const nnrt_scaler *sc,
                           char *chosen, size_t cap, nnrt_error *err) {
  int rc = nnrt__mpi_rank() == 0 ? write_checkpoint(tr, path, sc, chosen, cap, err) : NNRT_OK;
  int all = nnrt__mpi_agree(rc);
  if (all && !rc)
    return nnrt__fail(err, all, "rank 0 could not write the checkpoint %s", path);
  return rc;
}

static int restore_params(const nnrt_wfile *wf, const char *tag, void *dst, uint64_t pbytes,
                          const char *path, nnrt_error *err, const nnc_model *m) {
  const nnrt_section *s = nnrt__wfile_section(wf, tag);
  if (!s)
    return NNRT_OK;
  if (s->len != pbytes)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section %s has the wrong size", path, tag);
  nnrt__get_reals(dst, s->data, m->n_params, m->real_bytes);
  return NNRT_OK;
}

static int restore_state(nnrt_trainer *tr, const nnrt_wfile *wf, const char *path, nnrt_error *err) {
  const nnrt_section *ck = nnrt__wfile_section(wf, "CKPT");
  uint64_t pbytes = (uint64_t)tr->m->n_params * (uint64_t)tr->m->real_bytes;
  nnrt_checkpoint_state st;
  if (ck->len != 8 * CKPT_FIELDS)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint state section has the wrong size", path);
  decode_state(&st, ck->data);
  if (st.restart < 0 || st.epoch < 0 || st.steps < 0 || st.global_best_restart > st.restart)
    return nnrt__fail(err, NNRT_EDATA, "%s: inconsistent checkpoint state", path);
  if (st.restart >= tr->o.s.restarts)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint is in restart %llu but only %d restarts are asked for",
                      path, (unsigned long long)st.restart + 1, (int)tr->o.s.restarts);
  int rc = restore_params(wf, "VELO", tr->velocity, pbytes, path, err, tr->m);
  if (!rc)
    rc = restore_params(wf, "RBST", tr->run_best, pbytes, path, err, tr->m);
  if (!rc)
    rc = restore_params(wf, "GBST", tr->best, pbytes, path, err, tr->m);
  if (!rc)
    tr->st = st;
  return rc;
}

static void report_resume(nnrt_trainer *tr, const char *path, int has_state) {
  if (tr->o.verbosity < 1)
    return;
  if (has_state)
    fprintf(tr->o.report, "resuming from %s: restart %lld/%d after epoch %lld/%d\n", path,
            (long long)tr->st.restart + 1, (int)tr->o.s.restarts, (long long)tr->st.epoch,
            (int)tr->o.s.epochs);
  else
    fprintf(tr->o.report, "starting from the weights in %s\n", path);
}

int nnrt__checkpoint_resume(nnrt_trainer *tr, const char *path, nnrt_error *err) {
  nnrt_wfile wf;
  int rc = nnrt__wfile_read(path, tr->m, &wf, err);
  if (rc)
    return rc;
  nnrt__get_reals(tr->params, wf.params, tr->m->n_params, tr->m->real_bytes);
  int has_state = nnrt__wfile_section(&wf, "CKPT") != NULL;
  if (has_state)
    rc = restore_state(tr, &wf, path, err);
  else
    tr->resumed_weights = 1;
  nnrt__wfile_free(&wf);
  if (!rc)
    report_resume(tr, path, has_state);
  return rc;
}
