// plan/dump.ts: a Plan as text, one record per line in a stable order (the golden format
// of testdata/plan/<case>/plan.txt and what `tbuild plan` prints in full).
import { canonicalJson, shortDigest, type Range } from "../util/index.js";
import type { Plan, PlanStage, Step } from "./steps.js";

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
