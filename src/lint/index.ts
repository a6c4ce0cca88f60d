// lint/: Dockerfile checks over the parsed tree (BuildKit's checks, best practice, image
// weight), their configuration, fixes and output formats. Pure: text and values in, values out.
export { lintDockerfile, lintDockerfileReport, lintParsed, lintParsedReport, compareDiagnostics, CHECKS, type LintReport } from "./run.js";
export { RULES, RULES_BY_NAME, RULES_DOC_URL, atOrAbove, rule, type RuleSpec, type RuleCategory } from "./rules.js";
export { parseCheckConfig, instructionCheckSkips, inlineIgnores, CheckConfigError, EMPTY_CHECK_CONFIG, type CheckConfig } from "./config.js";
export { applyFixes, type FixResult } from "./fix.js";
export { formatText, formatJson, formatCheckstyle, toJsonFinding, type JsonFinding } from "./format.js";
export { formatSarif, toSarif, SARIF_SCHEMA, type SarifOptions } from "./sarif.js";
export { splitCommands, type SimpleCommand } from "./shell-script.js";
export { parseImageRef, type ImageRef } from "./image-ref.js";
export { CONSECUTIVE_RUN_LIMIT } from "./checks/weight.js";
export type { LintDiagnostic, LintOptions, TextEdit } from "./types.js";
