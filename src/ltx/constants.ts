/**
 * Sizes, flags and limits of the LTX v3 file format, named as in superfly/ltx
 * ltx.go (`HeaderSize`, `PageHeaderFlagSize`...) and derived from each other
 * where the format derives them.
 *
 * @module
 */

/** The first four bytes of every LTX file (versions 2 and 3 alike). */
export const MAGIC = "LTX1";

/** Size of the file header, in bytes. */
export const HEADER_SIZE = 100;

/** Size of a page header (page number and flags), in bytes. */
export const PAGE_HEADER_SIZE = 6;

/**
 * Size of the big-endian compressed-size prefix that follows a page header
 * carrying {@linkcode PAGE_HEADER_FLAG_SIZE}, in bytes.
 */
export const SIZE_PREFIX_SIZE = 4;

/** Size of one stored checksum, in bytes. */
export const CHECKSUM_SIZE = 8;

/** Size of the trailer: the post-apply checksum, then the file checksum. */
export const TRAILER_SIZE = 2 * CHECKSUM_SIZE;

/** Offset of the file checksum inside the trailer. */
export const TRAILER_CHECKSUM_OFFSET = TRAILER_SIZE - CHECKSUM_SIZE;

/**
 * Size of the big-endian field after the page index entries that holds their
 * byte length, in bytes.
 */
export const INDEX_SIZE_FIELD_SIZE = 8;

/**
 * Header flag `HeaderFlagNoChecksum`: database checksums are not tracked, so
 * the pre-apply and post-apply checksums are zero. The file checksum is still
 * required.
 */
export const HEADER_FLAG_NO_CHECKSUM = 0x2;

/** All header flags a valid file may carry. */
export const HEADER_FLAG_MASK = HEADER_FLAG_NO_CHECKSUM;

/**
 * Page header flag `PageHeaderFlagSize`: a {@linkcode SIZE_PREFIX_SIZE}-byte
 * compressed size follows the page header and the payload is an LZ4 block.
 * Without it the payload is a legacy LZ4 frame.
 */
export const PAGE_HEADER_FLAG_SIZE = 0x1;

/** All page header flags a valid frame may carry. */
export const PAGE_HEADER_FLAG_MASK = PAGE_HEADER_FLAG_SIZE;

/** The compaction level that holds snapshots. */
export const SNAPSHOT_LEVEL = 9;

/** Smallest valid database page size, in bytes. */
export const MIN_PAGE_SIZE = 512;

/** Largest valid database page size, in bytes. */
export const MAX_PAGE_SIZE = 65536;
