/*
** lz4_block_test.c: test of the LZ4 block decoder in lz4_block.h, meant to
** run under AddressSanitizer and under valgrind. tests/lz4_block_test.ts
** builds it both ways and runs it.
**
** Usage: lz4_block_test DIR
**
** DIR holds test vectors, NAME.lz4 (an LZ4 block) and NAME.raw (the bytes it
** decodes to), made by the project's encoder. The test checks that each
** decodes to exactly its .raw bytes, and then:
**
**   - hand-made blocks, valid and not, with the exact result of each;
**
**   - every vector cut short at every length, appended to, decoded into
**     too small and too large buffers, and wrapped in an LTX size prefix,
**     each with the one result the format allows;
**
**   - a seeded, bounded fuzz loop (xorshift64*, fixed seed, FUZZ_TOTAL
**     mutations shared among the vectors): bit flips, byte replacements,
**     insertions, deletions, 0xff runs in length fields, offsets of 0, past
**     the start of the output or anywhere valid, random spans, trailing
**     garbage, several at once, decoded into buffers of the expected size
**     and sometimes others.
**
** Every decode gets an input and an output buffer of exactly their sizes
** from malloc, so the sanitizer or valgrind sees any read or write outside
** them, and is checked for what holds for any input: a known result code,
** a size of at most nOut on success and 0 on error, the same result and
** bytes twice over outputs that start out holding different bytes (so no
** output byte depends on memory the decoder did not write), the input left
** as it was, and agreement with a byte-at-a-time reference decoder.
**
** Exit status 0 means every check passed; each failed check prints its line
** and what was being decoded.
*/
#define _POSIX_C_SOURCE 200809L
#include "lz4_block.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Random mutations in the fuzz loop, all vectors together. */
#define FUZZ_TOTAL 200000
/* Random mutations of each hand-made vector; the vectors from files share
** what is left of FUZZ_TOTAL. */
#define FUZZ_HAND 1000
/* Most vectors the test takes (files and hand-made). */
#define MAX_VECTOR 64

/* Failed checks so far. */
static int nFail = 0;
/* Decodes so far, for the summary. */
static long nDecode = 0;
/* Mutations so far, for the summary. */
static long nMutation = 0;
/* What is being decoded, for failure messages. */
static char zWhere[160] = "";

/* Says what is being decoded, printf-style, for failure messages. */
static void setWhere(const char *zFormat, ...){
  va_list ap;
  va_start(ap, zFormat);
  vsnprintf(zWhere, sizeof(zWhere), zFormat, ap);
  va_end(ap);
}

/* Prints a failed check with its line; only the first 50. */
static void testFail(int iLine, const char *zCheck){
  nFail++;
  if( nFail<=50 ){
    fprintf(stderr, "lz4_block_test.c:%d: check failed: %s [%s]\n",
            iLine, zCheck, zWhere);
  }
}

/* Records a failed check with its line. */
#define CHECK(x) do{ if( !(x) ) testFail(__LINE__, #x); }while(0)

/* A test vector: a valid block and what it decodes to. */
typedef struct Vector Vector;
struct Vector {
  char zName[64];             /* File name without extension, or a label */
  unsigned char *aBlock;      /* The LZ4 block */
  size_t nBlock;              /* Its size in bytes */
  unsigned char *aRaw;        /* The bytes it decodes to */
  size_t nRaw;                /* Their number */
};

/* Where one sequence of a valid block lies, from parseBlock(). */
typedef struct Seq Seq;
struct Seq {
  size_t iToken;              /* Offset of its token in the block */
  size_t iLitEnd;             /* Offset just past its literals */
  size_t oLitEnd;             /* Output size after its literals */
  int bMatch;                 /* True if a match follows (all but the last) */
  size_t iOffset;             /* Offset of the match's 2-byte offset */
  size_t iEnd;                /* Offset just past the whole sequence */
};

/* The fuzz loop's generator state: xorshift64*, fixed seed. */
static unsigned long long prngState = 0x9e3779b97f4a7c15ULL;

