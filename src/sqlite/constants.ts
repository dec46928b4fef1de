/**
 * SQLite's C constants, by their exact C names and values (checked against
 * sqlite3.h of SQLite 3.40.1): result codes, extended result codes, open
 * flags, fundamental datatypes, lock levels, file-control opcodes, function
 * flags and prepare flags.
 *
 * @module
 */

// --- Primary result codes (https://sqlite.org/rescode.html) ---

/** Successful result. */
export const SQLITE_OK = 0;
/** Generic error. */
export const SQLITE_ERROR = 1;
/** Internal logic error in SQLite. */
export const SQLITE_INTERNAL = 2;
/** Access permission denied. */
export const SQLITE_PERM = 3;
/** Callback routine requested an abort. */
export const SQLITE_ABORT = 4;
/** The database file is locked. */
export const SQLITE_BUSY = 5;
/** A table in the database is locked. */
export const SQLITE_LOCKED = 6;
/** A malloc() failed. */
export const SQLITE_NOMEM = 7;
/** Attempt to write a readonly database. */
export const SQLITE_READONLY = 8;
/** Some kind of disk I/O error occurred. */
export const SQLITE_IOERR = 10;
/** The database disk image is malformed. */
export const SQLITE_CORRUPT = 11;
/** Unknown opcode in sqlite3_file_control(). */
export const SQLITE_NOTFOUND = 12;
/** Insertion failed because database is full. */
export const SQLITE_FULL = 13;
/** Unable to open the database file. */
export const SQLITE_CANTOPEN = 14;
/** Database lock protocol error. */
export const SQLITE_PROTOCOL = 15;
/** Internal use only. */
export const SQLITE_EMPTY = 16;
/** The database schema changed. */
export const SQLITE_SCHEMA = 17;
/** String or BLOB exceeds size limit. */
export const SQLITE_TOOBIG = 18;
/** Abort due to constraint violation. */
export const SQLITE_CONSTRAINT = 19;
/** Data type mismatch. */
export const SQLITE_MISMATCH = 20;
/** Library used incorrectly. */
export const SQLITE_MISUSE = 21;
/** Uses OS features not supported on host. */
export const SQLITE_NOLFS = 22;
/** Authorization denied. */
export const SQLITE_AUTH = 23;
/** Not used. */
export const SQLITE_FORMAT = 24;
/** 2nd parameter to sqlite3_bind out of range. */
export const SQLITE_RANGE = 25;
/** File opened that is not a database file. */
export const SQLITE_NOTADB = 26;
/** Notifications from sqlite3_log(). */
export const SQLITE_NOTICE = 27;
/** Warnings from sqlite3_log(). */
export const SQLITE_WARNING = 28;
/** sqlite3_step() has another row ready. */
export const SQLITE_ROW = 100;
/** sqlite3_step() has finished executing. */
export const SQLITE_DONE = 101;

// --- Extended result codes: primary code | (n << 8) ---

