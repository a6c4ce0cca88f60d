// plan/explain.ts: why a step missed the cache. Compares the previous build's record of a
// step (its key, preimage and per-file digests) with the new plan's step, field by field,
// and names what changed: the text, a build arg or ENV value, the base image digest, the
// files of a COPY source ("COPY . /app: src/index.ts changed").
import { shortDigest, type Digest } from "../util/index.js";
import type { CopyPreimage, KeyPreimage, RunPreimage } from "./keys.js";
import type { Plan, StageSource, Step } from "./steps.js";

/** What a previous build keeps of a step (a Step satisfies it). */
export interface StepRecord {
  readonly stage: number;
  readonly index: number;
  readonly text: string;
  readonly key: Digest;
  readonly preimage: KeyPreimage | null;
  readonly files?: Readonly<Record<string, Digest>>;
  /** COPY/ADD: where the sources come from. */
  readonly from?: StageSource | { readonly kind: "context" };
  /** RUN: the env names that are ARGs. */
  readonly argNames?: readonly string[];
  /** RUN: the `K=V` list its key holds by digest (RunStep.keyEnv): what names a changed variable. */
  readonly keyEnv?: readonly string[];
}

export interface Explanation {
  readonly stage: number;
  readonly index: number;
  readonly text: string;
  /** The readable reason, e.g. `COPY . /app: src/index.ts changed`. */
  readonly message: string;
  /** The individual changes. */
  readonly changes: readonly string[];
}

const MAX_FILES = 5;

function listNames(names: readonly string[], what: string): string {
  const shown = names.slice(0, MAX_FILES).join(", ");
  return `${shown}${names.length > MAX_FILES ? ` and ${names.length - MAX_FILES} more` : ""} ${what}`;
}

/** File-level differences between two selections' per-file digests. */
export function diffFiles(before: Readonly<Record<string, Digest>>, after: Readonly<Record<string, Digest>>): string[] {
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [p, d] of Object.entries(after)) {
    const b = before[p];
    if (b === undefined) added.push(p);
    else if (b !== d) changed.push(p);
  }
  for (const p of Object.keys(before)) if (!(p in after)) removed.push(p);
  const out: string[] = [];
  if (changed.length) out.push(listNames(changed.sort(), "changed"));
  if (added.length) out.push(listNames(added.sort(), "added"));
  if (removed.length) out.push(listNames(removed.sort(), "removed"));
  return out;
}

function envMap(list: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf("=");
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? "" : e.slice(i + 1));
  }
  return m;
}

function diffEnv(a: readonly string[], b: readonly string[], argsA: readonly string[], argsB: readonly string[]): string[] {
  const ma = envMap(a);
  const mb = envMap(b);
  const name = (k: string, args: readonly string[]): string => `${args.includes(k) ? "build arg" : "ENV"} ${k}`;
  const out: string[] = [];
  for (const [k, v] of mb) {
    const old = ma.get(k);
    if (old === undefined) out.push(`${name(k, argsB)} set to ${JSON.stringify(v)}`);
    else if (old !== v) out.push(`${name(k, argsB)} changed from ${JSON.stringify(old)} to ${JSON.stringify(v)}`);
  }
  for (const k of ma.keys()) if (!mb.has(k)) out.push(`${name(k, argsA)} unset`);
  return out;
}

const json = (v: unknown): string => JSON.stringify(v);

/** RUN keyEnv lists by environment (envId): what stored records hold once per environment. */
export type RecordedEnvs = ReadonlyMap<string, readonly string[]>;

/** A RUN's environment as its key holds it: the Env and ARG digests. */
const envId = (p: RunPreimage): string => `${String(p.env)} ${String(p.args)}`;

/**
 * What stored records keep of each step's `keyEnv`: a RUN's list the first time its
 * environment appears, nothing otherwise (explainPlan finds those by digest). RUNs with no
 * ARG or ENV between them share one environment: a list per RUN made records grow as
 * RUNs × variables.
 */
export function keyEnvsToStore(steps: readonly Step[]): (readonly string[] | undefined)[] {
  const seen = new Set<string>();
  return steps.map((s) => {
    if (s.kind !== "run" || s.preimage?.kind !== "run") return undefined;
    const id = envId(s.preimage);
    if (seen.has(id)) return undefined;
    seen.add(id);
    return s.keyEnv;
  });
}

/**
 * The variables of a RUN record: its keyEnv, the one recorded for its environment, or the
 * list itself in a record made before keys held the environment by digest (run preimage v1).
 */
function keyEnvOf(r: StepRecord, p: RunPreimage, envs: RecordedEnvs): readonly string[] | undefined {
  const legacy: unknown = p.env;
  return r.keyEnv ?? envs.get(envId(p)) ?? (Array.isArray(legacy) ? (legacy as string[]) : undefined);
}

