// sendfile(2) for httpd's plain-HTTP connections (see ../README.md, "sendfile(2)").
//
// send(sock, fileFd, offset, length[, head]) writes `head` (the response head: a latin1 string or a Buffer) with
// MSG_MORE, then up to `length` bytes of `fileFd` from `offset` with sendfile(2), into the
// connected, non-blocking socket `sock` (libuv's TCP handle's descriptor). It never waits: it
// stops when the socket buffer is full (EAGAIN) and returns how many bytes the kernel took, head
// bytes included. A negative result is -errno of a failure (EPIPE, ECONNRESET: the client is
// gone; EINVAL, ENOSYS: sendfile cannot be used here); ESPIPE means the file ended before
// `length` bytes (a short file; with a head, checked before anything is sent). Bytes already taken are never reported as a failure: the
// failure is reported by the next call, which then takes nothing.
//
// A range that starts inside a page of the file has the bytes up to the next page boundary read (pread)
// and sent (MSG_MORE) by the addon itself, and sendfile(2) starts at that boundary. On this VM's loopback
// a 100 KB body sent by sendfile from 1,000 bytes past a boundary took 83 µs of server CPU against 52 µs
// as one write from memory, and 44-49 µs from a boundary (../README.md, "sendfile(2)").
//
// probe() sendfiles one byte of /proc/self/exe into a socketpair: 1 when the kernel allows it.
//
// readNoWait(fd, buffer, position) reads up to buffer.length bytes of `fd` at `position` with
// preadv2(RWF_NOWAIT): only what is in the page cache, never waiting for the disk. It returns the
// bytes read (fewer than asked when a page past the first is not cached), or -errno: -EAGAIN when
// the first page is not cached, -EOPNOTSUPP/-ENOSYS/-EINVAL where the kernel or filesystem cannot
// say. httpd uses it to ask whether an index page is in memory (src/io/page-cache.ts).
//
// willNeed(fd, offset, length) is posix_fadvise(POSIX_FADV_WILLNEED): the kernel starts reading the
// range into the page cache in the background (large sequential reads) and returns at once. 0, or
// -errno.
//
// cached(fd, offset, length) is cachestat(2) (Linux 6.5+): 1 when every page of the range is in the page
// cache, 0 when one is not, -errno where the kernel cannot say (-ENOSYS before 6.5). httpd's async mode
// asks it before a sendfile(2), which would otherwise read a missing page on the event loop.
//
// pageOffset(buffer) is the Buffer's address modulo 4096: src/io/executors.ts places its reads so that the
// kernel's copy out of the page cache does not run at (nearly) the same offset in the page as its source.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

// One sendfile(2) call moves at most this many bytes (Linux caps a call at 0x7ffff000 anyway).
#define MAX_PER_CALL (1 << 30)
// A head passed as a string is copied onto the stack: response heads are well under this.
#define HEAD_TEXT_MAX (16 * 1024)
// sendfile(2) from a page-aligned file offset: see js_send.
#define PAGE_ALIGN 4096

static napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int64_t int_arg(napi_env env, napi_value v, int *ok) {
  int64_t out = 0;
  if (napi_get_value_int64(env, v, &out) != napi_ok) *ok = 0;
  return out;
}

// The call's arguments into argv (up to `max`; *argc: how many came); false, with `usage` thrown, when fewer than `min`.
static bool get_args(napi_env env, napi_callback_info info, size_t min, size_t max, size_t *argc, napi_value *argv, const char *usage) {
  *argc = max;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) == napi_ok && *argc >= min) return true;
  napi_throw_type_error(env, NULL, usage);
  return false;
}

