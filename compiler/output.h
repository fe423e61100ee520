/* output.h — how nnc writes every output file (output.c). */
#ifndef NNC_OUTPUT_H
#define NNC_OUTPUT_H

#include <stdio.h>
#include <sys/types.h>

typedef struct OutFile {
  const char *path; /* the destination; "-" is standard output */
  char *tmp;        /* the temporary file (its name in dir), or the private directory of out_open_dir */
  char *inner;      /* out_open_dir: the file inside it that a tool writes */
  char *object;     /* out_open_dir: a second file inside it for the tool (exe.o) */
  int dir;          /* the destination's directory, open while tmp is; -1 otherwise */
  int in_place;     /* out_open_dir of a device: the tool writes it, tmp holds only the object */
  FILE *f;          /* out_open: write here until out_commit (kept in memory: buf, len) */
  char *buf;
  size_t len;
  int fd;           /* out_open: where out_commit writes buf: a temporary, a device, stdout */
} OutFile;

/* A stream for path: standard output for "-", else a new temporary beside path that
 * out_commit renames over it. NULL after a message. */
FILE *out_open(OutFile *o, const char *path);
/* A file name for a tool that writes its own output (the linker): inside a private directory
 * beside path, renamed over path by out_commit. NULL after a message. */
const char *out_open_dir(OutFile *o, const char *path);
/* Starts a tool (the linker) that writes into out_open_dir's directory, in a process group of
 * its own: an interrupted nnc kills it (and what it started) before removing the directory.
 * posix_spawnp's result; out_tool_done once it was waited for. */
int out_spawn_tool(pid_t *pid, char *const argv[]);
void out_tool_done(void);
/* Flushes, fsyncs and renames the temporary over the destination: 1, or 0 after a message
 * (the destination untouched, the temporary removed). */
int out_commit(OutFile *o);
/* Removes the temporary; the destination is untouched. */
void out_abort(OutFile *o);
/* Refuses outputs that would destroy an input or each other, as gcc does: 0, or 2 after a
 * message. output and header may be NULL (none) or "-"; weights may be NULL. */
int out_check(const char *output, const char *header, const char *input, const char *weights);
/* Refuses an output that is a data file the network trains on (what: "training data", ...):
 * 0, or 2 after a message. */
int out_check_data(const char *output, const char *data, const char *what);

#endif