/** Extended result code SQLITE_ERROR_MISSING_COLLSEQ: SQLITE_ERROR variant 1. */
export const SQLITE_ERROR_MISSING_COLLSEQ = SQLITE_ERROR | (1 << 8);
/** Extended result code SQLITE_ERROR_RETRY: SQLITE_ERROR variant 2. */
export const SQLITE_ERROR_RETRY = SQLITE_ERROR | (2 << 8);
/** Extended result code SQLITE_ERROR_SNAPSHOT: SQLITE_ERROR variant 3. */
export const SQLITE_ERROR_SNAPSHOT = SQLITE_ERROR | (3 << 8);
/** Extended result code SQLITE_IOERR_READ: SQLITE_IOERR variant 1. */
export const SQLITE_IOERR_READ = SQLITE_IOERR | (1 << 8);
/** Extended result code SQLITE_IOERR_SHORT_READ: SQLITE_IOERR variant 2. */
export const SQLITE_IOERR_SHORT_READ = SQLITE_IOERR | (2 << 8);
/** Extended result code SQLITE_IOERR_WRITE: SQLITE_IOERR variant 3. */
export const SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8);
/** Extended result code SQLITE_IOERR_FSYNC: SQLITE_IOERR variant 4. */
export const SQLITE_IOERR_FSYNC = SQLITE_IOERR | (4 << 8);
/** Extended result code SQLITE_IOERR_DIR_FSYNC: SQLITE_IOERR variant 5. */
export const SQLITE_IOERR_DIR_FSYNC = SQLITE_IOERR | (5 << 8);
/** Extended result code SQLITE_IOERR_TRUNCATE: SQLITE_IOERR variant 6. */
export const SQLITE_IOERR_TRUNCATE = SQLITE_IOERR | (6 << 8);
/** Extended result code SQLITE_IOERR_FSTAT: SQLITE_IOERR variant 7. */
export const SQLITE_IOERR_FSTAT = SQLITE_IOERR | (7 << 8);
/** Extended result code SQLITE_IOERR_UNLOCK: SQLITE_IOERR variant 8. */
export const SQLITE_IOERR_UNLOCK = SQLITE_IOERR | (8 << 8);
/** Extended result code SQLITE_IOERR_RDLOCK: SQLITE_IOERR variant 9. */
export const SQLITE_IOERR_RDLOCK = SQLITE_IOERR | (9 << 8);
/** Extended result code SQLITE_IOERR_DELETE: SQLITE_IOERR variant 10. */
export const SQLITE_IOERR_DELETE = SQLITE_IOERR | (10 << 8);
/** Extended result code SQLITE_IOERR_BLOCKED: SQLITE_IOERR variant 11. */
export const SQLITE_IOERR_BLOCKED = SQLITE_IOERR | (11 << 8);
/** Extended result code SQLITE_IOERR_NOMEM: SQLITE_IOERR variant 12. */
export const SQLITE_IOERR_NOMEM = SQLITE_IOERR | (12 << 8);
/** Extended result code SQLITE_IOERR_ACCESS: SQLITE_IOERR variant 13. */
export const SQLITE_IOERR_ACCESS = SQLITE_IOERR | (13 << 8);
/** Extended result code SQLITE_IOERR_CHECKRESERVEDLOCK: SQLITE_IOERR variant 14. */
export const SQLITE_IOERR_CHECKRESERVEDLOCK = SQLITE_IOERR | (14 << 8);
/** Extended result code SQLITE_IOERR_LOCK: SQLITE_IOERR variant 15. */
export const SQLITE_IOERR_LOCK = SQLITE_IOERR | (15 << 8);
/** Extended result code SQLITE_IOERR_CLOSE: SQLITE_IOERR variant 16. */
export const SQLITE_IOERR_CLOSE = SQLITE_IOERR | (16 << 8);
/** Extended result code SQLITE_IOERR_DIR_CLOSE: SQLITE_IOERR variant 17. */
export const SQLITE_IOERR_DIR_CLOSE = SQLITE_IOERR | (17 << 8);
/** Extended result code SQLITE_IOERR_SHMOPEN: SQLITE_IOERR variant 18. */
export const SQLITE_IOERR_SHMOPEN = SQLITE_IOERR | (18 << 8);
/** Extended result code SQLITE_IOERR_SHMSIZE: SQLITE_IOERR variant 19. */
export const SQLITE_IOERR_SHMSIZE = SQLITE_IOERR | (19 << 8);
/** Extended result code SQLITE_IOERR_SHMLOCK: SQLITE_IOERR variant 20. */
export const SQLITE_IOERR_SHMLOCK = SQLITE_IOERR | (20 << 8);
/** Extended result code SQLITE_IOERR_SHMMAP: SQLITE_IOERR variant 21. */
export const SQLITE_IOERR_SHMMAP = SQLITE_IOERR | (21 << 8);
/** Extended result code SQLITE_IOERR_SEEK: SQLITE_IOERR variant 22. */
export const SQLITE_IOERR_SEEK = SQLITE_IOERR | (22 << 8);
/** Extended result code SQLITE_IOERR_DELETE_NOENT: SQLITE_IOERR variant 23. */
export const SQLITE_IOERR_DELETE_NOENT = SQLITE_IOERR | (23 << 8);
/** Extended result code SQLITE_IOERR_MMAP: SQLITE_IOERR variant 24. */
export const SQLITE_IOERR_MMAP = SQLITE_IOERR | (24 << 8);
/** Extended result code SQLITE_IOERR_GETTEMPPATH: SQLITE_IOERR variant 25. */
export const SQLITE_IOERR_GETTEMPPATH = SQLITE_IOERR | (25 << 8);
/** Extended result code SQLITE_IOERR_CONVPATH: SQLITE_IOERR variant 26. */
export const SQLITE_IOERR_CONVPATH = SQLITE_IOERR | (26 << 8);
/** Extended result code SQLITE_IOERR_VNODE: SQLITE_IOERR variant 27. */
export const SQLITE_IOERR_VNODE = SQLITE_IOERR | (27 << 8);
/** Extended result code SQLITE_IOERR_AUTH: SQLITE_IOERR variant 28. */
export const SQLITE_IOERR_AUTH = SQLITE_IOERR | (28 << 8);
/** Extended result code SQLITE_IOERR_BEGIN_ATOMIC: SQLITE_IOERR variant 29. */
export const SQLITE_IOERR_BEGIN_ATOMIC = SQLITE_IOERR | (29 << 8);
/** Extended result code SQLITE_IOERR_COMMIT_ATOMIC: SQLITE_IOERR variant 30. */
export const SQLITE_IOERR_COMMIT_ATOMIC = SQLITE_IOERR | (30 << 8);
/** Extended result code SQLITE_IOERR_ROLLBACK_ATOMIC: SQLITE_IOERR variant 31. */
export const SQLITE_IOERR_ROLLBACK_ATOMIC = SQLITE_IOERR | (31 << 8);
/** Extended result code SQLITE_IOERR_DATA: SQLITE_IOERR variant 32. */
export const SQLITE_IOERR_DATA = SQLITE_IOERR | (32 << 8);
/** Extended result code SQLITE_IOERR_CORRUPTFS: SQLITE_IOERR variant 33. */
export const SQLITE_IOERR_CORRUPTFS = SQLITE_IOERR | (33 << 8);
/** Extended result code SQLITE_LOCKED_SHAREDCACHE: SQLITE_LOCKED variant 1. */
export const SQLITE_LOCKED_SHAREDCACHE = SQLITE_LOCKED | (1 << 8);
/** Extended result code SQLITE_LOCKED_VTAB: SQLITE_LOCKED variant 2. */
export const SQLITE_LOCKED_VTAB = SQLITE_LOCKED | (2 << 8);
/** Extended result code SQLITE_BUSY_RECOVERY: SQLITE_BUSY variant 1. */
export const SQLITE_BUSY_RECOVERY = SQLITE_BUSY | (1 << 8);
/** Extended result code SQLITE_BUSY_SNAPSHOT: SQLITE_BUSY variant 2. */
export const SQLITE_BUSY_SNAPSHOT = SQLITE_BUSY | (2 << 8);
/** Extended result code SQLITE_BUSY_TIMEOUT: SQLITE_BUSY variant 3. */
export const SQLITE_BUSY_TIMEOUT = SQLITE_BUSY | (3 << 8);
/** Extended result code SQLITE_CANTOPEN_NOTEMPDIR: SQLITE_CANTOPEN variant 1. */
export const SQLITE_CANTOPEN_NOTEMPDIR = SQLITE_CANTOPEN | (1 << 8);
/** Extended result code SQLITE_CANTOPEN_ISDIR: SQLITE_CANTOPEN variant 2. */
export const SQLITE_CANTOPEN_ISDIR = SQLITE_CANTOPEN | (2 << 8);
/** Extended result code SQLITE_CANTOPEN_FULLPATH: SQLITE_CANTOPEN variant 3. */
export const SQLITE_CANTOPEN_FULLPATH = SQLITE_CANTOPEN | (3 << 8);
/** Extended result code SQLITE_CANTOPEN_CONVPATH: SQLITE_CANTOPEN variant 4. */
export const SQLITE_CANTOPEN_CONVPATH = SQLITE_CANTOPEN | (4 << 8);
/** Extended result code SQLITE_CANTOPEN_DIRTYWAL: SQLITE_CANTOPEN variant 5. */
export const SQLITE_CANTOPEN_DIRTYWAL = SQLITE_CANTOPEN | (5 << 8);
/** Extended result code SQLITE_CANTOPEN_SYMLINK: SQLITE_CANTOPEN variant 6. */
export const SQLITE_CANTOPEN_SYMLINK = SQLITE_CANTOPEN | (6 << 8);
/** Extended result code SQLITE_CORRUPT_VTAB: SQLITE_CORRUPT variant 1. */
export const SQLITE_CORRUPT_VTAB = SQLITE_CORRUPT | (1 << 8);
/** Extended result code SQLITE_CORRUPT_SEQUENCE: SQLITE_CORRUPT variant 2. */
export const SQLITE_CORRUPT_SEQUENCE = SQLITE_CORRUPT | (2 << 8);
/** Extended result code SQLITE_CORRUPT_INDEX: SQLITE_CORRUPT variant 3. */
export const SQLITE_CORRUPT_INDEX = SQLITE_CORRUPT | (3 << 8);
/** Extended result code SQLITE_READONLY_RECOVERY: SQLITE_READONLY variant 1. */
export const SQLITE_READONLY_RECOVERY = SQLITE_READONLY | (1 << 8);
/** Extended result code SQLITE_READONLY_CANTLOCK: SQLITE_READONLY variant 2. */
export const SQLITE_READONLY_CANTLOCK = SQLITE_READONLY | (2 << 8);
/** Extended result code SQLITE_READONLY_ROLLBACK: SQLITE_READONLY variant 3. */
export const SQLITE_READONLY_ROLLBACK = SQLITE_READONLY | (3 << 8);
/** Extended result code SQLITE_READONLY_DBMOVED: SQLITE_READONLY variant 4. */
export const SQLITE_READONLY_DBMOVED = SQLITE_READONLY | (4 << 8);
/** Extended result code SQLITE_READONLY_CANTINIT: SQLITE_READONLY variant 5. */
export const SQLITE_READONLY_CANTINIT = SQLITE_READONLY | (5 << 8);
/** Extended result code SQLITE_READONLY_DIRECTORY: SQLITE_READONLY variant 6. */
export const SQLITE_READONLY_DIRECTORY = SQLITE_READONLY | (6 << 8);
/** Extended result code SQLITE_ABORT_ROLLBACK: SQLITE_ABORT variant 2. */
export const SQLITE_ABORT_ROLLBACK = SQLITE_ABORT | (2 << 8);
/** Extended result code SQLITE_CONSTRAINT_CHECK: SQLITE_CONSTRAINT variant 1. */
export const SQLITE_CONSTRAINT_CHECK = SQLITE_CONSTRAINT | (1 << 8);
/** Extended result code SQLITE_CONSTRAINT_COMMITHOOK: SQLITE_CONSTRAINT variant 2. */
export const SQLITE_CONSTRAINT_COMMITHOOK = SQLITE_CONSTRAINT | (2 << 8);
/** Extended result code SQLITE_CONSTRAINT_FOREIGNKEY: SQLITE_CONSTRAINT variant 3. */
export const SQLITE_CONSTRAINT_FOREIGNKEY = SQLITE_CONSTRAINT | (3 << 8);
/** Extended result code SQLITE_CONSTRAINT_FUNCTION: SQLITE_CONSTRAINT variant 4. */
export const SQLITE_CONSTRAINT_FUNCTION = SQLITE_CONSTRAINT | (4 << 8);
/** Extended result code SQLITE_CONSTRAINT_NOTNULL: SQLITE_CONSTRAINT variant 5. */
export const SQLITE_CONSTRAINT_NOTNULL = SQLITE_CONSTRAINT | (5 << 8);
/** Extended result code SQLITE_CONSTRAINT_PRIMARYKEY: SQLITE_CONSTRAINT variant 6. */
export const SQLITE_CONSTRAINT_PRIMARYKEY = SQLITE_CONSTRAINT | (6 << 8);
/** Extended result code SQLITE_CONSTRAINT_TRIGGER: SQLITE_CONSTRAINT variant 7. */
export const SQLITE_CONSTRAINT_TRIGGER = SQLITE_CONSTRAINT | (7 << 8);
/** Extended result code SQLITE_CONSTRAINT_UNIQUE: SQLITE_CONSTRAINT variant 8. */
export const SQLITE_CONSTRAINT_UNIQUE = SQLITE_CONSTRAINT | (8 << 8);
/** Extended result code SQLITE_CONSTRAINT_VTAB: SQLITE_CONSTRAINT variant 9. */
export const SQLITE_CONSTRAINT_VTAB = SQLITE_CONSTRAINT | (9 << 8);
/** Extended result code SQLITE_CONSTRAINT_ROWID: SQLITE_CONSTRAINT variant 10. */
export const SQLITE_CONSTRAINT_ROWID = SQLITE_CONSTRAINT | (10 << 8);
/** Extended result code SQLITE_CONSTRAINT_PINNED: SQLITE_CONSTRAINT variant 11. */
export const SQLITE_CONSTRAINT_PINNED = SQLITE_CONSTRAINT | (11 << 8);
/** Extended result code SQLITE_CONSTRAINT_DATATYPE: SQLITE_CONSTRAINT variant 12. */
export const SQLITE_CONSTRAINT_DATATYPE = SQLITE_CONSTRAINT | (12 << 8);
/** Extended result code SQLITE_NOTICE_RECOVER_WAL: SQLITE_NOTICE variant 1. */
export const SQLITE_NOTICE_RECOVER_WAL = SQLITE_NOTICE | (1 << 8);
/** Extended result code SQLITE_NOTICE_RECOVER_ROLLBACK: SQLITE_NOTICE variant 2. */
export const SQLITE_NOTICE_RECOVER_ROLLBACK = SQLITE_NOTICE | (2 << 8);
/** Extended result code SQLITE_WARNING_AUTOINDEX: SQLITE_WARNING variant 1. */
export const SQLITE_WARNING_AUTOINDEX = SQLITE_WARNING | (1 << 8);
/** Extended result code SQLITE_AUTH_USER: SQLITE_AUTH variant 1. */
export const SQLITE_AUTH_USER = SQLITE_AUTH | (1 << 8);
/** Extended result code SQLITE_OK_LOAD_PERMANENTLY: SQLITE_OK variant 1. */
export const SQLITE_OK_LOAD_PERMANENTLY = SQLITE_OK | (1 << 8);
/** Extended result code SQLITE_OK_SYMLINK: SQLITE_OK variant 2. */
export const SQLITE_OK_SYMLINK = SQLITE_OK | (2 << 8);
// --- Flags for sqlite3_open_v2() and xOpen ---

