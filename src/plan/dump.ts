// plan/dump.ts: a Plan as text, one record per line in a stable order (the golden format
// of testdata/plan/<case>/plan.txt and what `tbuild plan` prints in full), and as the
// value `tbuild plan --format json` prints.
import { canonicalJson, shortDigest, type Digest, type Range } from "../util/index.js";
import type { Plan, PlanStage, RunStep, Step } from "./steps.js";

/** Keep one record per line: newlines inside heredoc text are shown as `\n`. */
function oneLine(s: string): string {
  return s.replace(/\r/g, "\\r").replace(/\n/g, "\\n");
}

function fmtRange(r: Range): string {
  return `${r.start.line}:${r.start.column}-${r.end.line}:${r.end.column}`;
}

/** `run`, `copy`, … or `config:env` for config-only steps. */
export function stepKind(s: Step): string {
  return s.kind === "config" ? `config:${s.instruction}` : s.kind;
}

/** One line per step: stage, kind, range, key, layer, text | summary. */
export function dumpStep(s: Step): string {
  const flags = [s.layer ? "layer" : "", s.trigger ? "trigger" : ""].filter(Boolean).join(",");
  const merged = s.kind === "copy" || s.kind === "add" ? (s.mergedKey ? ` merged=${shortDigest(s.mergedKey)}` : "") : "";
  return `#${s.stage} ${stepKind(s)} ${fmtRange(s.location.range)} key=${shortDigest(s.key)}${merged}${flags ? ` ${flags}` : ""} ${oneLine(s.text)} | ${oneLine(s.summary)}`;
}

function stageHeader(st: PlanStage, target: number): string {
  const base = st.base.kind === "scratch" ? "scratch" : st.base.kind === "stage" ? `stage #${st.base.stage}` : `${st.base.ref}${st.base.digest ? `@${shortDigest(st.base.digest)}` : " (unresolved)"}`;
  return `stage #${st.index}${st.name ? ` ${st.name}` : ""}${st.index === target ? " (target)" : ""} from ${base} deps=[${st.dependsOn.join(",")}] key=${shortDigest(st.key)} platform=${st.platform}`;
}

export interface DumpOptions {
  /** Include each stage's final config and history (default true). */
  readonly config?: boolean;
}

/** The whole plan as lines of text. */
export function dumpPlan(plan: Plan, opts: DumpOptions = {}): string {
  const out: string[] = [];
  for (const st of plan.stages) {
    out.push(stageHeader(st, plan.target));
    for (const s of st.steps) out.push(`  ${dumpStep(s)}`);
    if (opts.config !== false) {
      out.push(`  config ${canonicalJson(st.config)}`);
      if (st.author !== undefined) out.push(`  author ${st.author}`);
      for (const h of st.history) out.push(`  history ${h.empty_layer ? "empty " : "layer "}${oneLine(h.created_by ?? "")}`);
    }
  }
  for (const d of plan.diagnostics) out.push(`${d.severity} ${d.code}${d.location ? ` ${d.location.range.start.line}` : ""}: ${d.message}`);
  return out.join("\n") + "\n";
}

function truncate(s: string, n: number): string {
  const one = oneLine(s);
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}

/**
 * The human form `tbuild plan` and `tbuild build --dry-run` print: stages in order, each
 * step with its short key, whether it makes a layer, its line and text, and the summary.
 */
export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  for (const st of plan.stages) {
    if (out.length) out.push("");
    out.push(stageHeader(st, plan.target));
    for (const s of st.steps) {
      const mark = s.layer ? "layer" : s.kind === "from" ? "base " : "     ";
      const trig = s.trigger ? " (ONBUILD)" : "";
      out.push(`  ${shortDigest(s.key)} ${mark} ${String(s.location.range.start.line).padStart(4)}  ${truncate(s.text, 60)}${trig}`);
      out.push(`${" ".repeat(26)}${truncate(s.summary, 110)}`);
    }
  }
  return out.join("\n") + "\n";
}

/** `tbuild plan --format json`: the plan, with each RUN environment once (see planJson). */
export interface PlanJson extends Omit<Plan, "stages"> {
  readonly stages: readonly (Omit<PlanStage, "steps"> & { readonly steps: readonly object[] })[];
  /** The `K=V` list each digest in a RUN preimage (`env`, `args`) is the Merkle digest of. */
  readonly environments: Readonly<Record<Digest, readonly string[]>>;
}

/** The RUN fields that list the environment: the JSON form gives it by digest instead. */
const RUN_ENV_FIELDS: ReadonlySet<string> = new Set(["env", "argNames", "keyEnv"]);

/**
 * The plan as `--format json` prints it. A RUN's environment is given once per digest, in
 * `environments`, which its preimage's `env` and `args` reference: printed per RUN (three
 * times: env, keyEnv, argNames) the output grew as RUNs × variables. Proxy build args are
 * never shown (they stay out of keys and history too).
 */
export function planJson(plan: Plan): PlanJson {
  const environments: Record<Digest, readonly string[]> = {};
  const stages = plan.stages.map((st) => ({ ...st, steps: st.steps.map((s) => (s.kind === "run" ? runJson(s, environments) : s)) }));
  return { ...plan, stages, environments };
}

function runJson(s: RunStep, environments: Record<Digest, readonly string[]>): object {
  const out: Record<string, unknown> = {};
  // Copied key by key: a spread would build the environment lists (they are getters).
  for (const k of Object.keys(s)) if (!RUN_ENV_FIELDS.has(k)) out[k] = s[k as keyof RunStep];
  const p = s.preimage;
  if (p?.kind === "run" && !(p.env in environments && p.args in environments)) {
    const keyed = s.keyEnv;
    const envCount = keyed.length - s.argNames.length;
    environments[p.env] = keyed.slice(0, envCount);
    environments[p.args] = keyed.slice(envCount);
  }
  return out;
}
