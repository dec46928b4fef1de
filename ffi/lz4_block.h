/*
** lz4_block.h: a decoder for one LZ4 block, written from the LZ4 block
** format description (lz4/lz4, doc/lz4_Block_format.md), for the pages of
** LTX files. Header only: every function is static, for inclusion in
** litestream_vfs.c and its tests.
**
** A block is a list of sequences. Each sequence is a token byte (high
** nibble: literal length, low nibble: match length minus 4), the extension
** bytes of the literal length if its nibble is 15, the literals, then a
** match: a 2-byte little-endian offset back into the output and the
** extension bytes of the match length if its nibble is 15. An extension is
** a run of bytes added to the nibble, ending at the first byte below 255.
**
** Supported:
**
**   - One whole block, decoded into a buffer of nOut bytes; a block that
**     decodes to more is an error (lsvfsLz4Decode). The caller knows how
**     much output to expect: for a page, the page size.
**
**   - The page frame payload of an LTX file written by Litestream 0.5.16 or
**     later: a 4-byte big-endian block size, then the block
**     (lsvfsLz4DecodeSized).
**
**   - Matches that overlap their own output (offset smaller than length),
**     such as offset 1, a run of one byte.
**
** Omitted:
**
**   - LZ4 frames (magic number, descriptor, block checksums), the page
**     encoding of older LTX files. The engine decodes those.
**
**   - Dictionaries and linked blocks: an offset may only reach back to
**     the first byte this block produced.
**
** Assumed: nothing about the input, which may be corrupt or hostile. Every
** read stays within the nIn bytes of aIn, every write within the nOut bytes
** of aOut, every match reads only bytes this call has already written, and
** a malformed block is an error, never a crash. Lengths are compared with
** the room left in the output as they are read, so they never wrap around.
**
** End of block. The format asks for three things of the last sequences:
** (1) the last sequence holds literals only, and the block ends right after
** them; (2) the last 5 bytes of output are literals; (3) the last match
** starts at least 12 bytes before the end of the output. It lets a decoder
** reject a block that breaks any of them. This decoder enforces (1): a block
** that ends right after a match, or is empty (a block of no output is the
** single token 0x00), is LSVFS_LZ4_BAD_END, as in liblz4 and src/ltx/lz4.ts;
** so is a block cut short right after a match. It tolerates blocks that
** break (2) or (3), as src/ltx/lz4.ts does: those rules exist for decoders
** that copy in wide unchecked strides near the end, which this one does
** not, and some encoders break them (npm lz4js breaks (3); liblz4's
** LZ4_decompress_safe rejects such a block when nOut is its exact size).
**
** A block cut short right after the literals of one of its sequences is
** itself a valid, shorter block; only the caller, who knows the size to
** expect, can tell (lsvfsLz4Decode reports the decoded size).
*/
#ifndef LSVFS_LZ4_BLOCK_H
#define LSVFS_LZ4_BLOCK_H

#include <stddef.h>
#include <string.h>

/* The block decoded; *pnOut is its size. */
#define LSVFS_LZ4_OK         0
/* The input ends inside a sequence: in a length extension, in the
** literals, or in the offset. */
#define LSVFS_LZ4_TRUNCATED  1
/* The block decodes to more than nOut bytes (a literal run or match, or a
** length being read, passes the end of the output). */
#define LSVFS_LZ4_OVERFLOW   2
/* A match offset is 0, or reaches back before the first byte of output. */
#define LSVFS_LZ4_OFFSET     3
/* The block breaks end-of-block rule (1): it ends right after a match, so
** its last sequence is not literals only, or it is empty. */
#define LSVFS_LZ4_BAD_END    4
/* lsvfsLz4DecodeSized(): the size prefix does not match the payload. */
#define LSVFS_LZ4_BAD_SIZE   5

/* Every match copies at least this many bytes (the format's minmatch). */
#define LSVFS_LZ4_MIN_MATCH  4
/* A length nibble of this value is followed by extension bytes. */
#define LSVFS_LZ4_RUN_MASK   15