/** Open flag SQLITE_OPEN_READONLY (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_READONLY = 0x00000001;
/** Open flag SQLITE_OPEN_READWRITE (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_READWRITE = 0x00000002;
/** Open flag SQLITE_OPEN_CREATE (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_CREATE = 0x00000004;
/** Open flag SQLITE_OPEN_DELETEONCLOSE (VFS only). */
export const SQLITE_OPEN_DELETEONCLOSE = 0x00000008;
/** Open flag SQLITE_OPEN_EXCLUSIVE (VFS only). */
export const SQLITE_OPEN_EXCLUSIVE = 0x00000010;
/** Open flag SQLITE_OPEN_AUTOPROXY (VFS only). */
export const SQLITE_OPEN_AUTOPROXY = 0x00000020;
/** Open flag SQLITE_OPEN_URI (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_URI = 0x00000040;
/** Open flag SQLITE_OPEN_MEMORY (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_MEMORY = 0x00000080;
/** Open flag SQLITE_OPEN_MAIN_DB (VFS only). */
export const SQLITE_OPEN_MAIN_DB = 0x00000100;
/** Open flag SQLITE_OPEN_TEMP_DB (VFS only). */
export const SQLITE_OPEN_TEMP_DB = 0x00000200;
/** Open flag SQLITE_OPEN_TRANSIENT_DB (VFS only). */
export const SQLITE_OPEN_TRANSIENT_DB = 0x00000400;
/** Open flag SQLITE_OPEN_MAIN_JOURNAL (VFS only). */
export const SQLITE_OPEN_MAIN_JOURNAL = 0x00000800;
/** Open flag SQLITE_OPEN_TEMP_JOURNAL (VFS only). */
export const SQLITE_OPEN_TEMP_JOURNAL = 0x00001000;
/** Open flag SQLITE_OPEN_SUBJOURNAL (VFS only). */
export const SQLITE_OPEN_SUBJOURNAL = 0x00002000;
/** Open flag SQLITE_OPEN_SUPER_JOURNAL (VFS only). */
export const SQLITE_OPEN_SUPER_JOURNAL = 0x00004000;
/** Open flag SQLITE_OPEN_NOMUTEX (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_NOMUTEX = 0x00008000;
/** Open flag SQLITE_OPEN_FULLMUTEX (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_FULLMUTEX = 0x00010000;
/** Open flag SQLITE_OPEN_SHAREDCACHE (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_SHAREDCACHE = 0x00020000;
/** Open flag SQLITE_OPEN_PRIVATECACHE (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_PRIVATECACHE = 0x00040000;
/** Open flag SQLITE_OPEN_WAL (VFS only). */
export const SQLITE_OPEN_WAL = 0x00080000;
/** Open flag SQLITE_OPEN_NOFOLLOW (Ok for sqlite3_open_v2()). */
export const SQLITE_OPEN_NOFOLLOW = 0x01000000;
/** Open flag SQLITE_OPEN_EXRESCODE (Extended result codes). */
export const SQLITE_OPEN_EXRESCODE = 0x02000000;
// --- Fundamental datatypes (sqlite3_column_type, sqlite3_value_type) ---

