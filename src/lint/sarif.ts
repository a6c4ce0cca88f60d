// SARIF 2.1.0 output (OASIS Static Analysis Results Interchange Format), the format GitHub
// code scanning and most CI dashboards read. Pure: findings in, a JSON string out.
// Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
import type { Severity } from "../util/index.js";
import { RULES, RULES_BY_NAME, type RuleSpec } from "./rules.js";
import type { LintDiagnostic } from "./types.js";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

const LEVEL: Readonly<Record<Severity, "error" | "warning" | "note">> = { error: "error", warning: "warning", info: "note" };

/** A relative path as a URI reference: forward slashes, each segment percent-encoded. */
function toUri(file: string): string {
  return file.split(/[\\/]/).map((s) => encodeURIComponent(s)).join("/");
}

function ruleDescriptor(r: RuleSpec) {
  return {
    id: r.name,
    name: r.name,
    shortDescription: { text: r.description },
    helpUri: r.url,
    defaultConfiguration: { level: LEVEL[r.severity] },
    properties: { category: r.category, fixable: r.fixable === true },
  };
}

export interface SarifOptions {
  readonly toolVersion?: string;
  /** Every file that was linted (listed as artifacts, even without findings). */
  readonly files?: readonly string[];
}

/** The SARIF log object for `findings` (one run, tool `tbuild`, every rule described). */
export function toSarif(findings: readonly LintDiagnostic[], opts: SarifOptions = {}) {
  const index = new Map(RULES.map((r, i) => [r.name, i]));
  const files = [...new Set([...(opts.files ?? []), ...findings.map((d) => d.location.file)])];
  const fileIndex = new Map(files.map((f, i) => [f, i]));
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0" as const,
    runs: [
      {
        tool: {
          driver: {
            name: "tbuild",
            informationUri: RULES_BY_NAME.get("BaseImageLatest")!.url.replace(/#.*$/, ""),
            ...(opts.toolVersion ? { version: opts.toolVersion } : {}),
            rules: RULES.map(ruleDescriptor),
          },
        },
        columnKind: "utf16CodeUnits" as const,
        artifacts: files.map((f) => ({ location: { uri: toUri(f) } })),
        results: findings.map((d) => {
          const { start, end } = d.location.range;
          const ri = index.get(d.code);
          return {
            ruleId: d.code,
            ...(ri === undefined ? {} : { ruleIndex: ri }),
            level: LEVEL[d.severity],
            message: { text: d.message },
            locations: [
              {
                physicalLocation: {
                  artifactLocation: { uri: toUri(d.location.file), index: fileIndex.get(d.location.file)! },
                  region: {
                    startLine: start.line,
                    startColumn: start.column,
                    endLine: Math.max(end.line, start.line),
                    endColumn: end.line > start.line || end.column > start.column ? end.column : start.column + 1,
                  },
                },
              },
            ],
          };
        }),
      },
    ],
  };
}

/** `--format sarif`: the SARIF log, pretty-printed. */
export function formatSarif(findings: readonly LintDiagnostic[], opts: SarifOptions = {}): string {
  return JSON.stringify(toSarif(findings, opts), null, 2) + "\n";
}
