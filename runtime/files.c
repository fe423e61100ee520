/* runtime/files.c — the one way libnnrt writes a file: whole or not at all.
 *
 * Consumes: a destination path and its bytes, given at once (nnrt__write_atomic) or streamed
 * (nnrt__out_open, then fprintf to out.f, then nnrt__out_commit or nnrt__out_abort).
 * Produces: the destination replaced by a complete file, or left untouched. The bytes go to a
 * new temporary `BASE.tmp.XXXXXX` in the destination's directory, which is opened once: the
 * temporary is created in it exclusively (O_CREAT|O_EXCL|O_NOFOLLOW: a symlink planted at that
 * name is never followed), with the mode and group of the file it replaces (else 0666 less the
 * umask); it is flushed, fsynced, renamed over BASE, and the directory is fsynced. Going
 * through the directory, a path near PATH_MAX works although its temporary's would not. On
 * any failure the temporary is removed and the message names DEST and the system's reason. A
 * DEST that is a symlink is itself replaced by the new file; what it pointed to is not
 * written. Only a process killed mid-write can leave a temporary behind (a complete or torn
 * `DEST.tmp.XXXXXX`, never a torn DEST). What is not a file to replace ("-" for standard
 * output, a device, FIFO or socket such as /dev/null or a terminal, or a link into /proc such
 * as /dev/stdout) is written in place, as a stream.
 * nnrt__write_new creates a file that did not exist: NAME, else NAME.2, NAME.3, ...
 * nnrt__check_output, nnrt__check_text_output and nnrt__same_file let a command refuse, before
 * a long job, an output it could not write or should not replace.
 */
#define _GNU_SOURCE /* S_ISVTX, O_PATH, F_DUPFD_CLOEXEC */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define TMP_TAG ".tmp."
#define TMP_RANDOM 6
#define MAX_BASE 200   /* a long name is cut in its temporary's name (NAME_MAX is 255) */
#define NAME_MAX_BYTES 255

/* ---- names ---- */

/* Where the last path component starts. */
static size_t base_at(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? (size_t)(slash - path) + 1 : 0;
}

/* 6 letters or digits, different on every call and in every process. */
static void random_tag(char *out) {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static uint64_t state;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  state ^= (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 40;
  uint64_t r = nnrt__splitmix64(&state);
  for (int i = 0; i < TMP_RANDOM; i++, r /= 62)
    out[i] = chars[r % 62];
  out[TMP_RANDOM] = 0;
}

/* BASE.tmp.XXXXXX for DIR/BASE (BASE cut to MAX_BASE bytes): a name within DIR. */
static char *temp_name(const char *path) {
  size_t dir = base_at(path), base = strlen(path + dir);
  if (base > MAX_BASE)
    base = MAX_BASE;
  char *tmp = nnrt__alloc(base + sizeof TMP_TAG + TMP_RANDOM);
  if (!tmp)
    return NULL;
  memcpy(tmp, path + dir, base);
  memcpy(tmp + base, TMP_TAG, sizeof TMP_TAG - 1);
  random_tag(tmp + base + sizeof TMP_TAG - 1);
  return tmp;
}

/* The directory of path, for checks: "." for a bare name. */
static char *dir_of(const char *path) {
  size_t n = base_at(path);
  char *d = nnrt__alloc(n ? n + 1 : 2);
  if (!d)
    return NULL;
  if (n)
    memcpy(d, path, n);
  else
    d[0] = '.';
  return d;
}

/* The directory of path, opened: the temporary, the rename and the fsync go through it, so a
 * path near PATH_MAX works even though its temporary's name is longer. -1 and errno set. */
static int open_dir(const char *path) {
  char *d = dir_of(path);
  if (!d)
    return errno = ENOMEM, -1;
  int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) /* a directory one may write but not read (-wx) */
    fd = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int e = errno;
  nnrt__free(d);
  errno = e;
  return fd;
}

/* ---- the temporary ---- */

static int write_failed(nnrt_error *err, const char *path, int e) {
  if (e == ENOMEM)
    return nnrt__oom_writing(err, path);
  return nnrt__fail(err, NNRT_EIO, "%s: cannot write: %s", path, strerror(e));
}

