/* runtime/report.c — what a person sees of training: progress, a CSV log, an SVG plot.
 *
 * Consumes: the trainer's per-epoch rows (loss, the metric's score — accuracy, fraction of
 * labels right or RMSE —, validation scores, step size).
 * Produces: one line per epoch (about 25 for long runs), the same in a pipe and on a
 * terminal; on a terminal also a live line for the epoch in progress, redrawn with \r (at most
 * 10 times a second) and replaced by the epoch's line, or erased before any other message
 * (nnrt__progress_clear), so every message starts at column 0; a CSV log with one row per epoch of every restart; an SVG of the
 * kept run's loss (left axis) and accuracy (right axis) curves, drawn by hand. Both files are
 * written through files.c: a temporary renamed over the destination when complete.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "trainer.h"

double nnrt__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_duration(FILE *f, double s) {
  long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
  if (t >= 3600)
    fprintf(f, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    fprintf(f, "%ld:%02ld", t / 60, t % 60);
}

static void print_prefix(nnrt_trainer *tr, FILE *f, int64_t epoch) {
  if (tr->o.s.restarts > 1)
    fprintf(f, "[%lld/%d] ", (long long)tr->st.restart + 1, (int)tr->o.s.restarts);
  fprintf(f, "epoch %lld/%d", (long long)epoch, (int)tr->o.s.epochs);
}

/* Samples per second over this run so far, and the time its remaining epochs will take. */
static double run_rate(const nnrt_trainer *tr, int64_t extra, double now) {
  double dt = now - tr->run_start;
  return (double)(tr->run_samples + extra) / (dt > 1e-9 ? dt : 1e-9);
}

static double time_left(const nnrt_trainer *tr, int64_t epochs_done, int64_t extra, double rate) {
  return ((double)(tr->o.s.epochs - epochs_done) * (double)tr->train->n - (double)extra) / rate;
}

/* Redraws at most 10 times a second. */
static int throttled(nnrt_trainer *tr, double now) {
  if (now - tr->last_draw < 0.1)
    return 1;
  tr->last_draw = now;
  return 0;
}

void nnrt__progress_live(nnrt_trainer *tr, int64_t epoch, int64_t done, double loss_sum, double t0) {
  double now = nnrt__now();
  (void)t0;
  if (throttled(tr, now))
    return;
  FILE *f = tr->o.progress;
  double rate = run_rate(tr, done, now);
  fputc('\r', f);
  print_prefix(tr, f, epoch + 1);
  fprintf(f, "  %3d%%  loss %.4f  %.0f samples/s  left ", (int)(100 * done / tr->train->n),
          loss_sum / (double)done, rate);
  print_duration(f, time_left(tr, epoch, done, rate));
  fprintf(f, "\033[K");
  fflush(f);
  tr->line_open = 1;
}

void nnrt__progress_clear(nnrt_trainer *tr) {
  if (!tr->line_open || !tr->o.progress)
    return;
  fputs("\r\033[K", tr->o.progress);
  fflush(tr->o.progress);
  tr->line_open = 0;
}

const char *nnrt__score_name(int32_t metric) {
  return metric == NNC_METRIC_REGRESSION ? "rmse" : metric == NNC_METRIC_MULTILABEL ? "label_acc" : "acc";
}

void nnrt__print_score(FILE *f, int32_t metric, int val, double score) {
  if (isnan(score))
    return;
  if (metric == NNC_METRIC_REGRESSION)
    fprintf(f, "  %s%s %.4g", val ? "val_" : "", nnrt__score_name(metric), score);
  else
    fprintf(f, "  %s%s %.2f%%", val ? "val_" : "", nnrt__score_name(metric), 100 * score);
}

static void print_scores(FILE *f, int32_t metric, const nnrt_epoch_row *row) {
  fprintf(f, "  loss %.4f", row->loss);
  nnrt__print_score(f, metric, 0, row->acc);
  if (!isnan(row->val_loss))
    fprintf(f, "  val_loss %.4f", row->val_loss);
  nnrt__print_score(f, metric, 1, row->val_acc);
}

