/**
 * Test helpers for src/ltx: recognisable pages, headers, FileSpec-style file
 * descriptions (after ltx file_spec.go), a permissive raw writer that builds
 * files breaking any rule while keeping a correct file checksum, and a seeded
 * random number generator.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  CHECKSUM_FLAG,
  Crc64,
  databaseChecksum,
  lockPgno,
} from "./checksum.ts";
import { HEADER_FLAG_NO_CHECKSUM, PAGE_HEADER_FLAG_SIZE } from "./constants.ts";
import type { LtxError } from "./errors.ts";
import { encodeHeader, type Header } from "./header.ts";
import { compressBlock, compressFrame } from "./lz4.ts";
import { encodePageHeader } from "./page_header.ts";
import { encodePageIndex, type PageIndexEntry } from "./page_index.ts";
import { encodeFile, type EncoderOptions } from "./encoder.ts";

/** A page of an LTX file description. */
export interface PageSpec {
  pgno: number;
  data: Uint8Array;
}

/** An LTX file in memory, as `encodeFile` takes it. */
export interface FileSpec {
  header: Header;
  pages: PageSpec[];
  postApplyChecksum: bigint;
}

/** Returns `n` pseudo-random numbers in [0, 1) from `seed` (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Makes a page that says which it is: "page <pgno> v<version>" repeated over
 * the first quarter (compressible), then bytes from a generator seeded by
 * page and version (incompressible), then zeros.
 */
export function makePage(
  pgno: number,
  pageSize: number,
  version = 0,
): Uint8Array {
  const page = new Uint8Array(pageSize);
  const label = new TextEncoder().encode(`page ${pgno} v${version} `);
  const quarter = pageSize / 4;
  for (let i = 0; i < quarter; i++) page[i] = label[i % label.length];
  const next = random(pgno * 7919 + version);
  for (let i = quarter; i < 2 * quarter; i++) {
    page[i] = Math.floor(next() * 256);
  }
  return page;
}

/** Makes a valid header: a 4096-byte-page snapshot of 4 pages unless overridden. */
export function makeHeader(overrides: Partial<Header> = {}): Header {
  return {
    flags: 0,
    pageSize: 4096,
    commit: 4,
    minTxid: 1n,
    maxTxid: 1n,
    timestamp: 1_700_000_000_000,
    preApplyChecksum: 0n,
    walOffset: 0n,
    walSize: 0n,
    walSalt1: 0,
    walSalt2: 0,
    nodeId: 0n,
    ...overrides,
  };
}

/** Options of {@linkcode snapshotSpec}. */
export interface SnapshotOptions {
  pageSize?: number;
  commit?: number;
  maxTxid?: bigint;
  noChecksum?: boolean;
}

/** Describes a snapshot holding pages 1 to `commit` (lock page skipped). */
export function snapshotSpec(options: SnapshotOptions = {}): FileSpec {
  const { pageSize = 4096, commit = 4, maxTxid = 1n, noChecksum = false } =
    options;
  const lock = lockPgno(pageSize);
  const pages: PageSpec[] = [];
  for (let pgno = 1; pgno <= commit; pgno++) {
    if (pgno !== lock) pages.push({ pgno, data: makePage(pgno, pageSize) });
  }
  const header = makeHeader({
    flags: noChecksum ? HEADER_FLAG_NO_CHECKSUM : 0,
    pageSize,
    commit,
    minTxid: 1n,
    maxTxid,
  });
  return {
    header,
    pages,
    postApplyChecksum: noChecksum
      ? 0n
      : pages.length === 0
      ? CHECKSUM_FLAG
      : databaseChecksum(pages.map((p) => [p.pgno, p.data] as const), pageSize),
  };
}

/** Options of {@linkcode incrementalSpec}. */
export interface IncrementalOptions {
  pgnos: number[];
  pageSize?: number;
  commit?: number;
  minTxid?: bigint;
  maxTxid?: bigint;
  noChecksum?: boolean;
}

/**
 * Describes a non-snapshot file holding the pages `pgnos` (version 1 of
 * each), with made-up but well-formed database checksums.
 */
export function incrementalSpec(options: IncrementalOptions): FileSpec {
  const {
    pgnos,
    pageSize = 4096,
    commit = Math.max(0, ...pgnos),
    minTxid = 2n,
    maxTxid = minTxid,
    noChecksum = false,
  } = options;
  return {
    header: makeHeader({
      flags: noChecksum ? HEADER_FLAG_NO_CHECKSUM : 0,
      pageSize,
      commit,
      minTxid,
      maxTxid,
      preApplyChecksum: noChecksum ? 0n : CHECKSUM_FLAG | 0x1234_5678_9abcn,
    }),
    pages: pgnos.map((pgno) => ({ pgno, data: makePage(pgno, pageSize, 1) })),
    postApplyChecksum: noChecksum ? 0n : CHECKSUM_FLAG | 0xfedc_ba98_7654n,
  };
}

/** Encodes a spec with `encodeFile`. */
export function buildFile(
  spec: FileSpec,
  options?: EncoderOptions,
): Uint8Array {
  return encodeFile(spec, options);
}

/** One frame of a {@linkcode RawFile}. */
export interface RawFrame {
  pgno: number;
  /** The decoded page, hashed into the file checksum. */
  data: Uint8Array;
  /** Page header flags; default 0x0001. */
  flags?: number;
  /** The payload as stored; default `data` compressed as `flags` says. */
  payload?: Uint8Array;
  /** The size prefix as stored (flag 0x0001 only); default the payload size. */
  sizePrefix?: number;
}

