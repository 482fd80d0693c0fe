/*
 * linkMany: an edit's unchanged files hard-linked from a kept release on a thread of libuv's pool
 * (link-ahead.ts), while the main thread takes the fetch's chunks. Compiled into the agent's
 * addon with whole-file.c (scripts/build-native-writes.mjs), which registers it.
 *
 * linkMany(paths, want, modes, done, callback): `paths` a Buffer of n pairs "from\0to\0"; for the
 * i-th, `from` is linked to `to` only when lstat finds a regular file whose size and mtime (in ms
 * as fs.Stats mtimeMs computes it) are want[2i] and want[2i+1] and whose permission bits are
 * modes[i]; done[i] is set to 1 when it was linked, else left 0. `callback()` once every pair
 * has been tried. Nothing is ever opened or written: a pair that does not match is left to the
 * caller.
 */
#define NAPI_VERSION 4
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  napi_async_work work;
  napi_ref refs[4];
  napi_ref callback;
  const char *paths;
  size_t paths_len;
  const double *want;
  const uint16_t *modes;
  uint8_t *done;
  size_t n;
} link_job;

static void execute(napi_env env, void *data) {
  (void)env;
  link_job *j = (link_job *)data;
  const char *p = j->paths;
  const char *end = j->paths + j->paths_len;
  for (size_t i = 0; i < j->n; i++) {
    const char *from = p;
    const char *z = memchr(from, 0, (size_t)(end - from));
    if (!z) return;
    const char *to = z + 1;
    if (to >= end) return;
    const char *z2 = memchr(to, 0, (size_t)(end - to));
    if (!z2) return;
    p = z2 + 1;
    struct stat st;
    if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    double mtime = (double)st.st_mtim.tv_sec * 1000 + (double)st.st_mtim.tv_nsec / 1e6;
    if ((double)st.st_size != j->want[2 * i] || mtime != j->want[2 * i + 1]) continue;
    if ((st.st_mode & 0777) != (j->modes[i] & 0777)) continue;
    int r;
    do r = link(from, to);
    while (r != 0 && errno == EINTR);
    if (r == 0) j->done[i] = 1;
  }
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
  size_t argc = 5;
  napi_value argv[5];
  const char *usage =
      "linkMany(paths: Buffer, want: Float64Array, modes: Uint16Array, done: Uint8Array, callback)";
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
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
