/* output.c — the one way nnc writes an output file: whole or not at all.
 * Consumes: a destination path and the bytes written to its stream (or a tool's own output:
 * the linker). Produces: the destination replaced by the complete file, or untouched. The
 * stream is kept in memory, so a failed write says why (a full disk, not "I/O error"); the
 * bytes go to a new temporary `DEST.tmp.XXXXXX` beside it, created exclusively and never
 * through a symlink (O_CREAT|O_EXCL|O_NOFOLLOW), with the mode and group of the file it
 * replaces (else 0666 less the umask); it is flushed, fsynced, renamed over DEST, and the
 * directory fsynced, all through the directory opened once (a path near PATH_MAX works). The
 * linker writes into a private directory `DEST.tmp.XXXXXX/` (mode 0700) instead, and its
 * executable (`exe`, with the linker's modes) is renamed from there. A DEST that is a symlink
 * is replaced by the file, as the linker does; what it pointed to is not written. What is not
 * a file to replace (/dev/null, a pipe, /dev/stdout) is written in place. A temporary is
 * removed when nnc is interrupted (SIGINT, SIGTERM, SIGHUP). Before any work, out_check
 * refuses an output that names an input, another output, a directory or nnc itself, or one
 * this user could not replace. */
#define _GNU_SOURCE /* S_ISVTX, O_PATH, F_DUPFD_CLOEXEC */
#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "output.h"

#define MAX_BASE 200 /* a long name is cut in its temporary's name (NAME_MAX is 255) */

/* --- names ---------------------------------------------------------------------------- */

static size_t base_at(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? (size_t)(slash - path) + 1 : 0;
}

/* The directory of path, "." for a bare name (allocated). */
static char *dir_of(const char *path) {
  size_t n = base_at(path);
  char *d = xmalloc(n + 2);
  if (n) memcpy(d, path, n);
  else d[n++] = '.';
  d[n] = 0;
  return d;
}

/* Six letters or digits, different on every call and in every process. */
static void random_tag(char *out) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static uint64_t state;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  state += (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40 ^ 0x9e3779b97f4a7c15ull;
  uint64_t r = state;
  r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ull;
  r = (r ^ (r >> 27)) * 0x94d049bb133111ebull;
  r ^= r >> 31;
  for (int i = 0; i < 6; i++, r /= 62) out[i] = chars[r % 62];
  out[6] = 0;
}

/* BASE.tmp.XXXXXX for DIR/BASE, a name within DIR (random 1), or with the X's kept for
 * mkdtemp the whole path DIR/BASE.tmp.XXXXXX (random 0), "./" before a leading '-' so that no
 * tool takes it for an option. */
static char *temp_name(const char *path, int random) {
  size_t dir = base_at(path), base = strlen(path + dir), lead = 0;
  if (base > MAX_BASE) base = MAX_BASE;
  if (random) path += dir, dir = 0;
  else if (path[0] == '-') lead = 2;
  char *tmp = xmalloc(lead + dir + base + 12);
  memcpy(tmp, "./", lead);
  memcpy(tmp + lead, path, dir + base);
  strcpy(tmp + lead + dir + base, ".tmp.XXXXXX");
  if (random) random_tag(tmp + dir + base + 5);
  return tmp;
}

static int cannot_write(const char *path, int e) {
  fprintf(stderr, "nnc: error: cannot write '%s': %s\n", path, strerror(e));
  return 0;
}

/* The directory of path, opened: the temporary, the rename and the fsync go through it, so a
 * path near PATH_MAX works though its temporary's name is longer. -1 and errno set. */
static int open_dir(const char *path) {
  char *d = dir_of(path);
  int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) fd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC); /* -wx */
  int e = errno;
  free(d);
  errno = e;
  return fd;
}

/* --- interrupted: the temporaries of the outputs being written are removed --------------- */

static OutFile *volatile active[4];
static volatile pid_t tool_pid;

static void remove_temp(OutFile *o) {
  if (o->object) {
    if (o->inner) unlink(o->inner);
    unlink(o->object);
    rmdir(o->tmp);
  } else if (o->tmp) {
    unlinkat(o->dir, o->tmp, 0);
  }
}

static void on_signal(int sig) {
  if (tool_pid > 0) { /* the tool and whatever it started (the linker under cc) */
    kill(-tool_pid, SIGKILL);
    waitpid(tool_pid, NULL, 0);
  }
  for (int i = 0; i < 4; i++)
    if (active[i]) remove_temp(active[i]);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void watch(OutFile *o) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  static int installed;
  for (int i = 0; !installed && i < 3; i++) {
    struct sigaction old, sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
  }
  installed = 1;
  for (int i = 0; i < 4; i++)
    if (!active[i]) {
      active[i] = o;
      return;
    }
}

static void unwatch(OutFile *o) {
  for (int i = 0; i < 4; i++)
    if (active[i] == o) active[i] = NULL;
}

/* The signals on_signal handles held off while a temporary or a tool comes into being, so
 * that it is always known to the handler when one arrives. */