function diffRun(a: RunPreimage, b: RunPreimage, before: StepRecord, after: StepRecord, envs: RecordedEnvs): string[] {
  const out: string[] = [];
  if (json(a.argv) !== json(b.argv)) out.push("command changed");
  if (json(a.script) !== json(b.script)) out.push("script changed");
  const envA = keyEnvOf(before, a, envs);
  const envB = keyEnvOf(after, b, envs);
  const vars = envA && envB ? diffEnv(envA, envB, before.argNames ?? [], after.argNames ?? []) : [];
  if (vars.length) out.push(...vars);
  else if (a.env !== b.env || a.args !== b.args) out.push(typeof a.args === "string" ? "environment changed" : "cache key format changed (tbuild upgrade)");
  if (a.cwd !== b.cwd) out.push(`working directory changed from ${a.cwd} to ${b.cwd}`);
  if (a.user !== b.user) out.push(`user changed from ${json(a.user)} to ${json(b.user)}`);
  if (json(a.mounts) !== json(b.mounts)) out.push("mounts changed");
  if (a.network !== b.network) out.push(`network changed to ${b.network}`);
  if (a.security !== b.security) out.push(`security changed to ${b.security}`);
  return out;
}

function describeFrom(f: StepRecord["from"]): string {
  if (!f) return "source";
  switch (f.kind) {
    case "stage": return `source stage #${f.stage}`;
    case "image": return `source image ${f.ref}`;
    default: return f.kind;
  }
}

function diffCopy(a: CopyPreimage, b: CopyPreimage, fa: StepRecord["files"], fb: StepRecord["files"], from: StepRecord["from"]): string[] {
  const out: string[] = [];
  if (a.dest !== b.dest) out.push(`destination changed from ${a.dest} to ${b.dest}`);
  if (json(a.flags) !== json(b.flags)) out.push("flags changed");
  if (json(a.sources) !== json(b.sources)) out.push("sources changed");
  if (a.from !== b.from) out.push(`${describeFrom(from)} changed`);
  if (a.content !== b.content) {
    const files = fa && fb ? diffFiles(fa, fb) : [];
    out.push(...(files.length ? files : ["file metadata changed"]));
  }
  return out;
}

/**
 * Name what changed between two records of the same step; [] when the keys agree. `envs`:
 * the RUN variables of `before`'s records by environment (see keyEnvsToStore).
 */
export function explainChange(before: StepRecord | undefined, after: StepRecord, envs: RecordedEnvs = new Map()): string[] {
  if (!before) return ["new step"];
  if (before.key === after.key) return [];
  const a = before.preimage;
  const b = after.preimage;
  const out: string[] = [];
  const textChanged = before.text !== after.text;
  if (!a || !b || a.kind !== b.kind) return [textChanged ? "instruction changed" : "step changed"];
  if (a.kind === "from" && b.kind === "from") {
    if ("digest" in a && "digest" in b && a.image === b.image) out.push(`base image digest changed (${shortDigest(a.digest)} → ${shortDigest(b.digest)})`);
    else if ("stageKey" in a && "stageKey" in b) out.push(`base stage #${b.stage} changed`);
    else out.push("base image changed");
    return out;
  }
  if ("parent" in a && "parent" in b && a.parent !== b.parent) {
    // Only the parent changed: an earlier step of the stage missed first.
    const own = { ...a, parent: null };
    const ownB = { ...b, parent: null };
    if (json(own) === json(ownB)) return ["an earlier step changed"];
  }
  if (a.kind === "run" && b.kind === "run") out.push(...diffRun(a, b, before, after, envs));
  else if ((a.kind === "copy" || a.kind === "add") && (b.kind === "copy" || b.kind === "add")) out.push(...diffCopy(a, b, before.files, after.files, after.from));
  else if (a.kind === "workdir" && b.kind === "workdir") {
    if (a.path !== b.path) out.push(`path changed from ${a.path} to ${b.path}`);
    if (a.user !== b.user) out.push(`owner changed from ${json(a.user)} to ${json(b.user)}`);
  }
  return out.length ? [...new Set(out)] : [textChanged ? "instruction changed" : "step changed"];
}

/**
 * For each stage of `after`, the first step whose key differs from the step at the same
 * place in `before` (a previous plan, or the records a previous build stored), explained.
 */
export function explainPlan(before: Plan | readonly StepRecord[], after: Plan): Explanation[] {
  const prev = new Map<string, StepRecord>();
  const records: readonly StepRecord[] = Array.isArray(before) ? (before as readonly StepRecord[]) : (before as Plan).stages.flatMap((s) => s.steps);
  const envs = new Map<string, readonly string[]>();
  for (const r of records) {
    prev.set(`${r.stage}/${r.index}`, r);
    if (r.keyEnv && r.preimage?.kind === "run") envs.set(envId(r.preimage), r.keyEnv);
  }
  const out: Explanation[] = [];
  for (const st of after.stages) {
    for (const s of st.steps as readonly Step[]) {
      const b = prev.get(`${s.stage}/${s.index}`);
      if (b && b.key === s.key) continue;
      const changes = explainChange(b, s, envs);
      if (changes.length === 0) continue;
      out.push({ stage: s.stage, index: s.index, text: s.text, changes, message: `${s.text}: ${changes.join("; ")}` });
      break;
    }
  }
  return out;
}
