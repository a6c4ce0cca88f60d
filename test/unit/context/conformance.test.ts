// Docker's .dockerignore conformance data (../shared/conformance/dockerignore), read in
// place: one `it` per case. cases.json: the matcher; compile-cases.json: the glob → regexp
// translation; ignorefile-cases.json: reading the file and building the matcher.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileGlob, PatternMatcher, readIgnoreFile } from "../../../src/context/index.js";

const dir = new URL("../../../../shared/conformance/dockerignore/", import.meta.url);
const load = <T>(name: string): T[] => JSON.parse(readFileSync(new URL(name, dir), "utf8")) as T[];

interface MatchCase { id: string; api: string; patterns: string[]; path: string; expectMatch: boolean; expectError?: boolean }
interface CompileCase { id: string; pattern: string; matchType: string; regexp?: string }
interface IgnoreFileCase { id: string; kind: "readAll" | "newMatcher"; input?: string | null; expectPatterns?: string[]; patterns?: string[]; expectPatternCount?: number; expectHasExclusions?: boolean; expectError?: boolean }

describe("dockerignore cases.json", () => {
  for (const c of load<MatchCase>("cases.json")) {
    it(`${c.id}: ${JSON.stringify(c.patterns)} ${JSON.stringify(c.path)}`, () => {
      const run = () => {
        const m = PatternMatcher.compile(c.patterns);
        return c.api === "Matches" ? m.matches(c.path) : m.matchesOrParentMatches(c.path);
      };
      if (c.expectError) {
        expect(run).toThrow(expect.objectContaining({ code: "E_CONTEXT_IGNORE" }));
        return;
      }
      expect(run()).toBe(c.expectMatch);
      if (c.api === "MatchesOrParentMatches" && !c.path.startsWith("/") && !c.path.endsWith("/")) {
        // The walker's incremental form must agree (patternmatcher tests both).
        const m = PatternMatcher.compile(c.patterns);
        const parts = c.path.split("/");
        let info: readonly boolean[] | undefined;
        let matched = false;
        for (let i = 0; i < parts.length; i++) ({ matched, info } = m.matchesUsingParentResults(parts.slice(0, i + 1).join("/"), info));
        expect(matched).toBe(c.expectMatch);
      }
    });
  }
});

describe("dockerignore compile-cases.json", () => {
  for (const c of load<CompileCase>("compile-cases.json")) {
    it(`${c.id}: ${c.pattern}`, () => {
      const g = compileGlob(c.pattern);
      expect(g.matchType).toBe(c.matchType);
      if (c.matchType === "regexp") expect(g.goRegexp).toBe(c.regexp);
    });
  }
});

describe("dockerignore ignorefile-cases.json", () => {
  for (const c of load<IgnoreFileCase>("ignorefile-cases.json")) {
    it(`${c.id} (${c.kind})`, () => {
      if (c.kind === "readAll") {
        expect(readIgnoreFile(c.input)).toEqual(c.expectPatterns);
        return;
      }
      if (c.expectError) {
        expect(() => PatternMatcher.compile(c.patterns!)).toThrow(expect.objectContaining({ code: "E_CONTEXT_IGNORE" }));
        return;
      }
      const m = PatternMatcher.compile(c.patterns!);
      if (c.expectPatternCount !== undefined) expect(m.patterns.length).toBe(c.expectPatternCount);
      if (c.expectHasExclusions !== undefined) expect(m.hasExclusions).toBe(c.expectHasExclusions);
    });
  }
});