/* Gives a new temporary the permission bits and group of the regular file it will replace;
 * best effort (a group the user is not in stays the user's). */
static void keep_mode(int fd, const struct stat *old) {
  if (old->st_gid != getegid() && fchown(fd, (uid_t)-1, old->st_gid) != 0) {
    /* the new file keeps the user's group */
  }
  fchmod(fd, old->st_mode & 0777);
}

/* A new temporary beside o->path, opened exclusively in o->dir, with the mode of the file it
 * replaces. */
static int create_temp(nnrt_out *o, int *fd, nnrt_error *err) {
  struct stat st;
  int keep = lstat(o->path, &st) == 0 && S_ISREG(st.st_mode);
  if ((o->dir = open_dir(o->path)) < 0)
    return write_failed(err, o->path, errno);
  int e = ENOMEM;
  for (int attempt = 0; attempt < 100; attempt++) {
    if (!(o->tmp = temp_name(o->path)))
      break;
    *fd = openat(o->dir, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (*fd >= 0) {
      if (keep)
        keep_mode(*fd, &st);
      return NNRT_OK;
    }
    e = errno;
    nnrt__free(o->tmp);
    o->tmp = NULL;
    if (e != EEXIST)
      break;
  }
  close(o->dir);
  return write_failed(err, o->path, e);
}

int nnrt__oom_writing(nnrt_error *err, const char *path) {
  return nnrt__fail(err, NNRT_ENOMEM, "%s: cannot write: out of memory", path);
}

/* ---- streamed writes ---- */

/* "-" (standard output), a device, FIFO or socket, or a link into /proc (/dev/stdout):
 * nothing to replace. */
int nnrt__in_place(const char *path) {
  struct stat st;
  char target[6];
  if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)))
    return 1;
  return readlink(path, target, sizeof target) == sizeof target && memcmp(target, "/proc/", 6) == 0;
}

