/*
** litestream_vfs.c: the C shim of lsvfs, an SQLite VFS named "litestream"
** that serves a Litestream replica in place.
**
** The shim is a loadable extension. Its entry point,
** sqlite3_litestreamvfs_init(), registers the VFS "litestream" once per
** libsqlite3 (never as the default VFS), the SQL functions on the loading
** connection if it uses the VFS, and an auto-extension that registers them
** on every later connection that does; it returns
** SQLITE_OK_LOAD_PERMANENTLY. The auto-extension always returns SQLITE_OK
** and touches nothing but connections whose main database is served by the
** VFS, so loading the shim never breaks a later sqlite3_open() in the
** process (Litestream's did: its PR #1506). It never links libsqlite3:
** every SQLite call goes through the sqlite3_api_routines table
** (SQLITE_EXTENSION_INIT1/2), so one build works in any SQLite client.
**
** Supported:
**
**   - Main-database files (SQLITE_OPEN_MAIN_DB). Their methods are
**     forwarded to an ENGINE PORT (LsvfsPort, a table of function pointers).
**     A file uses the host port of the thread that opened it, if it has one,
**     else the pipe port:
**
**       - The HOST PORT: Deno installs it with lsvfs_host_install()
**         (Deno.UnsafeCallback functions). There is one per thread: a Deno
**         isolate (the main one, each Worker, each module of `deno test`)
**         runs on a thread of its own and installs its own.
**
**       - The PIPE PORT, for every other client (the sqlite3 shell, Python,
**         Go, ...): one ENGINE CHILD process per client process, started on
**         the first open with posix_spawn: the program in
**         LITESTREAM_VFS_ENGINE if set (a path, or a name looked up on
**         PATH), else the launcher "lsvfs" beside this library (found with
**         dladdr when the library loads), else "lsvfs" on PATH, always with
**         the single argument "engine". Its stdin and stdout are one end of
**         a socket pair, its stderr is the client's; it runs in a process
**         group of its own (a Ctrl-C at the shell interrupts the query, not
**         the engine) with default signal dispositions. The client's end is
**         close-on-exec and never raises SIGPIPE (MSG_NOSIGNAL, or
**         SO_NOSIGPIPE). The child lives as long as the client process: it
**         exits when the socket closes, at the client's exit. One request
**         is in flight at a time per process (SQLITE_MUTEX_STATIC_VFS3),
**         and each answer is awaited at most LSVFS_ENGINE_TIMEOUT_MS
**         milliseconds (default 60000). A child that closes the socket,
**         sends a malformed answer or does not answer in time is killed if
**         need be and reaped, and the call fails (SQLITE_CANTOPEN at open,
**         the call's SQLITE_IOERR_* code otherwise) with a message saying
**         how it ended, also written to standard error (clients print only
**         "disk I/O error"). Files it served fail every call but close
**         cleanly; the next open starts a new child. After fork(), the
**         child belongs to the parent: the forked process starts its own.
**
**   - PRAGMAs (SQLITE_FCNTL_PRAGMA): litestream_txid, litestream_time (get
**     and set), litestream_lag, litestream_write_enabled, the hydration
**     pragmas (litestream_hydration, _progress, _file), litestream_status
**     (the shim sends the file's page-cache counters as its value, in
**     lsvfs_cache_stats() order, since cache hits never reach the engine),
**     and any other litestream_* the engine answers; other pragmas never
**     reach the port.
**
**   - SQL functions on every connection whose main database uses the VFS:
**     litestream_txid(), litestream_time(), litestream_lag(),
**     litestream_status() and litestream_set_time(text) (SQLITE_DIRECTONLY). Each finds the main
**     database's file with SQLITE_FCNTL_FILE_POINTER and makes the same
**     port call as the PRAGMA. lsvfs_register_functions() registers them on
**     a connection opened before the shim was loaded.
**
**   - A page cache per main-database file (LsvfsCache): a byte-bounded LRU of
**     whole pages, 10 MiB by default, sized by the URI parameter cache_size
**     (bytes, Litestream's name). It is stamped with the view version the
**     engine reports at each SHARED lock and dropped when that changes. A
**     hit never calls into the port. Counters: lsvfs_cache_stats().
**
**   - Everything that is not a main database (journals, temp files, temp
**     databases, super-journals) and every VFS method that is not about a
**     file (xAccess, xFullPathname, xRandomness, xSleep, xCurrentTime, the
**     xDl* methods, ...) goes to the default VFS as it was when the shim was
**     first loaded.
**
**   - Write mode, when the engine opens a file for writing (open's
**     LSVFS_OPEN_WRITABLE; else xOpen reports it read-only and every write
**     method answers SQLITE_READONLY). xWrite and xTruncate stage on the
**     port, and the cache keeps the written pages; RESERVED and EXCLUSIVE
**     are the engine's to grant (write_lock); SQLITE_FCNTL_COMMIT_PHASETWO,
**     which SQLite sends once a transaction is committed and before it
**     unlocks, is the commit (the engine makes the pages durable in its
**     write buffer); unlocking below RESERVED without it drops them. The
**     rollback journals of these files stay in memory (memory_journal.h).
**
** Omitted, for now:
**
**   - File controls other than SQLITE_FCNTL_PRAGMA and
**     SQLITE_FCNTL_COMMIT_PHASETWO (SQLITE_NOTFOUND).
**
**   - WAL and memory mapping: the io methods are version 1 (no xShm*, no
**     xFetch). The engine presents every database in rollback-journal mode.
**
**
** Assumed:
**
**   - SQLite 3.31.0 or later (sqlite3_uri_key); the entry point checks.
**
**   - The engine's page size is a power of two from 512 to 65536 and fixed
**     for the life of a file (but for the first write of a new database,
**     which sets it), and the database size it reports is a whole number
**     of pages. SQLite writes main databases in whole pages.
**
**   - The host port's functions run on the thread that called SQLite, so a
**     connection served by a host port is used only on the thread that
**     opened it (as Deno does). The shim's own shared state (the host ports,
**     the list of open files) is guarded by SQLITE_MUTEX_STATIC_VFS2; each
**     cache belongs to one file, which SQLite uses from one thread at a time.
**
**   - If libsqlite3 is unloaded and loaded again while the shim stays loaded
**     (Deno closes a library when the last isolate that opened it ends), the
**     next sqlite3_litestreamvfs_init() registers the VFS in the new copy.
**
**   - Port calls do not re-enter the same file.
**
** Port protocol (every int result is an SQLite result code):
**
**   open(zName, aParams, nParams, pFileId, pPageSize, pFlags): open the
**     main database zName (the full pathname SQLite gives xOpen). aParams
**     holds nParams bytes: every URI parameter as "key\0value\0", in URI
**     order. Sets *pFileId to the port's id for the file, *pPageSize, and
**     *pFlags: LSVFS_OPEN_WRITABLE when the file is open for writing
**     (write mode), else 0.
**   close(id, aStat, nStat): aStat holds the file's nStat page-cache
**     counters (lsvfs_cache_stats() order), for the engine to log.
**   begin_read(id, pVersion, pLocal, pSize): starts a read transaction.
**     Sets *pVersion to the view version, *pSize to the database size in
**     bytes (as file_size would: one round trip less per transaction), and
**     *pLocal to the generation of its LOCAL MAP, or 0 when nothing is
**     local. When the generation differs
**     from the one the file holds, the shim asks local_map for the map.
**     The engine keeps what the map names unchanged until end_read.
**   end_read(id);
**   file_size(id, pSize);
**   read_pages(id, pgno, nMax, pBuf, pFirst, pnPages): page pgno and, if
**     the engine chooses (read-ahead, forward or backward), its neighbours:
**     a run of *pnPages consecutive pages (1 to nMax) from page *pFirst,
**     which holds pgno, written one after another to pBuf (room for nMax
**     pages). The shim caches every one.
**   error_message(zBuf, nBuf): copies the text of the port's last error,
**     NUL-terminated and truncated to nBuf bytes; returns its length.
**   local_map(id, aBuf, nBuf, pnMap): the local map of the current read
**     (its layout is in src/engine/local_map.ts): written to aBuf if it
**     fits in nBuf bytes; *pnMap is its length either way, and the shim
**     asks again with room for it when it did not fit. Either the whole
**     database in one file (the hydration file): every page but page 1 is
**     read from it with pread, uncached; or a FRAME MAP, page -> (local LTX
**     file, offset, size): a cache miss on a page in it is a pread and an
**     LZ4 block decode here (lz4_block.h), checked (page number, size flag,
**     size prefix, exactly one page out), and the page enters the cache. A
**     frame that fails a check, a legacy LZ4 frame, and every page not in
**     the map (page 1, which the engine patches) go to read_pages, which
**     reports what is wrong. Counters: lsvfs_cache_stats().
**   write_lock(id, eLock): SQLITE_LOCK_RESERVED or _EXCLUSIVE to go up
**     from SHARED (SQLITE_BUSY while another connection of the process
**     holds the writer's lock, or readers hold the database for EXCLUSIVE;
**     SQLITE_READONLY in time travel or with write mode off), or
**     SQLITE_LOCK_SHARED to come back down, which ends the write
**     transaction: pages written since the last commit are dropped.
**   write(id, iOfst, aData, nData): stages nData bytes at iOfst, whole
**     pages; the first write of a new, empty database may set its page size
**     (nData bytes at offset 0).
**   truncate(id, iSize): stages the database size.
**   commit(id, pVersion): makes the staged pages durable (the write buffer
**     is fsync'd before it returns) and sets *pVersion to the view version
**     they make: the shim's cache, which holds them, stays valid.
**   pragma(id, zName, zValue, zOut, nOut, pnOut): a PRAGMA or SQL function
**     (see lsvfsPortPragma). zName is the pragma's name as written, zValue
**     its value or NULL for a get. On SQLITE_OK, *pnOut is the result's
**     length in bytes (written to zOut, NUL-terminated, truncated to nOut),
**     or -1 for no result. SQLITE_NOTFOUND: not the engine's pragma. Any
**     other code: an error whose text error_message() gives.
**
** Every out-pointer and page buffer the shim passes for a file stays at the
** same address from open to close, so a port may map it once.
**
** Pipe port wire format (src/host/protocol.ts is the engine's side): each
** message is a u32 body length, then the body; integers are little-endian,
** strings UTF-8 after a u32 byte length ("str" below). A request's body is
** a u8 operation and its fields; an answer's body is an i32 result code,
** then on SQLITE_OK the results, on any other code the error message (to
** the end of the body; empty for a pragma's SQLITE_NOTFOUND). Bodies are at
** most LSVFS_WIRE_MAX bytes. File ids on the wire are the child's; the
** shim maps its own ids onto them, so a new child never sees an old id.
**
**   op  call        request fields                  results on SQLITE_OK
**   1   open        str name, parameter block       u32 id, u32 page size,
**                   ("key\0value\0"... to the end)  u32 flags
**   2   close       u32 id, u32 n, n x u64 counters (none)
**   3   begin_read  u32 id                          u64 view version,
**                                                   u32 local map generation,
**                                                   i64 size in bytes
**   4   end_read    u32 id                          (none)
**   5   file_size   u32 id                          i64 size in bytes
**   6   read_pages  u32 id, u32 pgno, u32 nMax      u32 first, u32 count,
**                                                   count whole pages
**   7   pragma      u32 id, u8 has value, str name, u8 has result,
**                   [str value]                     result to the end
**   8   local_map   u32 id                          the map, to the end
**   9   write_lock  u32 id, u32 lock                (none)
**   10  write       u32 id, i64 offset, bytes to    (none)
**                   the end
**   11  truncate    u32 id, i64 size                (none)
**   12  commit      u32 id                          u64 view version
**
** error_message makes no request: each answer carries its message, which
** the shim keeps per thread.
*/
/*
** Feature macros, before any system header: -std=c11 hides POSIX, and the
** pipe port needs POSIX 2008 (posix_spawn, poll, socketpair, realpath) and
** dladdr, an extension of glibc and macOS alike.
*/
#if defined(__APPLE__)
# define _DARWIN_C_SOURCE
#else
# define _GNU_SOURCE
#endif

#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "lz4_block.h"
#include "memory_journal.h"
#ifdef __APPLE__
# include <crt_externs.h>   /* _NSGetEnviron: a library has no environ */
#endif

/*
** Marks the five exported functions. The build hides every other symbol
** (-fvisibility=hidden), sqlite3_api included, so the shim never binds to
** another extension's sqlite3_api or lends its own.
*/
#if defined(__GNUC__) || defined(__clang__)
# define LSVFS_EXPORT __attribute__((visibility("default")))
#else
# define LSVFS_EXPORT
#endif

/* The name the VFS is registered under. */
#define LSVFS_NAME "litestream"

/* Page cache size when the URI has no cache_size, in bytes (Litestream's). */
#define LSVFS_DEFAULT_CACHE_BYTES ((sqlite3_int64)10 * 1024 * 1024)

/* What xSectorSize reports. */
#define LSVFS_SECTOR_SIZE 4096

/* Room for one port error message, NUL included. */
#define LSVFS_ERRMSG_SIZE 512

/* Number of function pointers lsvfs_host_install() takes. */
#define LSVFS_HOST_NFN 13

/* Room for one pragma result, NUL included (longer ones are truncated). */
#define LSVFS_PRAGMA_OUT_SIZE 4096

/* How long a read outside any lock waits for another connection's commit. */
#define LSVFS_LOCKLESS_WAIT_MS 2000

/* Prefix of the pragmas the port answers. */
#define LSVFS_PRAGMA_PREFIX "litestream_"

/* The pragma whose value the shim fills in: its page-cache counters. */
#define LSVFS_PRAGMA_STATUS "litestream_status"

/* Number of counters lsvfs_cache_stats() can report. */
#define LSVFS_NSTAT 9

/* Bucket count of a page cache's hash table on first insert. */
#define LSVFS_MIN_BUCKETS 64

/*
** Bound on one read_pages call (the read-ahead run): this many pages, and
** no more bytes than LSVFS_RUN_BYTES, but always at least one page.
*/
#define LSVFS_RUN_PAGES 64
#define LSVFS_RUN_BYTES (256 * 1024)

/* open's flag: the file is open for writing (write mode). */
#define LSVFS_OPEN_WRITABLE 1

/* The kinds of local map (src/engine/local_map.ts). */
#define LSVFS_LOCAL_FILE 1
#define LSVFS_LOCAL_FRAMES 2

/* Bytes of one frame-map entry on the wire: u32 file, u32 size, u64 offset. */
#define LSVFS_FRAME_ENTRY_SIZE 16

/* An LTX page header (u32 pgno, u16 flags, big-endian), and a frame's least
** size: that and the u32 block size of a sized LZ4 block. */
#define LSVFS_PAGE_HEADER_SIZE 6
#define LSVFS_FRAME_HEADER_SIZE 10

/* The page-header flag of a frame whose payload is a sized LZ4 block. */
#define LSVFS_PAGE_FLAG_SIZE 0x01

/* Room first offered for a local map, in bytes (a bigger one is asked again). */
#define LSVFS_LOCAL_MAP_GUESS (64 * 1024)

/* Oldest SQLite with every routine the shim uses (sqlite3_uri_key). */
#define LSVFS_MIN_SQLITE 3031000

/* Largest cache_size accepted: 2^60 bytes (more than any address space). */
#define LSVFS_MAX_CACHE_BYTES ((sqlite3_int64)1 << 60)

/*
******************************************************************************
** Engine port
******************************************************************************
*/

/*
** An engine port: where the methods of a main-database file go. The members
** after zName are in the order lsvfs_host_install() takes them.
*/
typedef struct LsvfsPort LsvfsPort;
struct LsvfsPort {
  const char *zName; /* "host" or "pipe", for log messages */
  int (*xOpen)(const char *zName, const char *aParams, int nParams,
               int *pFileId, int *pPageSize, int *pFlags);
  int (*xClose)(int iFile, const sqlite3_uint64 *aStat, int nStat);
  int (*xBeginRead)(int iFile, sqlite3_uint64 *pVersion,
                    unsigned int *pLocal, sqlite3_int64 *pSize);
  int (*xEndRead)(int iFile);
  int (*xFileSize)(int iFile, sqlite3_int64 *pSize);
  int (*xReadPages)(int iFile, unsigned int pgno, int nMax, void *pBuf,
                    unsigned int *pFirst, int *pnPages);
  int (*xErrorMessage)(char *zBuf, int nBuf);
  int (*xPragma)(int iFile, const char *zName, const char *zValue,
                 char *zOut, int nOut, int *pnOut);
  int (*xLocalMap)(int iFile, unsigned char *aBuf, int nBuf, int *pnMap);
  int (*xWriteLock)(int iFile, int eLock);
  int (*xWrite)(int iFile, sqlite3_int64 iOfst, const void *aData, int nData);
  int (*xTruncate)(int iFile, sqlite3_int64 iSize);
  int (*xCommit)(int iFile, sqlite3_uint64 *pVersion);
};

/*
** A host port and its bookkeeping: one per thread that installed one (see
** tLsvfsHost). Never freed (a file holds a pointer to its port until it
** closes, and the struct is small); one its thread uninstalled is free for
** the next thread that installs.
*/
typedef struct LsvfsHost LsvfsHost;
struct LsvfsHost {
  int bInUse;              /* True while a thread's tLsvfsHost points here */
  int bInstalled;          /* True while port holds the thread's functions */
  int nUser;               /* Files open (or opening) through port */
  LsvfsPort port;          /* The host port */
  sqlite3_uint64 aClosedStat[LSVFS_NSTAT]; /* Counters of its closed files */
  LsvfsHost *pNext;        /* Next host of any thread (gLsvfs.pHosts) */
};