// Sends `len` bytes of `buf`, held back (MSG_MORE) for what follows, until the socket is full; *done: how many
// it took. 0 when all were taken, EAGAIN when the socket filled first, else the errno of a failure.
static int send_more(int sock, const char *buf, size_t len, size_t *done) {
  *done = 0;
  while (*done < len) {
    ssize_t n = send(sock, buf + *done, len - *done, MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      *done += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return EAGAIN;
    return n < 0 ? errno : EPIPE;
  }
  return 0;
}

// (fd, offset, length) into the out-parameters; false, with `message` thrown, unless all are integers, fd and
// offset non-negative and length at least `min_length`.
static bool fd_range_args(napi_env env, napi_callback_info info, const char *usage, const char *message, int64_t min_length, int *fd, int64_t *offset, int64_t *length) {
  size_t argc;
  napi_value argv[3];
  if (!get_args(env, info, 3, 3, &argc, argv, usage)) return false;
  int ok = 1;
  *fd = (int)int_arg(env, argv[0], &ok);
  *offset = int_arg(env, argv[1], &ok);
  *length = int_arg(env, argv[2], &ok);
  if (ok && *fd >= 0 && *offset >= 0 && *length >= min_length) return true;
  napi_throw_type_error(env, NULL, message);
  return false;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[5];
  if (!get_args(env, info, 4, 5, &argc, argv, "send(sock, fileFd, offset, length[, head])")) return NULL;
  int ok = 1;
  int sock = (int)int_arg(env, argv[0], &ok);
  int file = (int)int_arg(env, argv[1], &ok);
  int64_t offset = int_arg(env, argv[2], &ok);
  int64_t length = int_arg(env, argv[3], &ok);
  if (!ok || sock < 0 || file < 0 || offset < 0 || length < 0) {
    napi_throw_type_error(env, NULL, "send: descriptors, offset and length must be non-negative integers");
    return NULL;
  }
  char *head = NULL;
  size_t head_len = 0;
  // A head given as a string (latin1, as HTTP/1.1 heads are written) is copied here, without a Buffer.
  char text[HEAD_TEXT_MAX];
  if (argc >= 5) {
    napi_valuetype t;
    napi_typeof(env, argv[4], &t);
    bool is_buffer = false;
    if (t == napi_string) {
      if (napi_get_value_string_latin1(env, argv[4], text, sizeof text, &head_len) != napi_ok || head_len >= sizeof text - 1) {
        napi_throw_range_error(env, NULL, "send: a head given as a string must be shorter than 16 KiB (pass a Buffer)");
        return NULL;
      }
      head = text;
    } else if (t != napi_undefined && t != napi_null) {
      napi_is_buffer(env, argv[4], &is_buffer);
      if (!is_buffer || napi_get_buffer_info(env, argv[4], (void **)&head, &head_len) != napi_ok) {
        napi_throw_type_error(env, NULL, "send: head must be a string or a Buffer");
        return NULL;
      }
    }
  }

  double taken = 0;
  // With a head (the first call for a response): a file shorter than the range (truncated in place under
  // the server) is ESPIPE before anything is sent, so that the caller can still answer 500 instead of a head
  // followed by a cut body.
  if (head_len > 0) {
    struct stat st;
    if (fstat(file, &st) == 0 && S_ISREG(st.st_mode) && offset + length > (int64_t)st.st_size) return number(env, -(double)ESPIPE);
  }
  // The head first, held back (MSG_MORE) so that it leaves with the first body bytes.
  size_t done = 0;
  int err = send_more(sock, head, head_len, &done);
  if (err != 0) return number(env, err == EAGAIN || done > 0 ? (double)done : -(double)err);
  taken = (double)head_len;

  off_t pos = (off_t)offset;
  int64_t left = length;
  // A range that starts inside a page: the bytes up to the page boundary are copied (pread + send,
  // MSG_MORE), so that sendfile(2) starts at a page boundary.
  if ((pos & (PAGE_ALIGN - 1)) != 0 && left > PAGE_ALIGN) {
    char prefix[PAGE_ALIGN];
    size_t want = PAGE_ALIGN - (size_t)(pos & (PAGE_ALIGN - 1));
    ssize_t got = pread(file, prefix, want, pos);
    if (got > 0) {
      err = send_more(sock, prefix, (size_t)got, &done);
      if (err != 0) return number(env, err == EAGAIN || taken + (double)done > 0 ? taken + (double)done : -(double)err);
      taken += (double)done;
      pos += (off_t)done;
      left -= (int64_t)done;
    }
  }
  while (left > 0) {
    size_t want = left > MAX_PER_CALL ? MAX_PER_CALL : (size_t)left;
    ssize_t n = sendfile(sock, file, &pos, want);
    if (n > 0) {
      left -= n;
      taken += (double)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // 0: the file ended early. Report it as ESPIPE, unless bytes were taken in this call.
    err = n == 0 ? ESPIPE : errno;
    if (taken > 0) break;
    return number(env, -(double)err);
  }
  return number(env, taken);
}

static napi_value js_probe(napi_env env, napi_callback_info info) {
  (void)info;
  int result = 0;
  int sv[2];
  int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (file >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
    off_t pos = 0;
    char byte;
    result = sendfile(sv[0], file, &pos, 1) == 1 && read(sv[1], &byte, 1) == 1;
    close(sv[0]);
    close(sv[1]);
  }
  if (file >= 0) close(file);
  return number(env, result);
}

static napi_value js_read_no_wait(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[3];
  if (!get_args(env, info, 3, 3, &argc, argv, "readNoWait(fd, buffer, position)")) return NULL;
  int ok = 1;
  int fd = (int)int_arg(env, argv[0], &ok);
  int64_t position = int_arg(env, argv[2], &ok);
  bool is_buffer = false;
  napi_is_buffer(env, argv[1], &is_buffer);
  void *data = NULL;
  size_t length = 0;
  if (!ok || fd < 0 || position < 0 || !is_buffer || napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "readNoWait: a non-negative descriptor, a Buffer and a non-negative position");
    return NULL;
  }
#ifdef RWF_NOWAIT
  struct iovec iov = {data, length};
  ssize_t n;
  do n = preadv2(fd, &iov, 1, (off_t)position, RWF_NOWAIT);
  while (n < 0 && errno == EINTR);
  return number(env, n < 0 ? -(double)errno : (double)n);
#else
  (void)data;
  (void)length;
  return number(env, -(double)EOPNOTSUPP);
#endif
}

static napi_value js_will_need(napi_env env, napi_callback_info info) {
  int fd;
  int64_t offset, length;
  if (!fd_range_args(env, info, "willNeed(fd, offset, length)", "willNeed: descriptor, offset and length must be non-negative integers", 0, &fd, &offset, &length)) return NULL;
  int err = posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_WILLNEED);
  return number(env, -(double)err);
}