/*
** Reads the extension bytes of a length whose nibble was 15, from
** aIn[*piIn], adding each to *pn and leaving *piIn past the last one. A
** length longer than nRoom (the room left for what it counts) is refused as
** soon as it is seen, which also keeps the sum from ever wrapping around:
** the caller only needs nRoom to be correct, not the block.
*/
static inline int lsvfsLz4Extend(
  const unsigned char *aIn,   /* The block */
  size_t nIn,                 /* Size of the block in bytes */
  size_t *piIn,               /* IN/OUT: offset of the next byte to read */
  size_t nRoom,               /* The largest length that can fit */
  size_t *pn                  /* IN/OUT: the length so far */
){
  size_t iIn = *piIn;
  size_t n = *pn;
  unsigned int b;
  if( n>nRoom ) return LSVFS_LZ4_OVERFLOW;
  do{
    if( iIn>=nIn ) return LSVFS_LZ4_TRUNCATED;
    b = aIn[iIn++];
    if( b>nRoom-n ) return LSVFS_LZ4_OVERFLOW;
    n += b;
  }while( b==255 );
  *piIn = iIn;
  *pn = n;
  return LSVFS_LZ4_OK;
}

/*
** Copies a match of n bytes to aOut[iOut] from offset bytes back. The caller
** has checked that 0<offset<=iOut and that n<=nRoom, the room left in the
** output.
**
** A short match (most are 4 to 18 bytes) from at least 8 bytes back, with 8
** bytes to spare after it, is copied 8 bytes at a time: fixed-size memcpy
** calls the compiler turns into plain moves. Each chunk reads bytes written
** before it starts, so this is right even if the match overlaps its own
** output; the up to 7 bytes written past the match lie in the output and
** are overwritten by what follows, or lie past the end of the block's output.
**
** Otherwise, a match that does not overlap its output (offset>=n) is one
** memcpy. One that does repeats the bytes from aOut[iOut-offset] on with
** period offset: a short one is copied a byte at a time; a long one in
** passes that each copy all that lies between its source and the write
** position, which never overlaps and doubles the span each time, so a run
** of one byte over a page takes about a dozen memcpy calls.
*/
static inline void lsvfsLz4CopyMatch(
  unsigned char *aOut,        /* The output buffer */
  size_t iOut,                /* Where the match goes */
  size_t offset,              /* How far back its source starts */
  size_t n,                   /* Length of the match */
  size_t nRoom                /* Bytes of aOut from aOut[iOut] on */
){
  unsigned char *pDst = &aOut[iOut];
  const unsigned char *pSrc = pDst - offset;
  size_t i;
  if( n<=32 && offset>=8 && nRoom-n>=8 ){
    for(i=0; i<n; i+=8) memcpy(&pDst[i], &pSrc[i], 8);
  }else if( offset>=n ){
    memcpy(pDst, pSrc, n);
  }else if( n<32 ){
    for(i=0; i<n; i++) pDst[i] = pSrc[i];
  }else{
    unsigned char *pEnd = pDst + n;
    while( pDst<pEnd ){
      size_t nCopy = (size_t)(pDst - pSrc);
      if( nCopy>(size_t)(pEnd - pDst) ) nCopy = (size_t)(pEnd - pDst);
      memcpy(pDst, pSrc, nCopy);
      pDst += nCopy;
    }
  }
}

