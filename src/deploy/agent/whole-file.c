/*
 * whole-file.node: one call that creates a small file of a streamed stage whole (stream-files.ts
 * #placeWhole): open (O_CREAT | O_EXCL | O_NOFOLLOW), write, fstat, fchmod where the mode is not
 * yet the one wanted, close. Node's sync fs calls cost about 1 us of JavaScript and binding each
 * (an error context, argument checks, a stats array) on top of the system call: four of them per
 * file, 20,000 files a first deploy. Compiled at build time by scripts/build-native-writes.mjs
 * against Node's own headers (Node-API); where it cannot be built or loaded the agent makes the
 * same calls from JavaScript (whole-file.ts).
 *
 * writeWhole(path, data, at, mode) -> mtime in ms (as fs.Stats mtimeMs computes it), or a
 * negative errno (the file, if it was created, is closed; it stays, as the JavaScript path leaves
 * a file whose write failed).
 */
#define NAPI_VERSION 4
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string.h>

#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME whole_file
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

static double write_whole(const char *path, const char *data, size_t size, int64_t at, unsigned mode) {
  int fd;
  do fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode & 0777) | 0600);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -(double)errno;
  int e = 0;
  size_t n = 0;
  while (n < size) {
    ssize_t w = pwrite(fd, data + n, size - n, (off_t)(at + (int64_t)n));
    if (w < 0) {
      if (errno == EINTR) continue;
      e = errno;
      break;
    }
    if (w == 0) {
      e = EIO;
      break;
    }
    n += (size_t)w;
  }
  struct stat st;
  if (!e && fstat(fd, &st) != 0) e = errno;
  if (!e && (st.st_mode & 0777) != (mode & 0777) && fchmod(fd, mode & 0777) != 0) e = errno;
  if (close(fd) != 0 && !e && errno != EINTR) e = errno;
  if (e) return -(double)e;
  return (double)st.st_mtim.tv_sec * 1000 + (double)st.st_mtim.tv_nsec / 1e6;
}

static napi_value writeWhole(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "writeWhole(path, data, at, mode)");
    return NULL;
  }
  char path[4097];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "path: a string");
    return NULL;
  }
  if (len >= sizeof path - 1 || strlen(path) != len) {
    napi_create_double(env, -(double)(strlen(path) != len ? EINVAL : ENAMETOOLONG), &result);
    return result;
  }
  void *data = NULL;
  size_t size = 0;
  int64_t at = 0;
  uint32_t mode = 0;
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok ||
      napi_get_value_int64(env, argv[2], &at) != napi_ok || at < 0 ||
      napi_get_value_uint32(env, argv[3], &mode) != napi_ok) {
    napi_throw_type_error(env, NULL, "writeWhole(path: string, data: Buffer, at: number >= 0, mode: number)");
    return NULL;
  }
  napi_create_double(env, write_whole(path, (const char *)data, size, at, mode), &result);
  return result;
}


