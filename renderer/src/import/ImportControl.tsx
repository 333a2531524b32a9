/**
 * Import control: pick files (multiple) or a whole folder (webkitdirectory), send their bytes with
 * `import.files` in batches, and show what was imported and each rejected file with its reason code.
 */
import { useEffect, useRef, useState } from 'react';
import type { ApiClient, ImportFileError, ImportResult } from '../../../electron/features/api.js';
import { errorMessage } from '../util.js';

/** Send at most this many bytes per request, so a large folder is not one giant upload. */
const BATCH_BYTES = 32 * 1024 * 1024;

export interface ImportControlProps {
  client: ApiClient;
  onImported: (result: ImportResult) => void;
}

interface Summary {
  files: number;
  result: ImportResult;
}

export function ImportControl({ client, onImported }: ImportControlProps) {
  const filesRef = useRef<HTMLInputElement>(null);
  const folderRef = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  // `webkitdirectory` is not in React's attribute types; set it on the element.
  useEffect(() => {
    folderRef.current?.setAttribute('webkitdirectory', '');
    folderRef.current?.setAttribute('directory', '');
  }, []);

  useEffect(() => client.on('import.progress', (p) => setBusy(`Importing ${p.done}/${p.total}…`)), [client]);

  async function importList(list: FileList | null, input: HTMLInputElement | null) {
    const files = list ? Array.from(list) : [];
    if (input) input.value = ''; // allow picking the same files again
    if (files.length === 0) return;
    setFailure(null);
    setSummary(null);
    const total: ImportResult = { imported: 0, duplicates: 0, errors: [], studies: [] };
    try {
      for (const batch of batches(files)) {
        setBusy(`Reading ${batch[0].name}…`);
        const payload = await Promise.all(batch.map(async (f) => ({
          name: f.webkitRelativePath || f.name,
          bytes: new Uint8Array(await f.arrayBuffer()),
        })));
        setBusy(`Importing ${total.imported + total.duplicates + total.errors.length + payload.length}/${files.length}…`);
        const r = await client.invoke('import.files', { files: payload });
        total.imported += r.imported;
        total.duplicates += r.duplicates;
        total.errors.push(...r.errors);
        for (const s of r.studies) if (!total.studies.includes(s)) total.studies.push(s);
      }
      setSummary({ files: files.length, result: total });
      onImported(total);
    } catch (e) {
      setFailure(`Import failed: ${errorMessage(e)}`);
      if (total.imported > 0) onImported(total);
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="import" aria-label="Import">
      <div className="import-buttons">
        <label className="button-like" title="Import DICOM files">
          Import files…
          <input ref={filesRef} type="file" multiple className="visually-hidden" data-testid="import-files"
            disabled={busy !== null} onChange={(e) => void importList(e.target.files, filesRef.current)} />
        </label>
        <label className="button-like" title="Import every file in a folder">
          Import folder…
          <input ref={folderRef} type="file" multiple className="visually-hidden" data-testid="import-folder"
            disabled={busy !== null} onChange={(e) => void importList(e.target.files, folderRef.current)} />
        </label>
      </div>
      {busy && <div className="import-status" role="status">{busy}</div>}
      {failure && <div className="error" role="alert" data-testid="import-failure">{failure}</div>}
      {summary && <ImportSummary summary={summary} onClose={() => setSummary(null)} />}
    </section>
  );
}

function ImportSummary({ summary, onClose }: { summary: Summary; onClose: () => void }) {
  const r = summary.result;
  return (
    <div className="import-summary" data-testid="import-summary" role="status">
      <div className="import-summary-head">
        <span>
          {summary.files} file{summary.files === 1 ? '' : 's'}: {r.imported} imported, {r.duplicates} duplicate
          {r.duplicates === 1 ? '' : 's'}, {r.errors.length} rejected
        </span>
        <button type="button" className="link" onClick={onClose} aria-label="Dismiss">×</button>
      </div>
      {r.errors.length > 0 && (
        <ul className="import-errors">
          {r.errors.map((e: ImportFileError, i) => (
            <li key={`${e.file}-${i}`} data-testid="import-error" data-code={e.code} title={e.message}>
              <span className="err-code">{e.code}</span> <span className="err-file">{e.file}</span>
              <div className="err-msg">{e.message}</div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Split files into groups of at most BATCH_BYTES (a single larger file goes alone). */
function* batches(files: File[]): Generator<File[]> {
  let current: File[] = [];
  let bytes = 0;
  for (const f of files) {
    if (current.length > 0 && bytes + f.size > BATCH_BYTES) { yield current; current = []; bytes = 0; }
    current.push(f);
    bytes += f.size;
  }
  if (current.length > 0) yield current;
}