/* Long runs keep about 25 epoch lines: the first epoch, every k-th, the last (and the one
 * where early stopping ends the run). */
int nnrt__line_due(const nnrt_trainer *tr, int64_t epoch, int last) {
  int64_t every = tr->o.s.epochs <= 50 ? 1 : (tr->o.s.epochs + 24) / 25;
  return last || epoch == 1 || epoch >= tr->o.s.epochs || epoch % every == 0;
}

/* A line due stays: plain, or on a terminal written over the live line (\r … \033[K) and
 * ended. On a terminal an epoch not due only updates the live line (throttled), with the
 * run's average speed and the time left. */
void nnrt__report_epoch(nnrt_trainer *tr, const nnrt_epoch_row *row, double samples_per_s, int last) {
  FILE *f = tr->o.progress;
  double now = nnrt__now();
  int due = nnrt__line_due(tr, row->epoch, last);
  if (tr->o.verbosity < 2 || !f || (!due && (!tr->o.live || throttled(tr, now))))
    return;
  if (tr->o.live)
    fputc('\r', f);
  print_prefix(tr, f, row->epoch);
  print_scores(f, tr->metric, row);
  if (due) {
    fprintf(f, "  %.0f samples/s%s\n", samples_per_s, tr->o.live ? "\033[K" : "");
    tr->line_open = 0;
  } else {
    double rate = run_rate(tr, 0, now);
    fprintf(f, "  %.0f samples/s  left ", rate);
    print_duration(f, time_left(tr, row->epoch, 0, rate));
    fprintf(f, "\033[K");
    tr->line_open = 1;
  }
  fflush(f);
}

/* ---- CSV log ---- */

/* The log goes to a temporary beside --log while training runs (flushed after every row) and
 * takes its name when training ends, whatever the outcome (nnrt__log_close). */
int nnrt__log_open(nnrt_trainer *tr, nnrt_error *err) {
  if (!tr->o.log_path)
    return NNRT_OK;
  int rc = nnrt__out_open(&tr->log, tr->o.log_path, err);
  if (!rc) {
    fprintf(tr->log.f, "restart,epoch,loss,%s,val_loss,val_%s,rate,seconds\n", nnrt__score_name(tr->metric),
            nnrt__score_name(tr->metric));
    nnrt__out_flush(&tr->log);
  }
  return rc;
}

static void log_value(FILE *f, double v) {
  if (!isnan(v))
    fprintf(f, "%.9g", v);
}

void nnrt__log_row(nnrt_trainer *tr, const nnrt_epoch_row *row) {
  FILE *f = tr->log.f;
  if (!f)
    return;
  fprintf(f, "%d,%d,", (int)row->restart + 1, (int)row->epoch);
  double v[] = {row->loss, row->acc, row->val_loss, row->val_acc, row->rate, row->seconds};
  for (int i = 0; i < 6; i++) {
    log_value(f, v[i]);
    fputc(i < 5 ? ',' : '\n', f);
  }
  nnrt__out_flush(&tr->log);
}

int nnrt__log_close(nnrt_trainer *tr, nnrt_error *err) {
  return nnrt__out_commit(&tr->log, err);
}

/* ---- SVG plot ---- */

#define W 720
#define H 420
#define L 70  /* plot area: [L, W−R] × [T, H−B] */
#define R 70
#define T 40
#define B 50

typedef struct axis { double lo, hi; } axis;

static double map_x(double e, int64_t n) {
  return L + (n > 1 ? (e - 1) / (double)(n - 1) : 0.5) * (W - L - R);
}

static double map_y(double v, axis a) {
  return H - B - (v - a.lo) / (a.hi - a.lo) * (H - T - B);
}

static axis loss_axis(const nnrt_epoch_row *rows, int64_t n) {
  axis a = {0, 0};
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(rows[i].loss) && rows[i].loss > a.hi)
      a.hi = rows[i].loss;
    if (isfinite(rows[i].val_loss) && rows[i].val_loss > a.hi)
      a.hi = rows[i].val_loss;
  }
  if (a.hi <= 0)
    a.hi = 1;
  a.hi *= 1.05;
  return a;
}