/*
 * writeWholeBatch(paths, datas, ats, modes) -> Promise<Float64Array>: the same for each file, one
 * after the other on a thread of libuv's pool, each file's mtime or negative errno in order. The
 * Buffers stay referenced (their bytes do not move) until the promise settles.
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref datas;
  size_t n;
  char **paths;
  const char **bytes;
  size_t *sizes;
  int64_t *ats;
  uint32_t *modes;
  double *results;
} batch_t;

static void batch_free(napi_env env, batch_t *b) {
  if (b->datas) napi_delete_reference(env, b->datas);
  if (b->paths)
    for (size_t i = 0; i < b->n; i++) free(b->paths[i]);
  free(b->paths);
  free(b->bytes);
  free(b->sizes);
  free(b->ats);
  free(b->modes);
  free(b->results);
  free(b);
}

static void batch_execute(napi_env env, void *data) {
  (void)env;
  batch_t *b = data;
  for (size_t i = 0; i < b->n; i++)
    b->results[i] = b->paths[i] ? write_whole(b->paths[i], b->bytes[i], b->sizes[i], b->ats[i], b->modes[i])
                                : -(double)EINVAL;
}

static void batch_complete(napi_env env, napi_status status, void *data) {
  batch_t *b = data;
  napi_value ab, arr, msg, error;
  void *out = NULL;
  if (status == napi_ok && napi_create_arraybuffer(env, b->n * sizeof(double), &out, &ab) == napi_ok &&
      napi_create_typedarray(env, napi_float64_array, b->n, ab, 0, &arr) == napi_ok) {
    memcpy(out, b->results, b->n * sizeof(double));
    napi_resolve_deferred(env, b->deferred, arr);
  } else {
    napi_create_string_utf8(env, "writeWholeBatch: not run", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_reject_deferred(env, b->deferred, error);
  }
  napi_delete_async_work(env, b->work);
  batch_free(env, b);
}

static napi_value writeWholeBatch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], promise, name, v;
  uint32_t n = 0, m = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || napi_get_array_length(env, argv[1], &m) != napi_ok ||
      m != n || napi_get_array_length(env, argv[2], &m) != napi_ok || m != n ||
      napi_get_array_length(env, argv[3], &m) != napi_ok || m != n) {
    napi_throw_type_error(env, NULL, "writeWholeBatch(paths, datas, ats, modes): arrays of one length");
    return NULL;
  }
  batch_t *b = calloc(1, sizeof *b);
  if (!b) goto nomem;
  b->n = n;
  b->paths = calloc(n ? n : 1, sizeof *b->paths);
  b->bytes = calloc(n ? n : 1, sizeof *b->bytes);
  b->sizes = calloc(n ? n : 1, sizeof *b->sizes);
  b->ats = calloc(n ? n : 1, sizeof *b->ats);
  b->modes = calloc(n ? n : 1, sizeof *b->modes);
  b->results = calloc(n ? n : 1, sizeof *b->results);
  if (!b->paths || !b->bytes || !b->sizes || !b->ats || !b->modes || !b->results) goto nomem;
  for (uint32_t i = 0; i < n; i++) {
    size_t len = 0;
    void *bytes = NULL;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok ||
        napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
      goto badarg;
    if (len < 4096) {
      b->paths[i] = malloc(len + 1);
      if (!b->paths[i]) goto nomem;
      napi_get_value_string_utf8(env, v, b->paths[i], len + 1, &len);
      if (strlen(b->paths[i]) != len) {
        free(b->paths[i]);
        b->paths[i] = NULL; /* an embedded NUL: EINVAL */
      }
    }
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || napi_get_buffer_info(env, v, &bytes, &b->sizes[i]) != napi_ok ||
        napi_get_element(env, argv[2], i, &v) != napi_ok || napi_get_value_int64(env, v, &b->ats[i]) != napi_ok ||
        b->ats[i] < 0 || napi_get_element(env, argv[3], i, &v) != napi_ok ||
        napi_get_value_uint32(env, v, &b->modes[i]) != napi_ok)
      goto badarg;
    b->bytes[i] = bytes;
  }
  if (napi_create_reference(env, argv[1], 1, &b->datas) != napi_ok ||
      napi_create_promise(env, &b->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "slipway:writeWholeBatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, batch_execute, batch_complete, b, &b->work) != napi_ok)
    goto nomem;
  if (napi_queue_async_work(env, b->work) != napi_ok) {
    napi_delete_async_work(env, b->work);
    goto nomem;
  }
  return promise;
badarg:
  batch_free(env, b);
  napi_throw_type_error(env, NULL, "writeWholeBatch(paths: string[], datas: Buffer[], ats: number[], modes: number[])");
  return NULL;
nomem:
  if (b) batch_free(env, b);
  napi_throw_error(env, NULL, "writeWholeBatch: out of memory");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "writeWhole", NAPI_AUTO_LENGTH, writeWhole, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "writeWhole", fn);
  if (napi_create_function(env, "writeWholeBatch", NAPI_AUTO_LENGTH, writeWholeBatch, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "writeWholeBatch", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
