// The lint checks a build runs, as BuildKit does: findings are printed as a summary after
// the build ("2 warnings found …"), and with `# check=error=true` (or BUILDKIT_DOCKERFILE_CHECK)
// a finding fails the build before it starts. The linter loads lazily: a build whose
// Dockerfile has no `error=true` pays for it only after its image is written.
import type { ParseResult } from "../../dockerfile/index.js";
import { TbuildError } from "../../util/index.js";
import type { OutStream } from "../io.js";

export interface BuildCheckResult {
  /** Rule findings (parse errors are left to the build, which reports them located). */
  readonly warnings: readonly { readonly rule: string; readonly message: string; readonly line: number; readonly url?: string }[];
  /** BuildKit's `lint violation found for rules: …` when error=true and a rule fired. */
  readonly failure?: string;
}

/** True when the Dockerfile text or the build args ask for checks to fail the build. */
export function checksAreErrors(text: string, buildArgs: Readonly<Record<string, string>>): boolean {
  const spec = buildArgs.BUILDKIT_DOCKERFILE_CHECK ?? /^\s*#\s*check\s*=\s*(.*)$/im.exec(text.slice(0, 4096))?.[1] ?? "";
  return /(^|[,;\s])error\s*=\s*true\b/i.test(spec);
}

/** Parse the Dockerfile once for the checks and the plan (loaded only when needed). */
export async function parseForBuild(text: string, file: string): Promise<ParseResult> {
  return (await import("../../dockerfile/index.js")).parseDockerfile(text, { file });
}

/** Lint a parsed Dockerfile as a build would. Never throws on any input. */
export async function runBuildChecks(parsed: ParseResult, buildArgs: Readonly<Record<string, string>>): Promise<BuildCheckResult> {
  const { lintParsedReport } = await import("../../lint/index.js");
  const report = lintParsedReport(parsed, { buildArgs });
  const warnings = report.diagnostics
    .filter((d) => !d.code.startsWith("E_"))
    .map((d) => ({ rule: d.code, message: d.message, line: d.location.range.start.line, ...(d.url ? { url: d.url } : {}) }));
  return report.failure === undefined ? { warnings } : { warnings, failure: report.failure };
}

/** Throw the build-stopping error for a failed `error=true` check. */
export function checkFailure(result: BuildCheckResult, file: string): TbuildError {
  const first = result.warnings[0];
  return new TbuildError("E_LINT", result.failure ?? "lint violation found", {
    ...(first ? { location: { file, range: { start: { line: first.line, column: 1, offset: -1 }, end: { line: first.line, column: 1, offset: -1 } } } } : {}),
    hint: `run "tbuild lint ${file}" for details, or relax the # check= directive`,
  });
}

/** BuildKit's summary: ` 2 warnings found (use --check for more details):` then one line each. */
export function printWarnings(result: BuildCheckResult, out: OutStream, json: boolean): void {
  const n = result.warnings.length;
  if (n === 0) return;
  if (json) {
    for (const w of result.warnings) out.write(`${JSON.stringify({ type: "warning", time: Date.now(), message: `${w.rule}: ${w.message}`, line: w.line, ...(w.url ? { url: w.url } : {}) })}\n`);
    return;
  }
  let s = `\n ${n} warning${n === 1 ? "" : "s"} found (use --check for more details):\n`;
  for (const w of result.warnings) s += ` - ${w.rule}: ${w.message} (line ${w.line})\n`;
  out.write(s);
}