/*
******************************************************************************
** Pipe port
******************************************************************************
*/

/* Wire operation codes (the first byte of a request). */
#define LSVFS_OP_OPEN 1
#define LSVFS_OP_CLOSE 2
#define LSVFS_OP_BEGIN_READ 3
#define LSVFS_OP_END_READ 4
#define LSVFS_OP_FILE_SIZE 5
#define LSVFS_OP_READ_PAGES 6
#define LSVFS_OP_PRAGMA 7
#define LSVFS_OP_LOCAL_MAP 8
#define LSVFS_OP_WRITE_LOCK 9
#define LSVFS_OP_WRITE 10
#define LSVFS_OP_TRUNCATE 11
#define LSVFS_OP_COMMIT 12

/* Largest message body either side accepts, in bytes. */
#define LSVFS_WIRE_MAX (16 * 1024 * 1024)

/* How long the client waits for one answer when LSVFS_ENGINE_TIMEOUT_MS is
** unset, in milliseconds. */
#define LSVFS_PIPE_TIMEOUT_MS 60000

/* How long a child that closed its end is given to exit before SIGKILL. */
#define LSVFS_PIPE_EXIT_GRACE_MS 500

/* The launcher's file name, beside the library and on PATH. */
#define LSVFS_LAUNCHER "lsvfs"

/* One file opened through the pipe port; its local id is its index + 1. */
typedef struct LsvfsPipeSlot LsvfsPipeSlot;
struct LsvfsPipeSlot {
  int bUsed;               /* True while the file is open */
  sqlite3_uint64 iGen;     /* Generation of the child that opened it */
  int iRemote;             /* The child's id for the file */
  int szPage;              /* Page size the child reported */
};

/*
** The pipe port's process-wide state, guarded by SQLITE_MUTEX_STATIC_VFS3
** (lsvfsPipeEnter), which is also held for each whole request and answer,
** so one request at a time is in flight per process.
*/
static struct {
  pid_t pid;               /* The engine child, or 0 if none */
  pid_t owner;             /* getpid() when it started (not ours after fork) */
  int fd;                  /* The client's end of the socket pair, or -1 */
  int msTimeout;           /* Wait for one answer at most this long */
  sqlite3_uint64 iGen;     /* Generation of the current child, from 1 */
  LsvfsPipeSlot *aSlot;    /* Open files, by local id - 1 */
  int nSlot;               /* Size of aSlot */
  unsigned char *aBuf;     /* Message buffer: requests, then answers */
  size_t nBuf;             /* Bytes allocated at aBuf */
  size_t nMsg;             /* Bytes of the message in aBuf */
  int nUnread;             /* Answers sent for but not read (end_read) */
  char zDeath[LSVFS_ERRMSG_SIZE]; /* How the last child ended, or "" */
  char zLibPath[PATH_MAX]; /* This library's absolute path, or "" */
} gLsvfsPipe = { 0, 0, -1, 0, 0, 0, 0, 0, 0, 0, 0, "", "" };

/* The last pipe port error of this thread, for error_message. */
static _Thread_local char tLsvfsPipeErr[LSVFS_ERRMSG_SIZE];

/* Enters the pipe port's mutex. */
static void lsvfsPipeEnter(void){
  sqlite3_mutex_enter(sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS3));
}

/* Leaves the pipe port's mutex. */
static void lsvfsPipeLeave(void){
  sqlite3_mutex_leave(sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS3));
}

/* Sets this thread's error message (printf-style). */
static void lsvfsPipeSetError(const char *zFormat, ...){
  va_list ap;
  va_start(ap, zFormat);
  sqlite3_vsnprintf((int)sizeof(tLsvfsPipeErr), tLsvfsPipeErr, zFormat, ap);
  va_end(ap);
}

/*
** Reports this thread's error, which ends the child or keeps one from
** starting, to sqlite3_log and to standard error: clients show only
** "disk I/O error" or "unable to open database file", and the child's own
** messages go to the same standard error.
*/
static void lsvfsPipeReport(int rc){
  size_t n = strlen(tLsvfsPipeErr);
  sqlite3_log(rc, "%s", tLsvfsPipeErr);
  if( write(2, tLsvfsPipeErr, n)==(ssize_t)n ) (void)!write(2, "\n", 1);
}

/* Milliseconds on a monotonic clock. */
static sqlite3_int64 lsvfsPipeNowMs(void){
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (sqlite3_int64)ts.tv_sec*1000 + ts.tv_nsec/1000000;
}

/* Little-endian codec of the wire format. */
static void lsvfsPut32(unsigned char *a, sqlite3_uint64 v){
  a[0] = (unsigned char)v; a[1] = (unsigned char)(v>>8);
  a[2] = (unsigned char)(v>>16); a[3] = (unsigned char)(v>>24);
}
static void lsvfsPut64(unsigned char *a, sqlite3_uint64 v){
  lsvfsPut32(a, v & 0xffffffff);
  lsvfsPut32(a+4, v>>32);
}
static sqlite3_uint64 lsvfsGet32(const unsigned char *a){
  return (sqlite3_uint64)a[0] | ((sqlite3_uint64)a[1]<<8)
       | ((sqlite3_uint64)a[2]<<16) | ((sqlite3_uint64)a[3]<<24);
}
static sqlite3_uint64 lsvfsGetBE32(const unsigned char *a){
  return ((sqlite3_uint64)a[0]<<24) | ((sqlite3_uint64)a[1]<<16)
       | ((sqlite3_uint64)a[2]<<8) | (sqlite3_uint64)a[3];
}
static sqlite3_uint64 lsvfsGet64(const unsigned char *a){
  return lsvfsGet32(a) | (lsvfsGet32(a+4)<<32);
}

/*
** Makes room for a message body of n bytes after its 4-byte length in
** gLsvfsPipe.aBuf and returns the body's first byte, or NULL on OOM.
*/
static unsigned char *lsvfsPipeBody(size_t n){
  if( n+4>gLsvfsPipe.nBuf ){
    unsigned char *aNew = sqlite3_realloc64(gLsvfsPipe.aBuf, n+4);
    if( aNew==0 ) return 0;
    gLsvfsPipe.aBuf = aNew;
    gLsvfsPipe.nBuf = n+4;
  }
  gLsvfsPipe.nMsg = n;
  return gLsvfsPipe.aBuf + 4;
}

/*
** Waits (poll) until the socket is ready for eEvent or the deadline passes.
** 0 when ready, 1 on timeout, -1 on a poll error.
*/
static int lsvfsPipeWait(short eEvent, sqlite3_int64 iDeadline){
  for(;;){
    struct pollfd pfd;
    sqlite3_int64 ms = iDeadline - lsvfsPipeNowMs();
    int n;
    if( ms<0 ) ms = 0;
    pfd.fd = gLsvfsPipe.fd;
    pfd.events = eEvent;
    pfd.revents = 0;
    n = poll(&pfd, 1, ms>INT_MAX ? INT_MAX : (int)ms);
    if( n>0 ) return 0;
    if( n==0 ) return 1;
    if( errno!=EINTR ) return -1;
  }
}

/* Result of a transfer on the socket. */
#define LSVFS_XFER_OK 0       /* all bytes moved */
#define LSVFS_XFER_CLOSED 1   /* end of file, EPIPE or ECONNRESET */
#define LSVFS_XFER_TIMEOUT 2  /* the deadline passed */
#define LSVFS_XFER_ERROR 3    /* another error: errno says */

/* Sends n bytes at a (never raising SIGPIPE). */
static int lsvfsPipeSend(const unsigned char *a, size_t n,
                         sqlite3_int64 iDeadline){
  while( n>0 ){
    ssize_t k;
    int rc = lsvfsPipeWait(POLLOUT, iDeadline);
    if( rc ) return rc>0 ? LSVFS_XFER_TIMEOUT : LSVFS_XFER_ERROR;
#ifdef MSG_NOSIGNAL
    k = send(gLsvfsPipe.fd, a, n, MSG_NOSIGNAL);
#else
    k = send(gLsvfsPipe.fd, a, n, 0);   /* SO_NOSIGPIPE is set */
#endif
    if( k<0 ){
      if( errno==EINTR || errno==EAGAIN ) continue;
      return errno==EPIPE || errno==ECONNRESET
           ? LSVFS_XFER_CLOSED : LSVFS_XFER_ERROR;
    }
    a += k;
    n -= (size_t)k;
  }
  return LSVFS_XFER_OK;
}

/* Receives exactly n bytes into a. */
static int lsvfsPipeRecv(unsigned char *a, size_t n, sqlite3_int64 iDeadline){
  while( n>0 ){
    ssize_t k;
    int rc = lsvfsPipeWait(POLLIN, iDeadline);
    if( rc ) return rc>0 ? LSVFS_XFER_TIMEOUT : LSVFS_XFER_ERROR;
    k = recv(gLsvfsPipe.fd, a, n, 0);
    if( k==0 ) return LSVFS_XFER_CLOSED;
    if( k<0 ){
      if( errno==EINTR || errno==EAGAIN ) continue;
      return errno==ECONNRESET ? LSVFS_XFER_CLOSED : LSVFS_XFER_ERROR;
    }
    a += k;
    n -= (size_t)k;
  }
  return LSVFS_XFER_OK;
}

/*
** Ends the current child: closes the socket, kills the child if bKill (or
** if it does not exit within LSVFS_PIPE_EXIT_GRACE_MS), reaps it, and
** records in gLsvfsPipe.zDeath, and this thread's error, zWhy followed by
** how it ended. Files it served fail from now on (their generation is gone).
*/
static void lsvfsPipeStop(const char *zWhy, int bKill){
  pid_t pid = gLsvfsPipe.pid;
  char zHow[128];
  zHow[0] = 0;
  if( gLsvfsPipe.fd>=0 ) close(gLsvfsPipe.fd);
  gLsvfsPipe.fd = -1;
  gLsvfsPipe.pid = 0;
  gLsvfsPipe.nUnread = 0;
  if( pid>0 ){
    int status = 0;
    pid_t r;
    sqlite3_int64 iGiveUp = lsvfsPipeNowMs() + LSVFS_PIPE_EXIT_GRACE_MS;
    if( bKill ) kill(pid, SIGKILL);
    while( (r = waitpid(pid, &status, WNOHANG))==0 ){
      if( lsvfsPipeNowMs()>=iGiveUp ){
        kill(pid, SIGKILL);
        r = waitpid(pid, &status, 0);
        break;
      }
      poll(0, 0, 10);
    }
    while( r<0 && errno==EINTR ) r = waitpid(pid, &status, 0);
    if( r==pid && WIFEXITED(status) ){
      sqlite3_snprintf((int)sizeof(zHow), zHow, " and exited with status %d",
                       WEXITSTATUS(status));
    }else if( r==pid && WIFSIGNALED(status) ){
      sqlite3_snprintf((int)sizeof(zHow), zHow, " and was killed by signal %d",
                       WTERMSIG(status));
    }
  }
  sqlite3_snprintf((int)sizeof(gLsvfsPipe.zDeath), gLsvfsPipe.zDeath,
                   "litestream: the engine process (pid %d) %s%s",
                   (int)pid, zWhy, zHow);
  lsvfsPipeSetError("%s", gLsvfsPipe.zDeath);
  lsvfsPipeReport(SQLITE_IOERR);
}

/* Moves fd above the standard descriptors (close-on-exec); -1 on error. */
static int lsvfsPipeHighFd(int fd){
  int fd2;
  if( fd>2 ) return fd;
  fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return fd2;
}

/* A socket pair, both ends close-on-exec, above fd 2, and never SIGPIPE. */
static int lsvfsPipeSocketPair(int *aFd){
  int i;
#ifdef SOCK_CLOEXEC
  if( socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, aFd) ) return -1;
#else
  /* A thread that forks between these two calls leaks the fds into its
  ** child; there is no atomic form on this platform. */
  if( socketpair(AF_UNIX, SOCK_STREAM, 0, aFd) ) return -1;
  fcntl(aFd[0], F_SETFD, FD_CLOEXEC);
  fcntl(aFd[1], F_SETFD, FD_CLOEXEC);
#endif
  for(i=0; i<2; i++){
#ifdef SO_NOSIGPIPE
    int one = 1;
    setsockopt(aFd[i], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
    aFd[i] = lsvfsPipeHighFd(aFd[i]);
  }
  if( aFd[0]<0 || aFd[1]<0 ){
    if( aFd[0]>=0 ) close(aFd[0]);
    if( aFd[1]>=0 ) close(aFd[1]);
    return -1;
  }
  return 0;
}

/* The process's environment, for the child. */
static char **lsvfsEnviron(void){
#ifdef __APPLE__
  return *_NSGetEnviron();
#else
  return environ;
#endif
}

/*
** Starts the engine child: LITESTREAM_VFS_ENGINE if set, else the launcher
** beside the library, else "lsvfs" on PATH, with the argument "engine" and
** the socket on its stdin and stdout. SQLITE_OK, or SQLITE_CANTOPEN with
** this thread's error set.
*/
static int lsvfsPipeStart(void){
  static const int aSigDefault[] = {
    SIGPIPE, SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGCHLD, SIGTTIN, SIGTTOU,
    SIGUSR1, SIGUSR2
  };
  const char *zEnv = getenv("LITESTREAM_VFS_ENGINE");
  const char *zTimeout = getenv("LSVFS_ENGINE_TIMEOUT_MS");
  char zBeside[PATH_MAX];
  const char *zCmd = LSVFS_LAUNCHER;
  char *azArgv[3];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t sigs;
  pid_t pid = 0;
  int aFd[2];
  int err;
  size_t i;

  zBeside[0] = 0;
  if( zEnv && zEnv[0] ){
    zCmd = zEnv;
  }else if( gLsvfsPipe.zLibPath[0] ){
    char *zSlash;
    sqlite3_snprintf((int)sizeof(zBeside), zBeside, "%s", gLsvfsPipe.zLibPath);
    zSlash = strrchr(zBeside, '/');
    if( zSlash ){
      sqlite3_snprintf((int)(sizeof(zBeside) - (size_t)(zSlash+1-zBeside)),
                       zSlash+1, "%s", LSVFS_LAUNCHER);
      if( access(zBeside, X_OK)==0 ) zCmd = zBeside;
    }
  }
  gLsvfsPipe.msTimeout = LSVFS_PIPE_TIMEOUT_MS;
  if( zTimeout && zTimeout[0]>='1' && zTimeout[0]<='9' ){
    sqlite3_int64 ms = 0;
    for(; *zTimeout>='0' && *zTimeout<='9' && ms<=INT_MAX; zTimeout++){
      ms = ms*10 + (*zTimeout - '0');
    }
    gLsvfsPipe.msTimeout = ms>INT_MAX ? INT_MAX : (int)ms;
  }
  if( lsvfsPipeSocketPair(aFd) ){
    lsvfsPipeSetError("litestream: cannot start the engine process: "
                      "socketpair: %s", strerror(errno));
    lsvfsPipeReport(SQLITE_CANTOPEN);
    return SQLITE_CANTOPEN;
  }
  azArgv[0] = (char*)zCmd;
  azArgv[1] = (char*)"engine";
  azArgv[2] = 0;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, aFd[1], 0);
  posix_spawn_file_actions_adddup2(&fa, aFd[1], 1);
  posix_spawnattr_init(&attr);
  /* Its own process group, so a Ctrl-C meant for the client's query does
  ** not kill it; default dispositions and no blocked signals, whatever the
  ** client (Python ignores SIGPIPE) has set. */
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP
                           | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigemptyset(&sigs);
  posix_spawnattr_setsigmask(&attr, &sigs);
  for(i=0; i<sizeof(aSigDefault)/sizeof(aSigDefault[0]); i++){
    sigaddset(&sigs, aSigDefault[i]);
  }
  posix_spawnattr_setsigdefault(&attr, &sigs);
  if( strchr(zCmd, '/') ){
    err = posix_spawn(&pid, zCmd, &fa, &attr, azArgv, lsvfsEnviron());
  }else{
    err = posix_spawnp(&pid, zCmd, &fa, &attr, azArgv, lsvfsEnviron());
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(aFd[1]);
  if( err ){
    close(aFd[0]);
    lsvfsPipeSetError("litestream: cannot start the engine process \"%s "
        "engine\": %s (run \"deno task build-ext\" to write %s beside the "
        "library, put lsvfs on PATH, or set LITESTREAM_VFS_ENGINE)",
        zCmd, strerror(err), LSVFS_LAUNCHER);
    lsvfsPipeReport(SQLITE_CANTOPEN);
    return SQLITE_CANTOPEN;
  }
  gLsvfsPipe.pid = pid;
  gLsvfsPipe.owner = getpid();
  gLsvfsPipe.fd = aFd[0];
  gLsvfsPipe.iGen++;
  gLsvfsPipe.zDeath[0] = 0;
  return SQLITE_OK;
}

