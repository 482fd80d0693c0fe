/*
 * linkMany: an edit's unchanged files hard-linked from a kept release on a thread of libuv's pool
 * (link-ahead.ts), while the main thread takes the fetch's chunks. Compiled into the agent's
 * addon with whole-file.c (scripts/build-native-writes.mjs), which registers it.
 *
 * linkMany(to, paths, want, modes, done, callback): `paths` a Buffer of n triples
 * "root\0fromRel\0rel\0" (an empty root: the previous one; an empty fromRel: the same as rel:
 * 0.42 MB for 18,000 files, whose full paths took 2.6); for the i-th, root/fromRel is
 * linked to to/rel only when lstat (fstatat) finds a regular file whose size and mtime (in ms as
 * fs.Stats mtimeMs computes it) are want[2i] and want[2i+1] and whose permission bits are
 * modes[i]; done[i] is set to 1 when it was linked, else left 0. `callback()` once every triple
 * has been tried. No file is ever opened or written (only folders opened, to look in): a file
 * that does not match is left to the caller.
 */
#define NAPI_VERSION 4
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest path joined here (PATH_MAX on Linux). */
#define MAX_PATH 4096

typedef struct {
  napi_async_work work;
  char to[MAX_PATH];
  napi_ref refs[4];
  napi_ref callback;
  const char *paths;
  size_t paths_len;
  const double *want;
  const uint16_t *modes;
  uint8_t *done;
  size_t n;
} link_job;

/*
 * A folder held open while consecutive paths are in it (a manifest lists a folder's files together):
 * each file is then looked at and linked by its name in it (fstatat, linkat), not walked to from
 * the root twice. 14,319 links here: 270 ms against 323 by full paths.
 */
typedef struct {
  int fd;
  size_t len;
  char path[MAX_PATH];
} held_dir;

/* The folder of `path` (the `len` bytes before its last slash), opened unless it is the one held; -1 if it cannot be. */
static int dir_of(held_dir *h, const char *path, size_t len) {
  if (h->fd >= 0 && h->len == len && memcmp(h->path, path, len) == 0) return h->fd;
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
  if (len == 0 || len >= sizeof h->path) return -1;
  memcpy(h->path, path, len);
  h->path[len] = 0;
  h->len = len;
  int fd;
  do fd = open(h->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  h->fd = fd;
  return fd;
}

/* The length of the folder part of `path` (before its last slash), or 0 without one. */
static size_t dir_len(const char *path, const char *end) {
  for (const char *q = end; q > path; q--)
    if (q[-1] == '/') return (size_t)(q - 1 - path);
  return 0;
}

/* The next NUL-terminated string at *p before `end`, *p moved past it; NULL when there is none. */
static const char *next_string(const char **p, const char *end) {
  const char *s = *p;
  if (s >= end) return NULL;
  const char *z = memchr(s, 0, (size_t)(end - s));
  if (!z) return NULL;
  *p = z + 1;
  return s;
}

/* `a`/`b` into `out` (MAX_PATH bytes); its length, or 0 when too long. */
static size_t join(char *out, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la + 1 + lb >= MAX_PATH) return 0;
  memcpy(out, a, la);
  out[la] = '/';
  memcpy(out + la + 1, b, lb + 1);
  return la + 1 + lb;
}

