// plan/onbuild.ts: ONBUILD trigger injection. When a stage's base (image or stage) carries
// OnBuild triggers, each is parsed and decoded like a Dockerfile line and planned right
// after FROM; the child's config then drops them (grandchildren do not inherit them).
import { TbuildError, type SourceLocation } from "../util/index.js";
import { decodeInstruction, parseDockerfile, type Command } from "../dockerfile/index.js";

/**
 * Parse the base's triggers into commands. Errors point at the FROM line (`location`), with
 * the trigger text in the message, since the trigger has no source file of its own.
 */
export function parseTriggers(triggers: readonly string[], location: SourceLocation, escapeChar: "\\" | "`"): Command[] {
  const out: Command[] = [];
  for (const t of triggers) {
    const text = escapeChar === "`" ? `# escape=\`\n${t}\n` : `${t}\n`;
    const file = `${location.file} (ONBUILD ${t})`;
    const what = `ONBUILD trigger ${JSON.stringify(t)} of the base`;
    let cmds: Command[];
    try {
      const parsed = parseDockerfile(text, { file });
      const err = parsed.diagnostics.find((d) => d.severity === "error");
      if (err) throw new TbuildError("E_PARSE_ONBUILD", err.message, err.hint ? { hint: err.hint } : {});
      cmds = parsed.ast.instructions.map((n) => decodeInstruction(n, file));
    } catch (e) {
      if (!(e instanceof TbuildError)) throw e;
      throw new TbuildError("E_PARSE_ONBUILD", `${what}: ${e.message}`, { location, hint: e.hint ?? "fix or rebuild the base image" });
    }
    for (const c of cmds) {
      if (c.kind === "from" || c.kind === "onbuild" || c.kind === "maintainer") {
        throw new TbuildError("E_PARSE_ONBUILD", `${what}: ${c.kind.toUpperCase()} isn't allowed as an ONBUILD trigger`, { location });
      }
      out.push(c);
    }
  }
  return out;
}
