// BuildKit's lint conformance cases (../shared/conformance/lint), read in place: one `it`
// per case. Warnings compare as BuildKit lists them (rule, line, message), sorted by line then
// message; expected errors compare by message and line.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RULES_BY_NAME, lintDockerfileReport, type LintDiagnostic } from "../../../src/lint/index.js";
import { dockerignoreMatcher } from "./dockerignore.js";

interface Warning {
  rule: string;
  line: number;
  message: string;
  description: string;
  url: string;
}
interface Case {
  id: string;
  source: string;
  dockerfile: string;
  dockerignore?: string;
  buildArgs?: Record<string, string>;
  expectWarnings: Warning[];
  expectLintWarnings?: Warning[];
  expectError?: string;
  expectErrorLine?: number;
  expectBuildErrorRegexp?: string;
}

const DIR = new URL("../../../../shared/conformance/lint/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("cases.json", DIR), "utf8")) as Case[];
const rules = (JSON.parse(readFileSync(new URL("rules.json", DIR), "utf8")) as { rules: { name: string; description: string; url: string }[] }).rules;

/**
 * Cases that need a registry (a pulled image's config). cases.json already leaves out
 * testBaseImagePlatformMismatch's two calls; none of the remaining 87 needs one, and this
 * list keeps that explicit: a case added here must really need a registry.
 */
const NEEDS_REGISTRY: readonly string[] = [];

const byLineThenMessage = (a: { line: number; message: string }, b: { line: number; message: string }) => a.line - b.line || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);

function run(c: Case) {
  const opts: Parameters<typeof lintDockerfileReport>[1] = { file: "Dockerfile" };
  const ignore = c.dockerignore === undefined ? undefined : dockerignoreMatcher(c.dockerignore);
  const extra: Record<string, unknown> = {};
  // BuildKit checks ignored files only when the .dockerignore has no `!` exceptions.
  if (ignore && !ignore.hasExclusions) {
    extra.isIgnored = ignore.matches;
    extra.rootIgnored = ignore.rootIgnored;
  }
  if (c.buildArgs) extra.buildArgs = c.buildArgs;
  return lintDockerfileReport(c.dockerfile, { ...opts, ...extra });
}

const isRule = (d: LintDiagnostic) => RULES_BY_NAME.has(d.code);

describe("BuildKit lint conformance", () => {
  it("has the 87 transcribed cases", () => {
    expect(cases.length).toBe(87);
  });

  it("describes the BuildKit rules exactly as BuildKit", () => {
    for (const r of rules) {
      const spec = RULES_BY_NAME.get(r.name);
      expect(spec, r.name).toBeDefined();
      expect(spec!.description, r.name).toBe(r.description);
      if (r.url) expect(spec!.url, r.name).toBe(r.url);
    }
  });

  it("lists the cases that need a registry explicitly", () => {
    for (const id of NEEDS_REGISTRY) expect(cases.some((c) => c.id === id), id).toBe(true);
    expect(NEEDS_REGISTRY).toEqual([]);
  });

  for (const c of cases) {
    if (NEEDS_REGISTRY.includes(c.id)) continue;
    it(`${c.id} ${c.source.split(" ").slice(-3).join(" ")}`, () => {
      const report = run(c);
      // A lint-only run is BuildKit's "unmarshal" path, whose test helper (checkLintWarning)
      // never compares lines: lint-072's expected lines are unchecked copies (3, 4 for
      // instructions on lines 5, 6). There, compare rule and message only.
      const linesChecked = c.expectLintWarnings === undefined;
      const expected = (c.expectLintWarnings ?? c.expectWarnings).map((w) => ({ rule: w.rule, line: linesChecked ? w.line : 0, message: w.message })).sort(byLineThenMessage);
      const got = report.diagnostics
        .filter(isRule)
        // Only BuildKit's rules: tbuild's own rules are tested in rules.test.ts.
        .filter((d) => RULES_BY_NAME.get(d.code)!.category === "buildkit")
        .map((d) => ({ rule: d.code, line: linesChecked ? d.location.range.start.line : 0, message: d.message }))
        .sort(byLineThenMessage);
      expect(got).toEqual(expected);
      for (const w of c.expectLintWarnings ?? c.expectWarnings) {
        const d = report.diagnostics.find((x) => x.code === w.rule)!;
        expect(d.url).toBe(w.url);
        expect(RULES_BY_NAME.get(w.rule)!.description).toBe(w.description);
      }
      const errors = report.diagnostics.filter((d) => !isRule(d) && d.severity === "error");
      if (c.expectError !== undefined) {
        const failure = report.failure ? [{ message: report.failure, line: Math.min(...report.diagnostics.filter(isRule).map((d) => d.location.range.start.line)) }] : [];
        const all = [...failure, ...errors.map((e) => ({ message: e.message, line: e.location.range.start.line }))];
        // BuildKit prefixes parse errors with their location; compare the message itself.
        const want = c.expectError.replace(/^dockerfile parse error on line \d+: /, "");
        expect(all.map((e) => e.message)).toContain(want);
        if (c.expectErrorLine !== undefined) expect(all.find((e) => e.message === want)!.line).toBe(c.expectErrorLine);
      } else {
        expect(errors.map((e) => e.message)).toEqual([]);
        expect(report.failure).toBeUndefined();
      }
    });
  }
});
