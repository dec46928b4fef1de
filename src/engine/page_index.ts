/**
 * The page index of a view: for every page number, the LTX file and byte
 * range of its newest frame. Dense typed arrays indexed by page number keep it
 * compact (16 bytes a page) and lookups allocation-free.
 *
 * @module
 */

import type { LtxFileInfo } from "../storage/mod.ts";

/** A file's page index in columns, as folded into a {@linkcode PageIndex}. */
export interface FileIndex {
  /** Page numbers, ascending. */
  readonly pgnos: Uint32Array;
  /** Frame offsets from the start of the file. */
  readonly offsets: Float64Array;
  /** Frame sizes in bytes. */
  readonly sizes: Uint32Array;
}

/** Page number -> (file, offset, size) over a list of files. */
export class PageIndex {
  /** The files frames come from; slot `n` of {@linkcode PageIndex.slotOf} is `files[n - 1]`. */
  readonly files: LtxFileInfo[] = [];
  #slots = new Uint32Array(0);
  #offsets = new Float64Array(0);
  #sizes = new Uint32Array(0);

  /**
   * Folds a file's index over the current one: its frames win over older
   * ones for the same pages.
   *
   * @param file The LTX file.
   * @param index Its page index.
   */
  apply(file: LtxFileInfo, index: FileIndex): void {
    this.files.push(file);
    const slot = this.files.length;
    const last = index.pgnos.length === 0
      ? 0
      : index.pgnos[index.pgnos.length - 1];
    this.#reserve(last);
    for (let i = 0; i < index.pgnos.length; i++) {
      const pgno = index.pgnos[i];
      this.#slots[pgno] = slot;
      this.#offsets[pgno] = index.offsets[i];
      this.#sizes[pgno] = index.sizes[i];
    }
  }

  /**
   * Forgets pages past the end of a database that shrank.
   *
   * @param pageCount The database size in pages.
   */
  truncate(pageCount: number): void {
    if (pageCount + 1 < this.#slots.length) this.#slots.fill(0, pageCount + 1);
  }

  /**
   * @param pgno A page number.
   * @returns The 1-based slot of the file holding the page, 0 when none.
   */
  slotOf(pgno: number): number {
    return pgno < this.#slots.length ? this.#slots[pgno] : 0;
  }

  /** @returns The frame offset of a page whose slot is not 0. */
  offsetOf(pgno: number): number {
    return this.#offsets[pgno];
  }

  /** @returns The frame size of a page whose slot is not 0. */
  sizeOf(pgno: number): number {
    return this.#sizes[pgno];
  }

  #reserve(pgno: number): void {
    if (pgno < this.#slots.length) return;
    const capacity = Math.max(pgno + 1, this.#slots.length * 2);
    const slots = new Uint32Array(capacity);
    slots.set(this.#slots);
    const offsets = new Float64Array(capacity);
    offsets.set(this.#offsets);
    const sizes = new Uint32Array(capacity);
    sizes.set(this.#sizes);
    this.#slots = slots;
    this.#offsets = offsets;
    this.#sizes = sizes;
  }
}
