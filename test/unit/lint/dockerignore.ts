// The .dockerignore → isIgnored bridge the CLI uses, for tests (BuildKit checks ignored
// COPY sources only when the file has no `!` exceptions).
import { dockerignoreLintOptions } from "../../../src/cli/commands/lint.js";

export function dockerignoreMatcher(text: string) {
  return dockerignoreLintOptions(text);
}