/*
** Forgets a child inherited through fork(): it belongs to the parent, which
** still talks to it. Our copy of the socket closes; the files opened before
** the fork fail, and the next open starts a child of this process.
*/
static void lsvfsPipeCheckFork(void){
  if( gLsvfsPipe.pid>0 && gLsvfsPipe.owner!=getpid() ){
    close(gLsvfsPipe.fd);
    gLsvfsPipe.fd = -1;
    gLsvfsPipe.pid = 0;
    gLsvfsPipe.iGen++;
    sqlite3_snprintf((int)sizeof(gLsvfsPipe.zDeath), gLsvfsPipe.zDeath,
        "litestream: the engine process belongs to the parent of this "
        "forked process: reopen the database");
  }
}

/*
** Stops a child whose transfer (LSVFS_XFER_* rc) failed, with the reason
** as this thread's error, and returns ioerr.
*/
static int lsvfsPipeXferFailed(int rc, int ioerr){
  char zWhy[96];
  if( rc==LSVFS_XFER_CLOSED ){
    lsvfsPipeStop("closed its pipe", 0);
  }else if( rc==LSVFS_XFER_TIMEOUT ){
    sqlite3_snprintf((int)sizeof(zWhy), zWhy, "did not answer within %d ms "
                     "(LSVFS_ENGINE_TIMEOUT_MS)",
                     gLsvfsPipe.msTimeout);
    lsvfsPipeStop(zWhy, 1);
  }else{
    sqlite3_snprintf((int)sizeof(zWhy), zWhy, "could not be reached (%s)",
                     strerror(errno));
    lsvfsPipeStop(zWhy, 1);
  }
  return ioerr;
}

/*
** Sends the request in gLsvfsPipe.aBuf (nMsg bytes after its length).
** Returns SQLITE_OK, or ioerr once the child is stopped.
*/
static int lsvfsPipeSendRequest(int ioerr, sqlite3_int64 iDeadline){
  int rc;
  lsvfsPut32(gLsvfsPipe.aBuf, gLsvfsPipe.nMsg);
  rc = lsvfsPipeSend(gLsvfsPipe.aBuf, gLsvfsPipe.nMsg+4, iDeadline);
  return rc==LSVFS_XFER_OK ? SQLITE_OK : lsvfsPipeXferFailed(rc, ioerr);
}

/*
** Reads one answer into gLsvfsPipe.aBuf (body from aBuf+4, nMsg bytes).
** Returns SQLITE_OK, SQLITE_NOMEM, or ioerr once the child is stopped.
*/
static int lsvfsPipeRecvAnswer(int ioerr, sqlite3_int64 iDeadline){
  size_t n;
  int rc = lsvfsPipeRecv(gLsvfsPipe.aBuf, 4, iDeadline);
  if( rc==LSVFS_XFER_OK ){
    n = (size_t)lsvfsGet32(gLsvfsPipe.aBuf);
    if( n<4 || n>LSVFS_WIRE_MAX ){
      lsvfsPipeStop("sent a malformed answer", 1);
      return ioerr;
    }
    if( lsvfsPipeBody(n)==0 ){
      lsvfsPipeStop("could not be answered (out of memory)", 1);
      return SQLITE_NOMEM;
    }
    rc = lsvfsPipeRecv(gLsvfsPipe.aBuf+4, n, iDeadline);
  }
  return rc==LSVFS_XFER_OK ? SQLITE_OK : lsvfsPipeXferFailed(rc, ioerr);
}

/*
** Sends the request in gLsvfsPipe.aBuf (its body prepared by lsvfsPipeBody)
** and reads the answer into it: on SQLITE_OK, the answer's body is at
** aBuf+4, gLsvfsPipe.nMsg bytes, and begins with the engine's result code.
** First come the answers to earlier end_read requests, which are not
** waited for when they are sent (one round trip less per transaction); a
** failed one is logged here. A dead, hung or garbled child is stopped and
** the call returns ioerr with this thread's error set. Called inside
** lsvfsPipeEnter().
*/
static int lsvfsPipeRoundTrip(int ioerr){
  sqlite3_int64 iDeadline = lsvfsPipeNowMs() + gLsvfsPipe.msTimeout;
  int rc = lsvfsPipeSendRequest(ioerr, iDeadline);
  while( rc==SQLITE_OK && gLsvfsPipe.nUnread>0 ){
    rc = lsvfsPipeRecvAnswer(ioerr, iDeadline);
    if( rc!=SQLITE_OK ) break;
    gLsvfsPipe.nUnread--;
    if( gLsvfsPipe.nMsg>=4 && lsvfsGet32(gLsvfsPipe.aBuf+4)!=SQLITE_OK ){
      sqlite3_log(SQLITE_IOERR_UNLOCK, "litestream: end read failed: %.*s",
                  (int)(gLsvfsPipe.nMsg-4), (const char*)gLsvfsPipe.aBuf+8);
    }
  }
  if( rc==SQLITE_OK ) rc = lsvfsPipeRecvAnswer(ioerr, iDeadline);
  return rc;
}

/*
** The result code at the start of an answer. A failure's message (the rest
** of the body) becomes this thread's error.
*/
static int lsvfsPipeResult(void){
  const unsigned char *a = gLsvfsPipe.aBuf + 4;
  int rc = (int)(unsigned int)lsvfsGet32(a);
  if( rc!=SQLITE_OK && rc!=SQLITE_NOTFOUND ){
    lsvfsPipeSetError("%.*s", (int)(gLsvfsPipe.nMsg-4), (const char*)a+4);
  }
  return rc;
}

/*
** The slot of local file id iFile if its child still runs, else NULL with
** this thread's error set (how the child ended).
*/
static LsvfsPipeSlot *lsvfsPipeLive(int iFile){
  LsvfsPipeSlot *pSlot;
  lsvfsPipeCheckFork();
  if( iFile<1 || iFile>gLsvfsPipe.nSlot || !gLsvfsPipe.aSlot[iFile-1].bUsed ){
    lsvfsPipeSetError("litestream: unknown file id %d", iFile);
    return 0;
  }
  pSlot = &gLsvfsPipe.aSlot[iFile-1];
  if( pSlot->iGen!=gLsvfsPipe.iGen || gLsvfsPipe.pid==0 ){
    lsvfsPipeSetError("%s", gLsvfsPipe.zDeath[0] ? gLsvfsPipe.zDeath
                      : "litestream: the engine process exited");
    return 0;
  }
  return pSlot;
}

/*
** Starts a request on file iFile: op and the remote id, then nExtra bytes
** for the caller to fill. Returns the first of those bytes, or NULL with
** *pRc set (a dead child: ioerr; OOM).
*/
static unsigned char *lsvfsPipeFileRequest(int iFile, int op, size_t nExtra,
                                           int ioerr, int *pRc){
  LsvfsPipeSlot *pSlot = lsvfsPipeLive(iFile);
  unsigned char *a;
  if( pSlot==0 ){
    *pRc = ioerr;
    return 0;
  }
  a = lsvfsPipeBody(5 + nExtra);
  if( a==0 ){
    *pRc = SQLITE_NOMEM;
    return 0;
  }
  a[0] = (unsigned char)op;
  lsvfsPut32(a+1, (sqlite3_uint64)pSlot->iRemote);
  return a+5;
}

/*
** A call whose answer is a result code and nOut more bytes on success:
** sends the request prepared by lsvfsPipeFileRequest(), checks the answer's
** size. Returns the engine's code; on SQLITE_OK the nOut bytes are at
** aBuf+8.
*/
static int lsvfsPipeFileCall(size_t nOut, int ioerr){
  int rc = lsvfsPipeRoundTrip(ioerr);
  if( rc!=SQLITE_OK ) return rc;
  rc = lsvfsPipeResult();
  if( rc==SQLITE_OK && gLsvfsPipe.nMsg<4+nOut ){
    lsvfsPipeStop("sent a malformed answer", 1);
    return ioerr;
  }
  return rc;
}

/* open: starts the child if none runs, and once more if it was found dead. */
static int lsvfsPipeOpen(const char *zName, const char *aParams, int nParams,
                         int *pFileId, int *pPageSize, int *pFlags){
  size_t nName = strlen(zName);
  int iSlot;
  int nTry;
  int rc = SQLITE_OK;
  lsvfsPipeEnter();
  lsvfsPipeCheckFork();
  for(iSlot=0; iSlot<gLsvfsPipe.nSlot && gLsvfsPipe.aSlot[iSlot].bUsed;
      iSlot++){}
  if( iSlot==gLsvfsPipe.nSlot ){
    int nNew = gLsvfsPipe.nSlot ? gLsvfsPipe.nSlot*2 : 8;
    LsvfsPipeSlot *aNew = sqlite3_realloc64(gLsvfsPipe.aSlot,
        sizeof(LsvfsPipeSlot) * (sqlite3_uint64)nNew);
    if( aNew==0 ){
      lsvfsPipeLeave();
      return SQLITE_NOMEM;
    }
    memset(aNew+gLsvfsPipe.nSlot, 0,
           sizeof(LsvfsPipeSlot) * (size_t)(nNew-gLsvfsPipe.nSlot));
    gLsvfsPipe.aSlot = aNew;
    gLsvfsPipe.nSlot = nNew;
  }
  for(nTry=0; nTry<2; nTry++){
    int bFresh = gLsvfsPipe.pid==0;
    unsigned char *a;
    if( bFresh ){
      rc = lsvfsPipeStart();
      if( rc!=SQLITE_OK ) break;
    }
    a = lsvfsPipeBody(5 + nName + (size_t)nParams);
    if( a==0 ){
      rc = SQLITE_NOMEM;
      break;
    }
    a[0] = LSVFS_OP_OPEN;
    lsvfsPut32(a+1, nName);
    memcpy(a+5, zName, nName);
    if( nParams>0 ) memcpy(a+5+nName, aParams, (size_t)nParams);
    rc = lsvfsPipeRoundTrip(SQLITE_CANTOPEN);
    if( rc==SQLITE_OK ) break;
    /* A child that died while idle: one more try with a new one. */
    if( bFresh || rc==SQLITE_NOMEM ) break;
  }
  if( rc==SQLITE_OK ){
    rc = lsvfsPipeResult();
    if( rc==SQLITE_OK && gLsvfsPipe.nMsg<16 ){
      lsvfsPipeStop("sent a malformed answer", 1);
      rc = SQLITE_CANTOPEN;
    }
  }
  if( rc==SQLITE_OK ){
    LsvfsPipeSlot *pSlot = &gLsvfsPipe.aSlot[iSlot];
    pSlot->bUsed = 1;
    pSlot->iGen = gLsvfsPipe.iGen;
    pSlot->iRemote = (int)lsvfsGet32(gLsvfsPipe.aBuf+8);
    pSlot->szPage = (int)lsvfsGet32(gLsvfsPipe.aBuf+12);
    *pFileId = iSlot+1;
    *pPageSize = pSlot->szPage;
    *pFlags = (int)lsvfsGet32(gLsvfsPipe.aBuf+16);
  }
  lsvfsPipeLeave();
  return rc;
}

/* close: always frees the slot; a file of a dead child closes quietly. */
static int lsvfsPipeClose(int iFile, const sqlite3_uint64 *aStat, int nStat){
  int rc = SQLITE_OK;
  unsigned char *a;
  int i;
  lsvfsPipeEnter();
  if( aStat==0 ) nStat = 0;
  a = lsvfsPipeFileRequest(iFile, LSVFS_OP_CLOSE, 4 + 8*(size_t)nStat,
                           SQLITE_IOERR_CLOSE, &rc);
  if( a ){
    lsvfsPut32(a, (sqlite3_uint64)nStat);
    for(i=0; i<nStat; i++) lsvfsPut64(a+4+8*i, aStat[i]);
    rc = lsvfsPipeFileCall(0, SQLITE_IOERR_CLOSE);
    /* A child found dead now: the file is gone with it, closed. */
    if( gLsvfsPipe.pid==0 ) rc = SQLITE_OK;
  }else if( rc!=SQLITE_NOMEM ){
    rc = SQLITE_OK;
  }
  if( iFile>=1 && iFile<=gLsvfsPipe.nSlot ){
    memset(&gLsvfsPipe.aSlot[iFile-1], 0, sizeof(LsvfsPipeSlot));
  }
  lsvfsPipeLeave();
  return rc;
}

/* begin_read: the view version is a u64. */
static int lsvfsPipeBeginRead(int iFile, sqlite3_uint64 *pVersion,
                              unsigned int *pLocal, sqlite3_int64 *pSize){
  int rc = SQLITE_OK;
  lsvfsPipeEnter();
  if( lsvfsPipeFileRequest(iFile, LSVFS_OP_BEGIN_READ, 0,
                           SQLITE_IOERR_RDLOCK, &rc) ){
    rc = lsvfsPipeFileCall(20, SQLITE_IOERR_RDLOCK);
    if( rc==SQLITE_OK ){
      *pVersion = lsvfsGet64(gLsvfsPipe.aBuf+8);
      *pLocal = (unsigned int)lsvfsGet32(gLsvfsPipe.aBuf+16);
      *pSize = (sqlite3_int64)lsvfsGet64(gLsvfsPipe.aBuf+20);
    }
  }
  lsvfsPipeLeave();
  return rc;
}

/* end_read */
static int lsvfsPipeEndRead(int iFile){
  int rc = SQLITE_OK;
  lsvfsPipeEnter();
  if( lsvfsPipeFileRequest(iFile, LSVFS_OP_END_READ, 0,
                           SQLITE_IOERR_UNLOCK, &rc) ){
    /* Sent, not waited for: the next round trip reads its answer. */
    rc = lsvfsPipeSendRequest(SQLITE_IOERR_UNLOCK,
                              lsvfsPipeNowMs() + gLsvfsPipe.msTimeout);
    if( rc==SQLITE_OK ) gLsvfsPipe.nUnread++;
  }
  lsvfsPipeLeave();
  return rc;
}

/* file_size: the size is an i64. */
static int lsvfsPipeFileSize(int iFile, sqlite3_int64 *pSize){
  int rc = SQLITE_OK;
  lsvfsPipeEnter();
  if( lsvfsPipeFileRequest(iFile, LSVFS_OP_FILE_SIZE, 0,
                           SQLITE_IOERR_FSTAT, &rc) ){
    rc = lsvfsPipeFileCall(8, SQLITE_IOERR_FSTAT);
    if( rc==SQLITE_OK ){
      *pSize = (sqlite3_int64)lsvfsGet64(gLsvfsPipe.aBuf+8);
    }
  }
  lsvfsPipeLeave();
  return rc;
}

/*
** read_pages: the answer carries first, count and count whole pages, which
** must fit pBuf (nMax pages of the size the child reported at open).
*/
static int lsvfsPipeReadPages(int iFile, unsigned int pgno, int nMax,
                              void *pBuf, unsigned int *pFirst,
                              int *pnPages){
  int rc = SQLITE_OK;
  unsigned char *a;
  lsvfsPipeEnter();
  a = lsvfsPipeFileRequest(iFile, LSVFS_OP_READ_PAGES, 8, SQLITE_IOERR_READ,
                           &rc);
  if( a ){
    lsvfsPut32(a, pgno);
    lsvfsPut32(a+4, (sqlite3_uint64)nMax);
    rc = lsvfsPipeFileCall(8, SQLITE_IOERR_READ);
  }
  if( a && rc==SQLITE_OK ){
    /* The slot still holds: nothing but a stop frees it, and that fails
    ** the call above. */
    size_t szPage = (size_t)gLsvfsPipe.aSlot[iFile-1].szPage;
    sqlite3_uint64 nPage = lsvfsGet32(gLsvfsPipe.aBuf+12);
    if( nPage>(sqlite3_uint64)nMax
     || gLsvfsPipe.nMsg!=12 + nPage*szPage ){
      lsvfsPipeStop("sent a malformed answer", 1);
      rc = SQLITE_IOERR_READ;
    }else{
      *pFirst = (unsigned int)lsvfsGet32(gLsvfsPipe.aBuf+8);
      *pnPages = (int)nPage;
      memcpy(pBuf, gLsvfsPipe.aBuf+16, (size_t)nPage*szPage);
    }
  }
  lsvfsPipeLeave();
  return rc;
}

/* error_message: this thread's last pipe port error; no round trip. */
static int lsvfsPipeErrorMessage(char *zBuf, int nBuf){
  if( nBuf<=0 ) return 0;
  sqlite3_snprintf(nBuf, zBuf, "%s", tLsvfsPipeErr);
  return (int)strlen(zBuf);
}

/* pragma: name and optional value out; an optional result back. */
static int lsvfsPipePragma(int iFile, const char *zName, const char *zValue,
                           char *zOut, int nOut, int *pnOut){
  size_t nName = strlen(zName);
  size_t nValue = zValue ? strlen(zValue) : 0;
  int rc = SQLITE_OK;
  unsigned char *a;
  lsvfsPipeEnter();
  a = lsvfsPipeFileRequest(iFile, LSVFS_OP_PRAGMA,
                           5 + nName + (zValue ? 4 + nValue : 0),
                           SQLITE_IOERR, &rc);
  if( a ){
    a[0] = zValue ? 1 : 0;
    lsvfsPut32(a+1, nName);
    memcpy(a+5, zName, nName);
    if( zValue ){
      lsvfsPut32(a+5+nName, nValue);
      memcpy(a+9+nName, zValue, nValue);
    }
    rc = lsvfsPipeFileCall(1, SQLITE_IOERR);
  }
  if( a && rc==SQLITE_OK ){
    const unsigned char *aRes = gLsvfsPipe.aBuf + 8;
    if( aRes[0]==0 ){
      *pnOut = -1;
    }else{
      size_t nRes = gLsvfsPipe.nMsg - 5;
      size_t nCopy = nRes<(size_t)nOut ? nRes : (size_t)nOut-1;
      if( nOut>0 ){
        memcpy(zOut, aRes+1, nCopy);
        zOut[nCopy] = 0;
      }
      *pnOut = nRes>INT_MAX ? INT_MAX : (int)nRes;
    }
  }
  lsvfsPipeLeave();
  return rc;
}

