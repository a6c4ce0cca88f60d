// lintDockerfile: parse, build the stage model, run every check, then apply the
// configuration (`# check=` directive and per-instruction comments, `# tbuild-lint ignore=`,
// --ignore, experimental rules, `error=true`) and sort. Pure.
import { INSTRUCTION_KINDS, parseDockerfile, type Instruction, type ParseResult } from "../dockerfile/index.js";
import { SourceText, didYouMean, type Diagnostic, type Range } from "../util/index.js";
import { CheckConfigError, EMPTY_CHECK_CONFIG, inlineIgnores, instructionCheckSkips, parseCheckConfig, type CheckConfig } from "./config.js";
import { buildModel, type Check, type Report } from "./model.js";
import { RULES_BY_NAME, atOrAbove } from "./rules.js";
import type { LintDiagnostic, LintOptions, TextEdit } from "./types.js";
import { checkDefinitionDescriptions, checkEmptyContinuation, checkFromWords, checkInstructionCasing, checkStageNames } from "./checks/buildkit-syntax.js";
import { checkExpose, checkJsonArgs, checkLegacyKeyValue, checkMaintainer, checkMultiple, checkSecrets, checkWorkdir } from "./checks/buildkit-instructions.js";
import { checkCopyIgnored, checkFrom, checkUndefinedVar, linkStages } from "./checks/buildkit-vars.js";
import { PRACTICE_CHECKS } from "./checks/practice.js";
import { WEIGHT_CHECKS } from "./checks/weight.js";

/** Every check, in the order findings are produced (the output is sorted afterwards). */
export const CHECKS: readonly Check[] = [
  checkFromWords,
  checkEmptyContinuation,
  checkInstructionCasing,
  checkStageNames,
  checkDefinitionDescriptions,
  checkFrom,
  checkJsonArgs,
  checkMaintainer,
  checkWorkdir,
  checkMultiple,
  checkLegacyKeyValue,
  checkSecrets,
  checkExpose,
  checkUndefinedVar,
  checkCopyIgnored,
  ...PRACTICE_CHECKS,
  ...WEIGHT_CHECKS,
];

/** What one lint run found, plus the run-level failure BuildKit reports for `error=true`. */
export interface LintReport {
  /** Rule findings and errors (parse errors, bad `# check=` values, bad platforms), sorted by position. */
  readonly diagnostics: readonly LintDiagnostic[];
  /** The check configuration in effect. */
  readonly check: CheckConfig;
  /** `lint violation found for rules: …` when `error=true` and a rule fired (BuildKit's message). */
  readonly failure?: string;
}

const NO_SUPPRESSIONS: ReadonlySet<string> = new Set();
const UPPER_KINDS = new Set<string>(INSTRUCTION_KINDS.map((k) => k.toUpperCase()));

/** Lint one Dockerfile text. Never throws on any input. */
export function lintDockerfileReport(text: string, options: LintOptions = {}): LintReport {
  return lintParsedReport(parseDockerfile(text, { file: options.file ?? "Dockerfile" }), options);
}

/**
 * Lint an already parsed Dockerfile (a build parses once for its checks and its plan).
 * Locations name the parsed file (`options.file` is only for the text entry points).
 * Never throws on any input.
 */
