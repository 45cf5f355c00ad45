/*
 * Loaded into a server with LD_PRELOAD by test/helpers/failing-fsync.ts: while the file named by
 * FAILING_FSYNC_WHILE exists, every fsync(2) and fdatasync(2) of a file whose name ends in "-wal"
 * (SQLite's write-ahead log) fails with EIO, as on a disk that failed to write back; the data written
 * before it stays in the page cache, as the kernel leaves it. Every other call is the real one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failing(int fd) {
  const char *trigger = getenv("FAILING_FSYNC_WHILE");
  if (trigger == NULL || access(trigger, F_OK) != 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 4) return 0;
  path[n] = '\0';
  return strcmp(path + n - 4, "-wal") == 0;
}

/* The real call named `name` (found once, kept in *real), unless the descriptor's flush must fail. */
static int flush(int (**real)(int), const char *name, int fd) {
  if (*real == NULL) *real = (int (*)(int))dlsym(RTLD_NEXT, name);
  if (failing(fd)) {
    errno = EIO;
    return -1;
  }
  return (*real)(fd);
}

int fsync(int fd) {
  static int (*real)(int);
  return flush(&real, "fsync", fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  return flush(&real, "fdatasync", fd);
}
