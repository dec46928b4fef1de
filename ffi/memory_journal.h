/*
** memory_journal.h: the rollback journal of a database in write mode, kept
** in memory. Included by litestream_vfs.c, after SQLITE_EXTENSION_INIT1.
**
** Why in memory: a write-mode database is made durable by its write buffer
** (src/engine/write_buffer.ts), which keeps committed transactions only.
** After a crash, the transaction that was under way is simply absent, so a
** journal on disk would never be needed to roll it back; SQLite needs one
** only to roll back inside the process (ROLLBACK, a failed statement, a
** transaction whose pages spilled to the file before it failed). A journal
** on disk would also go next to the database's name, a path that usually
** does not exist (the name is not a file), and a stale one left by a crash
** would be played back over the next open.
**
** A journal's content lives as long as its file handle: SQLite closes and
** deletes the journal at the end of each transaction (journal_mode DELETE),
** or keeps it open and reuses it (PERSIST, TRUNCATE).
*/
#ifndef LSVFS_MEMORY_JOURNAL_H
#define LSVFS_MEMORY_JOURNAL_H

#include <string.h>

/* A journal's bytes. */
typedef struct LsvfsJournal LsvfsJournal;
struct LsvfsJournal {
  sqlite3_file base;       /* Base class. Must be first. */
  unsigned char *aData;    /* nAlloc bytes, the first nSize of them valid */
  sqlite3_int64 nSize;     /* Size of the journal */
  sqlite3_int64 nAlloc;    /* Bytes allocated at aData */
};

/* Frees the journal's bytes. */
static int lsvfsJournalClose(sqlite3_file *pFile){
  LsvfsJournal *p = (LsvfsJournal*)pFile;
  sqlite3_free(p->aData);
  p->aData = 0;
  p->nSize = p->nAlloc = 0;
  p->base.pMethods = 0;
  return SQLITE_OK;
}

/* Past the end, zero-fills and returns SQLITE_IOERR_SHORT_READ, as a file
** does. */
static int lsvfsJournalRead(sqlite3_file *pFile, void *zBuf, int iAmt,
                            sqlite3_int64 iOfst){
  LsvfsJournal *p = (LsvfsJournal*)pFile;
  sqlite3_int64 nHave = p->nSize - iOfst;
  if( nHave>=iAmt ){
    memcpy(zBuf, p->aData+iOfst, (size_t)iAmt);
    return SQLITE_OK;
  }
  if( nHave<0 ) nHave = 0;
  if( nHave>0 ) memcpy(zBuf, p->aData+iOfst, (size_t)nHave);
  memset((unsigned char*)zBuf+nHave, 0, (size_t)(iAmt-nHave));
  return SQLITE_IOERR_SHORT_READ;
}

/* Grows the journal as needed; a gap before iOfst reads as zeros. */
static int lsvfsJournalWrite(sqlite3_file *pFile, const void *zBuf, int iAmt,
                             sqlite3_int64 iOfst){
  LsvfsJournal *p = (LsvfsJournal*)pFile;
  sqlite3_int64 nEnd = iOfst + iAmt;
  if( nEnd>p->nAlloc ){
    sqlite3_int64 nNew = p->nAlloc ? p->nAlloc*2 : 64*1024;
    unsigned char *aNew;
    while( nNew<nEnd ) nNew *= 2;
    aNew = sqlite3_realloc64(p->aData, (sqlite3_uint64)nNew);
    if( aNew==0 ) return SQLITE_IOERR_NOMEM;
    p->aData = aNew;
    p->nAlloc = nNew;
  }
  if( iOfst>p->nSize ) memset(p->aData+p->nSize, 0, (size_t)(iOfst-p->nSize));
  memcpy(p->aData+iOfst, zBuf, (size_t)iAmt);
  if( nEnd>p->nSize ) p->nSize = nEnd;
  return SQLITE_OK;
}

static int lsvfsJournalTruncate(sqlite3_file *pFile, sqlite3_int64 size){
  LsvfsJournal *p = (LsvfsJournal*)pFile;
  if( size<p->nSize ) p->nSize = size;
  return SQLITE_OK;
}

/* Nothing to make durable: see the top of this file. */
static int lsvfsJournalSync(sqlite3_file *pFile, int flags){
  (void)pFile; (void)flags;
  return SQLITE_OK;
}

static int lsvfsJournalFileSize(sqlite3_file *pFile, sqlite3_int64 *pSize){
  *pSize = ((LsvfsJournal*)pFile)->nSize;
  return SQLITE_OK;
}

/* One connection owns a journal: there is nothing to lock against. */
static int lsvfsJournalLock(sqlite3_file *pFile, int eLock){
  (void)pFile; (void)eLock;
  return SQLITE_OK;
}
static int lsvfsJournalCheckReservedLock(sqlite3_file *pFile, int *pResOut){
  (void)pFile;
  *pResOut = 0;
  return SQLITE_OK;
}

static int lsvfsJournalFileControl(sqlite3_file *pFile, int op, void *pArg){
  (void)pFile; (void)op; (void)pArg;
  return SQLITE_NOTFOUND;
}

static int lsvfsJournalSectorSize(sqlite3_file *pFile){
  (void)pFile;
  return 4096;
}

/* Memory is written in whole, in order, and never torn by a crash. */
static int lsvfsJournalDeviceCharacteristics(sqlite3_file *pFile){
  (void)pFile;
  return SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_SAFE_APPEND
       | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static const sqlite3_io_methods gLsvfsJournalMethods = {
  1,                                  /* iVersion */
  lsvfsJournalClose,                  /* xClose */
  lsvfsJournalRead,                   /* xRead */
  lsvfsJournalWrite,                  /* xWrite */
  lsvfsJournalTruncate,               /* xTruncate */
  lsvfsJournalSync,                   /* xSync */
  lsvfsJournalFileSize,               /* xFileSize */
  lsvfsJournalLock,                   /* xLock */
  lsvfsJournalLock,                   /* xUnlock */
  lsvfsJournalCheckReservedLock,      /* xCheckReservedLock */
  lsvfsJournalFileControl,            /* xFileControl */
  lsvfsJournalSectorSize,             /* xSectorSize */
  lsvfsJournalDeviceCharacteristics,  /* xDeviceCharacteristics */
  0, 0, 0, 0, 0, 0                    /* xShm*, xFetch, xUnfetch */
};

/* Opens an empty journal in pFile (at least sizeof(LsvfsJournal) bytes). */
static int lsvfsJournalOpen(sqlite3_file *pFile, int flags, int *pOutFlags){
  LsvfsJournal *p = (LsvfsJournal*)pFile;
  memset(p, 0, sizeof(*p));
  if( pOutFlags ) *pOutFlags = flags;
  p->base.pMethods = &gLsvfsJournalMethods;
  return SQLITE_OK;
}

#endif /* LSVFS_MEMORY_JOURNAL_H */