static void execute(napi_env env, void *data) {
  (void)env;
  link_job *j = (link_job *)data;
  const char *p = j->paths;
  const char *end = j->paths + j->paths_len;
  const char *root = "";
  char from[MAX_PATH], to[MAX_PATH];
  held_dir src = {.fd = -1}, dst = {.fd = -1};
  for (size_t i = 0; i < j->n; i++) {
    const char *r = next_string(&p, end);
    const char *fromRel = r ? next_string(&p, end) : NULL;
    const char *rel = fromRel ? next_string(&p, end) : NULL;
    if (!rel) break;
    if (*r) root = r;
    if (!*root || !*rel) continue;
    size_t fl = join(from, root, *fromRel ? fromRel : rel);
    size_t tl = join(to, j->to, rel);
    if (!fl || !tl) continue;
    size_t fd_len = dir_len(from, from + fl), td_len = dir_len(to, to + tl);
    int sfd = fd_len ? dir_of(&src, from, fd_len) : -1;
    int dfd = td_len ? dir_of(&dst, to, td_len) : -1;
    /* By name in the held folders, or by full path where a folder could not be opened. */
    const char *fname = sfd >= 0 ? from + fd_len + 1 : from;
    const char *tname = dfd >= 0 ? to + td_len + 1 : to;
    if (sfd < 0) sfd = AT_FDCWD;
    if (dfd < 0) dfd = AT_FDCWD;
    struct stat st;
    if (fstatat(sfd, fname, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    double mtime = (double)st.st_mtim.tv_sec * 1000 + (double)st.st_mtim.tv_nsec / 1e6;
    if ((double)st.st_size != j->want[2 * i] || mtime != j->want[2 * i + 1]) continue;
    if ((st.st_mode & 0777) != (j->modes[i] & 0777)) continue;
    int rc;
    do rc = linkat(sfd, fname, dfd, tname, 0);
    while (rc != 0 && errno == EINTR);
    if (rc == 0) j->done[i] = 1;
  }
  if (src.fd >= 0) close(src.fd);
  if (dst.fd >= 0) close(dst.fd);
}

static void complete(napi_env env, napi_status status, void *data) {
  (void)status;
  link_job *j = (link_job *)data;
  napi_value cb, global;
  if (napi_get_reference_value(env, j->callback, &cb) == napi_ok && napi_get_global(env, &global) == napi_ok)
    napi_call_function(env, global, cb, 0, NULL, NULL);
  for (int k = 0; k < 4; k++) napi_delete_reference(env, j->refs[k]);
  napi_delete_reference(env, j->callback);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value linkMany(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value all[6];
  const char *usage = "linkMany(to: string, paths: Buffer, want: Float64Array, modes: Uint16Array, "
                      "done: Uint8Array, callback)";
  if (napi_get_cb_info(env, info, &argc, all, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char to[MAX_PATH];
  size_t to_len = 0;
  if (napi_get_value_string_utf8(env, all[0], to, sizeof to, &to_len) != napi_ok || to_len == 0 ||
      to_len >= sizeof to - 1 || strlen(to) != to_len) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  napi_value *argv = all + 1;
  void *paths = NULL;
  size_t paths_len = 0;
  napi_typedarray_type t1, t2, t3;
  size_t n1 = 0, n2 = 0, n3 = 0;
  void *want = NULL, *modes = NULL, *done = NULL;
  napi_valuetype cbt;
  if (napi_get_buffer_info(env, argv[0], &paths, &paths_len) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &t1, &n1, &want, NULL, NULL) != napi_ok || t1 != napi_float64_array ||
      napi_get_typedarray_info(env, argv[2], &t2, &n2, &modes, NULL, NULL) != napi_ok || t2 != napi_uint16_array ||
      napi_get_typedarray_info(env, argv[3], &t3, &n3, &done, NULL, NULL) != napi_ok || t3 != napi_uint8_array ||
      napi_typeof(env, argv[4], &cbt) != napi_ok || cbt != napi_function || n1 != 2 * n3 || n2 != n3) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  link_job *j = (link_job *)calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  memcpy(j->to, to, to_len + 1);
  j->paths = (const char *)paths;
  j->paths_len = paths_len;
  j->want = (const double *)want;
  j->modes = (const uint16_t *)modes;
  j->done = (uint8_t *)done;
  j->n = n3;
  napi_value name;
  napi_create_string_utf8(env, "slipway:linkMany", NAPI_AUTO_LENGTH, &name);
  // The arrays stay alive (and unmoved: their backing stores) until complete() lets them go.
  for (int k = 0; k < 4; k++) napi_create_reference(env, argv[k], 1, &j->refs[k]);
  napi_create_reference(env, argv[4], 1, &j->callback);
  if (napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    for (int k = 0; k < 4; k++) napi_delete_reference(env, j->refs[k]);
    napi_delete_reference(env, j->callback);
    free(j);
    napi_throw_error(env, NULL, "cannot queue the links");
    return NULL;
  }
  return NULL;
}

/** Adds linkMany to the addon's exports (whole-file.c's init calls it). */
void register_link_many(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "linkMany", NAPI_AUTO_LENGTH, linkMany, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "linkMany", fn);
}
