/* runtime/checkpoint.c — writes and resumes training checkpoints.
 *
 * Consumes: the trainer's state at the end of an epoch (parameters, velocity, the run's and
 * the overall best parameters, nnrt_checkpoint_state).
 * Produces: a weights file whose parameters are the current ones, with trailer sections CKPT,
 * VELO (SGD) or OPTM (every other optimizer), SCHD (decay plateau), RBST, GBST, SCAL, LBLS and
 * TSCL (see nnc/nnrt.h),
 * written whole or not at all (files.c); and, resuming, the trainer state back. A plain
 * weights file (no CKPT) resumes as the starting point of the first run. A checkpoint resumes
 * only with the optimizer that wrote it (one without OPTM, older ones included, was SGD's):
 * another's state would not mean the same. Training with `decay plateau` resumes only a
 * checkpoint that has its state (SCHD), unless it is from before the first epoch ended; other
 * schedules are pure functions of the epoch and step count CKPT holds.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mpi_api.h"
#include "nnc/optim.h"
#include "nnc/schedule.h"
#include "trainer.h"

#define CKPT_FIELDS 8

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

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

/* SCHD: decay plateau's state: f64 rate, f64 best loss, i64 bad epochs, i64 cooldown left. */
#define SCHD_BYTES 32

static void encode_plateau(const nnrt_plateau *p, unsigned char *out) {
  uint64_t v[4];
  memcpy(&v[0], &p->rate, 8);
  memcpy(&v[1], &p->best, 8);
  v[2] = (uint64_t)p->bad_epochs;
  v[3] = (uint64_t)p->cooldown;
  for (int i = 0; i < 4; i++)
    nnrt__put_u64(out + 8 * i, v[i]);
}

static void decode_plateau(nnrt_plateau *p, const unsigned char *in) {
  uint64_t v[4];
  for (int i = 0; i < 4; i++)
    v[i] = nnrt__get_u64(in + 8 * i);
  memcpy(&p->rate, &v[0], 8);
  memcpy(&p->best, &v[1], 8);
  p->bad_epochs = (int64_t)v[2];
  p->cooldown = (int64_t)v[3];
}

/* OPTM: u32 optimizer (enum nnc_optimizer), u32 slots, then slots × n_params reals. */
#define OPTM_HEADER 8

static int write_checkpoint(nnrt_trainer *tr, const char *path, const nnrt_scaler *sc,
                            char *chosen, size_t cap, nnrt_error *err) {
  unsigned char state[8 * CKPT_FIELDS], schd[SCHD_BYTES];
  int64_t np = tr->m->n_params;
  uint64_t pbytes = (uint64_t)np * (uint64_t)tr->m->real_bytes, sc_len = 0, lb_len = 0, ts_len = 0;
  uint64_t obytes = (uint64_t)tr->slots * pbytes;
  void *sc_buf = NULL, *lb_buf = NULL, *ts_buf = NULL;
  unsigned char *le = nnrt__alloc(OPTM_HEADER + obytes + 2 * pbytes), *opt = le + 2 * pbytes;
  nnrt_section secs[8];
  int n = 0, rc;
  if (!le)
    return nnrt__oom_writing(err, path);
  encode_state(&tr->st, state);
  nnrt__put_reals(le, tr->run_best, np, tr->m->real_bytes);
  nnrt__put_reals(le + pbytes, tr->best, np, tr->m->real_bytes);
  put_u32(opt, (uint32_t)tr->o.s.optimizer);
  put_u32(opt + 4, (uint32_t)tr->slots);
  nnrt__put_reals(opt + OPTM_HEADER, tr->velocity, tr->slots * np, tr->m->real_bytes);
  secs[n++] = section("CKPT", state, sizeof state);
  if (tr->o.s.optimizer == NNC_OPT_SGD)
    secs[n++] = section("VELO", opt + OPTM_HEADER, pbytes);
  else
    secs[n++] = section("OPTM", opt, OPTM_HEADER + obytes);
  if (tr->o.s.decay == NNC_DECAY_PLATEAU) {
    encode_plateau(&tr->plateau, schd);
    secs[n++] = section("SCHD", schd, SCHD_BYTES);
  }
  if (tr->val)
    secs[n++] = section("RBST", le, pbytes);
  if (tr->st.global_best_restart >= 0)
    secs[n++] = section("GBST", le + pbytes, pbytes);
  rc = NNRT_OK;
  if (sc && sc->mode != NNC_SCALE_NONE && (rc = nnrt__scaler_encode(sc, &sc_buf, &sc_len, err)) == NNRT_OK)
    secs[n++] = section("SCAL", sc_buf, sc_len);
  if (rc == NNRT_OK && tr->o.labels && (rc = nnrt__labels_encode(tr->o.labels, &lb_buf, &lb_len, err)) == NNRT_OK)
    secs[n++] = section("LBLS", lb_buf, lb_len);
  if (rc == NNRT_OK && tr->o.targets && (rc = nnrt__scaler_encode(tr->o.targets, &ts_buf, &ts_len, err)) == NNRT_OK)
    secs[n++] = section("TSCL", ts_buf, ts_len);
  if (rc == NNRT_OK)
    rc = nnrt__wfile_write(path, tr->m, tr->params, secs, n, chosen, cap, err);
  nnrt__free(sc_buf);
  nnrt__free(lb_buf);
  nnrt__free(ts_buf);
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

/* 1 if every real of a section is finite. */
static int all_finite(const void *reals, int64_t n, int real_bytes) {
  for (int64_t i = 0; i < n; i++) {
    double v = real_bytes == 8 ? ((const double *)reals)[i] : ((const float *)reals)[i];
    if (!isfinite(v))
      return 0;
  }
  return 1;
}

static int restore_params(const nnrt_wfile *wf, const char *tag, void *dst, uint64_t pbytes,
                          const char *path, nnrt_error *err, const nnc_model *m) {
  const nnrt_section *s = nnrt__wfile_section(wf, tag);
  if (!s)
    return NNRT_OK;
  if (s->len != pbytes)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section %s has %llu bytes, must have %llu (%lld parameters)",
                      path, tag, (unsigned long long)s->len, (unsigned long long)pbytes, (long long)m->n_params);
  nnrt__get_reals(dst, s->data, m->n_params, m->real_bytes);
  if (!all_finite(dst, m->n_params, m->real_bytes))
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section %s holds a value that is not finite", path, tag);
  return NNRT_OK;
}

