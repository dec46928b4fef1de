/*
** lru_test.c: unit test of the shim's page cache (LsvfsCache), without
** SQLite. It includes litestream_vfs.c to reach its static functions and
** hands it an sqlite3_api_routines table whose only routines are malloc64
** and free. tests/vfs_shim_test.ts builds and runs it; exit status 0 means
** every check passed, and each failed check prints its line.
*/
#include "litestream_vfs.c"

#include <stdio.h>
#include <stdlib.h>

/* Failed checks so far. */
static int nFail = 0;

/* Records a failed check with its line. */
#define CHECK(x) do{ if( !(x) ){ \
  fprintf(stderr, "lru_test.c:%d: check failed: %s\n", __LINE__, #x); \
  nFail++; } }while(0)

/* sqlite3_malloc64 for the test: plain malloc. */
static void *testMalloc64(sqlite3_uint64 n){
  return malloc((size_t)n);
}

/* sqlite3_free for the test: plain free. */
static void testFree(void *p){
  free(p);
}

/* A page of 512 bytes, every byte equal to pgno's low byte. */
static const unsigned char *testPage(unsigned int pgno){
  static unsigned char a[512];
  memset(a, (int)(pgno & 0xff), sizeof(a));
  return a;
}

/* True if aData is testPage(pgno). */
static int isPage(const unsigned char *aData, unsigned int pgno){
  return aData!=0 && aData[0]==(pgno & 0xff) && aData[511]==(pgno & 0xff);
}

int main(void){
  static sqlite3_api_routines api;
  LsvfsCache c;
  unsigned int i;

  api.malloc64 = testMalloc64;
  api.free = testFree;
  sqlite3_api = &api;

  /* Four pages fit; the fifth evicts the least recently used. */
  lsvfsCacheInit(&c, 512, 4*512);
  lsvfsCacheStamp(&c, 7);
  for(i=1; i<=4; i++) CHECK( isPage(lsvfsCachePut(&c, i, testPage(i)), i) );
  CHECK( c.nPage==4 && c.nByte==4*512 );
  CHECK( isPage(lsvfsCacheGet(&c, 1), 1) );      /* 1 is now the newest */
  CHECK( isPage(lsvfsCachePut(&c, 5, testPage(5)), 5) );
  CHECK( lsvfsCacheGet(&c, 2)==0 );              /* 2 was the oldest */
  CHECK( isPage(lsvfsCacheGet(&c, 1), 1) );
  CHECK( isPage(lsvfsCacheGet(&c, 3), 3) );
  CHECK( c.nPage==4 && c.nByte==4*512 && c.nEvict==1 );
  CHECK( c.nHit==3 && c.nMiss==1 );

  /* Putting a held page replaces its content, no eviction. */
  CHECK( isPage(lsvfsCachePut(&c, 3, testPage(9)), 9) );
  CHECK( c.nPage==4 && c.nEvict==1 );

  /* The same version keeps the pages; another one drops them. */
  lsvfsCacheStamp(&c, 7);
  CHECK( c.nPage==4 && c.nDrop==0 );
  lsvfsCacheStamp(&c, 8);
  CHECK( c.nPage==0 && c.nByte==0 && c.nDrop==1 );
  CHECK( lsvfsCacheGet(&c, 1)==0 );
  lsvfsCacheFree(&c);

  /* Many pages: the hash table grows, every page stays findable, and the
  ** byte bound holds. */
  lsvfsCacheInit(&c, 512, 1000*512);
  for(i=1; i<=3000; i++) lsvfsCachePut(&c, i*7919u, testPage(i*7919u));
  CHECK( c.nPage==1000 && c.nByte==1000*512 && c.nEvict==2000 );
  CHECK( c.nBucket>=1000 );
  for(i=2001; i<=3000; i++){
    CHECK( isPage(lsvfsCacheGet(&c, i*7919u), i*7919u) );
  }
  CHECK( lsvfsCacheGet(&c, 2000*7919u)==0 );
  lsvfsCacheFree(&c);

  /* A bound below one page caches nothing. */
  lsvfsCacheInit(&c, 512, 511);
  CHECK( lsvfsCachePut(&c, 1, testPage(1))==0 );
  CHECK( c.nPage==0 && lsvfsCacheGet(&c, 1)==0 );
  lsvfsCacheFree(&c);

  if( nFail ){
    fprintf(stderr, "lru_test.c: %d check(s) failed\n", nFail);
    return 1;
  }
  printf("lru_test.c: ok\n");
  return 0;
}
