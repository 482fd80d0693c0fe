/*
 * copyDirect: a large file copied with direct I/O on a thread of libuv's pool (aligned-writes.ts
 * copyFileAligned: the base of an edit in place, copied ahead while the deployer chunks). Compiled
 * into the agent's addon with whole-file.c (scripts/build-native-writes.mjs), which registers it.
 *
 * The same copy from JavaScript, 1 MiB blocks read and written by libuv's pool, waits for the
 * agent's main thread between each block's read and its write, and that thread is busy with the
 * transfer (base reads, checksums, decoding): the 200 MB base went in 300-400 ms there, beside the
 * staging that waited for it, against ~130 ms for `dd iflag=direct oflag=direct bs=1M` on the
 * same disk. Here the loop is one thread's: it waits for the disk alone.
 *
 * copyDirect(src, dest, mode, readDirect, at, from) -> a promise of the bytes copied, or a
 * negative errno. `dest` is created (O_EXCL, `mode` under the umask) and written with O_DIRECT in
 * 1 MiB blocks, the last one padded and the file cut back to its length: its bytes from `at` on
 * are `src`'s from `from` on, its first `at` bytes `src`'s first (a base copied moved,
 * shifted-copy.ts; 0 and 0: a plain copy). `src` is read with O_DIRECT where `readDirect` (a file
 * written direct: most likely in no cache) and a read is aligned, unless the block's pages are all
 * in the page cache after all (cached_block: a base something read since it was written, as the
 * app running it does, or a check of the release). -EINVAL: the
 * filesystem or the kernel refused direct I/O (nothing left behind; the caller copies its own
 * way). On any failure `dest` is removed.
 */
#define NAPI_VERSION 4
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef O_DIRECT
/* File offsets, lengths and buffer addresses of direct I/O are multiples of this. */
#define ALIGN 4096
/* Bytes per block read and written. */
#define BLOCK (1024 * 1024)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char src[PATH_MAX];
  char dest[PATH_MAX];
  int mode;
  int read_direct;
  off_t at;
  off_t from;
  double result;
} copy_job;

/*
 * Whether every page of `len` bytes at `pos` of the file open as `fd` is in the page cache: 1 yes,
 * 0 no or unknown. A 200 MB base written direct and read since (cached) was copied in 150-260 ms
 * here when read direct, in ~100 ms read through the cache: a read from memory, beside the disk's
 * direct writes instead of sharing its bandwidth with them. Asked with cachestat(2) (Linux 6.5),
 * else with mincore(2) over a mapping of the file (`map`, made on the first ask; MAP_FAILED: none).
 * Never reads: a pread with RWF_NOWAIT would answer too, but starts readahead into the cache where
 * pages are missing, a second read of what is then read direct.
 */
#if defined(__linux__) && !defined(__NR_cachestat) && (defined(__x86_64__) || defined(__aarch64__))
#define __NR_cachestat 451
#endif
typedef struct {
  int fd;
  off_t size;
  int no_cachestat;
  void *map;
  unsigned char *vec;
} cache_probe;

static int cached_block(cache_probe *c, off_t pos, size_t len) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || len == 0 || pos + (off_t)len > c->size) return 0;
  off_t first = pos / page, last = (pos + (off_t)len + page - 1) / page;
#ifdef __NR_cachestat
  if (!c->no_cachestat) {
    struct { uint64_t off, len; } range = {(uint64_t)pos, (uint64_t)len};
    struct { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; } cs;
    if (syscall(__NR_cachestat, c->fd, &range, &cs, 0) == 0) return cs.nr_cache >= (uint64_t)(last - first);
    c->no_cachestat = 1;
  }
#endif
  if (c->map == NULL) {
    c->map = mmap(NULL, (size_t)c->size, PROT_READ, MAP_SHARED, c->fd, 0);
    if (c->map != MAP_FAILED) c->vec = malloc((size_t)(BLOCK / page + 2));
  }
  if (c->map == MAP_FAILED || c->vec == NULL || (size_t)(last - first) > (size_t)(BLOCK / page + 2)) return 0;
  if (mincore((char *)c->map + first * page, (size_t)(last - first) * page, c->vec) != 0) return 0;
  for (off_t k = 0; k < last - first; k++)
    if (!(c->vec[k] & 1)) return 0;
  return 1;
}

/* Reads up to `len` bytes at `pos` (fewer only at the end of the file); the count, or -errno. */
static ssize_t read_full(int fd, char *buf, size_t len, off_t pos) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, pos + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += (size_t)n;
    /* A direct read stops short only at the end of the file. */
    if (done % ALIGN) break;
  }
  return (ssize_t)done;
}

/* Writes `len` bytes at `pos`; 0, or -errno (-EIO for a write that made no progress). */
static int write_full(int fd, const char *buf, size_t len, off_t pos) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, buf + done, len - done, pos + (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return -EIO;
    done += (size_t)n;
  }
  return 0;
}

/*
 * Reads `len` bytes of the source at `pos` into `buf` (aligned): direct where `direct` >= 0 and
 * the read is aligned in the file and in the buffer (its length rounded up: it stops at the end of
 * the file, within the block), else through the cache; the count, or -errno.
 */
static ssize_t read_piece(int cached, int direct, cache_probe *probe, char *buf, size_t len, off_t pos) {
  if (direct >= 0 && pos % ALIGN == 0 && (uintptr_t)buf % ALIGN == 0 && !cached_block(probe, pos, len)) {
    size_t whole = (len + ALIGN - 1) / ALIGN * ALIGN;
    ssize_t got = read_full(direct, buf, whole, pos);
    return got < 0 ? got : (ssize_t)((size_t)got < len ? (size_t)got : len);
  }
  return read_full(cached, buf, len, pos);
}