/*
** A local map too big for the buffer it was asked with, kept until asked
** again (with room for it), so the engine encodes and sends it once.
** Guarded by lsvfsPipeEnter().
*/
static struct {
  int iFile;               /* The file it belongs to; 0 for none */
  unsigned char *a;        /* The map */
  size_t n;                /* Its length */
} gLsvfsPipeMap;

/* local_map: the map the engine sends, whole, or its length if it does
** not fit in nBuf bytes. */
static int lsvfsPipeLocalMap(int iFile, unsigned char *aBuf, int nBuf,
                             int *pnMap){
  int rc = SQLITE_OK;
  lsvfsPipeEnter();
  if( gLsvfsPipeMap.iFile!=iFile ){
    sqlite3_free(gLsvfsPipeMap.a);
    gLsvfsPipeMap.a = 0;
    gLsvfsPipeMap.iFile = 0;
    if( lsvfsPipeFileRequest(iFile, LSVFS_OP_LOCAL_MAP, 0, SQLITE_IOERR_READ,
                             &rc) ){
      rc = lsvfsPipeFileCall(0, SQLITE_IOERR_READ);
    }
    if( rc==SQLITE_OK ){
      size_t n = gLsvfsPipe.nMsg - 4;
      gLsvfsPipeMap.a = sqlite3_malloc64((sqlite3_uint64)n + 1);
      if( gLsvfsPipeMap.a==0 ){
        rc = SQLITE_NOMEM;
      }else{
        memcpy(gLsvfsPipeMap.a, gLsvfsPipe.aBuf+8, n);
        gLsvfsPipeMap.n = n;
        gLsvfsPipeMap.iFile = iFile;
      }
    }
  }
  if( rc==SQLITE_OK ){
    *pnMap = gLsvfsPipeMap.n>INT_MAX ? INT_MAX : (int)gLsvfsPipeMap.n;
    if( gLsvfsPipeMap.n<=(size_t)nBuf ){
      if( gLsvfsPipeMap.n>0 ) memcpy(aBuf, gLsvfsPipeMap.a, gLsvfsPipeMap.n);
      sqlite3_free(gLsvfsPipeMap.a);
      gLsvfsPipeMap.a = 0;
      gLsvfsPipeMap.iFile = 0;
    }
  }
  lsvfsPipeLeave();
  return rc;
}

/*
** A call whose request is the file id and one integer of nValue bytes (4 or
** 8), and whose answer has no results.
*/
static int lsvfsPipeValueCall(int iFile, int op, int nValue,
                              sqlite3_uint64 iValue, int ioerr){
  int rc = SQLITE_OK;
  unsigned char *a;
  lsvfsPipeEnter();
  a = lsvfsPipeFileRequest(iFile, op, (size_t)nValue, ioerr, &rc);
  if( a ){
    if( nValue==4 ){
      lsvfsPut32(a, iValue);
    }else{
      lsvfsPut64(a, iValue);
    }
    rc = lsvfsPipeFileCall(0, ioerr);
  }
  lsvfsPipeLeave();
  return rc;
}

/* write_lock: SQLite's lock level, a u32. */
static int lsvfsPipeWriteLock(int iFile, int eLock){
  return lsvfsPipeValueCall(iFile, LSVFS_OP_WRITE_LOCK, 4,
                            (sqlite3_uint64)(unsigned int)eLock,
                            SQLITE_IOERR_LOCK);
}

/* write: the offset, then the nData bytes to the end of the body (op, id
** and offset take 13 bytes of LSVFS_WIRE_MAX). */
static int lsvfsPipeWrite(int iFile, sqlite3_int64 iOfst, const void *aData,
                          int nData){
  int rc = SQLITE_OK;
  unsigned char *a;
  if( nData<0 || (size_t)nData>LSVFS_WIRE_MAX-13 ){
    lsvfsPipeSetError("litestream: a write of %d bytes does not fit in a "
                      "message to the engine process", nData);
    return SQLITE_IOERR_WRITE;
  }
  lsvfsPipeEnter();
  a = lsvfsPipeFileRequest(iFile, LSVFS_OP_WRITE, 8 + (size_t)nData,
                           SQLITE_IOERR_WRITE, &rc);
  if( a ){
    lsvfsPut64(a, (sqlite3_uint64)iOfst);
    if( nData>0 ) memcpy(a+8, aData, (size_t)nData);
    rc = lsvfsPipeFileCall(0, SQLITE_IOERR_WRITE);
  }
  lsvfsPipeLeave();
  return rc;
}

/* truncate: the size is an i64. */
static int lsvfsPipeTruncate(int iFile, sqlite3_int64 iSize){
  return lsvfsPipeValueCall(iFile, LSVFS_OP_TRUNCATE, 8,
                            (sqlite3_uint64)iSize, SQLITE_IOERR_TRUNCATE);
}

/* commit: the view version it makes is a u64. */
static int lsvfsPipeCommit(int iFile, sqlite3_uint64 *pVersion){
  int rc = SQLITE_OK;
  lsvfsPipeEnter();
  if( lsvfsPipeFileRequest(iFile, LSVFS_OP_COMMIT, 0, SQLITE_IOERR_FSYNC,
                           &rc) ){
    rc = lsvfsPipeFileCall(8, SQLITE_IOERR_FSYNC);
    if( rc==SQLITE_OK ) *pVersion = lsvfsGet64(gLsvfsPipe.aBuf+8);
  }
  lsvfsPipeLeave();
  return rc;
}

/* The pipe port: the process-wide engine child. */
static const LsvfsPort gLsvfsPipePort = {
  "pipe",                       /* zName */
  lsvfsPipeOpen,                /* xOpen */
  lsvfsPipeClose,               /* xClose */
  lsvfsPipeBeginRead,           /* xBeginRead */
  lsvfsPipeEndRead,             /* xEndRead */
  lsvfsPipeFileSize,            /* xFileSize */
  lsvfsPipeReadPages,           /* xReadPages */
  lsvfsPipeErrorMessage,        /* xErrorMessage */
  lsvfsPipePragma,              /* xPragma */
  lsvfsPipeLocalMap,            /* xLocalMap */
  lsvfsPipeWriteLock,           /* xWriteLock */
  lsvfsPipeWrite,               /* xWrite */
  lsvfsPipeTruncate,            /* xTruncate */
  lsvfsPipeCommit               /* xCommit */
};

/*
** Records the absolute path of this library (dladdr, then realpath at load
** time, while a relative path given to .load still resolves), so the pipe
** port can find the launcher beside it.
*/
static void lsvfsPipeFindLibrary(void){
  Dl_info info;
  char zReal[PATH_MAX];
  if( gLsvfsPipe.zLibPath[0] ) return;
  memset(&info, 0, sizeof(info));
  if( dladdr((void*)&gLsvfsPipePort, &info)==0 || info.dli_fname==0 ) return;
  if( realpath(info.dli_fname, zReal)==0 ) return;
  sqlite3_snprintf((int)sizeof(gLsvfsPipe.zLibPath), gLsvfsPipe.zLibPath,
                   "%s", zReal);
}

/*
******************************************************************************
** Page cache
******************************************************************************
*/

/* One cached page. */
typedef struct LsvfsPage LsvfsPage;
struct LsvfsPage {
  unsigned int pgno;     /* Page number, 1-based */
  LsvfsPage *pHashNext;  /* Next page in the same hash bucket */
  LsvfsPage *pLruPrev;   /* More recently used neighbour; NULL at the head */
  LsvfsPage *pLruNext;   /* Less recently used neighbour; NULL at the tail */
  unsigned char aData[]; /* The page: szPage bytes */
};

/*
** A byte-bounded LRU of whole pages of one database, stamped with the view
** version its pages belong to. Only page content counts towards nMaxByte
** (not the per-page bookkeeping or the hash table).
*/
typedef struct LsvfsCache LsvfsCache;
struct LsvfsCache {
  int szPage;             /* Bytes per page */
  sqlite3_int64 nMaxByte; /* Bound on nByte; below szPage nothing is cached */
  sqlite3_int64 nByte;    /* Bytes of page content held: nPage * szPage */
  unsigned int nPage;     /* Pages held */
  unsigned int nBucket;   /* Size of apBucket: 0 or a power of two */
  LsvfsPage **apBucket;   /* Hash table on pgno, chained by pHashNext */
  LsvfsPage *pHead;       /* Most recently used page */
  LsvfsPage *pTail;       /* Least recently used page: evicted first */
  int bStamped;           /* True once iVersion is set */
  sqlite3_uint64 iVersion; /* View version the held pages belong to */
  sqlite3_uint64 nHit;    /* Lookups that found the page */
  sqlite3_uint64 nMiss;   /* Lookups that did not */
  sqlite3_uint64 nEvict;  /* Pages evicted to stay within nMaxByte */
  sqlite3_uint64 nDrop;   /* Times the cache was emptied for a new version */
};

/* Hash bucket of pgno in a table of nBucket (a power of two) buckets. */
static unsigned int lsvfsCacheBucket(unsigned int pgno, unsigned int nBucket){
  return (pgno * 2654435761u) & (nBucket - 1);
}

/* Prepares an empty cache. Allocates nothing. */
static void lsvfsCacheInit(LsvfsCache *pCache, int szPage,
                           sqlite3_int64 nMaxByte){
  memset(pCache, 0, sizeof(*pCache));
  pCache->szPage = szPage;
  pCache->nMaxByte = nMaxByte;
}

/* Unlinks pPage from the LRU list. */
static void lsvfsCacheLruUnlink(LsvfsCache *pCache, LsvfsPage *pPage){
  if( pPage->pLruPrev ){
    pPage->pLruPrev->pLruNext = pPage->pLruNext;
  }else{
    pCache->pHead = pPage->pLruNext;
  }
  if( pPage->pLruNext ){
    pPage->pLruNext->pLruPrev = pPage->pLruPrev;
  }else{
    pCache->pTail = pPage->pLruPrev;
  }
  pPage->pLruPrev = 0;
  pPage->pLruNext = 0;
}

/* Links pPage at the head (most recently used end) of the LRU list. */
static void lsvfsCacheLruPush(LsvfsCache *pCache, LsvfsPage *pPage){
  pPage->pLruPrev = 0;
  pPage->pLruNext = pCache->pHead;
  if( pCache->pHead ){
    pCache->pHead->pLruPrev = pPage;
  }else{
    pCache->pTail = pPage;
  }
  pCache->pHead = pPage;
}

/* Returns the hash-chain link that points at page pgno, or at the NULL
** that ends its chain. The table must be allocated. */
static LsvfsPage **lsvfsCacheSlot(LsvfsCache *pCache, unsigned int pgno){
  LsvfsPage **pp = &pCache->apBucket[lsvfsCacheBucket(pgno, pCache->nBucket)];
  while( *pp && (*pp)->pgno!=pgno ) pp = &(*pp)->pHashNext;
  return pp;
}

/* Removes pPage from the hash table and the LRU list, keeping its memory. */
static void lsvfsCacheDetach(LsvfsCache *pCache, LsvfsPage *pPage){
  LsvfsPage **pp = lsvfsCacheSlot(pCache, pPage->pgno);
  *pp = pPage->pHashNext;
  pPage->pHashNext = 0;
  lsvfsCacheLruUnlink(pCache, pPage);
  pCache->nPage--;
  pCache->nByte -= pCache->szPage;
}

/* Doubles the hash table (or makes the first one). On OOM the old table
** stays, with longer chains. */
static void lsvfsCacheGrow(LsvfsCache *pCache){
  unsigned int nNew = pCache->nBucket ? pCache->nBucket*2 : LSVFS_MIN_BUCKETS;
  LsvfsPage **apNew;
  unsigned int i;
  if( nNew<pCache->nBucket ) return;
  apNew = sqlite3_malloc64(sizeof(LsvfsPage*) * (sqlite3_uint64)nNew);
  if( apNew==0 ) return;
  memset(apNew, 0, sizeof(LsvfsPage*) * (size_t)nNew);
  for(i=0; i<pCache->nBucket; i++){
    LsvfsPage *pPage = pCache->apBucket[i];
    while( pPage ){
      LsvfsPage *pNext = pPage->pHashNext;
      unsigned int h = lsvfsCacheBucket(pPage->pgno, nNew);
      pPage->pHashNext = apNew[h];
      apNew[h] = pPage;
      pPage = pNext;
    }
  }
  sqlite3_free(pCache->apBucket);
  pCache->apBucket = apNew;
  pCache->nBucket = nNew;
}

/*
** Looks page pgno up. On a hit, marks it most recently used and returns its
** content (szPage bytes, valid until the next insert, clear or free). On a
** miss returns NULL. Either way a counter goes up.
*/
static const unsigned char *lsvfsCacheGet(LsvfsCache *pCache,
                                          unsigned int pgno){
  LsvfsPage *pPage = pCache->nBucket ? *lsvfsCacheSlot(pCache, pgno) : 0;
  if( pPage==0 ){
    pCache->nMiss++;
    return 0;
  }
  pCache->nHit++;
  if( pCache->pHead!=pPage ){
    lsvfsCacheLruUnlink(pCache, pPage);
    lsvfsCacheLruPush(pCache, pPage);
  }
  return pPage->aData;
}

/*
** Stores a copy of page pgno (szPage bytes at pData) as the most recently
** used page, evicting least recently used pages to stay within nMaxByte.
** Returns the cached copy, or NULL if the page could not be kept (a cache
** smaller than one page, or out of memory); the caller then uses pData.
*/
static const unsigned char *lsvfsCachePut(LsvfsCache *pCache,
                                          unsigned int pgno,
                                          const void *pData){
  LsvfsPage *pPage;
  LsvfsPage *pSpare = 0;
  if( pCache->nMaxByte<pCache->szPage ) return 0;
  if( pCache->nBucket ){
    pPage = *lsvfsCacheSlot(pCache, pgno);
    if( pPage ){
      memcpy(pPage->aData, pData, (size_t)pCache->szPage);
      lsvfsCacheLruUnlink(pCache, pPage);
      lsvfsCacheLruPush(pCache, pPage);
      return pPage->aData;
    }
  }
  while( pCache->pTail && pCache->nByte+pCache->szPage>pCache->nMaxByte ){
    LsvfsPage *pVictim = pCache->pTail;
    lsvfsCacheDetach(pCache, pVictim);
    pCache->nEvict++;
    if( pSpare ){
      sqlite3_free(pVictim);
    }else{
      pSpare = pVictim;
    }
  }
  if( pSpare ){
    pPage = pSpare;
  }else{
    pPage = sqlite3_malloc64(sizeof(LsvfsPage)
                             + (sqlite3_uint64)pCache->szPage);
    if( pPage==0 ) return 0;
  }
  if( pCache->nPage>=pCache->nBucket ) lsvfsCacheGrow(pCache);
  if( pCache->nBucket==0 ){
    sqlite3_free(pPage);
    return 0;
  }
  memset(pPage, 0, sizeof(LsvfsPage));
  pPage->pgno = pgno;
  memcpy(pPage->aData, pData, (size_t)pCache->szPage);
  {
    unsigned int h = lsvfsCacheBucket(pgno, pCache->nBucket);
    pPage->pHashNext = pCache->apBucket[h];
    pCache->apBucket[h] = pPage;
  }
  lsvfsCacheLruPush(pCache, pPage);
  pCache->nPage++;
  pCache->nByte += pCache->szPage;
  return pPage->aData;
}

/* Frees every page, keeping the hash table, the stamp and the counters. */
static void lsvfsCacheClear(LsvfsCache *pCache){
  LsvfsPage *pPage = pCache->pHead;
  while( pPage ){
    LsvfsPage *pNext = pPage->pLruNext;
    sqlite3_free(pPage);
    pPage = pNext;
  }
  if( pCache->apBucket ){
    memset(pCache->apBucket, 0, sizeof(LsvfsPage*) * (size_t)pCache->nBucket);
  }
  pCache->pHead = 0;
  pCache->pTail = 0;
  pCache->nPage = 0;
  pCache->nByte = 0;
}

/*
** Declares the view version the next lookups belong to. A different
** version than the stamped one empties the cache.
*/
static void lsvfsCacheStamp(LsvfsCache *pCache, sqlite3_uint64 iVersion){
  if( pCache->bStamped && pCache->iVersion==iVersion ) return;
  if( pCache->bStamped ){
    lsvfsCacheClear(pCache);
    pCache->nDrop++;
  }
  pCache->bStamped = 1;
  pCache->iVersion = iVersion;
}

/* Frees everything the cache holds. It may be initialized again. */
static void lsvfsCacheFree(LsvfsCache *pCache){
  lsvfsCacheClear(pCache);
  sqlite3_free(pCache->apBucket);
  pCache->apBucket = 0;
  pCache->nBucket = 0;
}

