// Where a registry client sends its requests (--tls-verify): the scheme, and whether the
// registry's TLS certificate is checked; and the TLS faults told apart from other network
// faults, so that a certificate that does not verify says so instead of being retried.
import { TbuildError } from "../util/index.js";
import type { HttpRequest, HttpResponse } from "./http.js";

/** The scheme and host a client's requests go to, and whose certificate it leaves unchecked. */
export interface RegistryOrigin {
  /** `https://host[:port]` or `http://host[:port]`, without a trailing slash. */
  readonly url: string;
  /** With --tls-verify=false: the registry's host name (URL.hostname), whose certificate goes unchecked. */
  readonly unverifiedHost?: string;
}

/** localhost, 127.0.0.0/8 and [::1], with or without a port. */
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

/**
 * The origin of `host` when it is known without asking the registry, else "probe":
 *  - tlsVerify true: https, verified (loopback hosts too: the user asked for it);
 *  - not given: https, verified, except on a loopback host, which is plain http (a local or
 *    test registry; Docker too treats 127.0.0.0/8 as insecure), with no failed handshake;
 *  - false: "probe" (probeOrigin), on loopback hosts too, so that a local registry with a
 *    self-signed certificate works as any other.
 */
export function fixedOrigin(host: string, tlsVerify: boolean | undefined): RegistryOrigin | "probe" {
  if (tlsVerify === false) return "probe";
  return { url: `${tlsVerify === undefined && LOOPBACK.test(host) ? "http" : "https"}://${host}` };
}

/**
 * containers/image's rule for a registry whose certificate is not checked (docker_client.go,
 * detectPropertiesHelper): GET /v2/ over https without verifying; if that fails, or answers
 * neither 200 nor 401, plain http. Unlike containers/image, http is taken only when it
 * answers 200 or 401 itself: a registry that is down then reports its https fault, and the
 * requests that follow keep their retries. `answered` says whether either did: only then
 * is the answer worth keeping (a registry briefly down is probed again). `send` sends
 * without auth or retries.
 */
export async function probeOrigin(host: string, send: (url: string, req: HttpRequest) => Promise<HttpResponse>, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<{ origin: RegistryOrigin; answered: boolean }> {
  const unverifiedHost = new URL(`https://${host}`).hostname;
  const answers = async (url: string): Promise<boolean> => {
    try {
      const res = await send(`${url}/v2/`, { method: "GET", headers, unverifiedHost, ...(signal ? { signal } : {}) });
      res.discard();
      return res.status === 200 || res.status === 401;
    } catch {
      return false;
    }
  };
  const https = { url: `https://${host}`, unverifiedHost };
  if (await answers(https.url)) return { origin: https, answered: true };
  if (signal?.aborted) return { origin: https, answered: false }; // the caller reports the interruption
  const http = { url: `http://${host}`, unverifiedHost };
  return (await answers(http.url)) ? { origin: http, answered: true } : { origin: https, answered: false };
}

/** Node's codes for a certificate that failed verification (OpenSSL's X509_V_ERR_* names, and the host name check). */
const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "CERT_CHAIN_TOO_LONG",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** True for a certificate that failed verification (not for other TLS or network faults). */
export function isCertificateError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && CERTIFICATE_CODES.has(code);
}

/**
 * The error for a TLS fault of a request to `who` (`registry 10.0.0.5:5000`, `the token
 * service https://auth.example`), or undefined when `e` is another kind of fault.
 * `unverifiedElsewhere`: --tls-verify=false was given, but `who` is another host than the
 * registry's (its certificate is checked), so the hint does not suggest the flag.
 */
export function tlsError(e: unknown, who: string, unverifiedElsewhere: boolean): TbuildError | undefined {
  const err = e as { code?: unknown; message?: unknown } | undefined;
  const code = typeof err?.code === "string" ? err.code : "";
  const message = typeof err?.message === "string" ? err.message : String(e);
  if (isCertificateError(e)) {
    const trustCa = "trust its CA: NODE_EXTRA_CA_CERTS=/path/to/ca.pem";
    return new TbuildError("E_REGISTRY", `the TLS certificate of ${who} does not verify: ${message} (${code})`, {
      cause: e,
      hint: unverifiedElsewhere ? `--tls-verify=false leaves only the registry's own host unchecked; ${trustCa}` : `if you trust it, pass --tls-verify=false (HTTPS without checking the certificate), or ${trustCa}`,
    });
  }
  // OpenSSL reading a plain-http answer as a TLS record.
  if (code === "EPROTO" && /wrong version number|packet length too long|http request/i.test(message)) {
    const hint = unverifiedElsewhere ? {} : { hint: "for a registry served over plain http, pass --tls-verify=false" };
    return new TbuildError("E_REGISTRY", `${who} does not speak HTTPS (the TLS handshake got a plain-http answer)`, { cause: e, ...hint });
  }
  return undefined;
}
