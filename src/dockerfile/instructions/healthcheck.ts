// HEALTHCHECK [--interval --timeout --start-period --start-interval --retries] CMD …| NONE.
import type { Flag, Instruction } from "../ast.js";
import { fail, FLAG_SPECS, readFlags, type DecodeContext } from "../flags.js";
import type { HealthcheckCommand } from "./types.js";

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration, in milliseconds (undefined when malformed). */
export function parseDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  let i = 0;
  let total = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return i === 0 ? undefined : total;
}

export function decodeHealthcheck(ctx: DecodeContext, node: Instruction): HealthcheckCommand {
  const flags = readFlags(ctx, node, FLAG_SPECS.healthcheck);
  const sub = node.subKeyword;
  if (!sub) return fail(ctx, "E_PARSE_MISSING_ARGS", "HEALTHCHECK requires an argument", node.range, "write HEALTHCHECK CMD COMMAND or HEALTHCHECK NONE");
  const typ = sub.text.toUpperCase();
  const values: { interval?: number; timeout?: number; startPeriod?: number; startInterval?: number; retries?: number } = {};
  const out: { -readonly [K in keyof HealthcheckCommand]?: HealthcheckCommand[K] } = { kind: "healthcheck", node, range: node.range, values };
  if (typ === "NONE") {
    if (node.args.length > 1 || node.flags.length > 0) fail(ctx, "E_PARSE_BAD_ARGS", "HEALTHCHECK NONE takes no arguments", node.rest.range);
    out.test = "none";
    return out as HealthcheckCommand;
  }
  if (typ !== "CMD") fail(ctx, "E_PARSE_BAD_ARGS", `Unknown type "${sub.text}" in HEALTHCHECK (try CMD)`, sub.range, "write HEALTHCHECK CMD COMMAND or HEALTHCHECK NONE");
  if (node.args.length < 2) fail(ctx, "E_PARSE_MISSING_ARGS", "Missing command after HEALTHCHECK CMD", node.range, "write HEALTHCHECK CMD COMMAND");
  out.test = "cmd";
  out.command = { form: node.json ? "exec" : "shell", args: node.args.slice(1) };
  const dur = (name: string, key: "interval" | "timeout" | "startPeriod" | "startInterval"): void => {
    const f: Flag | undefined = flags.string(name);
    if (!f) return;
    const ms = parseDuration(f.value ?? "");
    if (ms === undefined) fail(ctx, "E_PARSE_BAD_FLAG", `invalid duration for --${name}: ${f.value}`, f.range, "write a duration such as 30s or 1m30s");
    if (ms !== 0 && ms < 1) fail(ctx, "E_PARSE_BAD_FLAG", `--${name} cannot be less than 1ms`, f.range);
    out[key] = f;
    values[key] = ms;
  };
  dur("interval", "interval");
  dur("timeout", "timeout");
  dur("start-period", "startPeriod");
  dur("start-interval", "startInterval");
  const r = flags.string("retries");
  if (r) {
    if (!/^-?[0-9]+$/.test(r.value ?? "")) fail(ctx, "E_PARSE_BAD_FLAG", `invalid value for --retries: ${r.value}`, r.range, "write a whole number");
    const n = Number(r.value);
    if (n < 0) fail(ctx, "E_PARSE_BAD_FLAG", "--retries cannot be negative", r.range);
    out.retries = r;
    values.retries = n;
  }
  return out as HealthcheckCommand;
}