/*
** Adds the cache's counters to aStat, in lsvfs_cache_stats() order: hits,
** misses, evictions, drops, bytes held, pages held, byte bound.
*/
static void lsvfsCacheAddStats(const LsvfsCache *pCache,
                               sqlite3_uint64 *aStat){
  aStat[0] += pCache->nHit;
  aStat[1] += pCache->nMiss;
  aStat[2] += pCache->nEvict;
  aStat[3] += pCache->nDrop;
  aStat[4] += (sqlite3_uint64)pCache->nByte;
  aStat[5] += pCache->nPage;
  aStat[6] += (sqlite3_uint64)pCache->nMaxByte;
}

/*
******************************************************************************
** Main-database files
******************************************************************************
*/

/*
** Pages one read_pages call may return for a file of szPage-byte pages and
** a cache of nCacheByte: within LSVFS_RUN_PAGES and LSVFS_RUN_BYTES, and no
** more than the cache can keep (pages read ahead and not kept are wasted).
*/
static int lsvfsRunPages(int szPage, sqlite3_int64 nCacheByte){
  sqlite3_int64 n = LSVFS_RUN_BYTES / szPage;
  if( n>LSVFS_RUN_PAGES ) n = LSVFS_RUN_PAGES;
  if( n>nCacheByte/szPage ) n = nCacheByte/szPage;
  return n<1 ? 1 : (int)n;
}

/* Where one page's frame lies in a local LTX file. */
typedef struct LsvfsFrame LsvfsFrame;
struct LsvfsFrame {
  unsigned int iFile;      /* 1-based index into LsvfsLocal.aFd; 0: none */
  unsigned int nSize;      /* Bytes: page header, size prefix, LZ4 block */
  sqlite3_uint64 iOffset;  /* Where the frame starts in the file */
};

/*
** What a file may read from local disk itself (the port's local_map): the
** whole database in one file (LSVFS_LOCAL_FILE), or a frame map
** (LSVFS_LOCAL_FRAMES), or nothing (eKind 0).
*/
typedef struct LsvfsLocal LsvfsLocal;
struct LsvfsLocal {
  unsigned int iGen;       /* Generation held, 0 for none */
  int eKind;               /* LSVFS_LOCAL_FILE, LSVFS_LOCAL_FRAMES or 0 */
  int fdFile;              /* LSVFS_LOCAL_FILE: the file, or -1 */
  int nFd;                 /* LSVFS_LOCAL_FRAMES: size of aFd */
  int *aFd;                /* The LTX files, -1 where not opened */
  unsigned int nFrame;     /* Pages the map covers, from page 1 */
  LsvfsFrame *aFrame;      /* Their frames, by pgno - 1 */
  unsigned char *aBuf;     /* The map as received, then frames as read */
  size_t nBuf;             /* Bytes allocated at aBuf */
};

/* A main-database file opened through an engine port. */
typedef struct LsvfsFile LsvfsFile;
struct LsvfsFile {
  sqlite3_file base;       /* Base class. Must be first. */
  const LsvfsPort *pPort;  /* The port serving this file */
  LsvfsHost *pHost;        /* The host port's bookkeeping, if a host port */
  const char *zName;       /* The name SQLite opened it with (kept by SQLite) */
  int bWritable;           /* Open for writing (write mode) */
  int bStaged;             /* Pages written since the last commit */
  sqlite3_int64 nCacheByte; /* The cache's bound (cache_size) */
  int iId;                 /* The port's id for the file (open's out-slot) */
  int szPage;              /* Page size in bytes (open's out-slot) */
  int eLock;               /* SQLITE_LOCK_NONE, _SHARED, ... as SQLite set */
  int bSizeKnown;          /* True if iSize holds for the current read */
  sqlite3_int64 iSize;     /* Database size in bytes (file_size's out-slot) */
  sqlite3_uint64 iVersion; /* View version (begin_read's out-slot) */
  unsigned int iLocal;     /* Local map generation (begin_read's), or 0 */
  LsvfsLocal local;        /* What the local map of generation iLocal says */
  sqlite3_uint64 nLocalRead; /* Reads served from local files, no port call */
  sqlite3_uint64 nPortRead;  /* read_pages calls */
  unsigned char *aPage1;   /* szPage bytes: page 1 of view iPage1Version */
  int bPage1;              /* True once aPage1 holds page 1 of a view */
  sqlite3_uint64 iPage1Version; /* The view version aPage1 belongs to */
  int nRunMax;             /* Pages read_pages may return at once */
  unsigned int iRunFirst;  /* read_pages' out-slot: first page returned */
  int nRun;                /* read_pages' out-slot: pages it returned */
  unsigned char *aScratch; /* nRunMax * szPage bytes: read_pages' buffer */
  char *zPragmaOut;        /* LSVFS_PRAGMA_OUT_SIZE bytes once a pragma ran */
  int nPragmaOut;          /* pragma's out-slot: result length, or -1 */
  LsvfsCache cache;        /* Pages of this file */
  LsvfsFile *pNext;        /* Next open main-database file (gLsvfs.pFiles) */
};

/* Process-wide state. Guarded by lsvfsEnter()/lsvfsLeave() after init. */
static struct {
  sqlite3_vfs *pDefault;    /* The VFS that serves everything else */
  LsvfsHost *pHosts;        /* Every host port ever installed */
  LsvfsFile *pFiles;        /* Open main-database files */
} gLsvfs;

/* This thread's host port, once it installed one. */
static _Thread_local LsvfsHost *tLsvfsHost;

/*
** Adds a file's counters to aStat, in lsvfs_cache_stats() order: its
** cache's (lsvfsCacheAddStats), then reads served from the local file.
*/
static void lsvfsFileAddStats(const LsvfsFile *p, sqlite3_uint64 *aStat){
  lsvfsCacheAddStats(&p->cache, aStat);
  aStat[7] += p->nLocalRead;
  aStat[8] += p->nPortRead;
}

/* Enters the shim's mutex (a no-op in a single-threaded SQLite). */
static void lsvfsEnter(void){
  sqlite3_mutex_enter(sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS2));
}

/* Leaves the shim's mutex. */
static void lsvfsLeave(void){
  sqlite3_mutex_leave(sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_VFS2));
}

/*
** Logs (sqlite3_log) a failure rc of a port call, with the port's message.
** Returns rc.
*/
static int lsvfsPortError(const LsvfsPort *pPort, int rc, const char *zWhat){
  char zMsg[LSVFS_ERRMSG_SIZE];
  int n = 0;
  zMsg[0] = 0;
  if( pPort->xErrorMessage ){
    n = pPort->xErrorMessage(zMsg, (int)sizeof(zMsg));
    zMsg[sizeof(zMsg)-1] = 0;
  }
  if( n>0 && zMsg[0] ){
    sqlite3_log(rc, "litestream: %s: %s", zWhat, zMsg);
  }else{
    sqlite3_log(rc, "litestream: %s failed", zWhat);
  }
  return rc;
}

/* Closes what the local map opened and forgets it; keeps the buffer. */
static void lsvfsLocalClear(LsvfsLocal *pLocal){
  int i;
  if( pLocal->fdFile>=0 ) close(pLocal->fdFile);
  for(i=0; i<pLocal->nFd; i++){
    if( pLocal->aFd[i]>=0 ) close(pLocal->aFd[i]);
  }
  sqlite3_free(pLocal->aFd);
  sqlite3_free(pLocal->aFrame);
  pLocal->fdFile = -1;
  pLocal->aFd = 0;
  pLocal->nFd = 0;
  pLocal->aFrame = 0;
  pLocal->nFrame = 0;
  pLocal->eKind = 0;
  pLocal->iGen = 0;
}

/* Frees everything the local map holds. */
static void lsvfsLocalFree(LsvfsLocal *pLocal){
  lsvfsLocalClear(pLocal);
  sqlite3_free(pLocal->aBuf);
  pLocal->aBuf = 0;
  pLocal->nBuf = 0;
}

/* Makes pLocal->aBuf hold at least n bytes. Returns SQLITE_NOMEM or OK. */
static int lsvfsLocalReserve(LsvfsLocal *pLocal, size_t n){
  unsigned char *a;
  if( n<=pLocal->nBuf ) return SQLITE_OK;
  a = sqlite3_realloc64(pLocal->aBuf, (sqlite3_uint64)n);
  if( a==0 ) return SQLITE_NOMEM;
  pLocal->aBuf = a;
  pLocal->nBuf = n;
  return SQLITE_OK;
}

/*
** Opens a path named by a local map (aPath, nPath bytes, not terminated)
** read-only. Returns the descriptor, or -1 with the reason logged.
*/
static int lsvfsLocalOpen(const unsigned char *aPath, size_t nPath){
  char *zPath = sqlite3_mprintf("%.*s", (int)nPath, (const char*)aPath);
  int fd = -1;
  if( zPath==0 ) return -1;
  if( zPath[0] ){
    fd = open(zPath, O_RDONLY|O_CLOEXEC);
    if( fd<0 ){
      sqlite3_log(SQLITE_CANTOPEN, "litestream: cannot open %s (%s): its "
                  "pages are read through the engine", zPath,
                  strerror(errno));
    }
  }
  sqlite3_free(zPath);
  return fd;
}

/*
** Parses the local map in pLocal->aBuf (nMap bytes; the layout is in
** src/engine/local_map.ts) and opens what it names. Returns SQLITE_OK, or
** SQLITE_CORRUPT for a malformed map, or SQLITE_NOMEM.
*/
static int lsvfsLocalParse(LsvfsLocal *pLocal, size_t nMap){
  const unsigned char *a = pLocal->aBuf;
  size_t i = 1;
  unsigned int k;
  if( nMap<5 ) return SQLITE_CORRUPT;
  if( a[0]==LSVFS_LOCAL_FILE ){
    size_t nPath = (size_t)lsvfsGet32(a+1);
    if( nPath!=nMap-5 ) return SQLITE_CORRUPT;
    pLocal->fdFile = lsvfsLocalOpen(a+5, nPath);
    if( pLocal->fdFile>=0 ) pLocal->eKind = LSVFS_LOCAL_FILE;
    return SQLITE_OK;
  }
  if( a[0]!=LSVFS_LOCAL_FRAMES ) return SQLITE_CORRUPT;
  {
    unsigned int nFd = (unsigned int)lsvfsGet32(a+i);
    i += 4;
    if( nFd>nMap ) return SQLITE_CORRUPT;
    pLocal->aFd = sqlite3_malloc64((sqlite3_uint64)nFd*sizeof(int) + 1);
    if( pLocal->aFd==0 ) return SQLITE_NOMEM;
    for(k=0; k<nFd; k++) pLocal->aFd[k] = -1;
    pLocal->nFd = (int)nFd;
    for(k=0; k<nFd; k++){
      size_t nPath;
      if( nMap-i<4 ) return SQLITE_CORRUPT;
      nPath = (size_t)lsvfsGet32(a+i);
      i += 4;
      if( nMap-i<nPath ) return SQLITE_CORRUPT;
      pLocal->aFd[k] = lsvfsLocalOpen(a+i, nPath);
      i += nPath;
    }
  }
  {
    unsigned int nFrame;
    if( nMap-i<4 ) return SQLITE_CORRUPT;
    nFrame = (unsigned int)lsvfsGet32(a+i);
    i += 4;
    if( (nMap-i)/LSVFS_FRAME_ENTRY_SIZE!=nFrame
     || (nMap-i)%LSVFS_FRAME_ENTRY_SIZE!=0 ){
      return SQLITE_CORRUPT;
    }
    pLocal->aFrame = sqlite3_malloc64((sqlite3_uint64)nFrame*sizeof(LsvfsFrame)
                                      + 1);
    if( pLocal->aFrame==0 ) return SQLITE_NOMEM;
    for(k=0; k<nFrame; k++, i+=LSVFS_FRAME_ENTRY_SIZE){
      LsvfsFrame *pFrame = &pLocal->aFrame[k];
      pFrame->iFile = (unsigned int)lsvfsGet32(a+i);
      pFrame->nSize = (unsigned int)lsvfsGet32(a+i+4);
      pFrame->iOffset = lsvfsGet64(a+i+8);
      if( pFrame->iFile>(unsigned int)pLocal->nFd ) return SQLITE_CORRUPT;
    }
    pLocal->nFrame = nFrame;
  }
  pLocal->eKind = LSVFS_LOCAL_FRAMES;
  return SQLITE_OK;
}

/*
** Takes up the local map of generation p->iLocal, which begin_read just
** reported. If it cannot be had, the read goes to the port as usual
** (p->iLocal becomes 0) and the log says why.
*/
static void lsvfsLocalLoad(LsvfsFile *p){
  LsvfsLocal *pLocal = &p->local;
  int nMap = 0;
  int rc;
  lsvfsLocalClear(pLocal);
  rc = lsvfsLocalReserve(pLocal, LSVFS_LOCAL_MAP_GUESS);
  if( rc==SQLITE_OK ){
    rc = p->pPort->xLocalMap(p->iId, pLocal->aBuf, (int)pLocal->nBuf, &nMap);
  }
  if( rc==SQLITE_OK && nMap>(int)pLocal->nBuf ){
    rc = lsvfsLocalReserve(pLocal, (size_t)nMap);
    if( rc==SQLITE_OK ){
      rc = p->pPort->xLocalMap(p->iId, pLocal->aBuf, (int)pLocal->nBuf,
                               &nMap);
    }
  }
  if( rc==SQLITE_OK && (nMap<0 || nMap>(int)pLocal->nBuf) ) rc = SQLITE_CORRUPT;
  if( rc==SQLITE_OK ) rc = lsvfsLocalParse(pLocal, (size_t)nMap);
  if( rc!=SQLITE_OK ){
    lsvfsPortError(p->pPort, rc, "local map");
    lsvfsLocalClear(pLocal);
  }
  if( pLocal->eKind==0 ){
    p->iLocal = 0;
  }else{
    pLocal->iGen = p->iLocal;
  }
}

/*
** Reads iAmt bytes at iOfst from the local file (kind LSVFS_LOCAL_FILE).
** Past its end (which is the end of the database) zero-fills and returns
** SQLITE_IOERR_SHORT_READ, as a database file does.
*/
static int lsvfsLocalReadFile(LsvfsFile *p, unsigned char *zBuf, int iAmt,
                              sqlite3_int64 iOfst){
  size_t nDone = 0;
  p->nLocalRead++;
  while( nDone<(size_t)iAmt ){
    ssize_t n = pread(p->local.fdFile, zBuf+nDone, (size_t)iAmt-nDone,
                      (off_t)(iOfst+(sqlite3_int64)nDone));
    if( n<0 && errno==EINTR ) continue;
    if( n<0 ){
      sqlite3_log(SQLITE_IOERR_READ, "litestream: read of the hydration "
                  "file failed: %s", strerror(errno));
      return SQLITE_IOERR_READ;
    }
    if( n==0 ){
      memset(zBuf+nDone, 0, (size_t)iAmt-nDone);
      return SQLITE_IOERR_SHORT_READ;
    }
    nDone += (size_t)n;
  }
  return SQLITE_OK;
}

/*
** Reads page pgno from its frame in a local LTX file (kind
** LSVFS_LOCAL_FRAMES) into aPage (szPage bytes): pread of the frame, then
** checks of its page header (the page number asked for, the size flag),
** its size prefix, and an LZ4 block that decodes to exactly one page.
** Returns SQLITE_OK, or SQLITE_NOTFOUND when the page is not local or its
** frame is not one this path decodes (a legacy LZ4 frame, a frame that
** fails a check, a failed read): the engine then reads it, and reports
** what is wrong with it.
*/
static int lsvfsLocalReadFrame(LsvfsFile *p, unsigned int pgno,
                               unsigned char *aPage){
  LsvfsLocal *pLocal = &p->local;
  const LsvfsFrame *pFrame;
  size_t nRead = 0;
  size_t nOut = 0;
  int fd;
  if( pgno<1 || pgno>pLocal->nFrame ) return SQLITE_NOTFOUND;
  pFrame = &pLocal->aFrame[pgno-1];
  if( pFrame->iFile==0 ) return SQLITE_NOTFOUND;
  fd = pLocal->aFd[pFrame->iFile-1];
  if( fd<0 ) return SQLITE_NOTFOUND;
  if( pFrame->nSize<LSVFS_FRAME_HEADER_SIZE
   || pFrame->nSize>LSVFS_FRAME_HEADER_SIZE+(unsigned int)p->szPage*2 ){
    return SQLITE_NOTFOUND;
  }
  if( lsvfsLocalReserve(pLocal, pFrame->nSize)!=SQLITE_OK ){
    return SQLITE_NOTFOUND;
  }
  while( nRead<pFrame->nSize ){
    ssize_t n = pread(fd, pLocal->aBuf+nRead, pFrame->nSize-nRead,
                      (off_t)(pFrame->iOffset+nRead));
    if( n<0 && errno==EINTR ) continue;
    if( n<=0 ) return SQLITE_NOTFOUND;
    nRead += (size_t)n;
  }
  /* Page header: u32 page number, u16 flags; then the sized block. */
  if( lsvfsGetBE32(pLocal->aBuf)!=pgno
   || pLocal->aBuf[4]!=0 || pLocal->aBuf[5]!=LSVFS_PAGE_FLAG_SIZE
   || lsvfsLz4DecodeSized(pLocal->aBuf+LSVFS_PAGE_HEADER_SIZE,
                          pFrame->nSize-LSVFS_PAGE_HEADER_SIZE, aPage,
                          (size_t)p->szPage, &nOut)!=LSVFS_LZ4_OK
   || nOut!=(size_t)p->szPage ){
    return SQLITE_NOTFOUND;
  }
  p->nLocalRead++;
  return SQLITE_OK;
}