export function lintParsedReport(parsed: ParseResult, options: LintOptions = {}): LintReport {
  const { ast, diagnostics: parseDiags } = parsed;
  const file = ast.file;
  const source = new SourceText(ast.text);
  const out: LintDiagnostic[] = [];

  for (const d of parseDiags) {
    // The parser's empty-continuation warning is reported by the rule, with BuildKit's text.
    if (d.code === "NoEmptyContinuation" || !d.location) continue;
    out.push({ ...d, location: d.location });
  }

  // The check configuration: BUILDKIT_DOCKERFILE_CHECK replaces the file's directive.
  let check = EMPTY_CHECK_CONFIG;
  const fromArg = options.buildArgs?.BUILDKIT_DOCKERFILE_CHECK;
  const directive = ast.directives.find((d) => d.name === "check");
  const checkText = fromArg ?? directive?.value;
  if (checkText !== undefined) {
    try {
      check = parseCheckConfig(checkText);
    } catch (e) {
      const range = directive?.range ?? source.rangeOf(0, 0);
      out.push({ severity: "error", code: "E_PARSE_DIRECTIVE", message: e instanceof CheckConfigError ? e.message : String(e), location: { file, range } });
    }
  }

  // Unknown instructions: BuildKit stops with a parse error there; warnings before it stand.
  // Hints by keyword: a mangled file repeats a few unknown keywords many times.
  const hints = new Map<string, string | undefined>();
  for (const ins of ast.instructions) {
    if (ins.kind !== "unknown") continue;
    const kw = ins.keyword.text;
    if (!hints.has(kw)) hints.set(kw, didYouMean(kw, UPPER_KINDS));
    const hint = hints.get(kw);
    out.push({
      severity: "error",
      code: "E_PARSE_UNKNOWN_INSTRUCTION",
      message: `unknown instruction: ${ins.keyword.text}`,
      location: { file, range: ins.keyword.range },
      ...(hint ? { hint } : {}),
    });
  }

  const ignored = new Set(options.ignore ?? []);
  const enabled = (rule: string) => {
    const spec = RULES_BY_NAME.get(rule);
    if (!spec) return true;
    if (spec.experimental && !check.experimentalAll && !check.experimental.has(rule)) return false;
    if (check.skipAll || check.skip.has(rule) || ignored.has(rule)) return false;
    return true;
  };
  const suppressedAt = new Map<Instruction, ReadonlySet<string>>();
  const suppressions = (ins: Instruction): ReadonlySet<string> => {
    if (ins.comments.length === 0) return NO_SUPPRESSIONS;
    let s = suppressedAt.get(ins);
    if (s) return s;
    const names = new Set<string>();
    // Only the comment block directly above the instruction counts.
    let line = ins.startLine - 1;
    for (let i = ins.comments.length - 1; i >= 0; i--) {
      const c = ins.comments[i]!;
      if (c.range.end.line !== line) break;
      line = c.range.start.line - 1;
      for (const n of instructionCheckSkips(c.text) ?? []) names.add(n);
      for (const n of inlineIgnores(c.text) ?? []) names.add(n);
    }
    suppressedAt.set(ins, (s = names));
    return s;
  };

  const called = new Set<string>();
  const report: Report = (rule, at, message, opts = {}) => {
    const range: Range = opts.range ?? at.range;
    if (rule.startsWith("E_")) {
      out.push({ severity: "error", code: rule, message, location: { file, range } });
      return;
    }
    if (!enabled(rule)) return;
    const local = suppressions(at);
    if (local.has("all") || local.has(rule)) return;
    const spec = RULES_BY_NAME.get(rule)!;
    called.add(rule);
    const d: { -readonly [K in keyof LintDiagnostic]: LintDiagnostic[K] } = {
      severity: check.error ? "error" : spec.severity,
      code: rule,
      message,
      location: { file, range },
      url: spec.url,
    };
    if (opts.fix && opts.fix.length) d.fix = opts.fix as readonly TextEdit[];
    out.push(d);
  };

  if (!check.skipAll || check.experimentalAll || check.experimental.size > 0) {
    const model = buildModel(ast, source, file, options);
    linkStages(model);
    for (const c of CHECKS) c(model, report);
  }

  const min = options.minSeverity;
  const diagnostics = (min ? out.filter((d) => atOrAbove(d.severity, min)) : out).sort(compareDiagnostics);
  const result: { -readonly [K in keyof LintReport]: LintReport[K] } = { diagnostics, check };
  if (check.error && called.size > 0) result.failure = `lint violation found for rules: ${[...called].sort().join(", ")}`;
  return result;
}

/**
 * Lint one Dockerfile: rule findings (code = rule name) and the errors that stop a build
 * (parse errors, bad `# check=`), sorted by position. Pure; the same checks `tbuild build` runs.
 */
export function lintDockerfile(text: string, options: LintOptions = {}): LintDiagnostic[] {
  return [...lintDockerfileReport(text, options).diagnostics];
}

/** lintDockerfile for an already parsed Dockerfile. */
export function lintParsed(parsed: ParseResult, options: LintOptions = {}): LintDiagnostic[] {
  return [...lintParsedReport(parsed, options).diagnostics];
}

/** Order: file, line, column, rule, message. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  const la = a.location;
  const lb = b.location;
  if (la && lb) {
    if (la.file !== lb.file) return la.file < lb.file ? -1 : 1;
    if (la.range.start.line !== lb.range.start.line) return la.range.start.line - lb.range.start.line;
    if (la.range.start.column !== lb.range.start.column) return la.range.start.column - lb.range.start.column;
  }
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}