static double copy_direct(const copy_job *j) {
  int in, direct = -1;
  do in = open(j->src, O_RDONLY | O_CLOEXEC);
  while (in < 0 && errno == EINTR);
  if (in < 0) return -errno;
  if (j->read_direct) {
    do direct = open(j->src, O_RDONLY | O_CLOEXEC | O_DIRECT);
    while (direct < 0 && errno == EINTR);
  }
  struct stat st;
  if (fstat(in, &st) != 0 || j->at > st.st_size || j->from > st.st_size) {
    int e = errno ? errno : EINVAL;
    close(in);
    if (direct >= 0) close(direct);
    return -e;
  }
  /* The copy's bytes from `at` on are the source's from `from` on; before `at`, its first `at`. */
  off_t size = j->at + st.st_size - j->from;
  int out;
  do out = open(j->dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, j->mode);
  while (out < 0 && errno == EINTR);
  if (out < 0) {
    int e = errno;
    close(in);
    if (direct >= 0) close(direct);
    return -e;
  }
  double result = 0;
  void *mem = NULL;
  cache_probe probe = {in, st.st_size, 0, NULL, NULL};
  /* Direct writes set afterwards: an open with O_DIRECT that a filesystem refuses may have created the file. */
  int flags = fcntl(out, F_GETFL);
  if (flags < 0 || fcntl(out, F_SETFL, flags | O_DIRECT) != 0)
    result = -EINVAL;
  else if (posix_memalign(&mem, ALIGN, BLOCK) != 0)
    result = -ENOMEM;
  for (off_t start = 0; result == 0 && start < size; start += BLOCK) {
    size_t len = size - start < BLOCK ? (size_t)(size - start) : BLOCK;
    /* The block in at most two pieces: before `at` (the source's same bytes), and from it. */
    for (size_t done = 0; done < len && result == 0;) {
      off_t p = start + (off_t)done;
      size_t n = p < j->at && j->at - p < (off_t)(len - done) ? (size_t)(j->at - p) : len - done;
      off_t pos = p < j->at ? p : p - j->at + j->from;
      ssize_t got = read_piece(in, direct, &probe, (char *)mem + done, n, pos);
      if (got < 0) result = (double)got;
      else if ((size_t)got != n) result = -EIO; /* the source changed: shorter than it was */
      done += n;
    }
    if (result != 0) break;
    size_t whole = (len + ALIGN - 1) / ALIGN * ALIGN;
    memset((char *)mem + len, 0, whole - len);
    int w = write_full(out, mem, whole, start);
    if (w < 0) result = w;
  }
  if (result == 0 && ftruncate(out, size) != 0) result = -errno;
  if (result == 0) result = (double)size;
  free(mem);
  if (probe.map != NULL && probe.map != MAP_FAILED) munmap(probe.map, (size_t)st.st_size);
  free(probe.vec);
  close(in);
  if (direct >= 0) close(direct);
  if (close(out) != 0 && result >= 0) result = -errno;
  if (result < 0) unlink(j->dest);
  return result;
}

static void copy_execute(napi_env env, void *data) {
  (void)env;
  copy_job *j = data;
  j->result = copy_direct(j);
}

static void copy_complete(napi_env env, napi_status status, void *data) {
  copy_job *j = data;
  napi_value result;
  napi_create_double(env, status == napi_ok ? j->result : -ECANCELED, &result);
  napi_resolve_deferred(env, j->deferred, result);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value copyDirect(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  size_t l1 = 0, l2 = 0;
  int32_t mode = 0;
  bool direct = false;
  int64_t at = 0, from = 0;
  copy_job *j = calloc(1, sizeof *j);
  if (!j) {
    napi_throw_error(env, NULL, "copyDirect: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      napi_get_value_string_utf8(env, argv[0], j->src, sizeof j->src, &l1) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], j->dest, sizeof j->dest, &l2) != napi_ok ||
      napi_get_value_int32(env, argv[2], &mode) != napi_ok || napi_get_value_bool(env, argv[3], &direct) != napi_ok ||
      napi_get_value_int64(env, argv[4], &at) != napi_ok || napi_get_value_int64(env, argv[5], &from) != napi_ok ||
      at < 0 || from < 0 ||
      l1 == 0 || l2 == 0 || l1 >= sizeof j->src - 1 || l2 >= sizeof j->dest - 1 || strlen(j->src) != l1 ||
      strlen(j->dest) != l2) {
    free(j);
    napi_throw_type_error(env, NULL, "copyDirect(src: string, dest: string, mode: number, readDirect: boolean, at: number, from: number)");
    return NULL;
  }
  j->mode = mode & 07777;
  j->read_direct = direct ? 1 : 0;
  j->at = (off_t)at;
  j->from = (off_t)from;
  napi_value promise;
  napi_value name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "slipway:copyDirect", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, copy_execute, copy_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    free(j);
    napi_throw_error(env, NULL, "copyDirect: cannot queue the copy");
    return NULL;
  }
  return promise;
}
#endif

/** Adds copyDirect to the addon's exports where there is O_DIRECT (whole-file.c's init calls it). */
void register_copy_direct(napi_env env, napi_value exports) {
#ifdef O_DIRECT
  napi_value fn;
  if (napi_create_function(env, "copyDirect", NAPI_AUTO_LENGTH, copyDirect, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "copyDirect", fn);
#else
  (void)env;
  (void)exports;
#endif
}
