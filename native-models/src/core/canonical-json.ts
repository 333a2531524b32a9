/**
 * Canonical JSON, the one used for every hash over structured data (audit-chain rows, training configurations and
 * run folders): object keys sorted (recursively, by UTF-16 code unit), no whitespace, `undefined` members dropped,
 * non-finite numbers as null. Two equal values always give the same string, so the string can be hashed.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined || typeof v === 'function' ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    if (ArrayBuffer.isView(value)) throw new TypeError('canonicalJson: binary data is not hashed as JSON');
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined && typeof o[k] !== 'function')
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return 'null';
}
