/*
 * whole-file.node: one call that creates a small file of a streamed stage whole (stream-files.ts
 * #placeWhole): open (O_CREAT | O_EXCL | O_NOFOLLOW), write, fstat, fchmod where the mode is not
 * yet the one wanted, close. Node's sync fs calls cost about 1 us of JavaScript and binding each
 * (an error context, argument checks, a stats array) on top of the system call: four of them per
 * file, 20,000 files a first deploy. Compiled at build time by scripts/build-native-writes.mjs
 * against Node's own headers (Node-API); where it cannot be built or loaded the agent makes the
 * same calls from JavaScript (whole-file.ts).
 *
 * The addon also carries linkMany (link-many.c: an edit's unchanged files linked on libuv's pool),
 * copyDirect (copy-direct.c: a large base copied with direct I/O on the pool) and, with glibc, trimMalloc (malloc_trim(0) on the pool: an idle agent's memory given back).
 *
 * writeWhole(path, data, at, mode) -> mtime in ms (as fs.Stats mtimeMs computes it), or a
 * negative errno (the file, if it was created, is closed; it stays, as the JavaScript path leaves
 * a file whose write failed).
 *
 * syncFs(path) -> a promise of 0, or a negative errno: syncfs(2) of the filesystem holding path,
 * on a thread of libuv's pool (Linux only; absent elsewhere). The agent flushed through coreutils'
 * `sync -f` before: a fork of the agent and an exec per flush, 4-40 ms of its main thread each
 * (CPU profiles of the web build's first deploy), the thread a first deploy waits on.
 */
#define NAPI_VERSION 4
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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

#ifdef __linux__
/** One syncFs call: its path, its promise, and the errno its flush ended with. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char path[PATH_MAX];
  int error;
} sync_job;

static void sync_execute(napi_env env, void *data) {
  (void)env;
  sync_job *job = data;
  int fd;
  do fd = open(job->path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    job->error = errno;
    return;
  }
  job->error = syncfs(fd) == 0 ? 0 : errno;
  close(fd);
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  sync_job *job = data;
  napi_value result;
  napi_create_int32(env, status == napi_ok ? -job->error : -ECANCELED, &result);
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value syncFs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  size_t len = 0;
  sync_job *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "syncFs: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], job->path, sizeof job->path, &len) != napi_ok ||
      len >= sizeof job->path - 1 || strlen(job->path) != len) {
    free(job);
    napi_throw_type_error(env, NULL, "syncFs(path: string)");
    return NULL;
  }
  napi_value promise;
  napi_value name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "slipway:syncFs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, sync_execute, sync_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job);
    napi_throw_error(env, NULL, "syncFs: cannot queue the flush");
    return NULL;
  }
  return promise;
}
#endif
#ifdef __GLIBC__
/*
 * trimMalloc() -> a promise of 1 when memory was given back, else 0: glibc's malloc_trim(0) on a
 * thread of libuv's pool. The free memory of malloc's arenas (a deploy's buffers: chunks, Brotli
 * and zlib states, on the main thread and the pool's) stays resident until a free chunk at an
 * arena's top can be given back; malloc_trim returns every free page of every arena
 * (madvise). An idle agent's (idle-memory.ts).
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int trimmed;
} trim_job;

static void trim_execute(napi_env env, void *data) {
  (void)env;
  trim_job *job = data;
  job->trimmed = malloc_trim(0);
}

static void trim_complete(napi_env env, napi_status status, void *data) {
  trim_job *job = data;
  napi_value result;
  napi_create_int32(env, status == napi_ok && job->trimmed ? 1 : 0, &result);
  napi_resolve_deferred(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value trimMalloc(napi_env env, napi_callback_info info) {
  (void)info;
  trim_job *job = calloc(1, sizeof *job);
  napi_value promise;
  napi_value name;
  if (!job) {
    napi_throw_error(env, NULL, "trimMalloc: out of memory");
    return NULL;
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "slipway:trimMalloc", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, trim_execute, trim_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job);
    napi_throw_error(env, NULL, "trimMalloc: cannot queue it");
    return NULL;
  }
  return promise;
}
#endif
/* link-many.c and copy-direct.c, compiled into the same addon. */
void register_link_many(napi_env env, napi_value exports);
void register_copy_direct(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "writeWhole", NAPI_AUTO_LENGTH, writeWhole, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "writeWhole", fn);
#ifdef __linux__
  if (napi_create_function(env, "syncFs", NAPI_AUTO_LENGTH, syncFs, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "syncFs", fn);
#endif
#ifdef __GLIBC__
  if (napi_create_function(env, "trimMalloc", NAPI_AUTO_LENGTH, trimMalloc, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "trimMalloc", fn);
#endif
  register_link_many(env, exports);
  register_copy_direct(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
