// CFMessagePort names (CF-1153.18 __CFMessagePortSanitizeStringName): UTF-8, at most 128 bytes
// (BOOTSTRAP_MAX_NAME_LEN; longer names are silently truncated — here at a character boundary so
// the result stays a valid string), and no embedded NUL (rejected).

export const kCFMessagePortMaxNameBytes = 128;

export interface SanitizedName { readonly name: string; readonly bytes: Uint8Array }

/** The name as CF registers it, or null when it is rejected. */
export function sanitizeName(name: string): SanitizedName | null {
  if (name.includes('\0')) return null;
  const enc = new TextEncoder();
  let bytes = enc.encode(name);
  if (bytes.length <= kCFMessagePortMaxNameBytes) return { name, bytes };
  let out = '';
  let n = 0;
  for (const ch of name) {
    const k = enc.encode(ch).length;
    if (n + k > kCFMessagePortMaxNameBytes) break;
    out += ch;
    n += k;
  }
  bytes = enc.encode(out);
  return { name: out, bytes };
}