/*
** Starts a read on the port and stamps the cache with the view version.
** SQLite's SHARED lock does this, and so does a read outside any lock
** (SQLite reads the header before it locks), bracketed by lsvfsEndRead().
*/
static int lsvfsBeginRead(LsvfsFile *p){
  int rc;
  p->iLocal = 0;
  rc = p->pPort->xBeginRead(p->iId, &p->iVersion, &p->iLocal, &p->iSize);
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "begin read");
  lsvfsCacheStamp(&p->cache, p->iVersion);
  p->bSizeKnown = 1;
  if( p->iLocal!=0 && p->iLocal!=p->local.iGen ) lsvfsLocalLoad(p);
  return SQLITE_OK;
}

/*
** Starts a read outside any lock: the header SQLite reads at open, a size
** asked for between transactions. SQLite has no busy handler there, and a
** local file never refuses such a read; but the engine refuses new reads
** while another connection of the process commits (SQLITE_BUSY), which
** takes milliseconds. So this read waits for the commit, up to
** LSVFS_LOCKLESS_WAIT_MS, instead of failing the open.
*/
static int lsvfsBeginLocklessRead(LsvfsFile *p){
  int nWaited = 0;
  int nSleep = 1;
  int rc = lsvfsBeginRead(p);
  while( (rc&0xff)==SQLITE_BUSY && nWaited<LSVFS_LOCKLESS_WAIT_MS ){
    sqlite3_sleep(nSleep);
    nWaited += nSleep;
    if( nSleep<16 ) nSleep *= 2;
    rc = lsvfsBeginRead(p);
  }
  return rc;
}

/* Ends a read started by lsvfsBeginRead(). */
static int lsvfsEndRead(LsvfsFile *p){
  int rc = p->pPort->xEndRead(p->iId);
  p->bSizeKnown = 0;
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "end read");
  return SQLITE_OK;
}

/* Makes p->iSize valid for the current read. */
static int lsvfsLoadSize(LsvfsFile *p){
  int rc;
  if( p->bSizeKnown ) return SQLITE_OK;
  rc = p->pPort->xFileSize(p->iId, &p->iSize);
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "file size");
  p->bSizeKnown = 1;
  return SQLITE_OK;
}

/*
** Finds page pgno of the current read: the cache, else the port (and then
** the cache keeps it, and the pages read ahead with it). Sets *paPage to its
** szPage bytes, valid until the next call. Returns SQLITE_IOERR_SHORT_READ,
** with *paPage NULL, for a page past the end of the database.
*/
static int lsvfsFetchPage(LsvfsFile *p, unsigned int pgno,
                          const unsigned char **paPage){
  const unsigned char *aPage;
  int rc;
  *paPage = 0;
  /* Page 1 is kept aside, never evicted: SQLite reads its header at the
  ** start of every transaction, and only the engine can give it. */
  if( pgno==1 && p->bPage1 && p->iPage1Version==p->iVersion ){
    *paPage = p->aPage1;
    return SQLITE_OK;
  }
  aPage = lsvfsCacheGet(&p->cache, pgno);
  if( aPage ){
    *paPage = aPage;
    return SQLITE_OK;
  }
  rc = lsvfsLoadSize(p);
  if( rc!=SQLITE_OK ) return rc;
  if( (sqlite3_int64)(pgno-1)*p->szPage>=p->iSize ){
    return SQLITE_IOERR_SHORT_READ;
  }
  if( p->iLocal!=0 && p->local.eKind==LSVFS_LOCAL_FRAMES
   && lsvfsLocalReadFrame(p, pgno, p->aScratch)==SQLITE_OK ){
    aPage = lsvfsCachePut(&p->cache, pgno, p->aScratch);
    *paPage = aPage ? aPage : p->aScratch;
    return SQLITE_OK;
  }
  p->iRunFirst = 0;
  p->nRun = 0;
  p->nPortRead++;
  rc = p->pPort->xReadPages(p->iId, pgno, p->nRunMax, p->aScratch,
                            &p->iRunFirst, &p->nRun);
  if( rc==SQLITE_OK && (p->nRun<1 || p->nRun>p->nRunMax
                        || p->iRunFirst<1 || p->iRunFirst>pgno
                        || pgno-p->iRunFirst>=(unsigned int)p->nRun) ){
    sqlite3_log(SQLITE_IOERR_READ, "litestream: read page %u: the engine "
                "returned %d pages from page %u, not a run of 1 to %d "
                "holding it", pgno, p->nRun, p->iRunFirst, p->nRunMax);
    return SQLITE_IOERR_READ;
  }
  if( rc!=SQLITE_OK ){
    char zWhat[48];
    sqlite3_snprintf((int)sizeof(zWhat), zWhat, "read page %u", pgno);
    return lsvfsPortError(p->pPort, rc, zWhat);
  }
  {
    /* The pages read ahead first, so the one asked for is the most
    ** recently used, and no later insert evicts it before it is copied. */
    unsigned int iAsked = pgno - p->iRunFirst;
    unsigned int i;
    const unsigned char *aAsked = p->aScratch + (size_t)iAsked*p->szPage;
    for(i=0; i<(unsigned int)p->nRun; i++){
      if( i==iAsked ) continue;
      lsvfsCachePut(&p->cache, p->iRunFirst+i,
                    p->aScratch + (size_t)i*(size_t)p->szPage);
    }
    aPage = lsvfsCachePut(&p->cache, pgno, aAsked);
    *paPage = aPage ? aPage : aAsked;
    if( p->iRunFirst==1 ){
      memcpy(p->aPage1, p->aScratch, (size_t)p->szPage);
      p->bPage1 = 1;
      p->iPage1Version = p->iVersion;
    }
  }
  return SQLITE_OK;
}

/* Copies iAmt bytes at iOfst of the current read into zBuf, page by page;
** past the end, zero-fills and returns SQLITE_IOERR_SHORT_READ. */
static int lsvfsReadRange(LsvfsFile *p, unsigned char *zBuf, int iAmt,
                          sqlite3_int64 iOfst){
  if( p->iLocal!=0 && p->local.eKind==LSVFS_LOCAL_FILE && iOfst>=p->szPage ){
    return lsvfsLocalReadFile(p, zBuf, iAmt, iOfst);
  }
  while( iAmt>0 ){
    sqlite3_int64 iPage = iOfst / p->szPage;
    int iInPage = (int)(iOfst % p->szPage);
    int n = p->szPage - iInPage;
    const unsigned char *aPage = 0;
    int rc;
    if( n>iAmt ) n = iAmt;
    if( iPage>=0xffffffff ){
      rc = SQLITE_IOERR_SHORT_READ;
    }else{
      rc = lsvfsFetchPage(p, (unsigned int)(iPage+1), &aPage);
    }
    if( rc==SQLITE_IOERR_SHORT_READ ){
      memset(zBuf, 0, (size_t)iAmt);
      return rc;
    }
    if( rc!=SQLITE_OK ) return rc;
    memcpy(zBuf, aPage+iInPage, (size_t)n);
    zBuf += n;
    iOfst += n;
    iAmt -= n;
  }
  return SQLITE_OK;
}

/*
** Asks the port for pragma zName of file p: a get when zValue is NULL, else
** a set. On SQLITE_OK sets *pzResult to the result (sqlite3_free it), or
** NULL when there is none. SQLITE_NOTFOUND: not the engine's pragma. On any
** other code sets *pzErr to the port's message (sqlite3_free it; NULL if out
** of memory). The PRAGMA and the SQL functions both come here.
*/
static int lsvfsPortPragma(LsvfsFile *p, const char *zName,
                           const char *zValue, char **pzResult, char **pzErr){
  int rc;
  char zStat[LSVFS_NSTAT*21];
  *pzResult = 0;
  *pzErr = 0;
  if( sqlite3_stricmp(zName, LSVFS_PRAGMA_STATUS)==0 ){
    /* The engine never sees cache hits: send it the counters instead. */
    sqlite3_uint64 aStat[LSVFS_NSTAT];
    int i, n = 0;
    if( zValue ){
      *pzErr = sqlite3_mprintf("PRAGMA %s is read-only", zName);
      return SQLITE_ERROR;
    }
    memset(aStat, 0, sizeof(aStat));
    lsvfsFileAddStats(p, aStat);
    for(i=0; i<LSVFS_NSTAT; i++){
      sqlite3_snprintf((int)sizeof(zStat)-n, zStat+n, i ? " %llu" : "%llu",
                       aStat[i]);
      n += (int)strlen(zStat+n);
    }
    zValue = zStat;
  }
  if( p->zPragmaOut==0 ){
    p->zPragmaOut = sqlite3_malloc(LSVFS_PRAGMA_OUT_SIZE);
    if( p->zPragmaOut==0 ) return SQLITE_NOMEM;
  }
  p->zPragmaOut[0] = 0;
  p->nPragmaOut = -1;
  rc = p->pPort->xPragma(p->iId, zName, zValue, p->zPragmaOut,
                         LSVFS_PRAGMA_OUT_SIZE, &p->nPragmaOut);
  if( rc==SQLITE_OK ){
    if( p->nPragmaOut>=0 ){
      int n = p->nPragmaOut<LSVFS_PRAGMA_OUT_SIZE
            ? p->nPragmaOut : LSVFS_PRAGMA_OUT_SIZE-1;
      *pzResult = sqlite3_mprintf("%.*s", n, p->zPragmaOut);
      if( *pzResult==0 ) rc = SQLITE_NOMEM;
    }
  }else if( rc!=SQLITE_NOTFOUND ){
    char zMsg[LSVFS_ERRMSG_SIZE];
    int n = 0;
    zMsg[0] = 0;
    if( p->pPort->xErrorMessage ){
      n = p->pPort->xErrorMessage(zMsg, (int)sizeof(zMsg));
      zMsg[sizeof(zMsg)-1] = 0;
    }
    if( n>0 && zMsg[0] ){
      *pzErr = sqlite3_mprintf("%s", zMsg);
    }else{
      *pzErr = sqlite3_mprintf("litestream: %s failed: %s", zName,
                               sqlite3_errstr(rc));
    }
  }
  return rc;
}

/* Closes a main-database file: ends a read left open, closes it on the
** port, frees its memory. */
static int lsvfsClose(sqlite3_file *pFile){
  LsvfsFile *p = (LsvfsFile*)pFile;
  LsvfsFile **pp;
  int rc = SQLITE_OK;
  if( p->eLock!=SQLITE_LOCK_NONE ){
    rc = lsvfsEndRead(p);
    p->eLock = SQLITE_LOCK_NONE;
  }
  {
    sqlite3_uint64 aStat[LSVFS_NSTAT];
    int rc2;
    memset(aStat, 0, sizeof(aStat));
    lsvfsFileAddStats(p, aStat);
    rc2 = p->pPort->xClose(p->iId, aStat, LSVFS_NSTAT);
    if( rc2!=SQLITE_OK ){
      lsvfsPortError(p->pPort, rc2, "close");
      if( rc==SQLITE_OK ) rc = rc2;
    }
  }
  lsvfsEnter();
  for(pp=&gLsvfs.pFiles; *pp; pp=&(*pp)->pNext){
    if( *pp==p ){
      *pp = p->pNext;
      break;
    }
  }
  if( p->pHost ){
    p->pHost->aClosedStat[0] += p->cache.nHit;
    p->pHost->aClosedStat[1] += p->cache.nMiss;
    p->pHost->aClosedStat[2] += p->cache.nEvict;
    p->pHost->aClosedStat[3] += p->cache.nDrop;
    p->pHost->aClosedStat[7] += p->nLocalRead;
    p->pHost->aClosedStat[8] += p->nPortRead;
    p->pHost->nUser--;
  }
  lsvfsLeave();
  lsvfsLocalFree(&p->local);
  lsvfsCacheFree(&p->cache);
  sqlite3_free(p->aPage1);
  p->aPage1 = 0;
  sqlite3_free(p->aScratch);
  p->aScratch = 0;
  sqlite3_free(p->zPragmaOut);
  p->zPragmaOut = 0;
  p->base.pMethods = 0;
  return rc;
}

/* Reads from the current view; outside a lock, inside a read of its own. */
static int lsvfsRead(sqlite3_file *pFile, void *zBuf, int iAmt,
                     sqlite3_int64 iOfst){
  LsvfsFile *p = (LsvfsFile*)pFile;
  int rc;
  if( p->eLock==SQLITE_LOCK_NONE ){
    rc = lsvfsBeginLocklessRead(p);
    if( rc!=SQLITE_OK ) return rc;
    rc = lsvfsReadRange(p, (unsigned char*)zBuf, iAmt, iOfst);
    {
      int rc2 = lsvfsEndRead(p);
      if( rc==SQLITE_OK ) rc = rc2;
    }
    return rc;
  }
  return lsvfsReadRange(p, (unsigned char*)zBuf, iAmt, iOfst);
}

/*
** A new, empty database takes the page size of its first write (SQLite's
** PRAGMA page_size before anything is written): the cache and buffers are
** made again for it.
*/
static int lsvfsSetPageSize(LsvfsFile *p, int szPage){
  unsigned char *aScratch;
  unsigned char *aPage1;
  int nRunMax = lsvfsRunPages(szPage, p->nCacheByte);
  aScratch = sqlite3_malloc64((sqlite3_uint64)szPage*(sqlite3_uint64)nRunMax);
  aPage1 = sqlite3_malloc64((sqlite3_uint64)szPage);
  if( aScratch==0 || aPage1==0 ){
    sqlite3_free(aScratch);
    sqlite3_free(aPage1);
    return SQLITE_IOERR_NOMEM;
  }
  sqlite3_free(p->aScratch);
  sqlite3_free(p->aPage1);
  p->aScratch = aScratch;
  p->aPage1 = aPage1;
  p->bPage1 = 0;
  p->nRunMax = nRunMax;
  p->szPage = szPage;
  lsvfsCacheFree(&p->cache);
  lsvfsCacheInit(&p->cache, szPage, p->nCacheByte);
  lsvfsCacheStamp(&p->cache, p->iVersion);
  return SQLITE_OK;
}

/*
** Stages whole pages on the port (write mode), then keeps them in the
** cache, where the rest of the transaction reads them. Local reads stop
** until the next read transaction: the local map does not know these pages.
*/
static int lsvfsWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                      sqlite3_int64 iOfst){
  LsvfsFile *p = (LsvfsFile*)pFile;
  const unsigned char *aData = (const unsigned char*)zBuf;
  int rc;
  int i;
  if( !p->bWritable ) return SQLITE_READONLY;
  rc = lsvfsLoadSize(p);
  if( rc!=SQLITE_OK ) return rc;
  rc = p->pPort->xWrite(p->iId, iOfst, zBuf, iAmt);
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "write");
  p->bStaged = 1;
  p->iLocal = 0;
  if( iAmt!=p->szPage ){
    /* The engine took it, so this is a new database's first page. */
    rc = lsvfsSetPageSize(p, iAmt);
    if( rc!=SQLITE_OK ) return rc;
  }
  for(i=0; i+p->szPage<=iAmt; i+=p->szPage){
    unsigned int pgno = (unsigned int)((iOfst+i)/p->szPage) + 1;
    lsvfsCachePut(&p->cache, pgno, aData+i);
    if( pgno==1 ){
      memcpy(p->aPage1, aData+i, (size_t)p->szPage);
      p->bPage1 = 1;
      p->iPage1Version = p->iVersion;
    }
  }
  if( iOfst+iAmt>p->iSize ) p->iSize = iOfst+iAmt;
  return SQLITE_OK;
}

/* Stages the size on the port. The cache forgets every page (truncation
** is rare), so none past the new end can come back if the file grows. */
static int lsvfsTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  LsvfsFile *p = (LsvfsFile*)pFile;
  int rc;
  if( !p->bWritable ) return SQLITE_READONLY;
  rc = p->pPort->xTruncate(p->iId, size);
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "truncate");
  p->bStaged = 1;
  lsvfsCacheClear(&p->cache);
  if( size<p->szPage ) p->bPage1 = 0;
  p->iSize = size;
  p->bSizeKnown = 1;
  return SQLITE_OK;
}

/* Durability comes at commit (SQLITE_FCNTL_COMMIT_PHASETWO), when the
** engine fsyncs its write buffer: there is nothing to do here. */
static int lsvfsSync(sqlite3_file *pFile, int flags){
  LsvfsFile *p = (LsvfsFile*)pFile;
  (void)flags;
  return p->bWritable ? SQLITE_OK : SQLITE_READONLY;
}

/* Size of the current view; outside a lock, inside a read of its own. */
static int lsvfsFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  LsvfsFile *p = (LsvfsFile*)pFile;
  int rc;
  *pSize = 0;
  if( p->eLock==SQLITE_LOCK_NONE ){
    rc = lsvfsBeginLocklessRead(p);
    if( rc!=SQLITE_OK ) return rc;
    rc = lsvfsLoadSize(p);
    if( rc==SQLITE_OK ) *pSize = p->iSize;
    {
      int rc2 = lsvfsEndRead(p);
      if( rc==SQLITE_OK ) rc = rc2;
    }
    return rc;
  }
  rc = lsvfsLoadSize(p);
  if( rc==SQLITE_OK ) *pSize = p->iSize;
  return rc;
}

