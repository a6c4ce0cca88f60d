// tbuild's own goldens: testdata/parse/<case>/ranges.txt (one "L:C-L:C kind text" per node)
// and testdata/parse-errors/<case>/error.txt (the exact rendered error). UPDATE_GOLDEN=1
// rewrites them.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeDockerfile, dumpAst, parseDockerfile, type Instruction } from "../../../src/dockerfile/index.js";
import { renderError } from "../../../src/cli/render/error.js";
import type { Range } from "../../../src/util/index.js";

const TESTDATA = new URL("../../../testdata/", import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === "1";

function golden(rel: string, actual: string): void {
  const url = new URL(rel, TESTDATA);
  if (UPDATE) writeFileSync(url, actual);
  else if (!existsSync(url)) throw new Error(`missing golden ${url.pathname}: run with UPDATE_GOLDEN=1 and review it`);
  expect(actual).toBe(readFileSync(url, "utf8"));
}

const r = (x: Range): string => `${x.start.line}:${x.start.column}-${x.end.line}:${x.end.column}`;

function rangeLines(i: Instruction, text: string, out: string[], prefix = ""): void {
  const t = (x: Range): string => JSON.stringify(text.slice(x.start.offset, x.end.offset));
  out.push(`${r(i.range)} ${prefix}instruction ${JSON.stringify(i.line)}`);
  out.push(`${r(i.keyword.range)} ${prefix}keyword ${t(i.keyword.range)}`);
  for (const f of i.flags) {
    out.push(`${r(f.range)} ${prefix}flag ${t(f.range)}`);
    if (f.valueRange) out.push(`${r(f.valueRange)} ${prefix}flag-value ${t(f.valueRange)}`);
  }
  for (const a of i.args) out.push(`${r(a.range)} ${prefix}arg ${JSON.stringify(a.value)}`);
  for (const p of i.pairs) {
    out.push(`${r(p.keyRange)} ${prefix}key ${t(p.keyRange)}`);
    if (p.valueRange) out.push(`${r(p.valueRange)} ${prefix}value ${t(p.valueRange)}`);
  }
  if (i.onbuild) rangeLines(i.onbuild, text, out, `${prefix}onbuild.`);
  else
    for (const h of i.heredocs) {
      out.push(`${r(h.markerRange)} ${prefix}heredoc-marker ${t(h.markerRange)}`);
      out.push(`${r(h.contentRange)} ${prefix}heredoc-content ${JSON.stringify(h.content)}`);
    }
}

describe("testdata/parse: ranges", () => {
  for (const c of readdirSync(new URL("parse/", TESTDATA)).sort()) {
    it(c, () => {
      const text = readFileSync(new URL(`parse/${c}/Dockerfile`, TESTDATA), "utf8");
      const res = parseDockerfile(text);
      expect(decodeDockerfile(res).errors).toEqual([]);
      const out: string[] = [];
      for (const i of res.ast.instructions) rangeLines(i, text, out);
      golden(`parse/${c}/ranges.txt`, out.join("\n") + "\n");
      golden(`parse/${c}/ast.txt`, dumpAst(res.ast) + "\n");
    });
  }
});

describe("testdata/parse-errors: rendered errors", () => {
  for (const c of readdirSync(new URL("parse-errors/", TESTDATA)).sort()) {
    it(c, () => {
      const text = readFileSync(new URL(`parse-errors/${c}/Dockerfile`, TESTDATA), "utf8");
      const d = decodeDockerfile(parseDockerfile(text, { file: "Dockerfile" }));
      expect(d.errors.length).toBeGreaterThan(0);
      golden(`parse-errors/${c}/error.txt`, renderError(d.errors[0], { sources: new Map([["Dockerfile", text]]), debug: false }));
    });
  }
});