static int bad_field(nnrt_error *err, const char *path, const char *field, long long v, const char *rule) {
  return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint field '%s' is %lld, %s", path, field, v, rule);
}

/* The step count stays exact as a double and far from overflow. */
#define CKPT_MAX_STEPS ((int64_t)1 << 53)

/* Every field of the state against its range (a crafted file must not reach arithmetic):
 * 0 <= restart < restarts, 0 <= epoch <= epochs, 0 <= steps <= 2^53, 0 <= bad_epochs <=
 * epoch, -1 <= global_best_restart <= restart, losses not NaN or -inf (+inf: none yet). */
static int check_state(const nnrt_checkpoint_state *st, const nnrt_trainer *tr, const char *path, nnrt_error *err) {
  char rule[96];
  if (st->restart < 0 || st->restart > INT32_MAX)
    return bad_field(err, path, "restart", (long long)st->restart, "must be a restart index from 0");
  if (st->restart >= tr->o.s.restarts)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint is in restart %lld but only %d restarts are asked for",
                      path, (long long)st->restart + 1, (int)tr->o.s.restarts);
  if (st->epoch < 0 || st->epoch > INT32_MAX)
    return bad_field(err, path, "epoch", (long long)st->epoch, "must be an epoch count from 0");
  if (st->epoch > tr->o.s.epochs)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint is after epoch %lld but only %d epochs are asked "
                      "for (give --epochs %lld or more)", path, (long long)st->epoch, (int)tr->o.s.epochs,
                      (long long)st->epoch);
  if (st->steps < 0 || st->steps > CKPT_MAX_STEPS)
    return bad_field(err, path, "steps", (long long)st->steps, "must be from 0 to 2^53");
  snprintf(rule, sizeof rule, "must be from 0 to %lld (the epoch)", (long long)st->epoch);
  if (st->bad_epochs < 0 || st->bad_epochs > st->epoch)
    return bad_field(err, path, "bad_epochs", (long long)st->bad_epochs, rule);
  snprintf(rule, sizeof rule, "must be from -1 to %lld (the restart)", (long long)st->restart);
  if (st->global_best_restart < -1 || st->global_best_restart > st->restart)
    return bad_field(err, path, "global_best_restart", (long long)st->global_best_restart, rule);
  if (isnan(st->run_best) || st->run_best == -INFINITY)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint field 'run_best' is %g, must be a loss or +inf", path,
                      st->run_best);
  if (isnan(st->global_best) || st->global_best == -INFINITY)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint field 'global_best' is %g, must be a loss or +inf", path,
                      st->global_best);
  return NNRT_OK;
}

static const char *optimizer_name(uint32_t id) {
  const nnc_optimizer_def *d = nnc_optimizer_get((int)id);
  return d ? d->name : "an unknown optimizer";
}