/** 64-bit signed integer. */
export const SQLITE_INTEGER = 1;
/** 64-bit IEEE floating point number. */
export const SQLITE_FLOAT = 2;
/** String (UTF-8 here). */
export const SQLITE_TEXT = 3;
/** Binary large object. */
export const SQLITE_BLOB = 4;
/** SQL NULL. */
export const SQLITE_NULL = 5;

// --- File lock levels (xLock, xUnlock, xCheckReservedLock) ---

/** No lock held (xUnlock only). */
export const SQLITE_LOCK_NONE = 0;
/** Shared lock: reading (xLock or xUnlock). */
export const SQLITE_LOCK_SHARED = 1;
/** Reserved lock: about to write (xLock only). */
export const SQLITE_LOCK_RESERVED = 2;
/** Pending lock: waiting for readers to leave (xLock only). */
export const SQLITE_LOCK_PENDING = 3;
/** Exclusive lock: writing the database file (xLock only). */
export const SQLITE_LOCK_EXCLUSIVE = 4;

// --- xSync flags ---

/** xSync flag: normal sync. */
export const SQLITE_SYNC_NORMAL = 0x00002;
/** xSync flag: full sync (F_FULLFSYNC on macOS). */
export const SQLITE_SYNC_FULL = 0x00003;
/** xSync flag: only data, not metadata, needs syncing. */
export const SQLITE_SYNC_DATAONLY = 0x00010;