static void hold_signals(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, old);
}

int out_spawn_tool(pid_t *pid, char *const argv[]) {
  extern char **environ;
  posix_spawnattr_t attr;
  sigset_t old;
  hold_signals(&old);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &old);
  int rc = posix_spawnp(pid, argv[0], NULL, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (rc == 0) tool_pid = *pid;
  sigprocmask(SIG_SETMASK, &old, NULL);
  return rc;
}

void out_tool_done(void) { tool_pid = 0; }

/* --- opening ---------------------------------------------------------------------------- */

/* What is not a file to replace is written in place: a device, FIFO or socket (/dev/null, a
 * terminal, a pipe) or a link into /proc such as /dev/stdout. */
static int in_place(const char *path) {
  struct stat st;
  char target[6];
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 1;
  return readlink(path, target, sizeof target) == sizeof target && memcmp(target, "/proc/", 6) == 0;
}

/* The file descriptor the bytes go to: standard output, the device itself, or a new temporary
 * beside path (in o->dir, with the mode and group of the file it replaces). -1 and errno set. */
static int open_target(OutFile *o, const char *path) {
  if (strcmp(path, "-") == 0) return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
  if (in_place(path)) return open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  struct stat st;
  int keep_mode = lstat(path, &st) == 0 && S_ISREG(st.st_mode), fd = -1;
  o->dir = open_dir(path);
  for (int attempt = 0; attempt < 100 && fd < 0 && o->dir >= 0; attempt++) {
    free(o->tmp);
    o->tmp = temp_name(path, 1);
    fd = openat(o->dir, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    free(o->tmp); /* not created */
    o->tmp = NULL;
  } else if (keep_mode) {
    if (st.st_gid != getegid() && fchown(fd, (uid_t)-1, st.st_gid) != 0) { /* keeps the user's group */ }
    fchmod(fd, st.st_mode & 0777);
  }
  return fd;
}

FILE *out_open(OutFile *o, const char *path) {
  memset(o, 0, sizeof *o);
  o->path = path;
  o->dir = -1;
  sigset_t old;
  hold_signals(&old);
  if ((o->fd = open_target(o, path)) >= 0) watch(o);
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (o->fd < 0 || !(o->f = open_memstream(&o->buf, &o->len))) {
    cannot_write(path, errno);
    out_abort(o);
    return NULL;
  }
  return o->f;
}

const char *out_open_dir(OutFile *o, const char *path) {
  memset(o, 0, sizeof *o);
  o->path = path;
  o->dir = o->fd = -1;
  if ((o->in_place = in_place(path))) { /* the tool writes the device; its object goes elsewhere */
    const char *t = getenv("TMPDIR");
    o->tmp = xmalloc(strlen(t && *t ? t : "/tmp") + 12);
    sprintf(o->tmp, "%s/nnc.XXXXXX", t && *t ? t : "/tmp");
  } else {
    o->tmp = temp_name(path, 0);
    o->dir = open_dir(path);
  }
  sigset_t old;
  hold_signals(&old);
  int made = (o->in_place || o->dir >= 0) && mkdtemp(o->tmp);
  if (made) { /* short fixed names inside: a NAME_MAX-byte name has no room for ".o" */
    o->object = xmalloc(strlen(o->tmp) + 8);
    sprintf(o->object, "%s/exe.o", o->tmp);
    if (!o->in_place) {
      o->inner = xmalloc(strlen(o->tmp) + 8);
      sprintf(o->inner, "%s/exe", o->tmp);
    }
    watch(o);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  if (!made) {
    cannot_write(path, errno);
    free(o->tmp); /* not created */
    o->tmp = NULL;
    out_abort(o);
    return NULL;
  }
  return o->in_place ? path : o->inner;
}

/* --- committing ------------------------------------------------------------------------ */

/* Writes the stream's bytes (kept in memory, so that the reason of a failed write is known),
 * fsyncs a temporary and closes it: 0 or the errno of the first failure. */
static int close_stream(OutFile *o) {
  int e = fclose(o->f) != 0 ? errno : 0;
  o->f = NULL;
  for (size_t at = 0; !e && at < o->len;) {
    ssize_t n = write(o->fd, o->buf + at, o->len - at);
    if (n > 0) at += (size_t)n;
    else if (n == 0 || errno != EINTR) e = n == 0 ? EIO : errno;
  }
  if (!e && o->tmp && fsync(o->fd) != 0) e = errno;
  if (close(o->fd) != 0 && !e) e = errno;
  o->fd = -1;
  return e;
}

int out_commit(OutFile *o) {
  int e = o->f ? close_stream(o) : 0;
  if (!o->tmp || o->in_place) {
    out_abort(o); /* the object's directory, if any */
    return e ? cannot_write(o->path, e) : 1;
  }
  const char *from = o->inner ? o->inner : o->tmp;
  if (!e && o->inner) {
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    e = fd < 0 ? errno : fsync(fd) != 0 ? errno : 0;
    if (fd >= 0) close(fd);
  }
  if (!e && renameat(o->inner ? AT_FDCWD : o->dir, from, o->dir, o->path + base_at(o->path)) != 0) e = errno;
  if (e) {
    out_abort(o);
    return cannot_write(o->path, e);
  }
  fsync(o->dir); /* best effort: some file systems refuse to fsync a directory */
  if (!o->inner) { /* renamed: nothing left to remove (the handler sees NULL first) */
    char *renamed = o->tmp;
    o->tmp = NULL;
    free(renamed);
  }
  out_abort(o); /* what is left: the private directory, now empty */
  return 1;
}

/* Removes the private directory with whatever a tool left in it. */
static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char *p = xmalloc(strlen(dir) + strlen(e->d_name) + 2);
    sprintf(p, "%s/%s", dir, e->d_name);
    unlink(p);
    free(p);
  }
  if (d) closedir(d);
  rmdir(dir);
}

