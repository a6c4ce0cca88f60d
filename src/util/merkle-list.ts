// util/merkle-list.ts: the digest of a list of strings that stays cheap to keep while the
// list changes. The planner puts one digest of the environment into every RUN key; hashing
// the whole list per step made planning cost steps × environment size (5,000 ENV + 5,000
// RUN lines: 105 s). The digest is RFC 6962's Merkle tree hash (the Certificate
// Transparency log's) over chunks of CHUNK consecutive items: leaf sha256(0x00 ‖ the chunk as
// a JSON array of strings), node sha256(0x01 ‖ left ‖ right), split at the largest power of
// two below the number of chunks. A list of up to CHUNK items (nearly every environment) is
// one hash, as cheap as hashing the list whole; a change rehashes one chunk and its path to
// the root. It depends on the list alone, not on how the list was reached, so equal lists
// give equal digests on every machine.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { utf8Bytes, type Digest } from "./digest.js";

type Hash = Uint8Array;

/** Items per leaf. */
export const MERKLE_CHUNK = 32;

function leafHash(chunk: readonly string[]): Hash {
  // "\0" is the 0x00 prefix byte in UTF-8.
  return sha256(utf8Bytes(`\0${JSON.stringify(chunk)}`));
}

function nodeHash(left: Hash, right: Hash): Hash {
  const buf = new Uint8Array(65);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 33);
  return sha256(buf);
}

const EMPTY_ROOT: Digest = `sha256:${bytesToHex(sha256(new Uint8Array(0)))}`;

/**
 * The digest a MerkleList of `items` has, worked out in one go: for a short list that is
 * hashed whole when it changes (a single leaf up to MERKLE_CHUNK items), no tree to keep.
 */
export function merkleDigest(items: readonly string[]): Digest {
  if (items.length === 0) return EMPTY_ROOT;
  if (items.length <= MERKLE_CHUNK) return `sha256:${bytesToHex(leafHash(items))}`;
  return new MerkleList(items).digest();
}

/**
 * A list of strings with its Merkle tree hash. `levels[0][c]` is the hash of chunk c (items
 * c·CHUNK …) and `levels[k][j]` the hash of the complete, aligned block of 2^k chunks
 * starting at chunk j·2^k; the root bags the last block of each level whose bit is set in
 * the number of chunks (the value RFC 6962's recursive definition gives). Changes are
 * recorded and hashed on the next digest(): a list that changes often and is rarely
 * digested (ENV PATH=…:$PATH, line after line) hashes nothing in between. A digest costs
 * O(changed chunks × (CHUNK + log n)); splice O(n − index).
 */
export class MerkleList {
  private readonly items: string[] = [];
  private readonly levels: Hash[][] = [[]];
  /** Chunks changed since the last digest. */
  private readonly dirty = new Set<number>();
  private root: Digest | undefined;

  constructor(items: Iterable<string> = []) {
    for (const t of items) this.push(t);
  }

  get length(): number {
    return this.items.length;
  }

  /** Replace the item at `index` (0 ≤ index < length). */
  set(index: number, text: string): void {
    if (index < 0 || index >= this.items.length) throw new RangeError(`MerkleList.set: index ${index} out of range`);
    this.items[index] = text;
    this.dirty.add(Math.floor(index / MERKLE_CHUNK));
    this.root = undefined;
  }

  push(text: string): void {
    this.dirty.add(Math.floor(this.items.length / MERKLE_CHUNK));
    this.items.push(text);
    this.root = undefined;
  }

  /** Remove `deleteCount` items at `index` and insert `items` there. */
  splice(index: number, deleteCount: number, ...items: string[]): void {
    this.items.splice(index, deleteCount, ...items);
    const chunks = Math.ceil(this.items.length / MERKLE_CHUNK);
    for (let c = Math.floor(index / MERKLE_CHUNK); c < chunks; c++) this.dirty.add(c);
    this.root = undefined;
  }

  /** `sha256:<hex>` of the list (sha256 of nothing for the empty list, as RFC 6962). */
  digest(): Digest {
    if (this.root === undefined) {
      this.flush();
      this.root = this.items.length === 0 ? EMPTY_ROOT : `sha256:${bytesToHex(this.bag())}`;
    }
    return this.root;
  }

  private get chunks(): number {
    return Math.ceil(this.items.length / MERKLE_CHUNK);
  }

  /** Hash the changed chunks and recompute the blocks above them. */
  private flush(): void {
    const m = this.chunks;
    const leaves = this.levels[0]!;
    leaves.length = m;
    // Ascending, so each level's parents come out ascending and a repeat is the last one.
    let changed: number[] = [];
    for (const c of this.dirty) if (c < m) changed.push(c);
    if (changed.length > 1) changed.sort((a, b) => a - b);
    this.dirty.clear();
    for (const c of changed) leaves[c] = leafHash(this.items.slice(c * MERKLE_CHUNK, (c + 1) * MERKLE_CHUNK));
    for (let k = 1; m >> k > 0; k++) {
      const below = this.levels[k - 1]!;
      const level = (this.levels[k] ??= []);
      level.length = m >> k;
      const parents: number[] = [];
      for (const i of changed) {
        const j = i >> 1;
        if (j < level.length && parents[parents.length - 1] !== j) {
          parents.push(j);
          level[j] = nodeHash(below[2 * j]!, below[2 * j + 1]!);
        }
      }
      changed = parents;
    }
    this.levels.length = Math.max(1, 32 - Math.clz32(m));
  }

  private bag(): Hash {
    const m = this.chunks;
    let acc: Hash | undefined;
    for (let k = 0; k < this.levels.length; k++) {
      if (((m >> k) & 1) === 0) continue;
      const level = this.levels[k]!;
      const peak = level[level.length - 1]!;
      acc = acc === undefined ? peak : nodeHash(peak, acc);
    }
    return acc!;
  }
}
