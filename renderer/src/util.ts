/** Small formatting helpers shared by the UI components. DOM-free. */

/** Message of an Error or of the plain `{ code, message }` objects the Electron bridge rejects with. */
export function errorMessage(e: unknown): string {
  if (e && typeof e === 'object') {
    const o = e as { code?: unknown; message?: unknown };
    if (typeof o.message === 'string') return typeof o.code === 'string' ? `${o.code}: ${o.message}` : o.message;
  }
  return String(e);
}

/** DICOM DA (YYYYMMDD) as YYYY-MM-DD; anything else unchanged. */
export function formatDicomDate(d: string | undefined): string {
  if (!d) return '';
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(d);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : d;
}

/** DICOM PN ("Family^Given^Middle") as "Family, Given Middle". */
export function formatPersonName(pn: string | undefined): string {
  if (!pn) return '';
  const [family = '', given = '', middle = ''] = pn.split('=')[0].split('^');
  const rest = [given, middle].filter(Boolean).join(' ');
  return rest ? `${family}, ${rest}` : family;
}
