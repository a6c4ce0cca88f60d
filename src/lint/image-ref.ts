// Just enough of the image-reference grammar (distribution/reference, as containers/image
// writes it) for lint: is a base name valid, and what tag or digest does it carry. lint may
// not import image/, so this is a small, read-only copy of the grammar's regular expressions.

const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);

export interface ImageRef {
  readonly name: string;
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Parse `ref` as `ParseNormalizedNamed` would accept it: undefined when it is empty, not in
 * the grammar, has an upper-case repository path, or is a bare 64-hex image ID.
 */
export function parseImageRef(ref: string): ImageRef | undefined {
  if (ref === "" || /^[a-f0-9]{64}$/.test(ref)) return undefined;
  // A first component is a registry only if it has `.` or `:`, is `localhost`, or has capitals.
  const slash = ref.indexOf("/");
  let domain = "";
  let rest = ref;
  if (slash >= 0) {
    const first = ref.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase()) {
      domain = first;
      rest = ref.slice(slash + 1);
    }
  }
  const m = REFERENCE.exec(domain ? `${domain}/${rest}` : rest);
  if (!m) return undefined;
  const name = m[1]!;
  if ((domain ? name.slice(domain.length + 1) : name) !== (domain ? name.slice(domain.length + 1) : name).toLowerCase()) return undefined;
  const out: { name: string; tag?: string; digest?: string } = { name };
  if (m[2] !== undefined) out.tag = m[2];
  if (m[3] !== undefined) out.digest = m[3];
  return out;
}
