/*
 * Image Studio's WASI preview 1 layer for wasm2c output, on Linux (musl, 32-bit x86 guests).
 *
 * A wasm32-wasi module translated with `wasm2c -n prog` imports these functions; this file
 * implements them over the POSIX calls of the machine it runs on and provides main().
 * Build: zig cc -target x86-linux-musl -static prog.c wasm-rt-impl.c wasi_runtime.c
 *
 * The guest's "/" is preopened as WASI fd 3, so absolute paths work as they do on the
 * machine, and stdin/stdout/stderr are fds 0-2. Every preview 1 function is defined: the ones
 * with no meaning here (sockets, fd renumbering, ...) return ENOSYS instead of trapping, so any
 * module links and runs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"
#include "wasm-rt-impl.h"

extern char **environ;

/* ---- WASI constants (witx: wasi_snapshot_preview1) ---------------------------------- */
enum {
  W_SUCCESS = 0, W_2BIG = 1, W_ACCES = 2, W_ADDRINUSE = 3, W_ADDRNOTAVAIL = 4, W_AFNOSUPPORT = 5,
  W_AGAIN = 6, W_ALREADY = 7, W_BADF = 8, W_BADMSG = 9, W_BUSY = 10, W_CANCELED = 11, W_CHILD = 12,
  W_CONNABORTED = 13, W_CONNREFUSED = 14, W_CONNRESET = 15, W_DEADLK = 16, W_DESTADDRREQ = 17,
  W_DOM = 18, W_DQUOT = 19, W_EXIST = 20, W_FAULT = 21, W_FBIG = 22, W_HOSTUNREACH = 23,
  W_IDRM = 24, W_ILSEQ = 25, W_INPROGRESS = 26, W_INTR = 27, W_INVAL = 28, W_IO = 29,
  W_ISCONN = 30, W_ISDIR = 31, W_LOOP = 32, W_MFILE = 33, W_MLINK = 34, W_MSGSIZE = 35,
  W_MULTIHOP = 36, W_NAMETOOLONG = 37, W_NETDOWN = 38, W_NETRESET = 39, W_NETUNREACH = 40,
  W_NFILE = 41, W_NOBUFS = 42, W_NODEV = 43, W_NOENT = 44, W_NOEXEC = 45, W_NOLCK = 46,
  W_NOLINK = 47, W_NOMEM = 48, W_NOMSG = 49, W_NOPROTOOPT = 50, W_NOSPC = 51, W_NOSYS = 52,
  W_NOTCONN = 53, W_NOTDIR = 54, W_NOTEMPTY = 55, W_NOTRECOVERABLE = 56, W_NOTSOCK = 57,
  W_NOTSUP = 58, W_NOTTY = 59, W_NXIO = 60, W_OVERFLOW = 61, W_OWNERDEAD = 62, W_PERM = 63,
  W_PIPE = 64, W_PROTO = 65, W_PROTONOSUPPORT = 66, W_PROTOTYPE = 67, W_RANGE = 68, W_ROFS = 69,
  W_SPIPE = 70, W_SRCH = 71, W_STALE = 72, W_TIMEDOUT = 73, W_TXTBSY = 74, W_XDEV = 75,
};
enum { FT_UNKNOWN = 0, FT_BLOCK = 1, FT_CHAR = 2, FT_DIR = 3, FT_REG = 4, FT_SYMLINK = 7 };
enum { O_CREAT_W = 1, O_DIRECTORY_W = 2, O_EXCL_W = 4, O_TRUNC_W = 8 };
enum { FDF_APPEND = 1, FDF_DSYNC = 2, FDF_NONBLOCK = 4, FDF_RSYNC = 8, FDF_SYNC = 16 };
#define RIGHT_FD_READ (1ull << 1)
#define RIGHT_FD_SEEK (1ull << 2)
#define RIGHT_FD_TELL (1ull << 5)
#define RIGHT_FD_WRITE (1ull << 6)
#define RIGHTS_ALL 0x1fffffffull
#define MAX_FDS 1024
#define PREOPEN_FD 3

/* ---- the instance the module's imports receive ------------------------------------- */
struct Z_wasi_snapshot_preview1_instance_t {
  wasm_rt_memory_t *memory;
  int argc;
  char **argv;
};

static int host_fd[MAX_FDS]; /* WASI fd -> host fd, -1 when closed */
static int exit_code_on_trap = 134;

