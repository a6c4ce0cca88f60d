// BuildKit parser conformance, read in place from ../shared/conformance/parser (read-only).
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dumpAst, parseDockerfile } from "../../../src/dockerfile/index.js";

const ROOT = new URL("../../../../shared/conformance/parser/", import.meta.url);
const read = (rel: string): string => readFileSync(new URL(rel, ROOT), "utf8");
const cases = (dir: string): string[] => readdirSync(new URL(dir, ROOT)).sort();

describe("testfiles: dump equals result", () => {
  for (const c of cases("testfiles/")) {
    it(c, () => {
      const r = parseDockerfile(read(`testfiles/${c}/Dockerfile`));
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expect(dumpAst(r.ast) + "\n").toBe(read(`testfiles/${c}/result`));
    });
  }
});

describe("testfiles-negative: rejected with a located message", () => {
  for (const c of cases("testfiles-negative/")) {
    it(c, () => {
      const r = parseDockerfile(read(`testfiles-negative/${c}/Dockerfile`), { file: "Dockerfile" });
      const errors = r.diagnostics.filter((d) => d.severity === "error");
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]!.location?.file).toBe("Dockerfile");
      expect(errors[0]!.location!.range.start.line).toBeGreaterThanOrEqual(1);
    });
  }
});

interface HeredocExpect { name: string; content: string; expand: boolean; chomp: boolean; fileDescriptor: number }

describe("heredoc/: heredocs attached per instruction", () => {
  const exp = JSON.parse(read("heredoc/expected.json")) as { children: { childIndex: number; instruction: string; heredocs: HeredocExpect[] | null }[] };
  const r = parseDockerfile(read("heredoc/Dockerfile"));
  for (const c of exp.children) {
    it(`${c.childIndex}: ${c.instruction}`, () => {
      const inst = r.ast.instructions[c.childIndex]!;
      const got = inst.heredocs.map(({ name, content, expand, chomp, fileDescriptor }) => ({ name, content, expand, chomp, fileDescriptor }));
      expect(got).toEqual(c.heredocs ?? []);
    });
  }
  it("has no errors", () => expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]));
});

describe("heredoc-json/: exec form never has heredocs", () => {
  it("children 1..3", () => {
    const r = parseDockerfile(read("heredoc-json/Dockerfile"));
    for (const i of [1, 2, 3]) {
      expect(r.ast.instructions[i]!.json).toBe(true);
      expect(r.ast.instructions[i]!.heredocs).toEqual([]);
    }
  });
});

describe("testfile-line/: line numbers", () => {
  it("root and children spans", () => {
    const exp = JSON.parse(read("testfile-line/expected.json")) as { expectRootStartLine: number; expectRootEndLine: number; expectChildren: number; expectChildLines: [number, number][] };
    const r = parseDockerfile(read("testfile-line/Dockerfile"));
    const insts = r.ast.instructions;
    expect(insts.length).toBe(exp.expectChildren);
    expect(insts.map((i) => [i.startLine, i.endLine])).toEqual(exp.expectChildLines);
    expect(insts[0]!.startLine).toBe(exp.expectRootStartLine);
    expect(insts.at(-1)!.endLine).toBe(exp.expectRootEndLine);
  });
});

describe("empty-continuation/: warnings", () => {
  it("exactly the expected warnings", () => {
    const exp = JSON.parse(read("empty-continuation/expected.json")) as { expectWarnings: { shortContains: string[]; detailContains?: string }[] };
    const r = parseDockerfile(read("empty-continuation/Dockerfile"));
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const warnings = r.diagnostics.filter((d) => d.severity === "warning");
    expect(warnings.length).toBe(exp.expectWarnings.length);
    exp.expectWarnings.forEach((w, i) => {
      for (const s of w.shortContains) expect(warnings[i]!.message).toContain(s);
      if (w.detailContains) expect(warnings[i]!.hint).toContain(w.detailContains);
    });
  });
});