/* The optimizer's state: OPTM for the optimizer training with, VELO (or nothing) for SGD. */
static int restore_optimizer(nnrt_trainer *tr, const nnrt_wfile *wf, const char *path, nnrt_error *err) {
  const nnrt_section *o = nnrt__wfile_section(wf, "OPTM");
  const nnc_model *m = tr->m;
  uint64_t pbytes = (uint64_t)m->n_params * (uint64_t)m->real_bytes;
  uint32_t id = o && o->len >= OPTM_HEADER ? get_u32(o->data) : NNC_OPT_SGD;
  if (o && o->len < OPTM_HEADER)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section OPTM has %llu bytes, fewer than its header's %d",
                      path, (unsigned long long)o->len, OPTM_HEADER);
  if (id != (uint32_t)tr->o.s.optimizer)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint holds the state of %s, but this training uses %s; "
                      "resume with --optimizer %s", path, optimizer_name(id), optimizer_name((uint32_t)tr->o.s.optimizer),
                      optimizer_name(id));
  if (!o)
    return restore_params(wf, "VELO", tr->velocity, pbytes, path, err, m);
  uint32_t slots = get_u32(o->data + 4);
  if (slots != (uint32_t)tr->slots || o->len != OPTM_HEADER + (uint64_t)slots * pbytes)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section OPTM has %llu bytes for %u state slots, must have "
                      "%llu (%d slots of %lld parameters)", path, (unsigned long long)o->len, (unsigned)slots,
                      (unsigned long long)(OPTM_HEADER + (uint64_t)tr->slots * pbytes), tr->slots,
                      (long long)m->n_params);
  nnrt__get_reals(tr->velocity, o->data + OPTM_HEADER, tr->slots * m->n_params, m->real_bytes);
  if (!all_finite(tr->velocity, tr->slots * m->n_params, m->real_bytes))
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section OPTM holds a value that is not finite", path);
  return NNRT_OK;
}

/* decay plateau's state from SCHD, checked (a crafted file must not reach arithmetic); a
 * checkpoint without it resumes only before the first epoch's end. Other schedules start
 * their plateau state afresh (it is not read). */
static int restore_plateau(nnrt_trainer *tr, const nnrt_wfile *wf, const nnrt_checkpoint_state *st,
                           const char *path, nnrt_error *err) {
  const nnrt_section *sd = nnrt__wfile_section(wf, "SCHD");
  nnrt_plateau p;
  nnrt__plateau_start(&tr->plateau, &tr->o.s);
  if (tr->o.s.decay != NNC_DECAY_PLATEAU)
    return NNRT_OK;
  if (!sd && st->epoch > 0)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the checkpoint has no state of 'decay plateau' (section SCHD): it "
                      "was written by training with another schedule; resume it with that schedule (--schedule)",
                      path);
  if (!sd)
    return NNRT_OK;
  if (sd->len != SCHD_BYTES)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section SCHD has %llu bytes, must have %d", path,
                      (unsigned long long)sd->len, SCHD_BYTES);
  decode_plateau(&p, sd->data);
  if (!(p.rate > 0 && isfinite(p.rate)) || isnan(p.best) || p.best == -INFINITY)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section SCHD holds rate %g and best loss %g: the rate must "
                      "be above 0 and finite, the loss a number or +inf", path, p.rate, p.best);
  if (p.bad_epochs < 0 || p.bad_epochs > st->epoch || p.cooldown < 0 || p.cooldown > INT32_MAX)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section SCHD holds %lld bad epochs and a cooldown of %lld: "
                      "must be from 0 to the epoch (%lld) and from 0 to 2^31 - 1", path, (long long)p.bad_epochs,
                      (long long)p.cooldown, (long long)st->epoch);
  tr->plateau = p;
  return NNRT_OK;
}

static int restore_state(nnrt_trainer *tr, const nnrt_wfile *wf, const char *path, nnrt_error *err) {
  const nnrt_section *ck = nnrt__wfile_section(wf, "CKPT");
  uint64_t pbytes = (uint64_t)tr->m->n_params * (uint64_t)tr->m->real_bytes;
  nnrt_checkpoint_state st;
  if (ck->len != 8 * CKPT_FIELDS)
    return nnrt__fail(err, NNRT_EDATA, "%s: checkpoint section CKPT has %llu bytes, must have %d", path,
                      (unsigned long long)ck->len, 8 * CKPT_FIELDS);
  decode_state(&st, ck->data);
  int rc = check_state(&st, tr, path, err);
  if (!rc && st.global_best_restart >= 0 && !nnrt__wfile_section(wf, "GBST"))
    rc = nnrt__fail(err, NNRT_EDATA, "%s: checkpoint has a best restart but no section GBST", path);
  if (!rc)
    rc = restore_optimizer(tr, wf, path, err);
  if (!rc)
    rc = restore_plateau(tr, wf, &st, path, err);
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