/** A file for {@linkcode buildRaw}: every part may break the rules. */
export interface RawFile {
  /** A header to encode without validation, or its raw bytes. */
  header: Header | Uint8Array;
  frames: RawFrame[];
  /** Index entries; default the frames' own. */
  index?: PageIndexEntry[];
  /** The index size field; default the true size. */
  indexSize?: bigint;
  postApplyChecksum: bigint;
  /** The stored file checksum; default the correct one. */
  fileChecksum?: bigint;
}

/**
 * Writes a file exactly as described, rules or not, with the file checksum
 * computed as the spec says over what it wrote (unless overridden).
 */
export function buildRaw(raw: RawFile): Uint8Array {
  const hash = new Crc64();
  const chunks: Uint8Array[] = [];
  const header = raw.header instanceof Uint8Array
    ? raw.header
    : encodeHeader(raw.header);
  chunks.push(header);
  hash.update(header);
  let offset = header.length;
  const entries: PageIndexEntry[] = [];
  for (const frame of raw.frames) {
    const flags = frame.flags ?? PAGE_HEADER_FLAG_SIZE;
    const payload = frame.payload ??
      ((flags & PAGE_HEADER_FLAG_SIZE) !== 0
        ? compressBlock(frame.data)
        : compressFrame(frame.data));
    const head = encodePageHeader(
      { pgno: frame.pgno, flags },
      frame.sizePrefix ?? payload.length,
    );
    chunks.push(head, payload);
    hash.update(head).update(frame.data);
    entries.push({
      pgno: frame.pgno,
      offset,
      size: head.length + payload.length,
    });
    offset += head.length + payload.length;
  }
  const zero = new Uint8Array(6);
  chunks.push(zero);
  hash.update(zero);
  const index = encodePageIndex(raw.index ?? entries);
  if (raw.indexSize !== undefined) {
    new DataView(index.buffer).setBigUint64(index.length - 8, raw.indexSize);
  }
  chunks.push(index);
  hash.update(index);
  const post = new Uint8Array(8);
  new DataView(post.buffer).setBigUint64(0, raw.postApplyChecksum);
  hash.update(post);
  const sum = new Uint8Array(8);
  new DataView(sum.buffer).setBigUint64(
    0,
    raw.fileChecksum ?? (hash.digest() | CHECKSUM_FLAG),
  );
  chunks.push(post, sum);
  return concat(chunks);
}

/** Turns a spec into raw frames, for tests that break one thing. */
export function rawFrames(spec: FileSpec): RawFrame[] {
  return spec.pages.map(({ pgno, data }) => ({ pgno, data }));
}

/**
 * Writes `spec` with {@linkcode buildRaw}, its frames as
 * {@linkcode rawFrames} gives them, with `changes` (the parts to break) over it.
 */
export function buildRawSpec(
  spec: FileSpec,
  changes: Partial<RawFile> = {},
): Uint8Array {
  return buildRaw({
    header: spec.header,
    frames: rawFrames(spec),
    postApplyChecksum: spec.postApplyChecksum,
    ...changes,
  });
}

/** Concatenates byte arrays. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let pos = 0;
  for (const chunk of chunks) {
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}

/**
 * Asserts that `fn` throws an instance of `errorClass` whose `file` is
 * `file` and whose message names it and includes `includes`, if given.
 */
export function assertLtxError<E extends LtxError>(
  fn: () => unknown,
  errorClass: new (...args: never[]) => E,
  file: string,
  includes?: string,
): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof errorClass,
    `expected ${errorClass.name}, got ${
      caught instanceof Error ? `${caught.name}: ${caught.message}` : caught
    }`,
  );
  assert.equal(caught.file, file);
  assert.ok(
    caught.message.includes(`"${file}"`),
    `message does not name the file: ${caught.message}`,
  );
  if (includes !== undefined) {
    assert.ok(
      caught.message.includes(includes),
      `message lacks "${includes}": ${caught.message}`,
    );
  }
  return caught;
}

/** Written by Litestream's VFS extension v0.5.17 (write mode, NoChecksum). */
export const LITESTREAM_FILE = Uint8Array.from(
  atob(
    "TFRYMQAAAAIAABAAAAAAAgAAAAAAAAABAAAAAAAAAAEAAAGiEQfVrwAAAAAAAAAAAAAAAAAAAAAA" +
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAQAAAJjzDVNR" +
      "TGl0ZSBmb3JtYXQgMwAQAAEBAEAgIAAAAAIEAAQCAFMBAAAABAwABBAADwIADf8AAgAuYwENAAAA" +
      "AQ/DAA/DLwANDwIA////////////////////MfAuOwEGFw8PAWd0YWJsZXR0AkNSRUFURSBUQUJM" +
      "RSB0KGEgSU5URUdFUiBQUklNQVJZIEtFWSwgYiBURVhUKQAAAAIAAQAAAC/PDQAAAAEP9gAP9gAA" +
      "AgD////////////////////gAAIAwAAACAEDABdyb3cgMQAAAAAAAAFkogEChgI5AAAAAAAAAAAJ" +
      "AAAAAAAAAACmatkHTqufHw==",
  ),
  (c) => c.charCodeAt(0),
);
