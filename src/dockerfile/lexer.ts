// Compiles grammar/tokens.ts into moo lexers (one per escape character, cached) for the parser
// to tokenise instruction lines with. Total: bad input becomes an `invalid` token, never a throw.
import moo from "moo";
import { KEYWORDS, directiveRules, rules, type EscapeChar, type TokenRule } from "../../grammar/tokens.js";

const KEYWORD_SET = new Set(KEYWORDS.map((k) => k.toLowerCase()));

/** Case-insensitive keyword typing (STYLE.md: a type function, not moo.keywords). */
function wordType(text: string): string {
  return text.length <= 11 && KEYWORD_SET.has(text.toLowerCase()) ? "keyword" : "word";
}

function toMoo(table: Readonly<Record<string, TokenRule>>, typeWords: boolean): moo.Rules {
  const out: moo.Rules = {};
  for (const [name, r] of Object.entries(table)) {
    const rule: moo.Rule = { match: r.match as RegExp | string | string[] };
    if (r.lineBreaks) rule.lineBreaks = true;
    if (r.error) rule.error = true;
    if (typeWords && name === "word") rule.type = wordType;
    out[name] = rule;
  }
  return out;
}

const cache = new Map<string, moo.Lexer>();

/** The instruction-line lexer for `escapeChar` (compiled once, then reused). */
export function instructionLexer(escapeChar: EscapeChar): moo.Lexer {
  let lx = cache.get(escapeChar);
  if (!lx) {
    lx = moo.compile(toMoo(rules(escapeChar), true));
    cache.set(escapeChar, lx);
  }
  return lx;
}

/** The comment/directive lexer for the leading comment block. */
export function directiveLexer(): moo.Lexer {
  let lx = cache.get("directive");
  if (!lx) {
    lx = moo.compile(toMoo(directiveRules(), false));
    cache.set("directive", lx);
  }
  return lx;
}
