// dockerfile/: the front end. Text → tolerant syntax tree (parseDockerfile) → strictly
// decoded commands (decodeDockerfile). Pure: no file system, no process.
export * from "./ast.js";
export { parseDockerfile, MAX_DOCKERFILE_CHARS, MAX_INSTRUCTIONS } from "./parser.js";
export { dumpAst, dumpInstruction, goQuote } from "./dump.js";
export { chompHeredoc, heredocsFromLine, parseHeredocWord, type HeredocOpener } from "./heredoc.js";
export { findDirective, type DirectiveValue } from "./directives.js";
export { parseWords, parseJsonArray, type Word, type JsonArrayResult } from "./words.js";
export * from "./instructions/index.js";
export { FLAG_SPECS, type FlagSpecs, type FlagType } from "./flags.js";
