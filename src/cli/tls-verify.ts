// --tls-verify for the commands that reach a registry (pull, push, login, build), read as
// podman, buildah and skopeo read it; registry/origin.ts applies it.
import { TbuildError } from "../util/index.js";
import type { OptionSpec } from "./args.js";

export const TLS_VERIFY_OPTION: OptionSpec = {
  type: "string",
  valueName: "BOOL",
  description: "true: HTTPS with a verified certificate; false: HTTPS without checking the certificate, or plain http if the registry has no HTTPS (default: true, but plain http for localhost, 127.0.0.0/8 and [::1])",
};

/** One line for a command's help, after its options. */
export const TLS_VERIFY_DETAILS = "A registry whose certificate comes from a private CA: keep --tls-verify and set NODE_EXTRA_CA_CERTS=/path/to/ca.pem.";

/** The registry options --tls-verify asks for: nothing when it is not given; E_USAGE for a value other than true or false. */
export function tlsVerifyOption(value: unknown): { tlsVerify?: boolean } {
  if (value === undefined) return {};
  if (value !== "true" && value !== "false") throw new TbuildError("E_USAGE", `invalid --tls-verify ${JSON.stringify(value)}`, { hint: "use --tls-verify=true or --tls-verify=false" });
  return { tlsVerify: value === "true" };
}
