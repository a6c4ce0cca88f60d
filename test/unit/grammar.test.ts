// grammar/dockerfile.ebnf and grammar/tokens.ts name the same terminals, both ways.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { directiveRules, rules } from "../../grammar/tokens.js";

const ebnf = readFileSync(new URL("../../grammar/dockerfile.ebnf", import.meta.url), "utf8").replace(/\(\*[^]*?\*\)/g, "");
const terminals = new Set([...ebnf.matchAll(/\b[A-Z][A-Z_]+\b/g)].map((m) => m[0]));
const PSEUDO = new Set(["BOM", "EOF"]); // not tokens: the byte-order mark and end of input
const tokenNames = new Set([...Object.keys(rules("\\")), ...Object.keys(directiveRules())].map((n) => n.toUpperCase()));
tokenNames.add("KEYWORD"); // the type the lexer gives instruction words

describe("grammar", () => {
  it("every EBNF terminal is a token rule", () => {
    expect([...terminals].filter((t) => !PSEUDO.has(t) && !tokenNames.has(t))).toEqual([]);
  });
  it("every token rule is used in the EBNF", () => {
    expect([...tokenNames].filter((t) => !terminals.has(t))).toEqual([]);
  });
  it("both escape characters give the same rule names", () => {
    expect(Object.keys(rules("`"))).toEqual(Object.keys(rules("\\")));
  });
});