static int errno_to_wasi(int e) {
  switch (e) {
    case 0: return W_SUCCESS; case E2BIG: return W_2BIG; case EACCES: return W_ACCES;
    case EADDRINUSE: return W_ADDRINUSE; case EADDRNOTAVAIL: return W_ADDRNOTAVAIL;
    case EAFNOSUPPORT: return W_AFNOSUPPORT; case EAGAIN: return W_AGAIN; case EALREADY: return W_ALREADY;
    case EBADF: return W_BADF; case EBADMSG: return W_BADMSG; case EBUSY: return W_BUSY;
    case ECANCELED: return W_CANCELED; case ECHILD: return W_CHILD; case ECONNABORTED: return W_CONNABORTED;
    case ECONNREFUSED: return W_CONNREFUSED; case ECONNRESET: return W_CONNRESET; case EDEADLK: return W_DEADLK;
    case EDESTADDRREQ: return W_DESTADDRREQ; case EDOM: return W_DOM; case EDQUOT: return W_DQUOT;
    case EEXIST: return W_EXIST; case EFAULT: return W_FAULT; case EFBIG: return W_FBIG;
    case EHOSTUNREACH: return W_HOSTUNREACH; case EIDRM: return W_IDRM; case EILSEQ: return W_ILSEQ;
    case EINPROGRESS: return W_INPROGRESS; case EINTR: return W_INTR; case EINVAL: return W_INVAL;
    case EIO: return W_IO; case EISCONN: return W_ISCONN; case EISDIR: return W_ISDIR; case ELOOP: return W_LOOP;
    case EMFILE: return W_MFILE; case EMLINK: return W_MLINK; case EMSGSIZE: return W_MSGSIZE;
    case EMULTIHOP: return W_MULTIHOP; case ENAMETOOLONG: return W_NAMETOOLONG; case ENETDOWN: return W_NETDOWN;
    case ENETRESET: return W_NETRESET; case ENETUNREACH: return W_NETUNREACH; case ENFILE: return W_NFILE;
    case ENOBUFS: return W_NOBUFS; case ENODEV: return W_NODEV; case ENOENT: return W_NOENT;
    case ENOEXEC: return W_NOEXEC; case ENOLCK: return W_NOLCK; case ENOLINK: return W_NOLINK;
    case ENOMEM: return W_NOMEM; case ENOMSG: return W_NOMSG; case ENOPROTOOPT: return W_NOPROTOOPT;
    case ENOSPC: return W_NOSPC; case ENOSYS: return W_NOSYS; case ENOTCONN: return W_NOTCONN;
    case ENOTDIR: return W_NOTDIR; case ENOTEMPTY: return W_NOTEMPTY; case ENOTRECOVERABLE: return W_NOTRECOVERABLE;
    case ENOTSOCK: return W_NOTSOCK; case ENOTSUP: return W_NOTSUP; case ENOTTY: return W_NOTTY;
    case ENXIO: return W_NXIO; case EOVERFLOW: return W_OVERFLOW; case EOWNERDEAD: return W_OWNERDEAD;
    case EPERM: return W_PERM; case EPIPE: return W_PIPE; case EPROTO: return W_PROTO;
    case EPROTONOSUPPORT: return W_PROTONOSUPPORT; case EPROTOTYPE: return W_PROTOTYPE; case ERANGE: return W_RANGE;
    case EROFS: return W_ROFS; case ESPIPE: return W_SPIPE; case ESRCH: return W_SRCH; case ESTALE: return W_STALE;
    case ETIMEDOUT: return W_TIMEDOUT; case ETXTBSY: return W_TXTBSY; case EXDEV: return W_XDEV;
    default: return W_IO;
  }
}

/* ---- guest memory access, bounds-checked ------------------------------------------- */
#define INST struct Z_wasi_snapshot_preview1_instance_t *w
static int in_bounds(INST, u32 ptr, u64 len) { return (u64)ptr + len <= (u64)w->memory->size; }
static u8 *mem(INST, u32 ptr) { return w->memory->data + ptr; }
static void put_u8(INST, u32 p, u8 v) { mem(w, p)[0] = v; }
static void put_u16(INST, u32 p, u16 v) { memcpy(mem(w, p), &v, 2); }
static void put_u32(INST, u32 p, u32 v) { memcpy(mem(w, p), &v, 4); }
static void put_u64(INST, u32 p, u64 v) { memcpy(mem(w, p), &v, 8); }
static u32 get_u32(INST, u32 p) { u32 v; memcpy(&v, mem(w, p), 4); return v; }
static u64 get_u64(INST, u32 p) { u64 v; memcpy(&v, mem(w, p), 8); return v; }
#define CHECK(ptr, len) do { if (!in_bounds(w, (ptr), (len))) return W_FAULT; } while (0)

static int fd_of(u32 fd) { return fd < MAX_FDS ? host_fd[fd] : -1; }
#define HOST_FD(var, fd) int var = fd_of(fd); if (var < 0) return W_BADF

/* Copy a guest path into a NUL-terminated host string. */
static int guest_path(INST, u32 ptr, u32 len, char *out, size_t cap) {
  if (!in_bounds(w, ptr, len)) return W_FAULT;
  if (len + 1 > cap) return W_NAMETOOLONG;
  memcpy(out, mem(w, ptr), len);
  out[len] = 0;
  if (memchr(out, 0, len)) return W_INVAL;
  return W_SUCCESS;
}
#define PATH(var, ptr, len) char var[4096]; { int e_ = guest_path(w, ptr, len, var, sizeof var); if (e_) return e_; }

