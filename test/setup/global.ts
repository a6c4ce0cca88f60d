// Runs once per `npm test`: installs the external tools the integration suites use when
// any is missing (test/setup/install-tools.sh, apt-get; never skipping), and checks that
// the bundled CLI exists. Shared fixtures are prepared by test/helpers/fixtures.ts.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export default async function setup(): Promise<void> {
  const cli = fileURLToPath(new URL("../../dist/bundle/tbuild.js", import.meta.url));
  if (!existsSync(cli)) throw new Error(`compiled CLI missing at ${cli}: run "npm test" (its pretest compiles) or "npm run build"`);
  const script = fileURLToPath(new URL("./install-tools.sh", import.meta.url));
  execFileSync("bash", [script], { stdio: "inherit" });
}