/*
** Decodes the LZ4 block of nIn bytes at aIn into aOut, which has room for
** nOut bytes (aOut may be NULL if nOut is 0). Returns LSVFS_LZ4_OK and sets
** *pnOut to the decoded size, at most nOut, or returns another LSVFS_LZ4_*
** code for a malformed block, or one that decodes to more than nOut bytes,
** and sets *pnOut to 0. Either way, bytes of aOut past the decoded size may
** have been written.
*/
static int lsvfsLz4Decode(
  const unsigned char *aIn,   /* The block */
  size_t nIn,                 /* Size of the block in bytes */
  unsigned char *aOut,        /* Write the decoded bytes here */
  size_t nOut,                /* Room in aOut, in bytes */
  size_t *pnOut               /* OUT: number of bytes decoded */
){
  size_t iIn = 0;             /* Offset of the next byte of aIn to read */
  size_t iOut = 0;            /* Bytes written to aOut so far */
  int rc;

  *pnOut = 0;
  if( nIn==0 ) return LSVFS_LZ4_BAD_END;
  for(;;){
    unsigned int token = aIn[iIn++];
    size_t nLit = token >> 4;           /* Literal length */
    size_t nMatch;                      /* Match length */
    size_t offset;                      /* Match offset */

    /* The literals. */
    if( nLit==LSVFS_LZ4_RUN_MASK ){
      rc = lsvfsLz4Extend(aIn, nIn, &iIn, nOut-iOut, &nLit);
      if( rc ) return rc;
    }
    if( nLit>nIn-iIn ) return LSVFS_LZ4_TRUNCATED;
    if( nLit>nOut-iOut ) return LSVFS_LZ4_OVERFLOW;
    if( nLit<=16 && nIn-iIn>=16 && nOut-iOut>=16 ){
      /* A short run with 16 bytes to spare on both sides: one fixed-size
      ** copy. What it writes past the run is overwritten by what follows,
      ** or lies past the end of the block's output. */
      memcpy(&aOut[iOut], &aIn[iIn], 16);
    }else if( nLit>0 ){
      memcpy(&aOut[iOut], &aIn[iIn], nLit);
    }
    iIn += nLit;
    iOut += nLit;

    /* The end of the block, if these literals end the input: the last
    ** sequence is the one without a match. */
    if( iIn==nIn ) break;

    /* The match. */
    if( nIn-iIn<2 ) return LSVFS_LZ4_TRUNCATED;
    offset = (size_t)aIn[iIn] | ((size_t)aIn[iIn+1] << 8);
    iIn += 2;
    if( offset==0 || offset>iOut ) return LSVFS_LZ4_OFFSET;
    nMatch = (token & LSVFS_LZ4_RUN_MASK) + LSVFS_LZ4_MIN_MATCH;
    if( (token & LSVFS_LZ4_RUN_MASK)==LSVFS_LZ4_RUN_MASK ){
      rc = lsvfsLz4Extend(aIn, nIn, &iIn, nOut-iOut, &nMatch);
      if( rc ) return rc;
    }
    if( nMatch>nOut-iOut ) return LSVFS_LZ4_OVERFLOW;
    lsvfsLz4CopyMatch(aOut, iOut, offset, nMatch, nOut-iOut);
    iOut += nMatch;

    /* A match is never last: another sequence must follow. */
    if( iIn==nIn ) return LSVFS_LZ4_BAD_END;
  }
  *pnOut = iOut;
  return LSVFS_LZ4_OK;
}

/*
** Decodes an LTX page frame's payload as Litestream 0.5.16 and later write
** it: a 4-byte big-endian block size, then the LZ4 block. nIn is the
** payload's size, which must be exactly 4 plus the block size
** (LSVFS_LZ4_TRUNCATED if it is under 4, LSVFS_LZ4_BAD_SIZE if it is not
** 4 plus the prefix); otherwise as lsvfsLz4Decode(). Checking that the
** page decodes to exactly the page size is left to the caller.
*/
static inline int lsvfsLz4DecodeSized(
  const unsigned char *aIn,   /* The size prefix, then the block */
  size_t nIn,                 /* Size of the payload in bytes */
  unsigned char *aOut,        /* Write the decoded bytes here */
  size_t nOut,                /* Room in aOut, in bytes */
  size_t *pnOut               /* OUT: number of bytes decoded */
){
  unsigned long nBlock;
  *pnOut = 0;
  if( nIn<4 ) return LSVFS_LZ4_TRUNCATED;
  nBlock = ((unsigned long)aIn[0] << 24) | ((unsigned long)aIn[1] << 16)
         | ((unsigned long)aIn[2] << 8) | (unsigned long)aIn[3];
  if( nBlock!=nIn-4 ) return LSVFS_LZ4_BAD_SIZE;
  return lsvfsLz4Decode(&aIn[4], nIn-4, aOut, nOut, pnOut);
}

#endif /* LSVFS_LZ4_BLOCK_H */