/*
** SHARED from NONE starts a read on the port (the view is pinned until
** xUnlock(NONE)). RESERVED and EXCLUSIVE are the writer's, and the engine
** grants them (SQLITE_BUSY while another connection writes, or while
** readers hold the database for EXCLUSIVE); SQLITE_READONLY when the file
** is not open for writing.
*/
static int lsvfsLock(sqlite3_file *pFile, int eLock){
  LsvfsFile *p = (LsvfsFile*)pFile;
  int rc;
  if( eLock<=p->eLock ) return SQLITE_OK;
  if( p->eLock==SQLITE_LOCK_NONE ){
    rc = lsvfsBeginRead(p);
    if( rc!=SQLITE_OK ) return rc;
    p->eLock = SQLITE_LOCK_SHARED;
  }
  if( eLock==SQLITE_LOCK_SHARED ) return SQLITE_OK;
  if( !p->bWritable ) return SQLITE_READONLY;
  rc = p->pPort->xWriteLock(p->iId, eLock);
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "lock");
  p->eLock = eLock;
  return SQLITE_OK;
}

/*
** Below RESERVED the write transaction ends: the engine drops pages not
** committed, and so does the cache (it held them). NONE then ends the read.
*/
static int lsvfsUnlock(sqlite3_file *pFile, int eLock){
  LsvfsFile *p = (LsvfsFile*)pFile;
  int rc = SQLITE_OK;
  if( eLock>=p->eLock ) return SQLITE_OK;
  if( p->eLock>SQLITE_LOCK_SHARED ){
    rc = p->pPort->xWriteLock(p->iId, SQLITE_LOCK_SHARED);
    if( rc!=SQLITE_OK ) lsvfsPortError(p->pPort, rc, "unlock");
    if( p->bStaged ){
      lsvfsCacheClear(&p->cache);
      p->bPage1 = 0;
      p->bSizeKnown = 0;
      p->bStaged = 0;
    }
    p->eLock = SQLITE_LOCK_SHARED;
  }
  if( eLock==SQLITE_LOCK_NONE ){
    int rc2;
    p->eLock = SQLITE_LOCK_NONE;
    rc2 = lsvfsEndRead(p);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  return rc;
}

/*
** SQLite asks only to tell a hot journal from a live one, and a write-mode
** journal is never on disk (memory_journal.h): no journal is ever hot.
*/
static int lsvfsCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  (void)pFile;
  *pResOut = 0;
  return SQLITE_OK;
}

/*
** The commit's second phase: SQLite has finished the transaction and
** still holds EXCLUSIVE. The engine makes the staged pages durable; the
** cache holds them already, so it stays, under the version they make.
*/
static int lsvfsCommit(LsvfsFile *p){
  int rc;
  if( !p->bWritable ) return SQLITE_NOTFOUND;
  rc = p->pPort->xCommit(p->iId, &p->iVersion);
  if( rc!=SQLITE_OK ) return lsvfsPortError(p->pPort, rc, "commit");
  p->cache.iVersion = p->iVersion;
  if( p->bPage1 ) p->iPage1Version = p->iVersion;
  p->bStaged = 0;
  return SQLITE_OK;
}

/*
** SQLITE_FCNTL_PRAGMA for litestream_* pragmas goes to the port (at prepare
** time, as SQLite runs it); every other pragma and file control is
** SQLITE_NOTFOUND, so SQLite does what it always does.
*/
static int lsvfsFileControl(sqlite3_file *pFile, int op, void *pArg){
  LsvfsFile *p = (LsvfsFile*)pFile;
  char **azArg;
  char *zResult = 0;
  char *zErr = 0;
  int rc;
  if( op==SQLITE_FCNTL_COMMIT_PHASETWO ) return lsvfsCommit(p);
  if( op!=SQLITE_FCNTL_PRAGMA ) return SQLITE_NOTFOUND;
  azArg = (char**)pArg;
  if( azArg[1]==0 || sqlite3_strnicmp(azArg[1], LSVFS_PRAGMA_PREFIX,
                                      (int)sizeof(LSVFS_PRAGMA_PREFIX)-1)!=0 ){
    return SQLITE_NOTFOUND;
  }
  rc = lsvfsPortPragma(p, azArg[1], azArg[2], &zResult, &zErr);
  if( rc==SQLITE_OK ){
    azArg[0] = zResult;
  }else if( rc!=SQLITE_NOTFOUND ){
    azArg[0] = zErr;
  }else{
    sqlite3_free(zErr);
  }
  return rc;
}

/* Writes do not happen yet; 4096 is SQLite's own default. */
static int lsvfsSectorSize(sqlite3_file *pFile){
  (void)pFile;
  return LSVFS_SECTOR_SIZE;
}

/*
** Powersafe overwrite only. Never SQLITE_IOCAP_IMMUTABLE: the content
** changes between reads, and SQLite must take locks to see it.
*/
static int lsvfsDeviceCharacteristics(sqlite3_file *pFile){
  (void)pFile;
  return SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

/* The io methods of main-database files. */
static const sqlite3_io_methods gLsvfsIoMethods = {
  1,                            /* iVersion */
  lsvfsClose,                   /* xClose */
  lsvfsRead,                    /* xRead */
  lsvfsWrite,                   /* xWrite */
  lsvfsTruncate,                /* xTruncate */
  lsvfsSync,                    /* xSync */
  lsvfsFileSize,                /* xFileSize */
  lsvfsLock,                    /* xLock */
  lsvfsUnlock,                  /* xUnlock */
  lsvfsCheckReservedLock,       /* xCheckReservedLock */
  lsvfsFileControl,             /* xFileControl */
  lsvfsSectorSize,              /* xSectorSize */
  lsvfsDeviceCharacteristics,   /* xDeviceCharacteristics */
  0,                            /* xShmMap */
  0,                            /* xShmLock */
  0,                            /* xShmBarrier */
  0,                            /* xShmUnmap */
  0,                            /* xFetch */
  0                             /* xUnfetch */
};

/*
** Parses the URI parameter cache_size (bytes, decimal digits only) of the
** main database zName into *pnByte. SQLITE_CANTOPEN if malformed.
*/
static int lsvfsCacheSizeParam(const char *zName, sqlite3_int64 *pnByte){
  const char *z = sqlite3_uri_parameter(zName, "cache_size");
  sqlite3_int64 n = 0;
  *pnByte = LSVFS_DEFAULT_CACHE_BYTES;
  if( z==0 ) return SQLITE_OK;
  if( z[0]==0 ) goto malformed;
  for(; *z; z++){
    if( *z<'0' || *z>'9' ) goto malformed;
    n = n*10 + (*z - '0');
    if( n>LSVFS_MAX_CACHE_BYTES ) goto malformed;
  }
  *pnByte = n;
  return SQLITE_OK;
malformed:
  sqlite3_log(SQLITE_CANTOPEN,
      "litestream: invalid cache_size \"%s\": want a number of bytes",
      sqlite3_uri_parameter(zName, "cache_size"));
  return SQLITE_CANTOPEN;
}

/*
** Gathers every URI parameter of the main database zName as "key\0value\0"
** pairs into a new buffer (sqlite3_free it) of *pnOut bytes.
*/
static int lsvfsGatherParams(const char *zName, char **paOut, int *pnOut){
  const char *zKey;
  sqlite3_int64 n = 0;
  char *a;
  int i;
  *paOut = 0;
  *pnOut = 0;
  for(i=0; (zKey = sqlite3_uri_key(zName, i))!=0; i++){
    const char *zVal = sqlite3_uri_parameter(zName, zKey);
    n += (sqlite3_int64)strlen(zKey) + 1;
    n += (zVal ? (sqlite3_int64)strlen(zVal) : 0) + 1;
  }
  if( n>0x7fffffff ) return SQLITE_TOOBIG;
  a = sqlite3_malloc64((sqlite3_uint64)n + 1);
  if( a==0 ) return SQLITE_NOMEM;
  n = 0;
  for(i=0; (zKey = sqlite3_uri_key(zName, i))!=0; i++){
    const char *zVal = sqlite3_uri_parameter(zName, zKey);
    size_t nKey = strlen(zKey) + 1;
    size_t nVal = zVal ? strlen(zVal) : 0;
    memcpy(a+n, zKey, nKey);
    n += (sqlite3_int64)nKey;
    if( nVal ) memcpy(a+n, zVal, nVal);
    n += (sqlite3_int64)nVal;
    a[n++] = 0;
  }
  *paOut = a;
  *pnOut = (int)n;
  return SQLITE_OK;
}

/* True if sz is a valid SQLite page size. */
static int lsvfsIsPageSize(int sz){
  return sz>=512 && sz<=65536 && (sz & (sz-1))==0;
}

/*
** Opens a main-database file on the engine port. pMethods is set only once
** the file is fully open, so SQLite never closes a half-open one.
*/
static int lsvfsOpenMain(sqlite3_vfs *pVfs, const char *zName,
                         sqlite3_file *pFile, int flags, int *pOutFlags){
  LsvfsFile *p = (LsvfsFile*)pFile;
  const LsvfsPort *pPort = 0;
  sqlite3_int64 nCacheByte = LSVFS_DEFAULT_CACHE_BYTES;
  char *aParams = 0;
  int nParams = 0;
  int eOpenFlags = 0;
  int rc;
  (void)pVfs;

  memset(p, 0, sizeof(*p));
  p->local.fdFile = -1;

  lsvfsEnter();
  if( tLsvfsHost && tLsvfsHost->bInstalled ){
    p->pHost = tLsvfsHost;
    pPort = &p->pHost->port;
    p->pHost->nUser++;
  }
  lsvfsLeave();
  if( pPort==0 ) pPort = &gLsvfsPipePort;
  p->pPort = pPort;

  /* The engine validates every parameter first (cache_size included), so
  ** a malformed one fails with its message; the check below is a backstop. */
  rc = lsvfsGatherParams(zName, &aParams, &nParams);
  if( rc==SQLITE_OK ){
    rc = pPort->xOpen(zName, aParams ? aParams : "", nParams,
                      &p->iId, &p->szPage, &eOpenFlags);
    sqlite3_free(aParams);
    if( rc!=SQLITE_OK ) lsvfsPortError(pPort, rc, "open");
  }
  if( rc==SQLITE_OK ){
    rc = lsvfsCacheSizeParam(zName, &nCacheByte);
    if( rc!=SQLITE_OK ) pPort->xClose(p->iId, 0, 0);
  }
  if( rc==SQLITE_OK && !lsvfsIsPageSize(p->szPage) ){
    sqlite3_log(SQLITE_CANTOPEN,
        "litestream: engine reported an invalid page size: %d", p->szPage);
    pPort->xClose(p->iId, 0, 0);
    rc = SQLITE_CANTOPEN;
  }
  if( rc==SQLITE_OK ){
    p->nRunMax = lsvfsRunPages(p->szPage, nCacheByte);
    p->aScratch = sqlite3_malloc64((sqlite3_uint64)p->szPage
                                   * (sqlite3_uint64)p->nRunMax);
    p->aPage1 = sqlite3_malloc64((sqlite3_uint64)p->szPage);
    if( p->aScratch==0 || p->aPage1==0 ){
      sqlite3_free(p->aScratch);
      sqlite3_free(p->aPage1);
      p->aScratch = 0;
      p->aPage1 = 0;
      pPort->xClose(p->iId, 0, 0);
      rc = SQLITE_NOMEM;
    }
  }
  if( rc!=SQLITE_OK ){
    lsvfsEnter();
    if( p->pHost ) p->pHost->nUser--;
    lsvfsLeave();
    p->pPort = 0;
    p->pHost = 0;
    return rc;
  }

  lsvfsCacheInit(&p->cache, p->szPage, nCacheByte);
  p->nCacheByte = nCacheByte;
  p->zName = zName;
  p->bWritable = (eOpenFlags & LSVFS_OPEN_WRITABLE)!=0
              && (flags & SQLITE_OPEN_READWRITE)!=0;
  p->eLock = SQLITE_LOCK_NONE;
  lsvfsEnter();
  p->pNext = gLsvfs.pFiles;
  gLsvfs.pFiles = p;
  lsvfsLeave();
  if( pOutFlags ){
    *pOutFlags = p->bWritable ? flags
               : (flags & ~(SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE))
                 | SQLITE_OPEN_READONLY;
  }
  p->base.pMethods = &gLsvfsIoMethods;
  return SQLITE_OK;
}

/*
******************************************************************************
** The VFS: main databases to the port, the rest to the default VFS
******************************************************************************
*/

/*
** True if zName is the rollback journal of an open write-mode database:
** its name followed by "-journal", as SQLite names it.
*/
static int lsvfsIsWriteJournal(const char *zName){
  static const char zSuffix[] = "-journal";
  size_t nName = strlen(zName);
  const LsvfsFile *p;
  int bFound = 0;
  if( nName<sizeof(zSuffix) ) return 0;
  if( strcmp(zName+nName-(sizeof(zSuffix)-1), zSuffix)!=0 ) return 0;
  lsvfsEnter();
  for(p=gLsvfs.pFiles; p && !bFound; p=p->pNext){
    bFound = p->bWritable && strlen(p->zName)==nName-(sizeof(zSuffix)-1)
          && memcmp(p->zName, zName, nName-(sizeof(zSuffix)-1))==0;
  }
  lsvfsLeave();
  return bFound;
}

/*
** Main databases (named, not temporary) go to the port, and the journals
** of those in write mode stay in memory (memory_journal.h); other files go
** to the default VFS, which then owns pFile and its methods.
*/
static int lsvfsOpen(sqlite3_vfs *pVfs, sqlite3_filename zName,
                     sqlite3_file *pFile, int flags, int *pOutFlags){
  if( (flags & SQLITE_OPEN_MAIN_DB)!=0 && zName!=0
   && (flags & SQLITE_OPEN_DELETEONCLOSE)==0 ){
    return lsvfsOpenMain(pVfs, zName, pFile, flags, pOutFlags);
  }
  if( (flags & SQLITE_OPEN_MAIN_JOURNAL)!=0 && zName!=0
   && lsvfsIsWriteJournal(zName) ){
    return lsvfsJournalOpen(pFile, flags, pOutFlags);
  }
  return gLsvfs.pDefault->xOpen(gLsvfs.pDefault, zName, pFile, flags,
                                pOutFlags);
}

/* A write-mode journal's content goes with its handle: nothing to delete. */
static int lsvfsDelete(sqlite3_vfs *pVfs, const char *zName, int syncDir){
  (void)pVfs;
  if( lsvfsIsWriteJournal(zName) ) return SQLITE_OK;
  return gLsvfs.pDefault->xDelete(gLsvfs.pDefault, zName, syncDir);
}

/* No write-mode journal is ever on disk, so none is ever found hot. */
static int lsvfsAccess(sqlite3_vfs *pVfs, const char *zName, int flags,
                       int *pResOut){
  (void)pVfs;
  if( lsvfsIsWriteJournal(zName) ){
    *pResOut = 0;
    return SQLITE_OK;
  }
  return gLsvfs.pDefault->xAccess(gLsvfs.pDefault, zName, flags, pResOut);
}

/*
** The methods below are not about main-database files: each forwards to the
** default VFS unchanged.
*/
static int lsvfsFullPathname(sqlite3_vfs *pVfs, const char *zName, int nOut,
                             char *zOut){
  (void)pVfs;
  return gLsvfs.pDefault->xFullPathname(gLsvfs.pDefault, zName, nOut, zOut);
}
static void *lsvfsDlOpen(sqlite3_vfs *pVfs, const char *zFilename){
  (void)pVfs;
  return gLsvfs.pDefault->xDlOpen(gLsvfs.pDefault, zFilename);
}
static void lsvfsDlError(sqlite3_vfs *pVfs, int nByte, char *zErrMsg){
  (void)pVfs;
  gLsvfs.pDefault->xDlError(gLsvfs.pDefault, nByte, zErrMsg);
}
static void (*lsvfsDlSym(sqlite3_vfs *pVfs, void *pH, const char *z))(void){
  (void)pVfs;
  return gLsvfs.pDefault->xDlSym(gLsvfs.pDefault, pH, z);
}
static void lsvfsDlClose(sqlite3_vfs *pVfs, void *pHandle){
  (void)pVfs;
  gLsvfs.pDefault->xDlClose(gLsvfs.pDefault, pHandle);
}
static int lsvfsRandomness(sqlite3_vfs *pVfs, int nByte, char *zOut){
  (void)pVfs;
  return gLsvfs.pDefault->xRandomness(gLsvfs.pDefault, nByte, zOut);
}
static int lsvfsSleep(sqlite3_vfs *pVfs, int nMicro){
  (void)pVfs;
  return gLsvfs.pDefault->xSleep(gLsvfs.pDefault, nMicro);
}
static int lsvfsCurrentTime(sqlite3_vfs *pVfs, double *pTime){
  (void)pVfs;
  return gLsvfs.pDefault->xCurrentTime(gLsvfs.pDefault, pTime);
}
static int lsvfsGetLastError(sqlite3_vfs *pVfs, int nBuf, char *zBuf){
  (void)pVfs;
  if( gLsvfs.pDefault->xGetLastError==0 ) return 0;
  return gLsvfs.pDefault->xGetLastError(gLsvfs.pDefault, nBuf, zBuf);
}
static int lsvfsCurrentTimeInt64(sqlite3_vfs *pVfs, sqlite3_int64 *pTime){
  sqlite3_vfs *pDflt = gLsvfs.pDefault;
  (void)pVfs;
  if( pDflt->iVersion>=2 && pDflt->xCurrentTimeInt64 ){
    return pDflt->xCurrentTimeInt64(pDflt, pTime);
  }else{
    double r = 0.0;
    int rc = pDflt->xCurrentTime(pDflt, &r);
    *pTime = (sqlite3_int64)(r * 86400000.0);
    return rc;
  }
}

/* The VFS. szOsFile and mxPathname are set from the default VFS. */
static sqlite3_vfs gLsvfsVfs = {
  2,                            /* iVersion */
  0,                            /* szOsFile */
  0,                            /* mxPathname */
  0,                            /* pNext */
  LSVFS_NAME,                   /* zName */
  0,                            /* pAppData */
  lsvfsOpen,                    /* xOpen */
  lsvfsDelete,                  /* xDelete */
  lsvfsAccess,                  /* xAccess */
  lsvfsFullPathname,            /* xFullPathname */
  lsvfsDlOpen,                  /* xDlOpen */
  lsvfsDlError,                 /* xDlError */
  lsvfsDlSym,                   /* xDlSym */
  lsvfsDlClose,                 /* xDlClose */
  lsvfsRandomness,              /* xRandomness */
  lsvfsSleep,                   /* xSleep */
  lsvfsCurrentTime,             /* xCurrentTime */
  lsvfsGetLastError,            /* xGetLastError */
  lsvfsCurrentTimeInt64,        /* xCurrentTimeInt64 */
  0,                            /* xSetSystemCall */
  0,                            /* xGetSystemCall */
  0                             /* xNextSystemCall */
};

/*
** Registers the VFS "litestream", not as the default, once per libsqlite3:
** again if the library the shim is bound to no longer has it (it was
** unloaded and loaded anew, and what the shim knew of the old copy is gone
** with it). On failure sets *pzErr to a message (sqlite3_free it).
*/
static int lsvfsRegister(char **pzErr){
  int rc = SQLITE_OK;
  sqlite3_vfs *pFound;
  lsvfsEnter();
  pFound = sqlite3_vfs_find(LSVFS_NAME);
  if( pFound==&gLsvfsVfs ){
    /* Registered in this library already. */
  }else if( pFound!=0 ){
    *pzErr = sqlite3_mprintf("litestream: another VFS is already "
                             "registered as \"%s\"", LSVFS_NAME);
    rc = SQLITE_ERROR;
  }else{
    sqlite3_vfs *pDflt = sqlite3_vfs_find(0);
    if( pDflt==0 ){
      *pzErr = sqlite3_mprintf("litestream: no default VFS to wrap");
      rc = SQLITE_ERROR;
    }else{
      if( gLsvfs.pDefault ){
        /* A new copy of libsqlite3: files of the old one died with it. */
        LsvfsHost *pHost;
        gLsvfs.pFiles = 0;
        for(pHost=gLsvfs.pHosts; pHost; pHost=pHost->pNext) pHost->nUser = 0;
      }
      gLsvfs.pDefault = pDflt;
      gLsvfsVfs.pNext = 0;
      gLsvfsVfs.szOsFile = pDflt->szOsFile>(int)sizeof(LsvfsFile)
                         ? pDflt->szOsFile : (int)sizeof(LsvfsFile);
      if( gLsvfsVfs.szOsFile<(int)sizeof(LsvfsJournal) ){
        gLsvfsVfs.szOsFile = (int)sizeof(LsvfsJournal);
      }
      gLsvfsVfs.mxPathname = pDflt->mxPathname;
      rc = sqlite3_vfs_register(&gLsvfsVfs, 0);
      if( rc!=SQLITE_OK ){
        *pzErr = sqlite3_mprintf("litestream: cannot register the VFS");
      }
    }
  }
  lsvfsLeave();
  return rc;
}

/*
******************************************************************************
** SQL functions
******************************************************************************
*/

/* How a SQL function returns the port's result. */
#define LSVFS_RESULT_TEXT 0   /* as text */
#define LSVFS_RESULT_INT 1    /* as an integer */
#define LSVFS_RESULT_NULL 2   /* NULL (a set) */

/* One SQL function: a port pragma call. */
typedef struct LsvfsSqlFunc LsvfsSqlFunc;
struct LsvfsSqlFunc {
  const char *zName;   /* SQL name */
  int nArg;            /* 0 for a get, 1 for a set */
  int eFlags;          /* More sqlite3_create_function_v2() flags */
  const char *zPragma; /* Pragma name sent to the port */
  int eResult;         /* LSVFS_RESULT_* */
};

/* The functions, as Litestream's VFS has them. */
static const LsvfsSqlFunc aLsvfsSqlFunc[] = {
  { "litestream_txid", 0, 0, "litestream_txid", LSVFS_RESULT_TEXT },
  { "litestream_time", 0, 0, "litestream_time", LSVFS_RESULT_TEXT },
  { "litestream_lag", 0, 0, "litestream_lag", LSVFS_RESULT_INT },
  { "litestream_status", 0, 0, "litestream_status", LSVFS_RESULT_TEXT },
  { "litestream_set_time", 1, SQLITE_DIRECTONLY, "litestream_time",
    LSVFS_RESULT_NULL },
};

/* The main database's file of db if the VFS serves it, else NULL. */
static LsvfsFile *lsvfsMainFile(sqlite3 *db){
  sqlite3_file *pFile = 0;
  if( sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER,
                           (void*)&pFile)!=SQLITE_OK ){
    return 0;
  }
  if( pFile==0 || pFile->pMethods!=&gLsvfsIoMethods ) return 0;
  return (LsvfsFile*)pFile;
}

