// Output formats for lint findings: text (`FILE:LINE:COL  severity  Rule  message`), JSON
// and Checkstyle XML. SARIF lives in sarif.ts. Pure: findings in, a string out.
import { RULES_BY_NAME } from "./rules.js";
import type { LintDiagnostic } from "./types.js";

/** One finding in `--format json` (stable; documented in RULES.md). Lines and columns are 1-based. */
export interface JsonFinding {
  readonly rule: string;
  readonly severity: string;
  readonly message: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly url: string;
}

/** The JSON record of one finding. */
export function toJsonFinding(d: LintDiagnostic): JsonFinding {
  const { start, end } = d.location.range;
  return {
    rule: d.code,
    severity: d.severity,
    message: d.message,
    file: d.location.file,
    line: start.line,
    column: start.column,
    endLine: end.line,
    endColumn: end.column,
    url: d.url ?? RULES_BY_NAME.get(d.code)?.url ?? "",
  };
}

/** `--format json`: an array of findings, pretty-printed, with a trailing newline. */
export function formatJson(findings: readonly LintDiagnostic[]): string {
  return JSON.stringify(findings.map(toJsonFinding), null, 2) + "\n";
}

/** `--format text`: one line per finding, then the rule's URL indented on the next. */
export function formatText(findings: readonly LintDiagnostic[], opts: { urls?: boolean } = {}): string {
  let out = "";
  for (const d of findings) {
    const { start } = d.location.range;
    out += `${d.location.file}:${start.line}:${start.column}  ${d.severity}  ${d.code}  ${d.message}\n`;
    if (opts.urls && d.url) out += `    ${d.url}\n`;
  }
  return out;
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!)
    // XML 1.0 forbids most control characters even as references.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, "");
}

/** `--format checkstyle`: Checkstyle 4.3 XML, one `<file>` per linted file (even with no findings). */
export function formatCheckstyle(findings: readonly LintDiagnostic[], files: readonly string[] = []): string {
  const byFile = new Map<string, LintDiagnostic[]>();
  for (const f of files) byFile.set(f, []);
  for (const d of findings) {
    const list = byFile.get(d.location.file) ?? [];
    list.push(d);
    byFile.set(d.location.file, list);
  }
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<checkstyle version="4.3">'];
  for (const [file, list] of byFile) {
    lines.push(`  <file name="${xmlEscape(file)}">`);
    for (const d of list) {
      const { start } = d.location.range;
      lines.push(
        `    <error line="${start.line}" column="${start.column}" severity="${d.severity}" message="${xmlEscape(d.message)}" source="tbuild.lint.${xmlEscape(d.code)}"/>`,
      );
    }
    lines.push("  </file>");
  }
  lines.push("</checkstyle>");
  return lines.join("\n") + "\n";
}