/* Returns the next pseudo-random 32-bit value. */
static unsigned int prngNext(void){
  prngState ^= prngState >> 12;
  prngState ^= prngState << 25;
  prngState ^= prngState >> 27;
  return (unsigned int)((prngState * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Returns a pseudo-random value from 0 to n-1 (n>0). */
static size_t prngBelow(size_t n){
  return (size_t)prngNext() % n;
}

/* malloc that never returns NULL for a nonzero size: exits instead. */
static void *testMalloc(size_t n){
  void *p = malloc(n);
  if( p==0 && n>0 ){
    fprintf(stderr, "lz4_block_test.c: out of memory\n");
    exit(2);
  }
  return p;
}

/* True if n bytes at a and b are equal (either may be NULL if n is 0). */
static int sameBytes(const unsigned char *a, const unsigned char *b,
                     size_t n){
  return n==0 || memcmp(a, b, n)==0;
}

/*
** Reads a length extension for refDecode(), one byte at a time. Returns 0
** if the input ends first or the length passes nCap, which keeps it far
** from wrapping around.
*/
static int refLength(const unsigned char *a, size_t n, size_t *pi,
                     size_t nCap, size_t *pLen){
  unsigned int b;
  do{
    if( *pi>=n ) return 0;
    b = a[(*pi)++];
    *pLen += b;
    if( *pLen>nCap ) return 0;
  }while( b==255 );
  return 1;
}

/*
** The reference decoder: the format taken literally, every byte copied on
** its own and checked on its own. Returns 1 and sets *pnOut on success, 0
** for any malformed block or one that does not fit in nOut bytes.
*/
static int refDecode(const unsigned char *a, size_t n,
                     unsigned char *aOut, size_t nOut, size_t *pnOut){
  size_t i = 0, o = 0;
  if( n==0 ) return 0;
  for(;;){
    unsigned int token;
    size_t len, off, k;
    if( i>=n ) return 0;
    token = a[i++];
    len = token >> 4;
    if( len==15 && !refLength(a, n, &i, nOut, &len) ) return 0;
    for(k=0; k<len; k++){
      if( i>=n || o>=nOut ) return 0;
      aOut[o++] = a[i++];
    }
    if( i==n ) break;
    if( n-i<2 ) return 0;
    off = a[i] + 256*(size_t)a[i+1];
    i += 2;
    if( off==0 || off>o ) return 0;
    len = (token & 15) + 4;
    if( (token & 15)==15 && !refLength(a, n, &i, nOut, &len) ) return 0;
    for(k=0; k<len; k++){
      if( o>=nOut ) return 0;
      aOut[o] = aOut[o-off];
      o++;
    }
    if( i==n ) return 0;
  }
  *pnOut = o;
  return 1;
}

/*
** Walks a valid block and records where each sequence lies in *paSeq (the
** caller frees it). Returns the number of sequences, or 0 if the block
** does not walk cleanly (a test vector that is not a valid block).
*/
static size_t parseBlock(const unsigned char *a, size_t n, Seq **paSeq){
  Seq *aSeq = testMalloc((n+1)*sizeof(Seq));
  size_t nSeq = 0, i = 0, o = 0;
  *paSeq = aSeq;
  while( i<n ){
    Seq *p = &aSeq[nSeq++];
    unsigned int token = a[i];
    size_t len = token >> 4;
    unsigned int b;
    memset(p, 0, sizeof(*p));
    p->iToken = i++;
    if( len==15 ){
      do{ if( i>=n ) return 0; b = a[i++]; len += b; }while( b==255 );
    }
    if( len>n-i ) return 0;
    i += len;
    o += len;
    p->iLitEnd = i;
    p->oLitEnd = o;
    p->iEnd = i;
    if( i==n ) return nSeq;
    if( n-i<2 ) return 0;
    p->bMatch = 1;
    p->iOffset = i;
    i += 2;
    len = (token & 15) + 4;
    if( (token & 15)==15 ){
      do{ if( i>=n ) return 0; b = a[i++]; len += b; }while( b==255 );
    }
    o += len;
    p->iEnd = i;
  }
  return 0;
}

/*
** Decodes nIn bytes at aIn into nOut bytes and checks what holds for any
** input (see the header comment). The input is first copied to a buffer of
** exactly nIn bytes; the output goes to one of exactly nOut bytes, returned
** in *paOut for the caller to free, with the decoded size in *pnOut.
** Returns the decoder's result code.
*/
static int checkedDecode(const unsigned char *aIn, size_t nIn, size_t nOut,
                         unsigned char **paOut, size_t *pnOut){
  unsigned char *pIn = testMalloc(nIn);
  unsigned char *a1 = testMalloc(nOut);
  unsigned char *a2 = testMalloc(nOut);
  unsigned char *aRef = testMalloc(nOut);
  size_t n1 = 12345, n2 = 54321, nRef = 0;
  int rc1, rc2, bRef;

  if( nIn ) memcpy(pIn, aIn, nIn);
  if( nOut ){
    memset(a1, 0x00, nOut);
    memset(a2, 0xff, nOut);
  }
  rc1 = lsvfsLz4Decode(pIn, nIn, a1, nOut, &n1);
  rc2 = lsvfsLz4Decode(pIn, nIn, a2, nOut, &n2);
  nDecode += 2;
  CHECK( rc1>=LSVFS_LZ4_OK && rc1<=LSVFS_LZ4_BAD_END );
  CHECK( rc1==rc2 && n1==n2 );
  if( rc1==LSVFS_LZ4_OK ){
    CHECK( n1<=nOut );
    CHECK( n1==n2 && n1<=nOut && sameBytes(a1, a2, n1) );
  }else{
    CHECK( n1==0 && n2==0 );
  }
  CHECK( sameBytes(pIn, aIn, nIn) );

  bRef = refDecode(pIn, nIn, aRef, nOut, &nRef);
  CHECK( bRef==(rc1==LSVFS_LZ4_OK) );
  if( bRef && rc1==LSVFS_LZ4_OK ){
    CHECK( nRef==n1 && sameBytes(aRef, a1, n1) );
  }

  free(pIn);
  free(a2);
  free(aRef);
  *paOut = a1;
  *pnOut = rc1==LSVFS_LZ4_OK ? n1 : 0;
  return rc1;
}

/*
** Decodes nIn bytes at aIn into nOut bytes with checkedDecode() and checks
** the result code is rcWant and, if that is success, that the output is
** the nWant bytes at aWant.
*/
static void expectDecode(const unsigned char *aIn, size_t nIn, size_t nOut,
                         int rcWant, const unsigned char *aWant,
                         size_t nWant){
  unsigned char *aOut;
  size_t n;
  int rc = checkedDecode(aIn, nIn, nOut, &aOut, &n);
  CHECK( rc==rcWant );
  if( rcWant==LSVFS_LZ4_OK && rc==LSVFS_LZ4_OK ){
    CHECK( n==nWant && sameBytes(aOut, aWant, n) );
  }
  free(aOut);
}

/*
** Decodes an LTX page payload (size prefix, then block) with
** lsvfsLz4DecodeSized() from a buffer of exactly nIn bytes and checks the
** result code is rcWant and, on success, the output is nWant bytes at aWant.
*/
static void expectSized(const unsigned char *aIn, size_t nIn, size_t nOut,
                        int rcWant, const unsigned char *aWant,
                        size_t nWant){
  unsigned char *pIn = testMalloc(nIn);
  unsigned char *aOut = testMalloc(nOut);
  size_t n = 999;
  int rc;
  if( nIn ) memcpy(pIn, aIn, nIn);
  rc = lsvfsLz4DecodeSized(pIn, nIn, aOut, nOut, &n);
  nDecode++;
  CHECK( rc==rcWant );
  if( rc==LSVFS_LZ4_OK ){
    CHECK( n==nWant && sameBytes(aOut, aWant, n) );
  }else{
    CHECK( n==0 );
  }
  free(pIn);
  free(aOut);
}

/* The corpus: the vectors from files and the valid hand-made ones. */
static Vector aCorpus[MAX_VECTOR];
/* Number of entries in aCorpus. */
static int nCorpus = 0;
/* Number of vectors read from files. */
static int nFileVector = 0;

/* Adds a copy of a valid block and its output to the corpus. */
static void addVector(const char *zName, const unsigned char *aBlock,
                      size_t nBlock, const unsigned char *aRaw, size_t nRaw){
  Vector *v;
  if( nCorpus>=MAX_VECTOR ){
    fprintf(stderr, "lz4_block_test.c: more than %d vectors\n", MAX_VECTOR);
    exit(2);
  }
  v = &aCorpus[nCorpus++];
  snprintf(v->zName, sizeof(v->zName), "%s", zName);
  v->aBlock = testMalloc(nBlock);
  v->aRaw = testMalloc(nRaw);
  if( nBlock ) memcpy(v->aBlock, aBlock, nBlock);
  if( nRaw ) memcpy(v->aRaw, aRaw, nRaw);
  v->nBlock = nBlock;
  v->nRaw = nRaw;
}

/*
** Checks one hand-made block: decoded into nOut bytes it gives rcWant, and
** on success the nWant bytes at aWant; a valid one joins the corpus.
*/
static void handCase(const char *zName, const unsigned char *aIn, size_t nIn,
                     size_t nOut, int rcWant, const unsigned char *aWant,
                     size_t nWant){
  setWhere("hand-made: %s", zName);
  expectDecode(aIn, nIn, nOut, rcWant, aWant, nWant);
  if( rcWant==LSVFS_LZ4_OK ) addVector(zName, aIn, nIn, aWant, nWant);
}

/* Writes n bytes repeating the nPat bytes of zPat to a; returns n. */
static size_t fillPattern(unsigned char *a, size_t n, const char *zPat,
                          size_t nPat){
  size_t i;
  for(i=0; i<n; i++) a[i] = (unsigned char)zPat[i % nPat];
  return n;
}

/* The hand-made blocks, each with its exact result. */
static void testHandMade(void){
  static unsigned char aIn[400];
  static unsigned char aWant[1000];
  size_t nIn, nWant, i, n;

  /* Literals only, and the empty block of no output. */
  {
    static const unsigned char a[] = { 0x50, 'h', 'e', 'l', 'l', 'o' };
    static const unsigned char aEmpty[] = { 0x00 };
    handCase("literals only", a, sizeof(a), 5, LSVFS_LZ4_OK,
             (const unsigned char *)"hello", 5);
    expectDecode(a, sizeof(a), 100, LSVFS_LZ4_OK,
                 (const unsigned char *)"hello", 5);
    handCase("literals only, one byte short", a, sizeof(a), 4,
             LSVFS_LZ4_OVERFLOW, 0, 0);
    handCase("literals cut short", a, 3, 5, LSVFS_LZ4_TRUNCATED, 0, 0);
    handCase("empty output", aEmpty, 1, 0, LSVFS_LZ4_OK, 0, 0);
    handCase("empty input", aEmpty, 0, 16, LSVFS_LZ4_BAD_END, 0, 0);
  }

  /* No output buffer at all when nOut is 0. */
  {
    static const unsigned char aEmpty[] = { 0x00 };
    static const unsigned char aOne[] = { 0x10, 'a' };
    setWhere("hand-made: NULL output");
    n = 7;
    CHECK( lsvfsLz4Decode(aEmpty, 1, 0, 0, &n)==LSVFS_LZ4_OK && n==0 );
    n = 7;
    CHECK( lsvfsLz4Decode(aOne, 2, 0, 0, &n)==LSVFS_LZ4_OVERFLOW && n==0 );
    nDecode += 2;
  }

  /* Offset 1: a run of one byte, then the last literals. */
  {
    static const unsigned char a[] = {
      0x15, 'a', 0x01, 0x00, 0x50, 'b', 'c', 'd', 'e', 'f'
    };
    nWant = fillPattern(aWant, 10, "a", 1);
    memcpy(&aWant[nWant], "bcdef", 5);
    nWant += 5;
    handCase("offset 1", a, sizeof(a), nWant, LSVFS_LZ4_OK, aWant, nWant);
    handCase("offset 1, output short by one", a, sizeof(a), nWant-1,
             LSVFS_LZ4_OVERFLOW, 0, 0);
    handCase("offset 1, no room for the match", a, sizeof(a), 10,
             LSVFS_LZ4_OVERFLOW, 0, 0);
  }

  /* Overlapping matches: offset 2 and 3, short (byte loop) and long
  ** (doubling copies), offset 7 short, offset 8 long. */
  {
    static const unsigned char a2[] = {
      0x2a, 'a', 'b', 0x02, 0x00, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char a3[] = {
      0x3f, 'a', 'b', 'c', 0x03, 0x00, 40, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char a7[] = {
      0x78, '1', '2', '3', '4', '5', '6', '7', 0x07, 0x00,
      0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char a8[] = {
      0x8f, '1', '2', '3', '4', '5', '6', '7', '8', 0x08, 0x00, 20,
      0x50, 'v', 'w', 'x', 'y', 'z'
    };
    nWant = fillPattern(aWant, 2+14, "ab", 2);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("offset 2", a2, sizeof(a2), 1000, LSVFS_LZ4_OK, aWant,
             nWant+5);
    nWant = fillPattern(aWant, 3+15+40+4, "abc", 3);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("offset 3, long", a3, sizeof(a3), nWant+5, LSVFS_LZ4_OK,
             aWant, nWant+5);
    nWant = fillPattern(aWant, 7+12, "1234567", 7);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("offset 7", a7, sizeof(a7), nWant+5, LSVFS_LZ4_OK, aWant,
             nWant+5);
    nWant = fillPattern(aWant, 8+15+20+4, "12345678", 8);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("offset 8, long", a8, sizeof(a8), nWant+5, LSVFS_LZ4_OK,
             aWant, nWant+5);
  }

  /* A match that does not overlap: offset 8, length 8. */
  {
    static const unsigned char a[] = {
      0x84, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 0x08, 0x00,
      0x50, 'v', 'w', 'x', 'y', 'z'
    };
    nWant = fillPattern(aWant, 16, "abcdefgh", 8);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("offset 8, no overlap", a, sizeof(a), nWant+5, LSVFS_LZ4_OK,
             aWant, nWant+5);
  }

  /* Match lengths with 255-extensions: 15+255+255+10+4, and 15+255+0+4. */
  {
    static const unsigned char aLong[] = {
      0x1f, 'x', 0x01, 0x00, 0xff, 0xff, 10, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char aZero[] = {
      0x1f, 'x', 0x01, 0x00, 0xff, 0x00, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    nWant = fillPattern(aWant, 1+15+255+255+10+4, "x", 1);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("match length 539", aLong, sizeof(aLong), nWant+5,
             LSVFS_LZ4_OK, aWant, nWant+5);
    handCase("match length 539, output short", aLong, sizeof(aLong), 300,
             LSVFS_LZ4_OVERFLOW, 0, 0);
    nWant = fillPattern(aWant, 1+15+255+0+4, "x", 1);
    memcpy(&aWant[nWant], "vwxyz", 5);
    handCase("match length 274", aZero, sizeof(aZero), nWant+5,
             LSVFS_LZ4_OK, aWant, nWant+5);
  }

  /* Literal lengths with extensions: 15+0, 15+255+0 and 15+255+30. */
  {
    static const unsigned char aExt[][3] = {
      { 0xf0, 0x00, 0 }, { 0xf0, 0xff, 0x00 }, { 0xf0, 0xff, 30 }
    };
    static const size_t aLen[] = { 15, 270, 300 };
    static const size_t aHead[] = { 2, 3, 3 };
    static const char *azName[] = {
      "literal length 15", "literal length 270", "literal length 300"
    };
    for(i=0; i<3; i++){
      memcpy(aIn, aExt[i], aHead[i]);
      for(n=0; n<aLen[i]; n++) aIn[aHead[i]+n] = (unsigned char)(n*7+1);
      nIn = aHead[i] + aLen[i];
      handCase(azName[i], aIn, nIn, aLen[i], LSVFS_LZ4_OK, &aIn[aHead[i]],
               aLen[i]);
      handCase("literal extension, output short", aIn, nIn, aLen[i]-1,
               LSVFS_LZ4_OVERFLOW, 0, 0);
      handCase("literal extension, input short", aIn, nIn-1, aLen[i],
               LSVFS_LZ4_TRUNCATED, 0, 0);
    }
  }

  /* End-of-block rules (2) and (3) broken, which is tolerated: a match of
  ** the last 4 bytes, then an empty last sequence. */
  {
    static const unsigned char a[] = { 0x10, 'a', 0x01, 0x00, 0x00 };
    handCase("match at the very end", a, sizeof(a), 5, LSVFS_LZ4_OK,
             (const unsigned char *)"aaaaa", 5);
  }

  /* Bad offsets. */
  {
    static const unsigned char aZero[] = {
      0x10, 'a', 0x00, 0x00, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char aPast[] = {
      0x10, 'a', 0x02, 0x00, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char aFar[] = {
      0x10, 'a', 0xff, 0xff, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    static const unsigned char aFirst[] = {
      0x00, 0x01, 0x00, 0x50, 'v', 'w', 'x', 'y', 'z'
    };
    handCase("offset 0", aZero, sizeof(aZero), 100, LSVFS_LZ4_OFFSET, 0, 0);
    handCase("offset 2 after 1 byte", aPast, sizeof(aPast), 100,
             LSVFS_LZ4_OFFSET, 0, 0);
    handCase("offset 65535 after 1 byte", aFar, sizeof(aFar), 100,
             LSVFS_LZ4_OFFSET, 0, 0);
    handCase("match before any output", aFirst, sizeof(aFirst), 100,
             LSVFS_LZ4_OFFSET, 0, 0);
  }

  /* Blocks cut short, and blocks that end after a match. */
  {
    static const unsigned char aLitExt[] = { 0xf0, 0xff };
    static const unsigned char aMatchExt[] = { 0x1f, 'a', 0x01, 0x00, 0xff };
    static const unsigned char aOffset[] = { 0x10, 'a', 0x01 };
    static const unsigned char aAfterMatch[] = { 0x10, 'a', 0x01, 0x00 };
    handCase("token only, literal extension missing", aLitExt, 1, 1000,
             LSVFS_LZ4_TRUNCATED, 0, 0);
    handCase("literal extension cut short", aLitExt, sizeof(aLitExt), 1000,
             LSVFS_LZ4_TRUNCATED, 0, 0);
    handCase("match extension cut short", aMatchExt, sizeof(aMatchExt),
             1000, LSVFS_LZ4_TRUNCATED, 0, 0);
    handCase("offset cut short", aOffset, sizeof(aOffset), 1000,
             LSVFS_LZ4_TRUNCATED, 0, 0);
    handCase("ends after a match", aAfterMatch, sizeof(aAfterMatch), 1000,
             LSVFS_LZ4_BAD_END, 0, 0);
  }

  /* Trailing bytes after the last literals are read as a match. */
  {
    static const unsigned char a[] = {
      0x50, 'h', 'e', 'l', 'l', 'o', 0x00, 0x00
    };
    handCase("one trailing byte", a, 7, 100, LSVFS_LZ4_TRUNCATED, 0, 0);
    handCase("two trailing zero bytes", a, 8, 100, LSVFS_LZ4_OFFSET, 0, 0);
  }

  /* Lengths beyond the output are refused as they are read, however long
  ** the run of 0xff. */
  {
    static unsigned char aRun[100010];
    memset(aRun, 0xff, sizeof(aRun));
    aRun[0] = 0xf0;
    handCase("literal 0xff run, output 100", aRun, sizeof(aRun), 100,
             LSVFS_LZ4_OVERFLOW, 0, 0);
    handCase("literal 0xff run to the end, big output", aRun, 4000,
             1 << 22, LSVFS_LZ4_TRUNCATED, 0, 0);
    aRun[0] = 0x1f;
    aRun[1] = 'a';
    aRun[2] = 0x01;
    aRun[3] = 0x00;
    handCase("match 0xff run, output 4096", aRun, sizeof(aRun), 4096,
             LSVFS_LZ4_OVERFLOW, 0, 0);
    handCase("match 0xff run to the end, big output", aRun, 4000, 1 << 22,
             LSVFS_LZ4_TRUNCATED, 0, 0);
  }

  /* The LTX size prefix. */
  {
    static const unsigned char a[] = {
      0x00, 0x00, 0x00, 0x06, 0x50, 'h', 'e', 'l', 'l', 'o'
    };
    static const unsigned char aBad[] = {
      0x00, 0x00, 0x00, 0x07, 0x50, 'h', 'e', 'l', 'l', 'o'
    };
    static const unsigned char aHuge[] = {
      0xff, 0xff, 0xff, 0xff, 0x50, 'h', 'e', 'l', 'l', 'o'
    };
    static const unsigned char aNone[] = { 0x00, 0x00, 0x00, 0x00 };
    setWhere("hand-made: size prefix");
    expectSized(a, sizeof(a), 5, LSVFS_LZ4_OK,
                (const unsigned char *)"hello", 5);
    expectSized(aBad, sizeof(aBad), 5, LSVFS_LZ4_BAD_SIZE, 0, 0);
    expectSized(aHuge, sizeof(aHuge), 5, LSVFS_LZ4_BAD_SIZE, 0, 0);
    expectSized(a, sizeof(a)-1, 5, LSVFS_LZ4_BAD_SIZE, 0, 0);
    expectSized(a, 3, 5, LSVFS_LZ4_TRUNCATED, 0, 0);
    expectSized(a, 0, 5, LSVFS_LZ4_TRUNCATED, 0, 0);
    expectSized(aNone, sizeof(aNone), 5, LSVFS_LZ4_BAD_END, 0, 0);
  }
}

/* Reads a whole file into a new buffer (*pa, *pn); returns 0 on success. */
static int readFile(const char *zPath, unsigned char **pa, size_t *pn){
  FILE *f = fopen(zPath, "rb");
  unsigned char *a = 0;
  size_t n = 0, nAlloc = 0, nRead;
  if( f==0 ) return 1;
  do{
    if( n==nAlloc ){
      nAlloc = nAlloc ? 2*nAlloc : 65536;
      a = realloc(a, nAlloc);
      if( a==0 ){ fclose(f); return 1; }
    }
    nRead = fread(&a[n], 1, nAlloc-n, f);
    n += nRead;
  }while( nRead>0 );
  fclose(f);
  *pa = a;
  *pn = n;
  return 0;
}

/* qsort comparison of two names, for a fixed order of vectors. */
static int compareNames(const void *a, const void *b){
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds every NAME.lz4 with its NAME.raw in zDir to the corpus. */
static void readVectors(const char *zDir){
  DIR *d = opendir(zDir);
  struct dirent *e;
  char *azName[MAX_VECTOR];
  int nName = 0, i;
  if( d==0 ){
    fprintf(stderr, "lz4_block_test.c: cannot open %s\n", zDir);
    exit(2);
  }
  while( (e = readdir(d))!=0 ){
    size_t n = strlen(e->d_name);
    if( n>4 && n<60 && strcmp(&e->d_name[n-4], ".lz4")==0 ){
      if( nName>=MAX_VECTOR ){
        fprintf(stderr, "lz4_block_test.c: more than %d vectors\n",
                MAX_VECTOR);
        exit(2);
      }
      azName[nName] = testMalloc(n-3);
      memcpy(azName[nName], e->d_name, n-4);
      azName[nName][n-4] = 0;
      nName++;
    }
  }
  closedir(d);
  qsort(azName, (size_t)nName, sizeof(azName[0]), compareNames);
  for(i=0; i<nName; i++){
    char zPath[4096];
    unsigned char *aBlock, *aRaw;
    size_t nBlock, nRaw;
    snprintf(zPath, sizeof(zPath), "%s/%s.lz4", zDir, azName[i]);
    if( readFile(zPath, &aBlock, &nBlock) ){
      fprintf(stderr, "lz4_block_test.c: cannot read %s\n", zPath);
      exit(2);
    }
    snprintf(zPath, sizeof(zPath), "%s/%s.raw", zDir, azName[i]);
    if( readFile(zPath, &aRaw, &nRaw) ){
      fprintf(stderr, "lz4_block_test.c: cannot read %s\n", zPath);
      exit(2);
    }
    addVector(azName[i], aBlock, nBlock, aRaw, nRaw);
    nFileVector++;
    free(aBlock);
    free(aRaw);
    free(azName[i]);
  }
}

/*
** Checks one vector whole and under every deterministic change whose
** result the format fixes: exact output in buffers of the right size and
** larger ones, overflow in smaller ones, every truncation, trailing bytes
** and the LTX size prefix.
*/
static void testVector(const Vector *v){
  Seq *aSeq;
  size_t nSeq = parseBlock(v->aBlock, v->nBlock, &aSeq);
  unsigned char *a = testMalloc(v->nBlock + 8);
  size_t i, k;

  setWhere("%s: as made", v->zName);
  CHECK( nSeq>0 );
  expectDecode(v->aBlock, v->nBlock, v->nRaw, LSVFS_LZ4_OK, v->aRaw,
               v->nRaw);
  expectDecode(v->aBlock, v->nBlock, v->nRaw+1, LSVFS_LZ4_OK, v->aRaw,
               v->nRaw);
  expectDecode(v->aBlock, v->nBlock, v->nRaw+4096, LSVFS_LZ4_OK, v->aRaw,
               v->nRaw);
  if( v->nRaw>0 ){
    setWhere("%s: output too small", v->zName);
    expectDecode(v->aBlock, v->nBlock, v->nRaw-1, LSVFS_LZ4_OVERFLOW, 0, 0);
    expectDecode(v->aBlock, v->nBlock, v->nRaw/2, LSVFS_LZ4_OVERFLOW, 0, 0);
    expectDecode(v->aBlock, v->nBlock, 0, LSVFS_LZ4_OVERFLOW, 0, 0);
  }

  /* Cut short at every length. The first bytes of a valid block decode as
  ** far as the full block does; the cut makes a valid shorter block only
  ** right after the literals of a sequence that has a match, decoding to
  ** the output so far. Right after a match (or at length 0) the block ends
  ** after a match; anywhere else it ends inside a sequence. Each cut lies
  ** at the end of a buffer of nBlock bytes, so reading past it is caught;
  ** the output buffer, of exactly nRaw bytes, is shared by all cuts. */
  if( nSeq>0 ){
    unsigned char *aCut = testMalloc(v->nBlock);
    unsigned char *aOut = testMalloc(v->nRaw);
    size_t iSeq = 0;
    for(k=0; k<v->nBlock; k++){
      int rcWant = LSVFS_LZ4_TRUNCATED;
      size_t nWant = 0, n = 999;
      int rc;
      while( iSeq<nSeq && aSeq[iSeq].iEnd<k ) iSeq++;
      if( k==0 ){
        rcWant = LSVFS_LZ4_BAD_END;
      }else if( iSeq<nSeq && aSeq[iSeq].bMatch && aSeq[iSeq].iLitEnd==k ){
        rcWant = LSVFS_LZ4_OK;
        nWant = aSeq[iSeq].oLitEnd;
      }else if( iSeq<nSeq && aSeq[iSeq].bMatch && aSeq[iSeq].iEnd==k ){
        rcWant = LSVFS_LZ4_BAD_END;
      }
      setWhere("%s: cut to %zu of %zu bytes",
               v->zName, k, v->nBlock);
      memcpy(&aCut[v->nBlock-k], v->aBlock, k);
      rc = lsvfsLz4Decode(&aCut[v->nBlock-k], k, aOut, v->nRaw, &n);
      nDecode++;
      nMutation++;
      CHECK( rc==rcWant );
      if( rc==LSVFS_LZ4_OK ){
        CHECK( n==nWant && n<v->nRaw && sameBytes(aOut, v->aRaw, n) );
      }else{
        CHECK( n==0 );
      }
    }
    free(aCut);
    free(aOut);
  }

  /* Bytes after the last literals are read as the offset of a match: one
  ** byte is cut short, two zero bytes are offset 0. */
  if( v->nBlock>0 ){
    setWhere("%s: trailing bytes", v->zName);
    memcpy(a, v->aBlock, v->nBlock);
    a[v->nBlock] = 0x00;
    a[v->nBlock+1] = 0x00;
    expectDecode(a, v->nBlock+1, v->nRaw+16, LSVFS_LZ4_TRUNCATED, 0, 0);
    expectDecode(a, v->nBlock+2, v->nRaw+16, LSVFS_LZ4_OFFSET, 0, 0);
    nMutation += 2;
  }

  /* The LTX page payload: big-endian size, then the block. */
  {
    size_t nPay = v->nBlock + 4;
    unsigned char *aPay = testMalloc(nPay);
    setWhere("%s: size prefix", v->zName);
    aPay[0] = (unsigned char)(v->nBlock >> 24);
    aPay[1] = (unsigned char)(v->nBlock >> 16);
    aPay[2] = (unsigned char)(v->nBlock >> 8);
    aPay[3] = (unsigned char)v->nBlock;
    memcpy(&aPay[4], v->aBlock, v->nBlock);
    expectSized(aPay, nPay, v->nRaw, LSVFS_LZ4_OK, v->aRaw, v->nRaw);
    expectSized(aPay, nPay-1, v->nRaw, LSVFS_LZ4_BAD_SIZE, 0, 0);
    for(i=0; i<4; i++){
      aPay[3-i] ^= 1;
      expectSized(aPay, nPay, v->nRaw, LSVFS_LZ4_BAD_SIZE, 0, 0);
      aPay[3-i] ^= 1;
    }
    free(aPay);
  }
  free(a);
  free(aSeq);
}

/* The kinds of random mutation in fuzzVector(). */
#define MUT_BITFLIP     0     /* Flip one bit */
#define MUT_BYTE        1     /* Replace one byte with a random one */
#define MUT_INSERT      2     /* Insert a random byte */
#define MUT_DELETE      3     /* Delete a byte */
#define MUT_LIT_RUN     4     /* Literal nibble 15 and a 0xff run after it */
#define MUT_MATCH_RUN   5     /* Match nibble 15 and a 0xff run after it */
#define MUT_FF_SPAN     6     /* Overwrite a few bytes with 0xff */
#define MUT_OFFSET_0    7     /* A match offset becomes 0 */
#define MUT_OFFSET_FAR  8     /* A match offset reaches before the start */
#define MUT_OFFSET_OK   9     /* A match offset becomes another valid one */
#define MUT_SPAN        10    /* Overwrite a span with random bytes */
#define MUT_APPEND      11    /* Append random bytes */
#define MUT_STACK       12    /* Two to five of the byte-level kinds */
#define MUT_TOKEN       13    /* Replace a token with a random byte */
#define MUT_COUNT       14

/* Applies one byte-level mutation (flip, replace, insert, delete) to the
** nA bytes at a, which has room for 64 more; returns the new size. */
static size_t mutateBytes(unsigned char *a, size_t nA){
  size_t iPos;
  switch( prngBelow(4) ){
    case 0:
      if( nA==0 ) return nA;
      a[prngBelow(nA)] ^= (unsigned char)(1u << prngBelow(8));
      return nA;
    case 1:
      if( nA==0 ) return nA;
      a[prngBelow(nA)] = (unsigned char)prngNext();
      return nA;
    case 2:
      iPos = prngBelow(nA+1);
      memmove(&a[iPos+1], &a[iPos], nA-iPos);
      a[iPos] = (unsigned char)prngNext();
      return nA+1;
    default:
      if( nA==0 ) return nA;
      iPos = prngBelow(nA);
      memmove(&a[iPos], &a[iPos+1], nA-iPos-1);
      return nA-1;
  }
}

/*
** Runs nRound random mutations of one vector. Each is checked by
** checkedDecode(); offset mutations of a block left otherwise intact have
** an exact result as well: offset 0 and offsets before the start of the
** output are LSVFS_LZ4_OFFSET, and any other valid offset decodes to a
** block of the full size.
*/
static void fuzzVector(const Vector *v, int nRound){
  Seq *aSeq;
  size_t nSeq = parseBlock(v->aBlock, v->nBlock, &aSeq);
  size_t *aiMatch = testMalloc((nSeq+1)*sizeof(size_t));
  size_t nMatchSeq = 0;
  unsigned char *a = testMalloc(v->nBlock + 80);
  size_t i;
  int iRound;

  for(i=0; i<nSeq; i++){
    if( aSeq[i].bMatch ) aiMatch[nMatchSeq++] = i;
  }
  for(iRound=0; iRound<nRound; iRound++){
    size_t nA = v->nBlock;
    size_t nOut = v->nRaw;
    int eKind = (int)prngBelow(MUT_COUNT);
    int rcWant = -1;                  /* Exact result, if known */
    unsigned char *aOut;
    size_t n, k;
    const Seq *p = 0;
    int rc;

    memcpy(a, v->aBlock, nA);
    if( eKind>=MUT_OFFSET_0 && eKind<=MUT_OFFSET_OK && nMatchSeq==0 ){
      eKind = MUT_BITFLIP;
    }
    if( nSeq>0 ) p = &aSeq[prngBelow(nSeq)];
    if( eKind>=MUT_OFFSET_0 && eKind<=MUT_OFFSET_OK ){
      p = &aSeq[aiMatch[prngBelow(nMatchSeq)]];
    }
    switch( eKind ){
      case MUT_BITFLIP:
      case MUT_BYTE:
      case MUT_INSERT:
      case MUT_DELETE:
        nA = mutateBytes(a, nA);
        break;
      case MUT_LIT_RUN:
      case MUT_MATCH_RUN: {
        size_t iRun, nRun = 1 + prngBelow(8);
        if( p==0 ) break;
        if( eKind==MUT_LIT_RUN ){
          a[p->iToken] |= 0xf0;
          iRun = p->iToken + 1;
        }else{
          a[p->iToken] |= 0x0f;
          iRun = p->bMatch ? p->iOffset + 2 : p->iLitEnd;
        }
        if( prngBelow(4)==0 ) nRun = nA;      /* to the end of the block */
        for(k=0; k<nRun && iRun+k<nA; k++) a[iRun+k] = 0xff;
        break;
      }
      case MUT_FF_SPAN: {
        size_t iPos = nA ? prngBelow(nA) : 0, nRun = 1 + prngBelow(6);
        for(k=0; k<nRun && iPos+k<nA; k++) a[iPos+k] = 0xff;
        break;
      }
      case MUT_OFFSET_0:
        a[p->iOffset] = 0;
        a[p->iOffset+1] = 0;
        rcWant = LSVFS_LZ4_OFFSET;
        break;
      case MUT_OFFSET_FAR: {
        size_t off;
        if( p->oLitEnd>=0xffff ){
          off = 1 + prngBelow(0xffff);        /* may be valid: no rcWant */
        }else{
          off = p->oLitEnd + 1 + prngBelow(0xffff - p->oLitEnd);
          rcWant = LSVFS_LZ4_OFFSET;
        }
        a[p->iOffset] = (unsigned char)off;
        a[p->iOffset+1] = (unsigned char)(off >> 8);
        break;
      }
      case MUT_OFFSET_OK: {
        size_t nMax = p->oLitEnd<0xffff ? p->oLitEnd : 0xffff;
        size_t off = 1 + prngBelow(nMax);
        a[p->iOffset] = (unsigned char)off;
        a[p->iOffset+1] = (unsigned char)(off >> 8);
        rcWant = LSVFS_LZ4_OK;
        break;
      }
      case MUT_SPAN: {
        size_t iPos = nA ? prngBelow(nA) : 0, nSpan = 1 + prngBelow(16);
        for(k=0; k<nSpan && iPos+k<nA; k++){
          a[iPos+k] = (unsigned char)prngNext();
        }
        break;
      }
      case MUT_APPEND: {
        size_t nMore = 1 + prngBelow(16);
        for(k=0; k<nMore; k++) a[nA++] = (unsigned char)prngNext();
        break;
      }
      case MUT_STACK: {
        size_t nStack = 2 + prngBelow(4);
        for(k=0; k<nStack; k++) nA = mutateBytes(a, nA);
        break;
      }
      default:
        if( p ) a[p->iToken] = (unsigned char)prngNext();
        break;
    }

    /* Some of the blocks of unknown result go to other output sizes. */
    if( rcWant<0 && prngBelow(8)==0 ){
      switch( prngBelow(5) ){
        case 0:  nOut = 0; break;
        case 1:  nOut = v->nRaw/2; break;
        case 2:  nOut = v->nRaw ? v->nRaw-1 : 0; break;
        case 3:  nOut = v->nRaw+1; break;
        default: nOut = v->nRaw+prngBelow(4096); break;
      }
    }

    setWhere("%s: mutation %d (kind %d, %zu bytes,"
             " nOut %zu)", v->zName, iRound, eKind, nA, nOut);
    rc = checkedDecode(a, nA, nOut, &aOut, &n);
    nMutation++;
    if( rcWant>=0 ){
      CHECK( rc==rcWant );
      if( rcWant==LSVFS_LZ4_OK ) CHECK( n==v->nRaw );
    }
    free(aOut);
  }
  free(a);
  free(aiMatch);
  free(aSeq);
}

/* Reads the vectors in argv[1], then runs every check above on them. */
int main(int argc, char **argv){
  int i;
  if( argc!=2 ){
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  readVectors(argv[1]);
  if( nFileVector==0 ){
    fprintf(stderr, "lz4_block_test.c: no NAME.lz4 vectors in %s\n",
            argv[1]);
    return 2;
  }
  testHandMade();
  for(i=0; i<nCorpus; i++) testVector(&aCorpus[i]);
  for(i=0; i<nCorpus; i++){
    int nHand = nCorpus - nFileVector;
    fuzzVector(&aCorpus[i], i>=nFileVector ? FUZZ_HAND
               : (FUZZ_TOTAL - nHand*FUZZ_HAND)/nFileVector);
  }

  for(i=0; i<nCorpus; i++){
    free(aCorpus[i].aBlock);
    free(aCorpus[i].aRaw);
  }
  if( nFail ){
    fprintf(stderr, "lz4_block_test.c: %d check(s) failed\n", nFail);
    return 1;
  }
  printf("lz4_block_test.c: ok (%d vectors, %ld mutations)\n", nCorpus,
         nMutation);
  return 0;
}