static u8 filetype_of(mode_t mode) {
  if (S_ISREG(mode)) return FT_REG;
  if (S_ISDIR(mode)) return FT_DIR;
  if (S_ISCHR(mode)) return FT_CHAR;
  if (S_ISBLK(mode)) return FT_BLOCK;
  if (S_ISLNK(mode)) return FT_SYMLINK;
  return FT_UNKNOWN;
}

static u64 ns_of(struct timespec t) { return (u64)t.tv_sec * 1000000000ull + (u64)t.tv_nsec; }

static void put_filestat(INST, u32 p, const struct stat *st) {
  memset(mem(w, p), 0, 64);
  put_u64(w, p + 0, st->st_dev);
  put_u64(w, p + 8, st->st_ino);
  put_u8(w, p + 16, filetype_of(st->st_mode));
  put_u64(w, p + 24, st->st_nlink);
  put_u64(w, p + 32, st->st_size);
  put_u64(w, p + 40, ns_of(st->st_atim));
  put_u64(w, p + 48, ns_of(st->st_mtim));
  put_u64(w, p + 56, ns_of(st->st_ctim));
}

static int new_fd(int host) {
  for (int i = PREOPEN_FD + 1; i < MAX_FDS; i++) {
    if (host_fd[i] < 0) { host_fd[i] = host; return i; }
  }
  return -1;
}

/* ---- args and environment ---------------------------------------------------------- */
static u32 strings_get(INST, char **list, int count, u32 ptrs, u32 buf) {
  for (int i = 0; i < count; i++) {
    size_t n = strlen(list[i]) + 1;
    CHECK(ptrs + 4 * i, 4);
    CHECK(buf, n);
    put_u32(w, ptrs + 4 * i, buf);
    memcpy(mem(w, buf), list[i], n);
    buf += n;
  }
  return W_SUCCESS;
}

static u32 strings_sizes(INST, char **list, int count, u32 count_ptr, u32 size_ptr) {
  u32 size = 0;
  for (int i = 0; i < count; i++) size += strlen(list[i]) + 1;
  CHECK(count_ptr, 4);
  CHECK(size_ptr, 4);
  put_u32(w, count_ptr, count);
  put_u32(w, size_ptr, size);
  return W_SUCCESS;
}

static int environ_count(void) { int n = 0; while (environ && environ[n]) n++; return n; }

u32 Z_wasi_snapshot_preview1Z_args_get(INST, u32 argv, u32 buf) { return strings_get(w, w->argv, w->argc, argv, buf); }
u32 Z_wasi_snapshot_preview1Z_args_sizes_get(INST, u32 c, u32 s) { return strings_sizes(w, w->argv, w->argc, c, s); }
u32 Z_wasi_snapshot_preview1Z_environ_get(INST, u32 env, u32 buf) { return strings_get(w, environ, environ_count(), env, buf); }
u32 Z_wasi_snapshot_preview1Z_environ_sizes_get(INST, u32 c, u32 s) { return strings_sizes(w, environ, environ_count(), c, s); }

/* ---- clocks, random, scheduling, exit ------------------------------------------------ */
static clockid_t host_clock(u32 id) {
  switch (id) {
    case 0: return CLOCK_REALTIME;
    case 1: return CLOCK_MONOTONIC;
    case 2: return CLOCK_PROCESS_CPUTIME_ID;
    case 3: return CLOCK_THREAD_CPUTIME_ID;
    default: return (clockid_t)-1;
  }
}