// --- xAccess flags ---

/** xAccess: does the file exist. */
export const SQLITE_ACCESS_EXISTS = 0;
/** xAccess: is the file readable and writable. */
export const SQLITE_ACCESS_READWRITE = 1;
/** xAccess: is the file readable (unused by SQLite). */
export const SQLITE_ACCESS_READ = 2;

// --- File-control opcodes (xFileControl) ---

/** File-control opcode SQLITE_FCNTL_LOCKSTATE. */
export const SQLITE_FCNTL_LOCKSTATE = 1;
/** File-control opcode SQLITE_FCNTL_GET_LOCKPROXYFILE. */
export const SQLITE_FCNTL_GET_LOCKPROXYFILE = 2;
/** File-control opcode SQLITE_FCNTL_SET_LOCKPROXYFILE. */
export const SQLITE_FCNTL_SET_LOCKPROXYFILE = 3;
/** File-control opcode SQLITE_FCNTL_LAST_ERRNO. */
export const SQLITE_FCNTL_LAST_ERRNO = 4;
/** File-control opcode SQLITE_FCNTL_SIZE_HINT. */
export const SQLITE_FCNTL_SIZE_HINT = 5;
/** File-control opcode SQLITE_FCNTL_CHUNK_SIZE. */
export const SQLITE_FCNTL_CHUNK_SIZE = 6;
/** File-control opcode SQLITE_FCNTL_FILE_POINTER. */
export const SQLITE_FCNTL_FILE_POINTER = 7;
/** File-control opcode SQLITE_FCNTL_SYNC_OMITTED. */
export const SQLITE_FCNTL_SYNC_OMITTED = 8;
/** File-control opcode SQLITE_FCNTL_WIN32_AV_RETRY. */
export const SQLITE_FCNTL_WIN32_AV_RETRY = 9;
/** File-control opcode SQLITE_FCNTL_PERSIST_WAL. */
export const SQLITE_FCNTL_PERSIST_WAL = 10;
/** File-control opcode SQLITE_FCNTL_OVERWRITE. */
export const SQLITE_FCNTL_OVERWRITE = 11;
/** File-control opcode SQLITE_FCNTL_VFSNAME. */
export const SQLITE_FCNTL_VFSNAME = 12;
/** File-control opcode SQLITE_FCNTL_POWERSAFE_OVERWRITE. */
export const SQLITE_FCNTL_POWERSAFE_OVERWRITE = 13;
/** File-control opcode SQLITE_FCNTL_PRAGMA. */
export const SQLITE_FCNTL_PRAGMA = 14;
/** File-control opcode SQLITE_FCNTL_BUSYHANDLER. */
export const SQLITE_FCNTL_BUSYHANDLER = 15;
/** File-control opcode SQLITE_FCNTL_TEMPFILENAME. */
export const SQLITE_FCNTL_TEMPFILENAME = 16;
/** File-control opcode SQLITE_FCNTL_MMAP_SIZE. */
export const SQLITE_FCNTL_MMAP_SIZE = 18;
/** File-control opcode SQLITE_FCNTL_TRACE. */
export const SQLITE_FCNTL_TRACE = 19;
/** File-control opcode SQLITE_FCNTL_HAS_MOVED. */
export const SQLITE_FCNTL_HAS_MOVED = 20;
/** File-control opcode SQLITE_FCNTL_SYNC. */
export const SQLITE_FCNTL_SYNC = 21;
/** File-control opcode SQLITE_FCNTL_COMMIT_PHASETWO. */
export const SQLITE_FCNTL_COMMIT_PHASETWO = 22;
/** File-control opcode SQLITE_FCNTL_WIN32_SET_HANDLE. */
export const SQLITE_FCNTL_WIN32_SET_HANDLE = 23;
/** File-control opcode SQLITE_FCNTL_WAL_BLOCK. */
export const SQLITE_FCNTL_WAL_BLOCK = 24;
/** File-control opcode SQLITE_FCNTL_ZIPVFS. */
export const SQLITE_FCNTL_ZIPVFS = 25;
/** File-control opcode SQLITE_FCNTL_RBU. */
export const SQLITE_FCNTL_RBU = 26;
/** File-control opcode SQLITE_FCNTL_VFS_POINTER. */
export const SQLITE_FCNTL_VFS_POINTER = 27;
/** File-control opcode SQLITE_FCNTL_JOURNAL_POINTER. */
export const SQLITE_FCNTL_JOURNAL_POINTER = 28;
/** File-control opcode SQLITE_FCNTL_WIN32_GET_HANDLE. */
export const SQLITE_FCNTL_WIN32_GET_HANDLE = 29;
/** File-control opcode SQLITE_FCNTL_PDB. */
export const SQLITE_FCNTL_PDB = 30;
/** File-control opcode SQLITE_FCNTL_BEGIN_ATOMIC_WRITE. */
export const SQLITE_FCNTL_BEGIN_ATOMIC_WRITE = 31;
/** File-control opcode SQLITE_FCNTL_COMMIT_ATOMIC_WRITE. */
export const SQLITE_FCNTL_COMMIT_ATOMIC_WRITE = 32;
/** File-control opcode SQLITE_FCNTL_ROLLBACK_ATOMIC_WRITE. */
export const SQLITE_FCNTL_ROLLBACK_ATOMIC_WRITE = 33;
/** File-control opcode SQLITE_FCNTL_LOCK_TIMEOUT. */
export const SQLITE_FCNTL_LOCK_TIMEOUT = 34;
/** File-control opcode SQLITE_FCNTL_DATA_VERSION. */
export const SQLITE_FCNTL_DATA_VERSION = 35;
/** File-control opcode SQLITE_FCNTL_SIZE_LIMIT. */
export const SQLITE_FCNTL_SIZE_LIMIT = 36;
/** File-control opcode SQLITE_FCNTL_CKPT_DONE. */
export const SQLITE_FCNTL_CKPT_DONE = 37;
/** File-control opcode SQLITE_FCNTL_RESERVE_BYTES. */
export const SQLITE_FCNTL_RESERVE_BYTES = 38;
/** File-control opcode SQLITE_FCNTL_CKPT_START. */
export const SQLITE_FCNTL_CKPT_START = 39;
/** File-control opcode SQLITE_FCNTL_EXTERNAL_READER. */
export const SQLITE_FCNTL_EXTERNAL_READER = 40;
/** File-control opcode SQLITE_FCNTL_CKSM_FILE. */
export const SQLITE_FCNTL_CKSM_FILE = 41;
/** File-control opcode SQLITE_FCNTL_RESET_CACHE. */
export const SQLITE_FCNTL_RESET_CACHE = 42;

// --- Text encodings and function flags (sqlite3_create_function_v2) ---

/** Text encoding UTF-8. */
export const SQLITE_UTF8 = 1;
/** Function flag: same inputs always give the same output. */
export const SQLITE_DETERMINISTIC = 0x000000800;
/** Function flag: may only be called from top-level SQL, never from schema. */
export const SQLITE_DIRECTONLY = 0x000080000;
/** Function flag: may call sqlite3_value_subtype(). */
export const SQLITE_SUBTYPE = 0x000100000;
/** Function flag: harmless even when misused. */
export const SQLITE_INNOCUOUS = 0x000200000;

// --- Prepare flags (sqlite3_prepare_v3) ---

/** Prepare flag: the statement will be kept and reused many times. */
export const SQLITE_PREPARE_PERSISTENT = 0x01;
/** Prepare flag: no-op, kept for compatibility. */
export const SQLITE_PREPARE_NORMALIZE = 0x02;
/** Prepare flag: fail if the statement uses a virtual table. */
export const SQLITE_PREPARE_NO_VTAB = 0x04;