static void polyline(FILE *f, const nnrt_epoch_row *rows, int64_t n, size_t field, axis a,
                     const char *color, const char *dash) {
  int open = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = *(const double *)((const char *)&rows[i] + field);
    if (!isfinite(v))
      continue;
    if (!open)
      fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color, dash);
    open = 1;
    fprintf(f, "%.1f,%.1f ", map_x(rows[i].epoch, n), map_y(v, a));
  }
  if (open)
    fprintf(f, "\"/>\n");
}

static void axes(FILE *f, int64_t n, axis la, int with_acc) {
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#333\"/>\n",
          L, T, W - L - R, H - T - B);
  for (int i = 0; i <= 5; i++) {
    double y = T + i * (H - T - B) / 5.0;
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, y, W - R, y);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", L - 6, y + 4,
            la.hi - i * (la.hi - la.lo) / 5);
    if (with_acc)
      fprintf(f, "<text x=\"%d\" y=\"%.1f\">%d%%</text>\n", W - R + 6, y + 4, 100 - 20 * i);
  }
  int64_t ticks = n < 6 ? n : 6;
  for (int64_t i = 0; i < ticks; i++) {
    int64_t e = ticks > 1 ? 1 + i * (n - 1) / (ticks - 1) : 1;
    double x = map_x((double)e, n);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>\n", x, H - B, x, H - B + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%lld</text>\n", x, H - B + 20, (long long)e);
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", (W + L - R) / 2, H - 12);
  fprintf(f, "<text x=\"18\" y=\"%d\" transform=\"rotate(-90 18 %d)\" text-anchor=\"middle\">loss</text>\n",
          (H + T - B) / 2, (H + T - B) / 2);
  if (with_acc)
    fprintf(f, "<text x=\"%d\" y=\"%d\" transform=\"rotate(90 %d %d)\" text-anchor=\"middle\">accuracy</text>\n",
            W - 18, (H + T - B) / 2, W - 18, (H + T - B) / 2);
}

static void legend(FILE *f, int has_val, int has_acc) {
  const char *names[] = {"train loss", "validation loss", "train accuracy", "validation accuracy"};
  const char *colors[] = {"#1f77b4", "#1f77b4", "#d62728", "#d62728"};
  int x = L + 10;
  for (int i = 0; i < 4; i++) {
    if ((i % 2 == 1 && !has_val) || (i >= 2 && !has_acc))
      continue;
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            x, T - 14, x + 20, T - 14, colors[i], i % 2 ? " stroke-dasharray=\"5,3\"" : "");
    fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 25, T - 10, names[i]);
    x += 40 + 8 * (int)strlen(names[i]);
  }
}

int nnrt__plot_svg(const char *path, const char *title, const nnrt_epoch_row *rows, int64_t n, int32_t metric,
                   nnrt_error *err) {
  nnrt_out out;
  int rc = nnrt__out_open(&out, path, err);
  if (rc)
    return rc;
  FILE *f = out.f;
  int has_val = n > 0 && !isnan(rows[0].val_loss);
  int has_acc = n > 0 && metric != NNC_METRIC_REGRESSION && !isnan(rows[0].acc); /* a fraction: right axis */
  axis la = loss_axis(rows, n), aa = {0, 1};
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          W, H);
  fprintf(f, "<text x=\"%d\" y=\"16\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n", W / 2, title);
  axes(f, n, la, has_acc);
  polyline(f, rows, n, offsetof(nnrt_epoch_row, loss), la, "#1f77b4", "");
  polyline(f, rows, n, offsetof(nnrt_epoch_row, val_loss), la, "#1f77b4", " stroke-dasharray=\"5,3\"");
  polyline(f, rows, n, offsetof(nnrt_epoch_row, acc), aa, "#d62728", "");
  polyline(f, rows, n, offsetof(nnrt_epoch_row, val_acc), aa, "#d62728", " stroke-dasharray=\"5,3\"");
  legend(f, has_val, has_acc);
  fprintf(f, "</svg>\n");
  return nnrt__out_commit(&out, err);
}