void out_abort(OutFile *o) {
  if (o->f) fclose(o->f);
  o->f = NULL;
  free(o->buf);
  o->buf = NULL;
  if (o->fd >= 0) close(o->fd);
  o->fd = -1;
  if (o->tmp && o->object) remove_dir(o->tmp);
  else if (o->tmp) unlinkat(o->dir, o->tmp, 0);
  unwatch(o); /* only now: a signal during the removal repeats it */
  if (o->dir >= 0) close(o->dir);
  o->dir = -1;
  free(o->tmp);
  free(o->inner);
  free(o->object);
  o->tmp = o->inner = o->object = NULL;
}

/* --- checks ---------------------------------------------------------------------------- */

/* Whether a and b name one file: the same inode when both exist, else the same name in the
 * same directory. */
static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (strcmp(a + base_at(a), b + base_at(b)) != 0) return 0;
  char *da = dir_of(a), *db = dir_of(b);
  int same = stat(da, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  free(da);
  free(db);
  return same;
}

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int refuse(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "nnc: error: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 2;
}

/* Why this user cannot replace path: its directory is missing or not writable, its name is too
 * long, it is a file the user may not write (as the shell's `>` would refuse), or another
 * user's file in a sticky directory; NULL if it can. */
static const char *why_not_replaceable(const char *path) {
  struct stat d, st;
  char *dir = dir_of(path);
  int found = stat(dir, &d) == 0;
  int writable = found && access(dir, W_OK | X_OK) == 0;
  free(dir);
  if (!found) return strerror(errno == ENOTDIR ? ENOENT : errno); /* a/b with a a file */
  if (!writable)
    return errno == EACCES ? "Permission denied (its directory is not writable, and a file is replaced by "
                             "renaming a new one over it)" : strerror(errno);
  if (lstat(path, &st) != 0) return errno == ENOENT ? NULL : strerror(errno);
  if (S_ISREG(st.st_mode) && access(path, W_OK) != 0 && errno == EACCES)
    return "Permission denied (a file is replaced only by a user who may write it)";
  if ((d.st_mode & S_ISVTX) && geteuid() != 0 && st.st_uid != geteuid() && d.st_uid != geteuid())
    return "Operation not permitted (another user's file in a sticky directory)";
  return NULL;
}

static int is_nnc(const char *path) {
  struct stat a, b;
  return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

/* One output path: a file name, not a directory, not an input, not nnc, one this user may
 * replace (what is not a file to replace, such as /dev/null, is written in place). */
static int check_one(const char *what, const char *path, const char *input, const char *weights) {
  struct stat st;
  size_t n = strlen(path);
  if (n == 0) return refuse("%s file name is empty", what);
  if (path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
    return refuse("%s file '%s' is a directory", what, path);
  if (same_file(path, input)) return refuse("%s file '%s' is the input file", what, path);
  if (weights && same_file(path, weights))
    return refuse("%s file '%s' is the weights file (--weights)", what, path);
  if (is_nnc(path)) return refuse("%s file '%s' is nnc itself", what, path);
  const char *why = in_place(path) ? NULL : why_not_replaceable(path);
  if (why) fprintf(stderr, "nnc: error: cannot write '%s': %s\n", path, why);
  return why ? 1 : 0;
}

int out_check(const char *output, const char *header, const char *input, const char *weights) {
  int rc = 0;
  if (output && strcmp(output, "-") != 0) rc = check_one("output", output, input, weights);
  if (!rc && header && strcmp(header, "-") != 0) rc = check_one("header", header, input, weights);
  if (!rc && output && header && strcmp(output, "-") != 0 && same_file(output, header))
    rc = refuse("output file '%s' is also the header file (--header)", output);
  if (!rc && output && header && strcmp(output, "-") == 0 && strcmp(header, "-") == 0) /* one stream, both files */
    rc = refuse("output file '%s' is also the header file (--header): standard output holds one of them", output);
  return rc;
}

int out_check_data(const char *output, const char *data, const char *what) {
  if (!output || !data || strcmp(output, "-") == 0 || in_place(output) || !same_file(output, data)) return 0;
  return refuse("output file '%s' is the network's %s", output, what);
}
