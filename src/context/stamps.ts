// File stamps in one growable table (edge): dev, ino, size, mtime and ctime of each walked
// entry as five little-endian 64-bit words, the layout of a file-hash cache slot. The walker
// writes a stamp with one native store per field instead of keeping a stamp object and its
// five bigints per entry (20,000 of them, promoted by the GC, cost more than the lstats'
// own JS work), and the cache compares a table row with its slots word by word.
import { endianness } from "node:os";
import type { FileStamp } from "./tree-hash.js";

/** Bytes per stamp: five 64-bit words. */
export const STAMP_BYTES = 40;
const LITTLE_ENDIAN = endianness() === "LE";

/** The stamp fields of an lstat, bigint form (node:fs BigIntStats has them). */
export interface StampSource {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export class StampTable {
  /** Row r is 32-bit words [10 r, 10 r + 10): compare rows through this view. */
  i32: Int32Array;
  private unsigned: BigUint64Array;
  private signed: BigInt64Array;
  private view: DataView;
  private rows = 0;

  constructor(capacity = 256) {
    const buf = new ArrayBuffer(Math.max(1, capacity) * STAMP_BYTES);
    this.i32 = new Int32Array(buf);
    this.unsigned = new BigUint64Array(buf);
    this.signed = new BigInt64Array(buf);
    this.view = new DataView(buf);
  }

  get length(): number {
    return this.rows;
  }

  /** The table's bytes (rows × 40, little-endian words). */
  get bytes(): Uint8Array {
    return new Uint8Array(this.i32.buffer, 0, this.rows * STAMP_BYTES);
  }

  /** The 40 bytes of `row`. */
  rowBytes(row: number): Uint8Array {
    return new Uint8Array(this.i32.buffer, row * STAMP_BYTES, STAMP_BYTES);
  }

  /** Append a stamp; returns its row. */
  push(s: StampSource): number {
    if ((this.rows + 1) * 10 > this.i32.length) this.grow();
    const row = this.rows++;
    this.put(row, s);
    return row;
  }

  /** Append a row for the caller to fill through `i32` (words 10 row to 10 row + 9); returns it. */
  addRow(): number {
    if ((this.rows + 1) * 10 > this.i32.length) this.grow();
    return this.rows++;
  }

  /** Keep the first `rows` rows only. */
  truncate(rows: number): void {
    this.rows = Math.min(this.rows, rows);
  }

  /** Write `s` at `row` (which must exist). Values are stored modulo 2^64. */
  put(row: number, s: StampSource): void {
    const w = row * 5;
    if (LITTLE_ENDIAN) {
      // One native store each; BigUint64Array/BigInt64Array wrap modulo 2^64.
      this.unsigned[w] = s.dev;
      this.unsigned[w + 1] = s.ino;
      this.unsigned[w + 2] = s.size;
      this.signed[w + 3] = s.mtimeNs;
      this.signed[w + 4] = s.ctimeNs;
      return;
    }
    const v = this.view;
    const o = w * 8;
    v.setBigUint64(o, BigInt.asUintN(64, s.dev), true);
    v.setBigUint64(o + 8, BigInt.asUintN(64, s.ino), true);
    v.setBigUint64(o + 16, BigInt.asUintN(64, s.size), true);
    v.setBigInt64(o + 24, BigInt.asIntN(64, s.mtimeNs), true);
    v.setBigInt64(o + 32, BigInt.asIntN(64, s.ctimeNs), true);
  }

  /** The stamp at `row` as an object (built on demand). */
  get(row: number): FileStamp {
    const o = row * STAMP_BYTES;
    const v = this.view;
    return { dev: v.getBigUint64(o, true), ino: v.getBigUint64(o + 8, true), size: v.getBigUint64(o + 16, true), mtimeNs: v.getBigInt64(o + 24, true), ctimeNs: v.getBigInt64(o + 32, true) };
  }

  private grow(): void {
    // By four: a 20,000-entry walk grows three times, not five (each grow copies the rows).
    const next = new StampTable(Math.max(256, this.rows * 4));
    new Uint8Array(next.i32.buffer).set(this.bytes);
    this.i32 = next.i32;
    this.unsigned = next.unsigned;
    this.signed = next.signed;
    this.view = next.view;
  }
}
