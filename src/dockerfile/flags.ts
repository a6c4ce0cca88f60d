// Per-instruction flag declarations and strict flag reading (BuildKit's BFlags): unknown
// flags get a did-you-mean hint and the flag's own range; booleans accept `--f`, `--f=true|false`.
import { TbuildError, didYouMean, type Range } from "../util/index.js";
import type { Flag, Instruction } from "./ast.js";

export type FlagType = "string" | "bool" | "strings";

/** The flags an instruction accepts: name → type. */
export type FlagSpecs = Readonly<Record<string, FlagType>>;

export const FLAG_SPECS: Readonly<Record<string, FlagSpecs>> = {
  from: { platform: "string" },
  run: { mount: "strings", network: "string", security: "string", device: "strings" },
  copy: { from: "string", chown: "string", chmod: "string", link: "bool", parents: "bool", exclude: "strings" },
  add: { chown: "string", chmod: "string", link: "bool", "keep-git-dir": "bool", checksum: "string", exclude: "strings", unpack: "bool" },
  healthcheck: { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" },
};

/** Flags read for one instruction. Values keep their variables unexpanded. */
export interface FlagValues {
  string(name: string): Flag | undefined;
  bool(name: string): boolean;
  strings(name: string): Flag[];
}

/** Where decoding errors point: the file of the instruction. */
export interface DecodeContext {
  readonly file: string;
  /** Did-you-mean hints already computed for unknown keywords (shared across one file). */
  readonly hints?: Map<string, string | undefined> | undefined;
}

export function fail(ctx: DecodeContext, code: ConstructorParameters<typeof TbuildError>[0], message: string, range: Range, hint?: string): never {
  throw new TbuildError(code, message, { location: { file: ctx.file, range }, ...(hint ? { hint } : {}) });
}

/** Check `inst`'s flags against `specs` (none when undefined) and index them. */
export function readFlags(ctx: DecodeContext, inst: Instruction, specs: FlagSpecs = {}): FlagValues {
  const byName = new Map<string, Flag[]>();
  const names = Object.keys(specs);
  const kw = inst.keyword.text.toUpperCase();
  for (const f of inst.flags) {
    const type = specs[f.name];
    if (type === undefined) {
      const hint = didYouMean(f.name, names);
      fail(ctx, "E_PARSE_UNKNOWN_FLAG", `unknown flag: --${f.name}`, f.range, hint ? hint.replace("mean ", "mean --") : names.length ? `${kw} accepts ${names.map((n) => `--${n}`).join(", ")}` : `${kw} takes no flags`);
    }
    const list = byName.get(f.name) ?? [];
    if (list.length > 0 && type !== "strings") fail(ctx, "E_PARSE_BAD_FLAG", `duplicate flag specified: --${f.name}`, f.range);
    if (type === "bool") {
      if (f.value !== undefined && !/^(true|false)$/i.test(f.value)) fail(ctx, "E_PARSE_BAD_FLAG", `expecting boolean value for flag --${f.name}, not: ${f.value}`, f.range);
    } else if (f.value === undefined) {
      fail(ctx, "E_PARSE_BAD_FLAG", `missing a value on flag: --${f.name}`, f.range, `write --${f.name}=VALUE`);
    }
    list.push(f);
    byName.set(f.name, list);
  }
  return {
    string: (n) => byName.get(n)?.[0],
    bool: (n) => {
      const f = byName.get(n)?.[0];
      return f !== undefined && (f.value === undefined || f.value.toLowerCase() === "true");
    },
    strings: (n) => byName.get(n) ?? [],
  };
}