/* Decimal text (an optional '-', then digits) to an integer; 0 if not. */
static sqlite3_int64 lsvfsAtoi(const char *z){
  sqlite3_int64 n = 0;
  int bNeg = 0;
  if( *z=='-' ){
    bNeg = 1;
    z++;
  }
  for(; *z>='0' && *z<='9'; z++) n = n*10 + (*z - '0');
  return bNeg ? -n : n;
}

/* Every SQL function: the same port call as its PRAGMA. */
static void lsvfsSqlFunction(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv){
  const LsvfsSqlFunc *pFunc = (const LsvfsSqlFunc*)sqlite3_user_data(ctx);
  LsvfsFile *p = lsvfsMainFile(sqlite3_context_db_handle(ctx));
  const char *zValue = 0;
  char *zResult = 0;
  char *zErr = 0;
  int rc;
  if( p==0 ){
    zErr = sqlite3_mprintf("%s(): the main database of this connection is "
                           "not opened with the litestream VFS", pFunc->zName);
    sqlite3_result_error(ctx, zErr ? zErr : pFunc->zName, -1);
    sqlite3_free(zErr);
    return;
  }
  if( argc>0 ){
    zValue = (const char*)sqlite3_value_text(argv[0]);
    if( zValue==0 ){
      zErr = sqlite3_mprintf("%s(): expected a time as text, or 'LATEST'",
                             pFunc->zName);
      sqlite3_result_error(ctx, zErr ? zErr : pFunc->zName, -1);
      sqlite3_free(zErr);
      return;
    }
  }
  rc = lsvfsPortPragma(p, pFunc->zPragma, zValue, &zResult, &zErr);
  if( rc==SQLITE_NOTFOUND ){
    sqlite3_free(zErr);
    zErr = sqlite3_mprintf("%s(): the engine does not answer it",
                           pFunc->zName);
    rc = SQLITE_ERROR;
  }
  if( rc!=SQLITE_OK ){
    if( rc==SQLITE_NOMEM ){
      sqlite3_result_error_nomem(ctx);
    }else{
      sqlite3_result_error(ctx, zErr ? zErr : sqlite3_errstr(rc), -1);
      if( rc!=SQLITE_ERROR ) sqlite3_result_error_code(ctx, rc);
    }
    sqlite3_free(zErr);
    sqlite3_free(zResult);
    return;
  }
  if( pFunc->eResult==LSVFS_RESULT_NULL || zResult==0 ){
    sqlite3_result_null(ctx);
    sqlite3_free(zResult);
  }else if( pFunc->eResult==LSVFS_RESULT_INT ){
    sqlite3_result_int64(ctx, lsvfsAtoi(zResult));
    sqlite3_free(zResult);
  }else{
    sqlite3_result_text(ctx, zResult, -1, sqlite3_free);
  }
}

/*
** Registers the SQL functions on db if its main database uses the VFS.
** SQLITE_NOTFOUND if it does not; else what sqlite3_create_function_v2()
** returned first that was not SQLITE_OK.
*/
static int lsvfsRegisterFunctions(sqlite3 *db){
  int rc = SQLITE_OK;
  size_t i;
  if( db==0 || lsvfsMainFile(db)==0 ) return SQLITE_NOTFOUND;
  for(i=0; i<sizeof(aLsvfsSqlFunc)/sizeof(aLsvfsSqlFunc[0]); i++){
    const LsvfsSqlFunc *pFunc = &aLsvfsSqlFunc[i];
    int rc2 = sqlite3_create_function_v2(db, pFunc->zName, pFunc->nArg,
        SQLITE_UTF8 | pFunc->eFlags, (void*)pFunc, lsvfsSqlFunction, 0, 0, 0);
    if( rc==SQLITE_OK ) rc = rc2;
  }
  return rc;
}

/*
** The auto-extension: SQLite calls it in every sqlite3_open*() of the
** process once the main database is open. It registers the functions on
** connections that use the VFS and always returns SQLITE_OK: a failure here
** would fail the open (a missing return value did, in Litestream's).
*/
static int lsvfsAutoExtension(sqlite3 *db, char **pzErrMsg,
                              const sqlite3_api_routines *pApi){
  (void)pzErrMsg; (void)pApi;
  (void)lsvfsRegisterFunctions(db);
  return SQLITE_OK;
}

/*
******************************************************************************
** Exported functions
******************************************************************************
*/

/*
** The extension's entry point (SQLite derives the name from the file name
** litestream-vfs.so). Registers the VFS, the SQL functions on db if its main
** database uses the VFS, and the auto-extension that registers them on
** later connections; the library stays loaded.
*/
LSVFS_EXPORT int sqlite3_litestreamvfs_init(sqlite3 *db, char **pzErrMsg,
                               const sqlite3_api_routines *pApi){
  char *zErr = 0;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  if( sqlite3_libversion_number()<LSVFS_MIN_SQLITE ){
    /* sqlite3_uri_key() is missing from older routine tables. */
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf("litestream: needs SQLite 3.31.0 or later, "
                                  "not %s", sqlite3_libversion());
    }
    return SQLITE_ERROR;
  }
  rc = lsvfsRegister(&zErr);
  if( rc!=SQLITE_OK ){
    if( pzErrMsg ){
      *pzErrMsg = zErr;
    }else{
      sqlite3_free(zErr);
    }
    return rc;
  }
  lsvfsPipeFindLibrary();
  (void)lsvfsRegisterFunctions(db);
  rc = sqlite3_auto_extension((void(*)(void))lsvfsAutoExtension);
  if( rc!=SQLITE_OK ){
    if( pzErrMsg ){
      *pzErrMsg = sqlite3_mprintf("litestream: cannot register the SQL "
                                  "functions for new connections");
    }
    return rc;
  }
  return SQLITE_OK_LOAD_PERMANENTLY;
}

/*
** Registers the SQL functions on db (a connection opened before the shim
** was loaded, or after sqlite3_reset_auto_extension()). SQLITE_OK, or
** SQLITE_NOTFOUND if db's main database does not use the VFS, or
** SQLITE_MISUSE before the extension is loaded.
*/
LSVFS_EXPORT int lsvfs_register_functions(sqlite3 *db){
  if( sqlite3_api==0 ) return SQLITE_MISUSE;
  return lsvfsRegisterFunctions(db);
}

/*
** Installs the calling thread's host port: aFn holds nFn (LSVFS_HOST_NFN)
** function pointers in LsvfsPort order: open, close, begin_read, end_read,
** file_size, read_pages, error_message, pragma. Files this thread opens
** afterwards use them. SQLITE_MISUSE before the extension is loaded or for
** a wrong table; SQLITE_BUSY while files are open on the thread's old one;
** SQLITE_NOMEM.
*/
LSVFS_EXPORT int lsvfs_host_install(void (*const *aFn)(void), int nFn){
  int i;
  int rc = SQLITE_OK;
  LsvfsHost *pHost;
  if( sqlite3_api==0 || aFn==0 || nFn!=LSVFS_HOST_NFN ) return SQLITE_MISUSE;
  for(i=0; i<nFn; i++){
    if( aFn[i]==0 ) return SQLITE_MISUSE;
  }
  pHost = tLsvfsHost;
  if( pHost==0 ){
    lsvfsEnter();
    for(pHost=gLsvfs.pHosts; pHost && pHost->bInUse; pHost=pHost->pNext){}
    if( pHost ) pHost->bInUse = 1;
    lsvfsLeave();
  }
  if( pHost==0 ){
    pHost = sqlite3_malloc(sizeof(*pHost));
    if( pHost==0 ) return SQLITE_NOMEM;
    memset(pHost, 0, sizeof(*pHost));
    pHost->bInUse = 1;
    lsvfsEnter();
    pHost->pNext = gLsvfs.pHosts;
    gLsvfs.pHosts = pHost;
    lsvfsLeave();
  }
  tLsvfsHost = pHost;
  lsvfsEnter();
  if( pHost->nUser>0 ){
    rc = SQLITE_BUSY;
  }else{
    LsvfsPort *pPort = &pHost->port;
    pPort->zName = "host";
    pPort->xOpen = (int(*)(const char*, const char*, int, int*, int*,
                           int*))aFn[0];
    pPort->xClose = (int(*)(int, const sqlite3_uint64*, int))aFn[1];
    pPort->xBeginRead = (int(*)(int, sqlite3_uint64*, unsigned int*,
                                sqlite3_int64*))aFn[2];
    pPort->xEndRead = (int(*)(int))aFn[3];
    pPort->xFileSize = (int(*)(int, sqlite3_int64*))aFn[4];
    pPort->xReadPages = (int(*)(int, unsigned int, int, void*,
                                unsigned int*, int*))aFn[5];
    pPort->xErrorMessage = (int(*)(char*, int))aFn[6];
    pPort->xPragma = (int(*)(int, const char*, const char*, char*, int,
                             int*))aFn[7];
    pPort->xLocalMap = (int(*)(int, unsigned char*, int, int*))aFn[8];
    pPort->xWriteLock = (int(*)(int, int))aFn[9];
    pPort->xWrite = (int(*)(int, sqlite3_int64, const void*, int))aFn[10];
    pPort->xTruncate = (int(*)(int, sqlite3_int64))aFn[11];
    pPort->xCommit = (int(*)(int, sqlite3_uint64*))aFn[12];
    pHost->bInstalled = 1;
  }
  lsvfsLeave();
  return rc;
}

/*
** Removes the calling thread's host port, so its functions may be freed.
** SQLITE_BUSY while files are open on it; SQLITE_MISUSE before the
** extension is loaded.
*/
LSVFS_EXPORT int lsvfs_host_uninstall(void){
  int rc = SQLITE_OK;
  LsvfsHost *pHost = tLsvfsHost;
  if( sqlite3_api==0 ) return SQLITE_MISUSE;
  if( pHost==0 ) return SQLITE_OK;
  lsvfsEnter();
  if( pHost->nUser>0 ){
    rc = SQLITE_BUSY;
  }else{
    pHost->bInstalled = 0;
    memset(&pHost->port, 0, sizeof(pHost->port));
    memset(pHost->aClosedStat, 0, sizeof(pHost->aClosedStat));
    pHost->bInUse = 0;
    tLsvfsHost = 0;
  }
  lsvfsLeave();
  return rc;
}

/*
** Copies up to nOut page-cache counters into aOut: hits, misses, evictions,
** drops (cache emptied for a new view version), bytes held, pages held,
** byte bound, reads served from local files with no port call (hydration
** file, frame map), read_pages calls. iFile is a file id of the calling
** thread's host port, or -1 for every file of that port (counters of
** closed files included; bytes,
** pages and bound of open files only). Returns SQLITE_OK, SQLITE_NOTFOUND
** for an unknown file or a thread without a host port, or SQLITE_MISUSE
** before the extension is loaded.
*/
LSVFS_EXPORT int lsvfs_cache_stats(int iFile, sqlite3_uint64 *aOut, int nOut){
  sqlite3_uint64 aStat[LSVFS_NSTAT];
  LsvfsHost *pHost = tLsvfsHost;
  LsvfsFile *p;
  int bFound = 0;
  int i;
  if( sqlite3_api==0 || aOut==0 || nOut<0 ) return SQLITE_MISUSE;
  if( pHost==0 ) return SQLITE_NOTFOUND;
  memset(aStat, 0, sizeof(aStat));
  lsvfsEnter();
  if( iFile<0 ){
    memcpy(aStat, pHost->aClosedStat, sizeof(aStat));
    bFound = 1;
  }
  for(p=gLsvfs.pFiles; p; p=p->pNext){
    if( p->pHost==pHost && (iFile<0 || p->iId==iFile) ){
      lsvfsFileAddStats(p, aStat);
      bFound = 1;
    }
  }
  lsvfsLeave();
  if( !bFound ) return SQLITE_NOTFOUND;
  for(i=0; i<nOut && i<LSVFS_NSTAT; i++) aOut[i] = aStat[i];
  return SQLITE_OK;
}
