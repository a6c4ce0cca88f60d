// plan/log-snapshots.ts: O(1) snapshots of state that changes by a log of small changes
// (a config map, the Env list, the declared ARGs). Every plan step carries the state after
// it; copying it per step made N instructions cost O(N²). A snapshot is the log's length;
// the value at that length is built on its first read and then shared by every snapshot
// taken at the same length. Planning is O(N); whoever reads k snapshots pays for those k.

export class LogSnapshots<T> {
  private view: { readonly n: number; readonly read: () => T } | undefined;

  /** `build(n)`: the value after the log's first `n` changes. */
  constructor(private readonly build: (n: number) => T) {}

  /** A reader of the value after `n` changes (the log's current length). */
  at(n: number): () => T {
    if (this.view?.n !== n) {
      const build = this.build;
      let built: { readonly value: T } | undefined;
      this.view = { n, read: () => (built ??= { value: build(n) }).value };
    }
    return this.view.read;
  }
}

/** A list changed by positional writes (`index === length` appends), with O(1) snapshots. */
export class ListLog<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];
  private readonly snapshots = new LogSnapshots((n) => this.build(n));
  /** The list's current length. */
  length: number;
  /** The last list built: reading snapshots in order costs each the list plus the writes between. */
  private last: { readonly n: number; readonly list: readonly T[] };

  constructor(private readonly base: readonly T[]) {
    this.length = base.length;
    this.last = { n: 0, list: base };
  }

  /** Write `item` at `index` (0 ≤ index ≤ length; `length` appends). */
  write(index: number, item: T): void {
    this.at.push(index);
    this.items.push(item);
    if (index === this.length) this.length++;
  }

  /** A reader of the list as it stands now. */
  reader(): () => readonly T[] {
    return this.snapshots.at(this.at.length);
  }


  private build(n: number): readonly T[] {
    const from = this.last.n <= n ? this.last : { n: 0, list: this.base };
    if (from.n === n) return from.list;
    const out = from.list.slice();
    for (let i = from.n; i < n; i++) out[this.at[i]!] = this.items[i]!;
    this.last = { n, list: out };
    return out;
  }
}