/* A stream on a new temporary beside path, or (in_place) on path itself. */
static int open_stream(nnrt_out *o, const char *path, int in_place, nnrt_error *err) {
  int fd = -1, rc = NNRT_OK;
  memset(o, 0, sizeof *o);
  o->path = path;
  o->dir = -1;
  if (!in_place)
    rc = create_temp(o, &fd, err);
  else if ((fd = strcmp(path, "-") == 0 ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)
                                          : open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
    rc = write_failed(err, path, errno);
  if (rc)
    return rc;
  o->f = fdopen(fd, "wb");
  if (!o->f) {
    rc = write_failed(err, path, errno);
    close(fd);
    nnrt__out_abort(o);
  }
  return rc;
}

int nnrt__out_open(nnrt_out *o, const char *path, nnrt_error *err) {
  return open_stream(o, path, nnrt__in_place(path), err);
}

int nnrt__out_flush(nnrt_out *o) {
  if (o->f && fflush(o->f) != 0 && !o->error)
    o->error = errno ? errno : EIO;
  return o->error;
}

/* Flushes, fsyncs (a temporary) and closes the stream: 0, or the errno of the first failure. */
static int close_stream(nnrt_out *o) {
  int e = nnrt__out_flush(o);
  if (!e && ferror(o->f))
    e = EIO;
  if (!e && o->tmp && fsync(fileno(o->f)) != 0)
    e = errno;
  if (fclose(o->f) != 0 && !e)
    e = errno;
  o->f = NULL;
  return e;
}

/* The temporary is complete: its name and directory are let go (nothing left to remove). */
static void release_temp(nnrt_out *o) {
  fsync(o->dir); /* best effort: some file systems refuse to fsync a directory */
  close(o->dir);
  nnrt__free(o->tmp);
  o->tmp = NULL;
}

int nnrt__out_commit(nnrt_out *o, nnrt_error *err) {
  int e = o->f ? close_stream(o) : 0;
  if (!e && o->tmp && renameat(o->dir, o->tmp, o->dir, o->path + base_at(o->path)) != 0)
    e = errno;
  if (e) {
    nnrt__out_abort(o);
    return write_failed(err, o->path, e);
  }
  if (o->tmp)
    release_temp(o);
  return NNRT_OK;
}

void nnrt__out_abort(nnrt_out *o) {
  if (o->f)
    fclose(o->f);
  o->f = NULL;
  if (o->tmp) {
    unlinkat(o->dir, o->tmp, 0);
    close(o->dir);
  }
  nnrt__free(o->tmp);
  o->tmp = NULL;
}

/* ---- whole files ---- */

static int write_all(nnrt_out *o, const void *bytes, uint64_t size) {
  if (size && fwrite(bytes, 1, (size_t)size, o->f) != size && !o->error)
    o->error = errno ? errno : EIO;
  return o->error;
}

int nnrt__write_atomic(const char *path, const void *bytes, uint64_t size, nnrt_error *err) {
  nnrt_out o;
  int rc = nnrt__out_open(&o, path, err);
  if (rc)
    return rc;
  write_all(&o, bytes, size);
  return nnrt__out_commit(&o, err);
}

/* name, name.2, name.3, ... into buf. A last component longer than NAME_MAX loses its first
 * bytes (a long SAVE gives SAVE.diverged a name the file system can hold; the end that says
 * what it is stays). */
static int candidate(char *buf, size_t cap, const char *name, int k) {
  char tail[16] = "";
  size_t dir = base_at(name), base = strlen(name + dir), cut = 0;
  if (k > 1)
    snprintf(tail, sizeof tail, ".%d", k);
  if (base + strlen(tail) > NAME_MAX_BYTES)
    cut = base + strlen(tail) - NAME_MAX_BYTES;
  int n = snprintf(buf, cap, "%.*s%s%s", (int)dir, name, name + dir + cut, tail);
  return n >= 0 && (size_t)n < cap;
}

/* Gives the complete temporary a name that nothing had: link() fails on an existing name, so
 * no file is ever replaced. A file system without hard links gets a check, then a rename. */
static int claim_name(nnrt_out *o, const char *name, char *chosen, size_t cap) {
  const char *base = chosen + base_at(name);  /* chosen is NAME[.k], in name's directory */
  for (int k = 1; k <= 1000; k++) {
    struct stat st;
    if (!candidate(chosen, cap, name, k))
      return ENAMETOOLONG;
    if (linkat(o->dir, o->tmp, o->dir, base, 0) == 0)
      return unlinkat(o->dir, o->tmp, 0), 0;
    if (errno == EEXIST)
      continue;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != EMLINK)
      return errno;
    if (fstatat(o->dir, base, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
      return renameat(o->dir, o->tmp, o->dir, base) == 0 ? 0 : errno;
  }
  return EEXIST;
}

int nnrt__write_new(const char *name, const void *bytes, uint64_t size, char *chosen, size_t cap,
                    nnrt_error *err) {
  nnrt_out o;
  int rc = open_stream(&o, name, 0, err);
  if (rc)
    return rc;
  int e = write_all(&o, bytes, size);
  if (!e)
    e = close_stream(&o);
  if (!e)
    e = claim_name(&o, name, chosen, cap);
  if (e) {
    nnrt__out_abort(&o);
    return write_failed(err, name, e);
  }
  release_temp(&o); /* claimed: the temporary's name is gone */
  return NNRT_OK;
}

/* ---- checks before a long job ---- */

/* Whether a and b name one file: the same inode when both exist, else the same name in the
 * same directory. */
int nnrt__same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (strcmp(a + base_at(a), b + base_at(b)) != 0)
    return 0;
  char *da = dir_of(a), *db = dir_of(b);
  int same = da && db && stat(da, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev &&
             sa.st_ino == sb.st_ino;
  nnrt__free(da);
  nnrt__free(db);
  return same;
}

/* Whether path is this program's own executable. */
static int is_self(const char *path) {
  struct stat a, b;
  return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

/* Why an existing path in directory d (stat dst) cannot be replaced by this user: a file
 * the user may not write (as the shell's `>` would refuse), or another user's file in a
 * sticky directory (the rename would be refused at the end); NULL if it can. */
static const char *why_not_replaced(const char *path, const struct stat *dst) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? NULL : strerror(errno);
  if (S_ISREG(st.st_mode) && access(path, W_OK) != 0 && errno == EACCES)
    return "Permission denied (a file is replaced only by a user who may write it)";
  if ((dst->st_mode & S_ISVTX) && geteuid() != 0 && st.st_uid != geteuid() && dst->st_uid != geteuid())
    return "Operation not permitted (another user's file in a sticky directory)";
  return NULL;
}

/* Whether path can be replaced: its directory exists and is writable, its name is not too
 * long, and the file there (if any) is one this user may replace. */
static int check_replaceable(const char *what, const char *path, nnrt_error *err) {
  struct stat st;
  char *d = dir_of(path);
  if (!d)
    return nnrt__oom(err);
  int rc = NNRT_OK, found = stat(d, &st) == 0;
  const char *why = NULL;
  if (!found && (errno == ENOENT || errno == ENOTDIR))
    rc = nnrt__fail(err, NNRT_EIO, "%s: cannot write %s: directory %s does not exist", what, path, d);
  else if (!found)
    why = strerror(errno);
  else if (access(d, W_OK | X_OK) != 0)
    rc = nnrt__fail(err, NNRT_EIO, "%s: cannot write %s: %s%s", what, path, strerror(errno),
                    errno == EACCES ? " (its directory is not writable, and a file is replaced by "
                                      "renaming a new one over it)" : "");
  else
    why = why_not_replaced(path, &st);
  if (!rc && why)
    rc = nnrt__fail(err, NNRT_EIO, "%s: cannot write %s: %s", what, path, why);
  nnrt__free(d);
  return rc;
}

int nnrt__check_text_output(const char *what, const char *path, nnrt_error *err) {
  struct stat st;
  size_t n = strlen(path);
  if (n == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: the file name is empty", what);
  if (strcmp(path, "-") == 0)
    return NNRT_OK;
  if (nnrt__in_place(path))
    return access(path, W_OK) == 0 ? NNRT_OK
           : nnrt__fail(err, NNRT_EIO, "%s: cannot write %s: %s", what, path, strerror(errno));
  if (path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
    return nnrt__fail(err, NNRT_EUSAGE, "%s: %s is a directory; give a file name", what, path);
  if (is_self(path))
    return nnrt__fail(err, NNRT_EUSAGE, "%s: %s is this program's own executable; give another name",
                      what, path);
  return check_replaceable(what, path, err);
}

/* A weights or checkpoint file is written only over nothing, an empty file, something that is
 * not a file (a device, a FIFO), a symlink (replaced itself, what it names untouched), or a
 * file nnc wrote (it starts with NNCW): a path that names the network's source, a script or
 * notes (`checkpoint "model.nn";`, `--save run.sh`) would otherwise be replaced by weights,
 * and what it held lost. */
int nnrt__check_not_foreign(const char *what, const char *path, nnrt_error *err) {
  struct stat st;
  if (nnrt__in_place(path) || lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
    return NNRT_OK;
  unsigned char head[4] = {0};
  FILE *f = fopen(path, "rb");
  size_t got = f ? fread(head, 1, sizeof head, f) : 0;
  if (f)
    fclose(f);
  if (!f || (got == sizeof head && memcmp(head, "NNCW", 4) == 0))
    return NNRT_OK; /* unreadable: the write itself will say whether it may replace it */
  return nnrt__fail(err, NNRT_EUSAGE, "%s %s: the file there is not one of nnc's weights or checkpoints, and "
                    "writing would replace what it holds; give another name, or remove it first", what, path);
}

int nnrt__check_output(const char *what, const char *path, nnrt_error *err) {
  if (strcmp(path, "-") == 0)
    return nnrt__fail(err, NNRT_EUSAGE, "%s: '-' (standard output) cannot hold weights; give a file "
                      "name (/dev/null keeps none)", what);
  return nnrt__check_text_output(what, path, err);
}
