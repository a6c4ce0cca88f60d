// The walk's entries as columns (edge): per entry its name, its parent directory's entry,
// st_mode, size and stamp (a StampTable row), in WalkDir order. The walker writes a row
// per entry with no object and no path string; ContextEntry objects are built from the
// columns only when something asks for them, and a no-change re-hash never does
// (BuildContext.hashAll reads the columns, entry-tree-hash.ts hashes them). Kept alive,
// 20,000 entries as objects with their paths cost a no-change re-hash more in young-GC
// copying than their lstats' JS work.
import { lowerBound } from "../util/index.js";
import { StampTable } from "./stamps.js";
import type { ContextEntry, EntryType, FileStamp } from "./tree-hash.js";

/** Link target or device numbers of an entry (only symlinks and devices have them). */
interface EntryExtras {
  readonly linkTarget?: string;
  readonly devMajor?: number;
  readonly devMinor?: number;
}

export class EntryTable {
  /** Entry i's name: the last component of its path. */
  readonly names: string[] = [];
  /** Entry i's parent directory entry, or -1 when the context root is its parent. */
  parents = new Int32Array(1024);
  /** Entry i's st_mode: type and permission bits. */
  modes = new Int32Array(1024);
  /** Entry i's size in bytes (regular files; 0 otherwise). */
  sizes = new Float64Array(1024);
  /** Entry i's stamp is row i. */
  readonly stamps = new StampTable(1024);
  private readonly extras = new Map<number, EntryExtras>();
  /** The rows in `extras`, ascending (rows are added in order): extrasIn searches it. */
  private readonly extraRows: number[] = [];
  private rows = 0;
  private built: ContextEntry[] | undefined;

  get length(): number {
    return this.rows;
  }

  /**
   * Append an entry whose stamp the caller has just added as the stamps' next row
   * (`stamps.length` is then one ahead of this table); returns its index.
   */
  add(name: string, parent: number, mode: number, size: number, extras?: EntryExtras): number {
    const i = this.rows++;
    if (i === this.parents.length) this.grow();
    this.names.push(name);
    this.parents[i] = parent;
    this.modes[i] = mode;
    this.sizes[i] = size;
    if (extras) {
      this.extras.set(i, extras);
      this.extraRows.push(i);
    }
    return i;
  }

  /** Drop the last entry (a folder the walk listed in case something below it was kept). */
  dropLast(): void {
    const i = --this.rows;
    this.names.pop();
    if (this.extras.delete(i)) this.extraRows.pop();
    this.stamps.truncate(i);
  }

  type(i: number): EntryType {
    return typeOf(this.modes[i]!);
  }

  extrasOf(i: number): EntryExtras | undefined {
    return this.extras.get(i);
  }

  /** The rows in [from, to) with a link target or device numbers, in row order, with them. */
  extrasIn(from: number, to: number): [number, EntryExtras][] {
    const rows = this.extraRows;
    const out: [number, EntryExtras][] = [];
    for (let k = lowerBound(rows, from); k < rows.length && rows[k]! < to; k++) out.push([rows[k]!, this.extras.get(rows[k]!)!]);
    return out;
  }

  /** The entries as objects (built once), in walk order. */
  entries(): ContextEntry[] {
    if (this.built) return this.built;
    const out: ContextEntry[] = new Array(this.rows);
    // A folder's path and a slash, by its entry index: a child's path is one concatenation.
    const prefixes: string[] = [];
    for (let i = 0; i < this.rows; i++) {
      const p = this.parents[i]!;
      const path = p < 0 ? this.names[i]! : prefixes[p]! + this.names[i]!;
      const type = this.type(i);
      if (type === "dir") prefixes[i] = `${path}/`;
      out[i] = new WalkedEntry(path, type, this.modes[i]! & 0o7777, this.sizes[i]!, this, i, this.extras.get(i));
    }
    return (this.built = out);
  }

  private grow(): void {
    const n = 4 * this.parents.length;
    const parents = new Int32Array(n);
    parents.set(this.parents);
    this.parents = parents;
    const modes = new Int32Array(n);
    modes.set(this.modes);
    this.modes = modes;
    const sizes = new Float64Array(n);
    sizes.set(this.sizes);
    this.sizes = sizes;
  }
}

/**
 * The entry type from st_mode as a number: BigIntStats' isFile() and friends do bigint
 * masking (an allocation each), which costs more than the lstat's JS wrapper here.
 */
export function typeOf(mode: number): EntryType {
  switch (mode & 0o170000) {
    case 0o100000: return "file";
    case 0o040000: return "dir";
    case 0o120000: return "symlink";
    case 0o010000: return "fifo";
    case 0o140000: return "socket";
    case 0o020000: return "char-device";
    default: return "block-device";
  }
}

/**
 * A walked entry: plain data fields, and its stamp kept as a row of the walk's StampTable
 * (built as an object only when `stamp` is read). The file-hash cache looks rows up in
 * place through `stampRow`.
 */
export class WalkedEntry implements ContextEntry {
  // Fields are declared, not defined (ES2022 class fields would define each as undefined
  // first): a file then carries no undefined linkTarget and device numbers.
  declare readonly path: string;
  declare readonly type: EntryType;
  declare readonly mode: number;
  declare readonly size: number;
  declare readonly linkTarget?: string;
  declare readonly devMajor?: number;
  declare readonly devMinor?: number;
  readonly #table: EntryTable;
  readonly #row: number;

  constructor(path: string, type: EntryType, mode: number, size: number, table: EntryTable, row: number, extras: EntryExtras | undefined) {
    this.path = path;
    this.type = type;
    this.mode = mode;
    this.size = size;
    if (extras?.linkTarget !== undefined) this.linkTarget = extras.linkTarget;
    if (extras?.devMajor !== undefined) {
      this.devMajor = extras.devMajor;
      this.devMinor = extras.devMinor;
    }
    this.#table = table;
    this.#row = row;
  }

  get stamp(): FileStamp {
    return this.#table.stamps.get(this.#row);
  }

  /** The table holding `e`'s stamp, if `e` came from walkContext. */
  static stampTable(e: ContextEntry): StampTable | undefined {
    return #row in e ? e.#table.stamps : undefined;
  }

  /** The row of `e`'s stamp in its table (-1 if `e` did not come from walkContext). */
  static stampRow(e: ContextEntry): number {
    return #row in e ? e.#row : -1;
  }

  /** The entry table `e` was built from, if any (its index there is `stampRow(e)`). */
  static entryTable(e: ContextEntry): EntryTable | undefined {
    return #row in e ? e.#table : undefined;
  }
}
