// Walks testdata/refs.tsv (input | normalised | familiar | error-code) through the
// reference parser, as containers/image's normalize_test.go does with its tables.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { familiarName, formatReference, isValidTag, parseReference } from "../../../src/image/index.js";
import { TbuildError } from "../../../src/util/index.js";

const rows = readFileSync(new URL("../../../testdata/refs.tsv", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => l.split("\t").map((c) => (c === "-" ? "" : c)) as [string, string, string, string]);

describe("testdata/refs.tsv", () => {
  it("has cases", () => expect(rows.length).toBeGreaterThan(30));
  for (const [input, normalised, familiar, code] of rows) {
    it(`${JSON.stringify(input.length > 60 ? input.slice(0, 60) + "…" : input)} → ${code || normalised}`, () => {
      if (code) {
        let err: unknown;
        try {
          parseReference(input);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(TbuildError);
        expect((err as TbuildError).code).toBe(code);
        expect((err as TbuildError).message).toMatch(/^invalid reference format: /);
        return;
      }
      const r = parseReference(input);
      expect(formatReference(r)).toBe(normalised);
      expect(familiarName(r)).toBe(familiar);
      // Normalising is idempotent, and the familiar form parses back to the same reference.
      expect(formatReference(parseReference(normalised))).toBe(normalised);
      expect(formatReference(parseReference(familiar))).toBe(normalised);
    });
  }
});

describe("reference details", () => {
  it("leaves the tag off when asked", () => {
    expect(formatReference(parseReference("alpine", { defaultTag: false }))).toBe("docker.io/library/alpine");
  });
  it("says what is wrong and hints at a fix", () => {
    expect(() => parseReference("Alpine")).toThrow(/must be lowercase/);
    expect(() => parseReference("a".repeat(64).replace(/a/g, "f"))).toThrow(/64-byte hexadecimal/);
    expect(() => parseReference("alpine:-x")).toThrow(/tag "-x" is malformed/);
  });
  it("checks tags on their own", () => {
    expect(isValidTag("v1.0")).toBe(true);
    expect(isValidTag(".x")).toBe(false);
  });
});