// cachestat(2) (Linux 6.5): how many pages of a range are in the page cache, without reading them.
#ifndef __NR_cachestat
#if defined(__linux__)
#define __NR_cachestat 451
#endif
#endif
struct wr_cachestat_range {
  uint64_t off;
  uint64_t len;
};
struct wr_cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

static napi_value js_cached(napi_env env, napi_callback_info info) {
  int fd;
  int64_t offset, length;
  if (!fd_range_args(env, info, "cached(fd, offset, length)", "cached: a non-negative descriptor and offset, and a positive length", 1, &fd, &offset, &length)) return NULL;
#ifdef __NR_cachestat
  struct wr_cachestat_range range = {(uint64_t)offset, (uint64_t)length};
  struct wr_cachestat cs = {0};
  if (syscall(__NR_cachestat, fd, &range, &cs, 0) != 0) return number(env, -(double)errno);
  long page = sysconf(_SC_PAGESIZE);
  uint64_t pages = (uint64_t)((offset + length - 1) / page - offset / page + 1);
  return number(env, cs.nr_cache >= pages ? 1 : 0);
#else
  return number(env, -(double)ENOSYS);
#endif
}

// pageOffset(buffer): where the Buffer's first byte lies in its memory page (its address modulo 4096).
static napi_value js_page_offset(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[1];
  if (!get_args(env, info, 1, 1, &argc, argv, "pageOffset(buffer)")) return NULL;
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  void *data = NULL;
  size_t length = 0;
  if (!is_buffer || napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "pageOffset: a Buffer");
    return NULL;
  }
  return number(env, (double)((uintptr_t)data & 4095));
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, js_send, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  napi_create_function(env, "probe", NAPI_AUTO_LENGTH, js_probe, NULL, &fn);
  napi_set_named_property(env, exports, "probe", fn);
  napi_create_function(env, "readNoWait", NAPI_AUTO_LENGTH, js_read_no_wait, NULL, &fn);
  napi_set_named_property(env, exports, "readNoWait", fn);
  napi_create_function(env, "willNeed", NAPI_AUTO_LENGTH, js_will_need, NULL, &fn);
  napi_set_named_property(env, exports, "willNeed", fn);
  napi_create_function(env, "cached", NAPI_AUTO_LENGTH, js_cached, NULL, &fn);
  napi_set_named_property(env, exports, "cached", fn);
  napi_create_function(env, "pageOffset", NAPI_AUTO_LENGTH, js_page_offset, NULL, &fn);
  napi_set_named_property(env, exports, "pageOffset", fn);
  return exports;
}
