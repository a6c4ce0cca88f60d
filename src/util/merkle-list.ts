// util/merkle-list.ts: the digest of a list of strings that stays cheap to keep while the
// list changes. The planner puts one digest of the environment into every RUN key; hashing
// the whole list per step made planning cost steps × environment size (5,000 ENV + 5,000
// RUN lines: 105 s). The digest is RFC 6962's Merkle tree hash (the Certificate
// Transparency log's): leaves sha256(0x00 ‖ utf8), nodes sha256(0x01 ‖ left ‖ right), split at
// the largest power of two below the length. It depends on the list alone, not on how the
// list was reached, so equal lists give equal digests on every machine.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Digest } from "./digest.js";

type Hash = Uint8Array;

function leafHash(text: string): Hash {
  const body = utf8ToBytes(text);
  const buf = new Uint8Array(body.length + 1);
  buf.set(body, 1);
  return sha256(buf);
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
 * A list of strings with its Merkle tree hash. `levels[0]` holds the leaf hashes and
 * `levels[k][j]` the hash of the complete, aligned block of 2^k leaves starting at j·2^k;
 * the root bags the last block of each level whose bit is set in the length (the value RFC
 * 6962's recursive definition gives). Changes are recorded and hashed on the next digest():
 * a list that changes often and is rarely digested (ENV PATH=…:$PATH, line after line)
 * hashes nothing in between. A digest costs O(changes × log n); splice O(n − index).
 */
export class MerkleList {
  private readonly levels: Hash[][] = [[]];
  /** Leaves set or pushed since the last digest: index → text. */
  private pending = new Map<number, string>();
  /** Leaves whose hash is current but whose ancestors are not (moved by splice). */
  private moved = new Set<number>();
  private size = 0;
  private root: Digest | undefined;

  constructor(items: Iterable<string> = []) {
    for (const t of items) this.push(t);
  }

  get length(): number {
    return this.size;
  }

  /** Replace the item at `index` (0 ≤ index < length). */
  set(index: number, text: string): void {
    if (index < 0 || index >= this.size) throw new RangeError(`MerkleList.set: index ${index} out of range`);
    this.pending.set(index, text);
    this.root = undefined;
  }

  push(text: string): void {
    this.pending.set(this.size++, text);
    this.root = undefined;
  }

  /** Remove `deleteCount` items at `index` and insert `items` there. */
  splice(index: number, deleteCount: number, ...items: string[]): void {
    this.flush();
    const leaves = this.levels[0]!;
    const tail = leaves.slice(index + deleteCount);
    leaves.length = index;
    this.size = index;
    for (const t of items) this.push(t);
    for (const h of tail) {
      leaves[this.size] = h;
      this.moved.add(this.size++);
    }
    this.root = undefined;
  }

  /** `sha256:<hex>` of the list (sha256 of nothing for the empty list, as RFC 6962). */
  digest(): Digest {
    if (this.root === undefined) {
      this.flush();
      this.root = this.size === 0 ? EMPTY_ROOT : `sha256:${bytesToHex(this.bag())}`;
    }
    return this.root;
  }

  /** Hash the pending leaves and recompute the blocks above every changed leaf. */
  private flush(): void {
    if (this.pending.size === 0 && this.moved.size === 0) return;
    const leaves = this.levels[0]!;
    leaves.length = this.size;
    let changed = this.moved;
    for (const [i, text] of this.pending) {
      leaves[i] = leafHash(text);
      changed.add(i);
    }
    this.pending = new Map();
    this.moved = new Set();
    for (let k = 1; this.size >> k > 0; k++) {
      const below = this.levels[k - 1]!;
      const level = (this.levels[k] ??= []);
      level.length = this.size >> k;
      const parents = new Set<number>();
      for (const i of changed) {
        const j = i >> 1;
        if (j < level.length && !parents.has(j)) {
          parents.add(j);
          level[j] = nodeHash(below[2 * j]!, below[2 * j + 1]!);
        }
      }
      changed = parents;
    }
    this.levels.length = Math.max(1, 32 - Math.clz32(this.size));
  }

  private bag(): Hash {
    let acc: Hash | undefined;
    for (let k = 0; k < this.levels.length; k++) {
      if (((this.size >> k) & 1) === 0) continue;
      const level = this.levels[k]!;
      const peak = level[level.length - 1]!;
      acc = acc === undefined ? peak : nodeHash(peak, acc);
    }
    return acc!;
  }
}
