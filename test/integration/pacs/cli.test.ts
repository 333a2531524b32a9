/**
 * `medfedpure pacs` as separate processes against a real Orthanc (test/support/orthanc.ts): search (--json), pull of
 * the whole demo study with progress lines, push of files (one not DICOM), and the exit codes that say what failed:
 * 0 ok, 1 local failure, 2 usage, 3 unreachable, 4 refused (HTTP 401).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTestDicom } from '../../e2e/support/dicom.js';
import { orthancAvailable, ORTHANC_PASSWORD, ORTHANC_USER, startOrthanc, type Orthanc } from '../../support/orthanc.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin', 'medfedpure.js');
const skip = orthancAvailable() ? false : 'Orthanc with the DICOMweb plugin is not installed (apt: orthanc orthanc-dicomweb)';

function cli(args: string[], password = ORTHANC_PASSWORD): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, MEDFEDPURE_PACS_PASSWORD: password } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => res({ status, stdout, stderr }));
  });
}

describe('medfedpure pacs against Orthanc', { skip }, () => {
  let orthanc: Orthanc;
  let work: string;

  before(async () => {
    orthanc = await startOrthanc();
    await orthanc.seed([join(ROOT, 'build', 'demo-data')]);
    work = mkdtempSync(join(tmpdir(), 'mfp-pacs-cli-'));
  });
  after(async () => {
    await orthanc?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('search --json finds the demo study; pull brings all of it with progress; push sends files; exit codes say what failed', async () => {
    const auth = ['--url', orthanc.dicomWeb, '--user', ORTHANC_USER];
    const dataDir = join(work, 'data');
    const search = await cli(['pacs', 'search', ...auth, '--patient-id', 'DEMO-COLIN27', '--data-dir', dataDir, '--json']);
    assert.equal(search.status, 0, search.stderr);
    const found = JSON.parse(search.stdout) as { studies: Array<{ studyInstanceUid: string; instanceCount: number; local: string }> };
    assert.equal(found.studies.length, 1);
    assert.equal(found.studies[0].instanceCount, 56);
    const study = found.studies[0].studyInstanceUid;

    const [pull, wrongPassword, unreachable, usage] = await Promise.all([
      cli(['pacs', 'pull', ...auth, '--study', study, '--data-dir', dataDir]),
      cli(['pacs', 'search', ...auth, '--data-dir', join(work, 'other')], 'wrong'),
      cli(['pacs', 'search', '--url', 'http://127.0.0.1:9/dicom-web', '--data-dir', join(work, 'other2')]),
      cli(['pacs', 'pull', '--url', orthanc.dicomWeb, '--data-dir', join(work, 'other3')]),
    ]);
    assert.equal(pull.status, 0, pull.stderr + pull.stdout);
    assert.match(pull.stdout, /^progress \d+\/56 instances/m);
    assert.match(pull.stdout, /^complete: 56\/56 instance\(s\) of study/m);
    assert.equal(wrongPassword.status, 4, wrongPassword.stderr);
    assert.match(wrongPassword.stderr, /HTTP_STATUS: .*\/dicom-web\/studies: HTTP 401/);
    assert.ok(!wrongPassword.stderr.includes('wrong'), 'the password is never printed');
    assert.equal(unreachable.status, 3, unreachable.stderr);
    assert.match(unreachable.stderr, /UNREACHABLE: http:\/\/127\.0\.0\.1:9\/dicom-web\/studies/);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--study is required/);

    // Search again: the study is now local and complete.
    const again = JSON.parse((await cli(['pacs', 'search', ...auth, '--patient-id', 'DEMO-COLIN27', '--data-dir', dataDir, '--json'])).stdout) as typeof found;
    assert.equal(again.studies[0].local, 'complete');

    // push: one good file, one that is not DICOM.
    const dicom = makeTestDicom({ patientName: 'PUSH^TEST', patientId: 'PUSH-1' });
    writeFileSync(join(work, 'good.dcm'), dicom.bytes);
    writeFileSync(join(work, 'bad.dcm'), 'not dicom at all');
    const push = await cli(['pacs', 'push', ...auth, join(work, 'good.dcm'), join(work, 'bad.dcm'), '--data-dir', dataDir, '--json']);
    assert.equal(push.status, 1, push.stderr);
    const pushed = JSON.parse(push.stdout) as { stored: string[]; errors: Array<{ file: string }> };
    assert.deepEqual(pushed.stored, [dicom.sopInstanceUid]);
    assert.deepEqual(pushed.errors.map((e) => e.file), [join(work, 'bad.dcm')]);
    const search2 = JSON.parse((await cli(['pacs', 'search', ...auth, '--patient-id', 'PUSH-1', '--data-dir', dataDir, '--json'])).stdout) as typeof found;
    assert.deepEqual(search2.studies.map((s) => s.studyInstanceUid), [dicom.studyInstanceUid]);
  });
});
