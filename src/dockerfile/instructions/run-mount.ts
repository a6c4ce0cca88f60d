// RUN --mount=… decoding (BuildKit's instructions/commands_runmount.go): a CSV list of
// key=value fields into a typed Mount for bind, cache, tmpfs, secret and ssh mounts.
import { didYouMean } from "../../util/index.js";
import type { Flag } from "../ast.js";
import { fail, type DecodeContext } from "../flags.js";

export type MountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";

export interface Mount {
  readonly type: MountType;
  /** Where it appears in the container (defaults filled for secret and ssh). */
  readonly target: string;
  readonly source?: string;
  /** Stage or image name for bind/cache sources. */
  readonly from?: string;
  readonly readOnly: boolean;
  /** cache: id (default: the target); secret/ssh: id. */
  readonly id?: string;
  readonly sharing?: "shared" | "private" | "locked";
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** tmpfs size in bytes. */
  readonly size?: number;
  readonly required?: boolean;
  /** secret: expose as this environment variable. */
  readonly env?: string;
  /** The flag it came from. */
  readonly flag: Flag;
}

const KEYS = ["type", "target", "dst", "destination", "source", "src", "from", "readonly", "ro", "readwrite", "rw", "id", "sharing", "mode", "uid", "gid", "size", "required", "env"];

/** Split a CSV record (encoding/csv rules: `"` quotes a field, `""` is a quote inside one). */
export function splitCsv(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (s[i] === '"') {
      i++;
      for (;;) {
        const q = s.indexOf('"', i);
        if (q < 0) throw new Error("unterminated quote");
        field += s.slice(i, q);
        if (s[q + 1] === '"') {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < s.length && s[i] !== ",") throw new Error('extraneous " in field');
    } else {
      const c = s.indexOf(",", i);
      field = c < 0 ? s.slice(i) : s.slice(i, c);
      i = c < 0 ? s.length : c;
    }
    out.push(field);
    if (i >= s.length) break;
    i++; // comma
  }
  return out;
}

function parseBool(ctx: DecodeContext, flag: Flag, key: string, v: string | undefined): boolean {
  if (v === undefined) return true;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  return fail(ctx, "E_PARSE_BAD_FLAG", `invalid value for ${key}: ${v}`, flag.range, "use true or false");
}

function parseIntField(ctx: DecodeContext, flag: Flag, key: string, v: string | undefined, radix: number): number {
  const n = v !== undefined && (radix === 8 ? /^0?[0-7]+$/ : /^[0-9]+$/).test(v) ? parseInt(v, radix) : NaN;
  if (!Number.isFinite(n)) fail(ctx, "E_PARSE_BAD_FLAG", `invalid value for ${key}: ${v ?? ""}`, flag.range, radix === 8 ? "write an octal mode such as 0755" : "write a whole number");
  return n;
}

function parseSize(ctx: DecodeContext, flag: Flag, v: string | undefined): number {
  const m = v === undefined ? null : /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?$/i.exec(v);
  if (!m) return fail(ctx, "E_PARSE_BAD_FLAG", `invalid value for size: ${v ?? ""}`, flag.range, "write a size such as 64m");
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.floor(Number(m[1]) * mult);
}

/** Decode one `--mount` flag. `sshIndex` numbers default ssh targets. */
export function decodeMount(ctx: DecodeContext, flag: Flag, sshIndex = 0): Mount {
  let fields: string[];
  try {
    fields = splitCsv(flag.value ?? "");
  } catch (e) {
    return fail(ctx, "E_PARSE_BAD_FLAG", `invalid mount ${JSON.stringify(flag.value)}: ${(e as Error).message}`, flag.range);
  }
  const m: { -readonly [K in keyof Mount]?: Mount[K] } = { type: "bind", readOnly: true, flag };
  let readOnlySet = false;
  for (const field of fields) {
    if (field === "") continue;
    const eq = field.indexOf("=");
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const v = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => v ?? fail(ctx, "E_PARSE_BAD_FLAG", `invalid field '${field}' must be a key=value pair`, flag.range);
    switch (key) {
      case "type": {
        const t = need().toLowerCase();
        if (!["bind", "cache", "tmpfs", "secret", "ssh"].includes(t)) {
          const hint = didYouMean(t, ["bind", "cache", "tmpfs", "secret", "ssh"]);
          fail(ctx, "E_PARSE_BAD_FLAG", `unsupported mount type "${t}"`, flag.range, hint ?? "use bind, cache, tmpfs, secret or ssh");
        }
        m.type = t as MountType;
        break;
      }
      case "target": case "dst": case "destination": m.target = need(); break;
      case "source": case "src": m.source = need(); break;
      case "from": m.from = need(); break;
      case "readonly": case "ro": m.readOnly = parseBool(ctx, flag, key, v); readOnlySet = true; break;
      case "readwrite": case "rw": m.readOnly = !parseBool(ctx, flag, key, v); readOnlySet = true; break;
      case "id": m.id = need(); break;
      case "sharing": {
        const s = need().toLowerCase();
        if (s !== "shared" && s !== "private" && s !== "locked") fail(ctx, "E_PARSE_BAD_FLAG", `unsupported sharing value "${s}"`, flag.range, "use shared, private or locked");
        m.sharing = s;
        break;
      }
      case "mode": m.mode = parseIntField(ctx, flag, key, v, 8); break;
      case "uid": m.uid = parseIntField(ctx, flag, key, v, 10); break;
      case "gid": m.gid = parseIntField(ctx, flag, key, v, 10); break;
      case "size": m.size = parseSize(ctx, flag, v); break;
      case "required": m.required = parseBool(ctx, flag, key, v); break;
      case "env": m.env = need(); break;
      default: {
        const hint = didYouMean(key, KEYS);
        fail(ctx, "E_PARSE_BAD_FLAG", `unexpected key '${key}' in '${field}'`, flag.range, hint);
      }
    }
  }
  const type = m.type!;
  if (!readOnlySet) m.readOnly = type === "bind" || type === "secret" || type === "ssh";
  if (type === "secret") {
    if (m.id === undefined && m.target === undefined && m.source === undefined) fail(ctx, "E_PARSE_BAD_FLAG", "invalid secret mount. one of source, target required", flag.range, "add id=NAME");
    if (m.from !== undefined) fail(ctx, "E_PARSE_BAD_FLAG", "secret mount should not have a from", flag.range);
    m.id ??= m.source ?? (m.target ?? "").split("/").pop();
    if (m.target === undefined && m.env === undefined) m.target = `/run/secrets/${m.id}`;
  } else if (type === "ssh") {
    m.id ??= "default";
    m.target ??= `/run/buildkit/ssh_agent.${sshIndex}`;
  }
  // As BuildKit: a missing target is not a parse error (`--mount=from=stage` is common); the
  // planner resolves it. File info is only for secret, ssh and cache mounts.
  if (type === "bind" || type === "tmpfs") {
    for (const k of ["mode", "uid", "gid"] as const) if (m[k] !== undefined) fail(ctx, "E_PARSE_BAD_FLAG", `${k} not allowed for "${type}" type mounts`, flag.range);
  }
  if (type === "cache") {
    m.id ??= m.target;
    m.sharing ??= "shared";
  }
  if (type !== "cache" && m.sharing !== undefined) fail(ctx, "E_PARSE_BAD_FLAG", "sharing is only valid for cache mounts", flag.range);
  if (type !== "tmpfs" && m.size !== undefined) fail(ctx, "E_PARSE_BAD_FLAG", "size is only valid for tmpfs mounts", flag.range);
  m.target ??= "";
  return m as Mount;
}
