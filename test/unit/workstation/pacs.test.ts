/**
 * The PACS feature's parts without a PACS:
 *  - the multipart/related parser: every way a body can be cut into chunks gives the same parts; limits and a body
 *    cut short fail closed; what the STOW writer writes reads back;
 *  - the DICOMweb client against a small local HTTP server: auth headers, HTTP errors, a body that stops mid-part
 *    (PARTIAL), an answer that never comes (TIMEOUT), a closed port (UNREACHABLE), cancel, a STOW acknowledgement
 *    with a refused instance; every message names the endpoint and never the secret;
 *  - the endpoint store: secrets stay in the 0600 file, never in what the UI sees; URLs with credentials refused;
 *  - the SR writer: dcmtk's dsrdump reads the document, with the values and references it should hold.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScanResult } from '../../../electron/features/api.js';
import { DicomWebClient } from '../../../electron/features/pacs/dicomweb.js';
import { EndpointStore, endpointInfo, normaliseBaseUrl, type PacsEndpoint } from '../../../electron/features/pacs/endpoints.js';
import { PacsError } from '../../../electron/features/pacs/errors.js';
import { boundaryOf, multipartRelated, MultipartError, MultipartParser } from '../../../electron/features/pacs/multipart.js';
import { studyQueryParams, toStudy } from '../../../electron/features/pacs/qido.js';
import { buildAnalysisReport, ds } from '../../../electron/features/pacs/sr.js';
import { readAnalysisReport } from '../../../electron/features/pacs/sr-read.js';
import { imageFile } from './dicom-writer.js';

const body = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('multipart/related parser', () => {
  const files = [body('first part\r\nwith a CRLF inside'), body(''), body('--almost-a-boundary\r\n--b'), Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256))];
  const { contentType, chunks } = multipartRelated(files);
  const whole = Buffer.concat(chunks);

  it('finds the boundary in the Content-Type, quoted or not', () => {
    assert.equal(boundaryOf('multipart/related; type="application/dicom"; boundary="a b:c"'), 'a b:c');
    assert.equal(boundaryOf('Multipart/Related;boundary=xyz; type=application/dicom'), 'xyz');
    assert.throws(() => boundaryOf('application/dicom+json'), MultipartError);
    assert.throws(() => boundaryOf('multipart/related; type="application/dicom"'), MultipartError);
  });

  it('gives the same parts however the body is split', () => {
    const boundary = boundaryOf(contentType);
    for (const step of [1, 2, 3, 7, 64, 1000, whole.length]) {
      const p = new MultipartParser(boundary);
      const parts = [];
      for (let i = 0; i < whole.length; i += step) parts.push(...p.push(whole.subarray(i, i + step)));
      p.end();
      assert.deepEqual(parts.map((x) => x.body), files, `chunks of ${step}`);
      assert.equal(parts[0].headers['content-type'], 'application/dicom');
    }
  });

  it('accepts a preamble, transport padding and an epilogue', () => {
    const p = new MultipartParser('B');
    const parts = p.push(body('preamble text\r\n--B  \r\nContent-Type: application/dicom\r\n\r\nDATA\r\n--B--\r\nepilogue'));
    p.end();
    assert.deepEqual(parts.map((x) => x.body.toString()), ['DATA']);
  });

  it('fails closed: body cut short, part over the limit, endless headers', () => {
    const p = new MultipartParser(boundaryOf(contentType));
    p.push(whole.subarray(0, whole.length - 40));
    assert.throws(() => p.end(), /ended before its closing delimiter \(after 3 complete part/);
    const small = new MultipartParser(boundaryOf(contentType), 100);
    assert.throws(() => small.push(whole), /limit/);
    const headers = new MultipartParser('B');
    assert.throws(() => headers.push(body(`--B\r\n${'X-Long: y\r\n'.repeat(3000)}`)), /16 KiB/);
  });
});

describe('QIDO-RS mapping', () => {
  it('turns the UI filters into query parameters and DICOM JSON into rows', () => {
    const q = studyQueryParams({ patientName: 'DOE*', modality: 'MR', limit: 10 });
    assert.equal(q.PatientName, 'DOE*');
    assert.equal(q.ModalitiesInStudy, 'MR');
    assert.equal(q.limit, 10);
    assert.equal(q.offset, 0);
    const s = toStudy({
      '0020000D': { vr: 'UI', Value: ['1.2.3'] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DOE^JANE' }] },
      '00080061': { vr: 'CS', Value: ['SR', 'MR'] },
      '00201208': { vr: 'IS', Value: [12] },
      '00080020': { vr: 'DA' },
    });
    assert.deepEqual(s, { studyInstanceUid: '1.2.3', patientName: 'DOE^JANE', patientId: '', modalities: ['MR', 'SR'], local: 'none', instanceCount: 12 });
    assert.equal(toStudy({}), null);
  });
});

describe('DICOMweb client against a local HTTP server', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ url: string; auth?: string; type?: string; accept?: string }> = [];
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};

  before(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization, type: req.headers['content-type'], accept: req.headers.accept });
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/dicom-web`;
  });
  after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

  const endpoint = (over: Partial<PacsEndpoint> = {}): PacsEndpoint => ({ id: 't', name: 't', url: base, auth: { kind: 'bearer', secret: 'tok-SECRET' }, timeoutMs: 5000, ...over });

  it('QIDO-RS: sends the bearer token and the query, parses DICOM JSON; HTTP 403 names the endpoint, not the secret', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
      res.end(JSON.stringify([{ '0020000D': { vr: 'UI', Value: ['1.2'] } }]));
    };
    const client = new DicomWebClient(endpoint());
    const r = await client.qido('studies', { PatientID: 'P 1', limit: 5 });
    assert.equal(r.length, 1);
    assert.equal(seen.at(-1)!.url, '/dicom-web/studies?PatientID=P+1&limit=5');
    assert.equal(seen.at(-1)!.auth, 'Bearer tok-SECRET');
    handler = (_req, res) => {
      res.writeHead(403, 'Forbidden');
      res.end('no access for you');
    };
    await assert.rejects(client.qido('studies', { PatientName: 'SECRET^NAME' }), (e: PacsError) =>
      e.code === 'HTTP_STATUS' && e.message === `${base}/studies: HTTP 403 Forbidden: no access for you` && !e.message.includes('tok-SECRET'));
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"not":"an array"}');
    };
    await assert.rejects(client.qido('studies'), (e: PacsError) => e.code === 'BAD_RESPONSE');
  });

  it('WADO-RS: parts arrive one by one; a body that stops mid-part is PARTIAL with the count', async () => {
    const files = [body('DICM-one'), body('DICM-two'), body('DICM-three')];
    const mp = multipartRelated(files);
    const wire = Buffer.concat(mp.chunks);
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': mp.contentType });
      res.end(wire);
    };
    const client = new DicomWebClient(endpoint({ auth: { kind: 'basic', username: 'u', secret: 'p' } }));
    const got: string[] = [];
    assert.equal(await client.retrieve('studies/1/series/2', (p) => void got.push(p.body.toString())), 3);
    assert.deepEqual(got, ['DICM-one', 'DICM-two', 'DICM-three']);
    assert.equal(seen.at(-1)!.auth, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.match(seen.at(-1)!.accept!, /^multipart\/related; type="application\/dicom"; transfer-syntax=\*$/);

    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': mp.contentType });
      res.write(wire.subarray(0, wire.indexOf('DICM-three') + 4));
      setImmediate(() => res.socket?.destroy());
    };
    await assert.rejects(client.retrieve('studies/1/series/2', () => {}), (e: PacsError) => e.code === 'PARTIAL' && e.message.startsWith(`${base}/studies/1/series/2: transfer stopped after 2 instance(s)`));
  });

  it('TIMEOUT when no answer comes, CANCELLED on abort, UNREACHABLE on a closed port', async () => {
    handler = () => {}; // never answers
    const slow = new DicomWebClient(endpoint({ timeoutMs: 200 }));
    await assert.rejects(slow.qido('studies'), (e: PacsError) => e.code === 'TIMEOUT' && e.message.startsWith(`${base}/studies:`));
    const controller = new AbortController();
    const pending = new DicomWebClient(endpoint()).qido('studies', {}, controller.signal);
    setImmediate(() => controller.abort());
    await assert.rejects(pending, (e: PacsError) => e.code === 'CANCELLED');
    const closed = new DicomWebClient(endpoint({ url: 'http://127.0.0.1:9/dicom-web' }));
    await assert.rejects(closed.qido('studies'), (e: PacsError) => e.code === 'UNREACHABLE' && e.message.includes('http://127.0.0.1:9/dicom-web/studies'));
  });

  it('STOW-RS: posts multipart/related, reads stored and refused instances (HTTP 409 included)', async () => {
    const ack = {
      '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.1'] } }] },
      '00081198': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2'] }, '00081197': { vr: 'US', Value: [272] } }] },
    };
    let received = Buffer.alloc(0);
    handler = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received = Buffer.concat(chunks);
        res.writeHead(202, { 'Content-Type': 'application/dicom+json' });
        res.end(JSON.stringify(ack));
      });
    };
    const client = new DicomWebClient(endpoint());
    const r = await client.stow([body('A'), body('B')], { studyInstanceUid: '1' });
    assert.deepEqual(r, { stored: ['1.1'], failed: [{ sopInstanceUid: '1.2', reason: 'failure reason 272' }] });
    assert.equal(seen.at(-1)!.url, '/dicom-web/studies/1');
    const p = new MultipartParser(boundaryOf(seen.at(-1)!.type));
    assert.deepEqual(p.push(received).map((x) => x.body.toString()), ['A', 'B']);
    handler = (_req, res) => {
      res.writeHead(409, { 'Content-Type': 'application/dicom+json' });
      res.end(JSON.stringify({ '00081198': ack['00081198'] }));
    };
    assert.deepEqual(await client.stow([body('B')]), { stored: [], failed: [{ sopInstanceUid: '1.2', reason: 'failure reason 272' }] });
  });
});

describe('DICOMweb over https with a site CA', { skip: spawnSync('openssl', ['version']).error ? 'openssl is not installed' : false }, () => {
  it('trusts the configured CA file; without it the certificate is refused as TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfp-tls-'));
    try {
      // A site CA and a server certificate for 127.0.0.1 signed by it (what a hospital's internal PKI hands out).
      const run = (args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: dir }).status, 0, args.join(' '));
      run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test Hospital CA']);
      run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
      writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
      run(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf']);
      const server = createHttpsServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.pem')) }, (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
        res.end('[]');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      try {
        const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/dicom-web`;
        const trusted = new DicomWebClient({ id: 's', name: 's', url, auth: { kind: 'none' }, caFile: join(dir, 'ca.pem'), timeoutMs: 5000 });
        assert.deepEqual(await trusted.qido('studies'), []);
        const untrusted = new DicomWebClient({ id: 's', name: 's', url, auth: { kind: 'none' }, timeoutMs: 5000 });
        await assert.rejects(untrusted.qido('studies'), (e: PacsError) => e.code === 'TLS' && e.message.startsWith(`${url}/studies: TLS:`));
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('endpoint store', () => {
  it('keeps secrets in a 0600 file and out of what the UI sees; refuses URLs with credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfp-endpoints-'));
    try {
      const store = new EndpointStore(dir);
      store.put({ id: 'main', name: 'Main PACS', url: 'https://pacs.example.org/dicom-web/', auth: { kind: 'basic', username: 'ws1', secret: 'hunter2' }, timeoutMs: 30_000 });
      const file = join(dir, 'settings', 'pacs-endpoints.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.match(readFileSync(file, 'utf8'), /hunter2/);
      const info = endpointInfo(new EndpointStore(dir).get('main')!);
      assert.deepEqual(info, { id: 'main', name: 'Main PACS', url: 'https://pacs.example.org/dicom-web', auth: { kind: 'basic', username: 'ws1', hasSecret: true }, timeoutMs: 30_000 });
      // Saving again without the secret (the UI never has it) keeps the stored one.
      store.put({ id: 'main', name: 'Renamed', url: 'https://pacs.example.org/dicom-web', auth: { kind: 'basic', username: 'ws1' }, timeoutMs: 30_000 });
      assert.equal(new EndpointStore(dir).get('main')!.auth.secret, 'hunter2');
      assert.throws(() => normaliseBaseUrl('https://user:pw@pacs.example.org/dicom-web'), (e: PacsError) => e.code === 'REFUSED' && !e.message.includes('pw'));
      assert.throws(() => normaliseBaseUrl('ftp://pacs.example.org'), /only http and https/);
      assert.throws(() => store.put({ id: 'x', name: 'x', url: 'http://a.example', auth: { kind: 'bearer' }, timeoutMs: 1000 }), /needs a token/);
      assert.throws(() => store.put({ id: 'x', name: 'x', url: 'http://a.example', auth: { kind: 'none' }, caFile: '/nonexistent/ca.pem', timeoutMs: 1000 }), /does not exist/);
      assert.equal(store.remove('main'), true);
      assert.deepEqual(new EndpointStore(dir).list(), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('AI report as a DICOM Comprehensive SR', () => {
  it('dsrdump reads it: finding, p(tumour), flag, score, threshold, t*, models, source references', () => {
    const result = (sop: string, flagged: boolean): ScanResult =>
      ({
        sopInstanceUid: sop, seriesInstanceUid: '1.2.3', studyInstanceUid: '1.2', createdUtc: '', state: 'answered',
        intendedUse: { status: 'in-use', summary: 'MR · BRAIN · axial (0° tilt) · 16×16' }, ood: null, securityAlert: flagged,
        thresholdsSource: 'factory', thresholdsCreatedUtc: null, label: flagged ? 'tumour' : 'no-tumour',
        probabilities: [0.1234567891, 0.8765432109], mode: 'adaptive', flagged, score: 0.0123456789, threshold: 0.01, scoreKind: 'mse',
        tStar: flagged ? 120 : 0, steps: 0, timesteps: [], seed: 1, size: 16, input: new Float32Array(0), errorMap: null, purified: null, difference: null,
        models: [{ name: 'classifier', version: '1.0.0', sha256: 'ab'.repeat(32), trained: false }], ep: 'cpu',
        timings: { preprocessMs: 0, detectMs: 0, purifyMs: 0, classifyMs: 0, totalMs: 0, batchSize: 1 },
      }) as ScanResult;
    const r = buildAnalysisReport({
      patient: { id: 'P1', name: 'DOE^JANE', sex: 'F' },
      study: { studyInstanceUid: '1.2', date: '20250101', accessionNumber: 'A1' },
      sourceSeriesInstanceUid: '1.2.3',
      images: [
        { sopClassUid: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: '1.2.3.4', result: result('1.2.3.4', true) },
        { sopClassUid: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: '1.2.3.5', result: result('1.2.3.5', false) },
      ],
      software: { name: 'MedFedPure Workstation', version: '0.1.0', workstation: 'ws1' },
    });
    // Read back (as when the study comes from a PACS): the same values; anything that is not our report is null.
    const back = readAnalysisReport(r.bytes);
    assert.ok(back);
    assert.equal(back.sopInstanceUid, r.sopInstanceUid);
    assert.equal(back.sourceSeriesInstanceUid, '1.2.3');
    assert.equal(back.verified, false);
    assert.equal(back.software, 'MedFedPure Workstation 0.1.0');
    assert.deepEqual(back.images, [
      { sopInstanceUid: '1.2.3.4', label: 'tumour', pTumour: 0.8765432109, flagged: true, score: 0.0123456789, threshold: 0.01, tStar: 120 },
      { sopInstanceUid: '1.2.3.5', label: 'no-tumour', pTumour: 0.8765432109, flagged: false, score: 0.0123456789, threshold: 0.01, tStar: 0 },
    ]);
    assert.deepEqual(back.models, [{ name: 'classifier', version: '1.0.0', sha256: 'ab'.repeat(32), trained: false }]);
    // A slice outside the AI's intended use is listed with its reason and no finding; reading back skips it.
    const outside: ScanResult = { ...result('1.2.3.6', false), state: 'outside-intended-use', intendedUse: { status: 'outside', reasons: ['sagittal slice'] }, label: null, probabilities: null };
    const withOutside = buildAnalysisReport({
      patient: { id: 'P1', name: 'DOE^JANE' }, study: { studyInstanceUid: '1.2' }, sourceSeriesInstanceUid: '1.2.3',
      images: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: '1.2.3.6', result: outside }, { sopClassUid: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: '1.2.3.5', result: result('1.2.3.5', false) }],
      software: { name: 'MedFedPure Workstation', version: '0.1.0', workstation: 'ws1' },
    });
    assert.match(Buffer.from(withOutside.bytes).toString('latin1'), /Outside intended use: sagittal slice\. No AI finding\./);
    assert.deepEqual(readAnalysisReport(withOutside.bytes)?.images.map((i) => i.sopInstanceUid), ['1.2.3.5']);
    assert.equal(readAnalysisReport(imageFile({ rows: 2, columns: 2, bitsAllocated: 16, raw: [1, 2, 3, 4] })), null);
    assert.equal(readAnalysisReport(new Uint8Array(300)), null);
    assert.equal(readAnalysisReport(r.bytes.subarray(0, 400)), null);

    assert.equal(ds(0.12345678901234567), '0.123456789');
    assert.ok(ds(-1.2345678901234567e-12).length <= 16);
    const dir = mkdtempSync(join(tmpdir(), 'mfp-sr-'));
    try {
      const file = join(dir, 'sr.dcm');
      writeFileSync(file, r.bytes);
      const dump = spawnSync('dsrdump', ['-Ee', '+Pc', file], { encoding: 'utf8' });
      if (dump.error) return; // dcmtk not installed here: CI installs it
      assert.equal(dump.status, 0, dump.stderr);
      assert.doesNotMatch(dump.stderr, /^E:/m);
      const out = dump.stdout;
      assert.match(out, /Comprehensive SR Document/);
      assert.match(out, /Patient\s+: DOE\^JANE \(F, #P1\)/);
      assert.match(out, /Verification Flag\s+: UNVERIFIED/);
      assert.match(out, /CODE:\(121071,DCM,"Finding"\)=\(MFP-TUM,99MFP,"Brain tumour suspected"\)/);
      assert.match(out, /"Probability of tumour"\)="0\.8765432109"/);
      assert.match(out, /"Detector threshold"\)="0\.01"/);
      assert.match(out, /"Purification start step t\*"\)="120"/);
      assert.match(out, /"Images flagged"\)="1"/);
      assert.match(out, /"Model SHA-256"\)="abab/);
      assert.equal((out.match(/IMAGE:\(121112,DCM,"Source of Measurement"\)/g) ?? []).length, 2);
      const evidence = spawnSync('dcmdump', ['+P', '0008,1155', file], { encoding: 'utf8' }).stdout;
      assert.match(evidence, /1\.2\.3\.4/);
      assert.match(evidence, /1\.2\.3\.5/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