u32 Z_wasi_snapshot_preview1Z_clock_res_get(INST, u32 id, u32 out) {
  struct timespec ts;
  clockid_t c = host_clock(id);
  if (c == (clockid_t)-1) return W_INVAL;
  CHECK(out, 8);
  if (clock_getres(c, &ts) != 0) return errno_to_wasi(errno);
  put_u64(w, out, ns_of(ts));
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_clock_time_get(INST, u32 id, u64 precision, u32 out) {
  struct timespec ts;
  clockid_t c = host_clock(id);
  (void)precision;
  if (c == (clockid_t)-1) return W_INVAL;
  CHECK(out, 8);
  if (clock_gettime(c, &ts) != 0) return errno_to_wasi(errno);
  put_u64(w, out, ns_of(ts));
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_random_get(INST, u32 buf, u32 len) {
  CHECK(buf, len);
  u32 done = 0;
  while (done < len) {
    ssize_t n = getrandom(mem(w, buf + done), len - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_to_wasi(errno);
    }
    done += (u32)n;
  }
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_sched_yield(INST) { (void)w; return W_SUCCESS; }

void Z_wasi_snapshot_preview1Z_proc_exit(INST, u32 code) { (void)w; exit((int)code); }

u32 Z_wasi_snapshot_preview1Z_proc_raise(INST, u32 sig) { (void)w; (void)sig; return W_NOSYS; }

/* poll_oneoff: clock subscriptions (sleep, timeouts) and fd_read / fd_write subscriptions (poll,
 * select) become one poll(2) with the earliest clock as its timeout; with no fds it is a precise
 * nanosleep. Every ready subscription gets an event; a bad fd gets one with EBADF. */
u32 Z_wasi_snapshot_preview1Z_poll_oneoff(INST, u32 in, u32 out, u32 n, u32 nevents_ptr) {
  if (n == 0 || n > 64) return W_INVAL;
  CHECK(in, (u64)n * 48);
  CHECK(out, (u64)n * 32);
  CHECK(nevents_ptr, 4);
  struct pollfd fds[64];
  u32 owner[64];
  int nfds = 0;
  u64 timeout = UINT64_MAX;
  int clock_sub = -1;
  u32 events = 0;
  for (u32 i = 0; i < n; i++) {
    u32 s = in + i * 48;
    u8 tag = mem(w, s + 8)[0];
    if (tag == 0) {
      u32 id = get_u32(w, s + 16);
      u64 t = get_u64(w, s + 24);
      u16 flags; memcpy(&flags, mem(w, s + 40), 2);
      struct timespec now;
      clock_gettime(host_clock(id) == (clockid_t)-1 ? CLOCK_MONOTONIC : host_clock(id), &now);
      u64 rel = (flags & 1) ? (t > ns_of(now) ? t - ns_of(now) : 0) : t;
      if (rel < timeout) { timeout = rel; clock_sub = (int)i; }
    } else {
      int host = fd_of(get_u32(w, s + 16));
      if (host < 0) {  /* answered at once, with the error */
        u32 e = out + events++ * 32;
        memset(mem(w, e), 0, 32);
        put_u64(w, e, get_u64(w, s));
        put_u16(w, e + 8, W_BADF);
        put_u8(w, e + 10, tag);
        continue;
      }
      fds[nfds].fd = host;
      fds[nfds].events = tag == 1 ? POLLIN : POLLOUT;
      fds[nfds].revents = 0;
      owner[nfds++] = i;
    }
  }
  int fired = 0;
  if (events == 0) {
    if (nfds == 0) {
      if (timeout != UINT64_MAX && timeout > 0) {
        struct timespec ts = {(time_t)(timeout / 1000000000ull), (long)(timeout % 1000000000ull)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
      }
    } else {
      int ms = timeout == UINT64_MAX ? -1 : (int)((timeout + 999999) / 1000000);
      do { fired = poll(fds, nfds, ms); } while (fired < 0 && errno == EINTR);
      if (fired < 0) return errno_to_wasi(errno);
    }
  }
  for (int k = 0; k < nfds; k++) {
    if (!fds[k].revents) continue;
    u32 s = in + owner[k] * 48;
    u32 e = out + events++ * 32;
    memset(mem(w, e), 0, 32);
    put_u64(w, e, get_u64(w, s));
    put_u8(w, e + 10, mem(w, s + 8)[0]);
    int avail = 0;
    if (fds[k].events == POLLIN) ioctl(fds[k].fd, FIONREAD, &avail);
    put_u64(w, e + 16, (u64)(avail > 0 ? avail : 1));
    if (fds[k].revents & POLLHUP) put_u16(w, e + 24, 1);
  }
  if (events == 0 && clock_sub >= 0) {  /* nothing else happened: the clock fired */
    u32 s = in + (u32)clock_sub * 48;
    memset(mem(w, out), 0, 32);
    put_u64(w, out, get_u64(w, s));
    events = 1;
  }
  put_u32(w, nevents_ptr, events);
  return W_SUCCESS;
}

/* ---- file descriptors ------------------------------------------------------------------ */
static u32 do_iov(INST, int host, u32 iovs, u32 count, u32 result, int writing, int positioned, u64 offset) {
  struct iovec vec[64];
  if (count > 64) count = 64;
  CHECK(iovs, (u64)count * 8);
  for (u32 i = 0; i < count; i++) {
    u32 buf = get_u32(w, iovs + 8 * i), len = get_u32(w, iovs + 8 * i + 4);
    CHECK(buf, len);
    vec[i].iov_base = mem(w, buf);
    vec[i].iov_len = len;
  }
  CHECK(result, 4);
  ssize_t n;
  do {
    if (positioned) n = writing ? pwritev(host, vec, count, (off_t)offset) : preadv(host, vec, count, (off_t)offset);
    else n = writing ? writev(host, vec, count) : readv(host, vec, count);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_to_wasi(errno);
  put_u32(w, result, (u32)n);
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_read(INST, u32 fd, u32 iovs, u32 n, u32 nread) {
  HOST_FD(h, fd); return do_iov(w, h, iovs, n, nread, 0, 0, 0);
}
u32 Z_wasi_snapshot_preview1Z_fd_write(INST, u32 fd, u32 iovs, u32 n, u32 nwritten) {
  HOST_FD(h, fd); return do_iov(w, h, iovs, n, nwritten, 1, 0, 0);
}
u32 Z_wasi_snapshot_preview1Z_fd_pread(INST, u32 fd, u32 iovs, u32 n, u64 offset, u32 nread) {
  HOST_FD(h, fd); return do_iov(w, h, iovs, n, nread, 0, 1, offset);
}
u32 Z_wasi_snapshot_preview1Z_fd_pwrite(INST, u32 fd, u32 iovs, u32 n, u64 offset, u32 nwritten) {
  HOST_FD(h, fd); return do_iov(w, h, iovs, n, nwritten, 1, 1, offset);
}

u32 Z_wasi_snapshot_preview1Z_fd_seek(INST, u32 fd, u64 offset, u32 whence, u32 newoffset) {
  HOST_FD(h, fd);
  int how = whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : whence == 2 ? SEEK_END : -1;
  if (how < 0) return W_INVAL;
  CHECK(newoffset, 8);
  off_t at = lseek(h, (off_t)(s64)offset, how);
  if (at < 0) return errno_to_wasi(errno);
  put_u64(w, newoffset, (u64)at);
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_tell(INST, u32 fd, u32 out) {
  return Z_wasi_snapshot_preview1Z_fd_seek(w, fd, 0, 1, out);
}

u32 Z_wasi_snapshot_preview1Z_fd_close(INST, u32 fd) {
  (void)w;
  HOST_FD(h, fd);
  if (fd <= PREOPEN_FD) return W_BADF; /* stdio and the preopen stay, as in wasmtime */
  host_fd[fd] = -1;
  return close(h) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_fd_sync(INST, u32 fd) { (void)w; HOST_FD(h, fd); return fsync(h) ? errno_to_wasi(errno) : 0; }
u32 Z_wasi_snapshot_preview1Z_fd_datasync(INST, u32 fd) { (void)w; HOST_FD(h, fd); return fdatasync(h) ? errno_to_wasi(errno) : 0; }

u32 Z_wasi_snapshot_preview1Z_fd_fdstat_get(INST, u32 fd, u32 out) {
  HOST_FD(h, fd);
  struct stat st;
  CHECK(out, 24);
  if (fstat(h, &st) != 0) return errno_to_wasi(errno);
  int fl = fcntl(h, F_GETFL);
  u16 flags = 0;
  if (fl >= 0 && (fl & O_APPEND)) flags |= FDF_APPEND;
  if (fl >= 0 && (fl & O_NONBLOCK)) flags |= FDF_NONBLOCK;
  u64 rights = RIGHTS_ALL;
  if (S_ISCHR(st.st_mode) && isatty(h)) rights &= ~(RIGHT_FD_SEEK | RIGHT_FD_TELL); /* how isatty() is told */
  memset(mem(w, out), 0, 24);
  put_u8(w, out, filetype_of(st.st_mode));
  put_u16(w, out + 2, flags);
  put_u64(w, out + 8, rights);
  put_u64(w, out + 16, RIGHTS_ALL);
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(INST, u32 fd, u32 flags) {
  (void)w;
  HOST_FD(h, fd);
  int fl = fcntl(h, F_GETFL);
  if (fl < 0) return errno_to_wasi(errno);
  fl = (fl & ~(O_APPEND | O_NONBLOCK)) | ((flags & FDF_APPEND) ? O_APPEND : 0) | ((flags & FDF_NONBLOCK) ? O_NONBLOCK : 0);
  return fcntl(h, F_SETFL, fl) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(INST, u32 fd, u64 base, u64 inheriting) {
  (void)w; (void)base; (void)inheriting;
  HOST_FD(h, fd); (void)h;
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_filestat_get(INST, u32 fd, u32 out) {
  HOST_FD(h, fd);
  struct stat st;
  CHECK(out, 64);
  if (fstat(h, &st) != 0) return errno_to_wasi(errno);
  put_filestat(w, out, &st);
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_filestat_set_size(INST, u32 fd, u64 size) {
  (void)w; HOST_FD(h, fd);
  return ftruncate(h, (off_t)size) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

static int times_of(u64 atim, u64 mtim, u32 flags, struct timespec ts[2]) {
  /* fstflags: ATIM 1, ATIM_NOW 2, MTIM 4, MTIM_NOW 8 */
  ts[0].tv_sec = 0; ts[0].tv_nsec = (flags & 2) ? UTIME_NOW : (flags & 1) ? 0 : UTIME_OMIT;
  ts[1].tv_sec = 0; ts[1].tv_nsec = (flags & 8) ? UTIME_NOW : (flags & 4) ? 0 : UTIME_OMIT;
  if ((flags & 1) && !(flags & 2)) { ts[0].tv_sec = atim / 1000000000ull; ts[0].tv_nsec = atim % 1000000000ull; }
  if ((flags & 4) && !(flags & 8)) { ts[1].tv_sec = mtim / 1000000000ull; ts[1].tv_nsec = mtim % 1000000000ull; }
  return 0;
}

u32 Z_wasi_snapshot_preview1Z_fd_filestat_set_times(INST, u32 fd, u64 atim, u64 mtim, u32 flags) {
  (void)w; HOST_FD(h, fd);
  struct timespec ts[2];
  times_of(atim, mtim, flags, ts);
  return futimens(h, ts) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_fd_advise(INST, u32 fd, u64 offset, u64 len, u32 advice) {
  (void)w; (void)offset; (void)len; (void)advice; HOST_FD(h, fd); (void)h;
  return W_SUCCESS; /* advice only */
}

u32 Z_wasi_snapshot_preview1Z_fd_allocate(INST, u32 fd, u64 offset, u64 len) {
  (void)w; HOST_FD(h, fd);
  int e = posix_fallocate(h, (off_t)offset, (off_t)len);
  return e == 0 ? W_SUCCESS : errno_to_wasi(e);
}

u32 Z_wasi_snapshot_preview1Z_fd_renumber(INST, u32 fd, u32 to) { (void)w; (void)fd; (void)to; return W_NOSYS; }

u32 Z_wasi_snapshot_preview1Z_fd_prestat_get(INST, u32 fd, u32 out) {
  if (fd != PREOPEN_FD) return W_BADF;
  CHECK(out, 8);
  memset(mem(w, out), 0, 8);
  put_u32(w, out + 4, 1); /* "/" */
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(INST, u32 fd, u32 path, u32 len) {
  if (fd != PREOPEN_FD) return W_BADF;
  if (len < 1) return W_NAMETOOLONG;
  CHECK(path, 1);
  mem(w, path)[0] = '/';
  return W_SUCCESS;
}

/* fd_readdir: entries from `cookie` on, each a 24-byte dirent header then the name; the last
 * one may be cut off, which tells the caller to come back with a bigger buffer. */
u32 Z_wasi_snapshot_preview1Z_fd_readdir(INST, u32 fd, u32 buf, u32 len, u64 cookie, u32 used_ptr) {
  HOST_FD(h, fd);
  CHECK(buf, len);
  CHECK(used_ptr, 4);
  int copy = dup(h);
  if (copy < 0) return errno_to_wasi(errno);
  DIR *dir = fdopendir(copy);
  if (!dir) { int e = errno; close(copy); return errno_to_wasi(e); }
  rewinddir(dir);
  u64 index = 0;
  u32 used = 0;
  struct dirent *d;
  while ((d = readdir(dir)) != NULL) {
    if (index++ < cookie) continue;
    u8 header[24];
    u64 next = index;
    u64 ino = d->d_ino;
    u32 namelen = (u32)strlen(d->d_name);
    u8 type = d->d_type == DT_DIR ? FT_DIR : d->d_type == DT_REG ? FT_REG : d->d_type == DT_LNK ? FT_SYMLINK
            : d->d_type == DT_CHR ? FT_CHAR : d->d_type == DT_BLK ? FT_BLOCK : FT_UNKNOWN;
    memset(header, 0, sizeof header);
    memcpy(header, &next, 8);
    memcpy(header + 8, &ino, 8);
    memcpy(header + 16, &namelen, 4);
    header[20] = type;
    u32 room = len - used;
    u32 n = room < 24 ? room : 24;
    memcpy(mem(w, buf + used), header, n);
    used += n;
    if (n < 24) break;
    room = len - used;
    n = room < namelen ? room : namelen;
    memcpy(mem(w, buf + used), d->d_name, n);
    used += n;
    if (used >= len) break;
  }
  closedir(dir);
  put_u32(w, used_ptr, used);
  return W_SUCCESS;
}

/* ---- paths ----------------------------------------------------------------------------- */
u32 Z_wasi_snapshot_preview1Z_path_open(INST, u32 dirfd, u32 lookup, u32 path, u32 path_len, u32 oflags,
                                        u64 rights_base, u64 rights_inheriting, u32 fdflags, u32 fd_out) {
  (void)rights_inheriting;
  HOST_FD(dir, dirfd);
  PATH(p, path, path_len);
  CHECK(fd_out, 4);
  int read = (rights_base & RIGHT_FD_READ) != 0, write = (rights_base & RIGHT_FD_WRITE) != 0;
  int flags = (read && write) ? O_RDWR : write ? O_WRONLY : O_RDONLY;
  if (oflags & O_CREAT_W) flags |= O_CREAT;
  if (oflags & O_DIRECTORY_W) flags |= O_DIRECTORY;
  if (oflags & O_EXCL_W) flags |= O_EXCL;
  if (oflags & O_TRUNC_W) flags |= O_TRUNC;
  if (fdflags & FDF_APPEND) flags |= O_APPEND;
  if (fdflags & FDF_NONBLOCK) flags |= O_NONBLOCK;
  if (fdflags & (FDF_SYNC | FDF_RSYNC)) flags |= O_SYNC;
  if (fdflags & FDF_DSYNC) flags |= O_DSYNC;
  if (!(lookup & 1)) flags |= O_NOFOLLOW;
  int h = openat(dir, p, flags | O_CLOEXEC, 0666);
  if (h < 0 && errno == EISDIR && (flags & O_ACCMODE) != O_RDONLY && !(oflags & O_CREAT_W)) {
    h = openat(dir, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* directories open read-only */
  }
  if (h < 0) return errno_to_wasi(errno);
  int fd = new_fd(h);
  if (fd < 0) { close(h); return W_NFILE; }
  put_u32(w, fd_out, (u32)fd);
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_path_create_directory(INST, u32 dirfd, u32 path, u32 len) {
  HOST_FD(dir, dirfd); PATH(p, path, len);
  return mkdirat(dir, p, 0777) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_remove_directory(INST, u32 dirfd, u32 path, u32 len) {
  HOST_FD(dir, dirfd); PATH(p, path, len);
  return unlinkat(dir, p, AT_REMOVEDIR) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_unlink_file(INST, u32 dirfd, u32 path, u32 len) {
  HOST_FD(dir, dirfd); PATH(p, path, len);
  return unlinkat(dir, p, 0) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_rename(INST, u32 fd, u32 old_path, u32 old_len, u32 new_fd, u32 new_path, u32 new_len) {
  HOST_FD(a, fd); HOST_FD(b, new_fd);
  PATH(from, old_path, old_len); PATH(to, new_path, new_len);
  return renameat(a, from, b, to) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_filestat_get(INST, u32 dirfd, u32 lookup, u32 path, u32 len, u32 out) {
  HOST_FD(dir, dirfd); PATH(p, path, len);
  CHECK(out, 64);
  struct stat st;
  if (fstatat(dir, p, &st, (lookup & 1) ? 0 : AT_SYMLINK_NOFOLLOW) != 0) return errno_to_wasi(errno);
  put_filestat(w, out, &st);
  return W_SUCCESS;
}

u32 Z_wasi_snapshot_preview1Z_path_filestat_set_times(INST, u32 dirfd, u32 lookup, u32 path, u32 len,
                                                      u64 atim, u64 mtim, u32 flags) {
  HOST_FD(dir, dirfd); PATH(p, path, len);
  struct timespec ts[2];
  times_of(atim, mtim, flags, ts);
  return utimensat(dir, p, ts, (lookup & 1) ? 0 : AT_SYMLINK_NOFOLLOW) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_link(INST, u32 old_fd, u32 lookup, u32 old_path, u32 old_len,
                                        u32 new_fd, u32 new_path, u32 new_len) {
  HOST_FD(a, old_fd); HOST_FD(b, new_fd);
  PATH(from, old_path, old_len); PATH(to, new_path, new_len);
  return linkat(a, from, b, to, (lookup & 1) ? AT_SYMLINK_FOLLOW : 0) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_symlink(INST, u32 old_path, u32 old_len, u32 fd, u32 new_path, u32 new_len) {
  HOST_FD(dir, fd);
  PATH(target, old_path, old_len); PATH(link, new_path, new_len);
  return symlinkat(target, dir, link) == 0 ? W_SUCCESS : errno_to_wasi(errno);
}

u32 Z_wasi_snapshot_preview1Z_path_readlink(INST, u32 fd, u32 path, u32 len, u32 buf, u32 buf_len, u32 used) {
  HOST_FD(dir, fd); PATH(p, path, len);
  CHECK(buf, buf_len);
  CHECK(used, 4);
  ssize_t n = readlinkat(dir, p, (char *)mem(w, buf), buf_len);
  if (n < 0) return errno_to_wasi(errno);
  put_u32(w, used, (u32)n);
  return W_SUCCESS;
}

/* ---- sockets: no network in this layer ---------------------------------------------------- */
u32 Z_wasi_snapshot_preview1Z_sock_accept(INST, u32 fd, u32 flags, u32 out) { (void)w; (void)fd; (void)flags; (void)out; return W_NOSYS; }
u32 Z_wasi_snapshot_preview1Z_sock_recv(INST, u32 fd, u32 a, u32 b, u32 c, u32 d, u32 e) {
  (void)w; (void)fd; (void)a; (void)b; (void)c; (void)d; (void)e; return W_NOSYS;
}
u32 Z_wasi_snapshot_preview1Z_sock_send(INST, u32 fd, u32 a, u32 b, u32 c, u32 d) {
  (void)w; (void)fd; (void)a; (void)b; (void)c; (void)d; return W_NOSYS;
}
u32 Z_wasi_snapshot_preview1Z_sock_shutdown(INST, u32 fd, u32 how) { (void)w; (void)fd; (void)how; return W_NOSYS; }

/* ---- linear memory and traps the hardware reports (see wasm-rt.h: masked accesses) ------------ */
#if !STUDIO_WASM_CHECKED
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

static uint8_t *reservation; /* the (one) memory of a wasm32-wasi module */
#if STUDIO_WASM_FIXED_BASE
/* wasm-rt.h's studio_wasm_base: an absolute symbol at the reservation's address */
#define STUDIO_STR_(x) #x
#define STUDIO_STR(x) STUDIO_STR_(x)
__asm__(".globl studio_wasm_base\n.set studio_wasm_base, " STUDIO_STR(STUDIO_WASM_BASE));
#endif
static uintptr_t stack_top, stack_room;

void wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages, uint32_t max_pages) {
  uint32_t limit = STUDIO_WASM_RESERVE / 65536;
  if (max_pages > limit) max_pages = limit; /* growing past 1 GiB fails, as memory.grow may */
  if (initial_pages > max_pages) {
    fprintf(stderr, "WebAssembly module needs %u pages of memory, more than 1 GiB\n", initial_pages);
    exit(exit_code_on_trap);
  }
#if STUDIO_WASM_FIXED_BASE
  if (reservation) {
    fprintf(stderr, "this WebAssembly module has more than one memory, which the studio's runtime does not "
                    "support (build it without multi-memory)\n");
    exit(exit_code_on_trap);
  }
  void *want = (void *)(uintptr_t)STUDIO_WASM_BASE; /* prog.c adds its offsets to this very address */
  void *at = mmap(want, (size_t)STUDIO_WASM_RESERVE + STUDIO_WASM_GUARD, PROT_NONE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (at != MAP_FAILED && at != want) { /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
    munmap(at, (size_t)STUDIO_WASM_RESERVE + STUDIO_WASM_GUARD);
    at = MAP_FAILED;
  }
#else
  void *at = mmap(NULL, (size_t)STUDIO_WASM_RESERVE + STUDIO_WASM_GUARD, PROT_NONE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
#endif
  uint32_t size = initial_pages * 65536u;
  if (at == MAP_FAILED || (size && mprotect(at, size, PROT_READ | PROT_WRITE) != 0)) {
    perror("reserving WebAssembly memory (1 GiB of address space)");
    exit(exit_code_on_trap);
  }
  reservation = at;
  memory->data = at; /* never moves: the kernel zeroes pages as they are first touched */
  memory->size = size;
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *memory, uint32_t delta) {
  uint32_t old_pages = memory->pages, new_pages = memory->pages + delta;
  if (new_pages == 0) return 0;
  if (new_pages < old_pages || new_pages > memory->max_pages) return (uint32_t)-1;
  if (delta && mprotect(memory->data + memory->size, delta * 65536u, PROT_READ | PROT_WRITE) != 0)
    return (uint32_t)-1;
  memory->pages = new_pages;
  memory->size = new_pages * 65536u;
  return old_pages;
}

void wasm_rt_free_memory(wasm_rt_memory_t *memory) {
  munmap(memory->data, (size_t)STUDIO_WASM_RESERVE + STUDIO_WASM_GUARD);
  memory->data = NULL;
}

static const char *trap_program = "program";

static void say(const char *text) {
  size_t n = strlen(text);
  while (n) { ssize_t w = write(2, text, n); if (w <= 0) return; text += w; n -= (size_t)w; }
}

/* A masked access past the memory's size, or recursion into the stack's guard gap: a trap. */
static void on_fault(int sig, siginfo_t *info, void *context) {
  (void)context;
  uintptr_t at = (uintptr_t)info->si_addr, base = (uintptr_t)reservation;
  say(trap_program);
  say(": WebAssembly trap: ");
  if (reservation && at >= base && at - base < (uintptr_t)STUDIO_WASM_RESERVE + STUDIO_WASM_GUARD)
    say(wasm_rt_strerror(WASM_RT_TRAP_OOB));
  else if (at < stack_top && stack_top - at <= stack_room)
    say(wasm_rt_strerror(WASM_RT_TRAP_EXHAUSTION));
  else
    say(sig == SIGBUS ? "bus error in the runtime" : "segmentation fault in the runtime");
  say("\n");
  _exit(exit_code_on_trap);
}

static void catch_faults(const char *program) {
  static char alt[65536];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  struct rlimit rl;
  char here;
  stack_top = (uintptr_t)&here;
  stack_room = 8u << 20;
  if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (256u << 20))
    stack_room = (uintptr_t)rl.rlim_cur;
  stack_room += 2u << 20; /* the guard gap below the stack */
  trap_program = program;
}
#else
static void catch_faults(const char *program) { (void)program; }
#endif

/* ---- main ----------------------------------------------------------------------------------- */
int main(int argc, char **argv) {
  static Z_prog_instance_t instance;
  static struct Z_wasi_snapshot_preview1_instance_t wasi;
  for (int i = 0; i < MAX_FDS; i++) host_fd[i] = -1;
  host_fd[0] = 0; host_fd[1] = 1; host_fd[2] = 2;
  host_fd[PREOPEN_FD] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  wasi.argc = argc;
  wasi.argv = argv;
  /* argv[0] as the module sees it: the program's name, like wasmtime gives. */
  const char *slash = strrchr(argv[0], '/');
  if (slash) argv[0] = (char *)slash + 1;

  catch_faults(argv[0]);
  wasm_rt_init();
  Z_prog_init_module();
  Z_prog_instantiate(&instance, &wasi);
  wasi.memory = Z_progZ_memory(&instance);
  wasm_rt_trap_t trap = wasm_rt_impl_try();
  if (trap == WASM_RT_TRAP_NONE) {
    Z_progZ__start(&instance);
    return 0;
  }
  fprintf(stderr, "%s: WebAssembly trap: %s\n", argv[0], wasm_rt_strerror(trap));
  return exit_code_on_trap;
}
