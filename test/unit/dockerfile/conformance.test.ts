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
