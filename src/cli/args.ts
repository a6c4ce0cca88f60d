// Argument parsing over node:util.parseArgs (as citty does), with option descriptions for
// --help and usage errors as TbuildError(E_USAGE).
import { parseArgs } from "node:util";
import { TbuildError, didYouMean } from "../util/index.js";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string | boolean | string[];
  readonly description: string;
  /** Placeholder in help, e.g. FILE. */
  readonly valueName?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The options every command takes. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  root: { type: "string", valueName: "DIR", description: "store folder (default $TBUILD_ROOT, else ~/.local/share/tbuild)" },
  debug: { type: "boolean", description: "print stack traces for internal errors" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Usage line after `tbuild`, e.g. `tag SOURCE TARGET`. */
  readonly usage: string;
  readonly options: OptionSpecs;
  /** Extra help text shown after the options. */
  readonly details?: string;
  readonly minPositionals?: number;
  readonly maxPositionals?: number;
}

export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

/** Parse `argv` against the command's options plus the global ones. */
export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const all: OptionSpecs = { ...GLOBAL_OPTIONS, ...spec.options };
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean | string[] }> = {};
  for (const [name, o] of Object.entries(all)) {
    options[name] = { type: o.type };
    if (o.short) options[name]!.short = o.short;
    if (o.multiple) options[name]!.multiple = true;
    if (o.default !== undefined) options[name]!.default = o.default;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(spec, e, Object.keys(all));
  }
  const { values, positionals } = parsed as { values: Record<string, unknown>; positionals: string[] };
  if (!values.help) {
    if (spec.minPositionals !== undefined && positionals.length < spec.minPositionals) {
      throw new TbuildError("E_USAGE", `"tbuild ${spec.name}" requires at least ${spec.minPositionals} argument${spec.minPositionals === 1 ? "" : "s"}`, { hint: `usage: tbuild ${spec.usage}` });
    }
    if (spec.maxPositionals !== undefined && positionals.length > spec.maxPositionals) {
      throw new TbuildError("E_USAGE", `"tbuild ${spec.name}" accepts at most ${spec.maxPositionals} argument${spec.maxPositionals === 1 ? "" : "s"}, got ${positionals.length}`, { hint: `usage: tbuild ${spec.usage}` });
    }
  }
  return { values, positionals };
}

function usageError(spec: CommandSpec, e: unknown, names: string[]): TbuildError {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /Unknown option '(-{1,2})([^'=]+)/.exec(msg);
  if (m) {
    const hint = didYouMean(m[2]!, names);
    return new TbuildError("E_USAGE", `unknown flag: ${m[1]}${m[2]}`, { hint: hint ? hint.replace(/mean /, "mean --") : `see "tbuild ${spec.name} --help"` });
  }
  return new TbuildError("E_USAGE", msg.replace(/\. To specify a positional argument.*$/s, ""), { hint: `see "tbuild ${spec.name} --help"` });
}

/** The --help text of a command. */
export function renderHelp(spec: CommandSpec): string {
  const lines = [`Usage: tbuild ${spec.usage}`, "", spec.summary, "", "Options:"];
  const rows: [string, string][] = [];
  for (const [name, o] of Object.entries({ ...spec.options, ...GLOBAL_OPTIONS })) {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.valueName ?? "VALUE"}` : ""}`;
    rows.push([flag, o.description + (o.multiple ? " (repeatable)" : "")]);
  }
  const w = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  for (const [f, d] of rows) lines.push(`  ${f.padEnd(w)}${d}`);
  if (spec.details) lines.push("", spec.details.trimEnd());
  return lines.join("\n") + "\n";
}

/** Values of a repeatable string option (always an array). */
export function stringList(v: unknown): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}
