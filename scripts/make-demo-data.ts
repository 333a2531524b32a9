/**
 * Makes the committed demo DICOM data (build/demo-data) from the Colin27 T1 template shipped by Debian's
 * mricron-data package (/usr/share/mricron/templates/ch2.nii.gz: 181×217×181 voxels, 1 mm, MNI space, uint8).
 *
 * Three MR series of one synthetic, de-identified patient "DEMO^COLIN27", resampled (trilinear, slab-averaged
 * over the slice thickness) from the template:
 *   1  T1 AX   24 axial slices, 256×256, 0.9 mm pixels, 5 mm thick, contiguous
 *   2  T1 COR  16 coronal slices, 128×128, 1.8 mm pixels, 4 mm thick, 8 mm apart
 *   3  T1 SAG  16 sagittal slices, 128×128, 1.8 mm pixels, 4 mm thick, 8 mm apart
 * 16-bit unsigned (12 bits stored), explicit VR little endian, MR Image Storage, with Image Plane attributes in
 * DICOM patient coordinates (LPS; the template's RAS is converted) and a VOI window from the brain's intensities.
 *
 * UIDs are deterministic "2.25." UUID-derived UIDs (ISO/IEC 9834-8, PS3.5 B.2) hashed from fixed names, and the
 * dates are fixed, so re-running the script reproduces the same bytes.
 *
 * It also writes a CT measurement phantom (build/demo-phantom, not imported on first run; the viewer's e2e test imports
 * it through the UI), with sizes known exactly in millimetres so measurements can be checked against the truth:
 *   4 axial slices, 256×256, 0.8 mm pixels, 5 mm thick; Rescale Slope 1, Intercept −1024 (stored = HU + 1024)
 *   air −1000 HU around a water cylinder (0 HU, 160 mm diameter) holding
 *   - a 50 mm disc of +100 HU centred on the image centre,
 *   - a 30 mm × 20 mm rectangle of −100 HU, centre 45 mm above the image centre,
 *   - two pins (4 mm diameter, +1000 HU), centres 100.0 mm apart on a horizontal line 46 mm below the centre.
 * Edges are partial-volume averaged (8×8 samples per pixel), so the pins' centroids sit exactly where drawn.
 *
 * Usage: node --import tsx scripts/make-demo-data.ts [path/to/ch2.nii.gz] [out-dir] [phantom-out-dir]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nifti from 'nifti-reader-js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = process.argv[2] ?? '/usr/share/mricron/templates/ch2.nii.gz';
const OUT = resolve(process.argv[3] ?? join(ROOT, 'build', 'demo-data'));
const PHANTOM_OUT = resolve(process.argv[4] ?? join(ROOT, 'build', 'demo-phantom'));

// dcmjs ships no type declarations; the few calls used here are typed at the call sites.
const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMetaDictionary: { denaturalizeDataset(ds: Record<string, unknown>): Record<string, unknown> };
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
  };
};

const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

/** A "2.25." UID from a name: the name's SHA-256 shaped as a version-8 (name-based, custom) UUID. */
export function demoUid(name: string): string {
  const b = createHash('sha256').update(`medfedpure-demo-data/${name}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80; // version 8
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  return `2.25.${BigInt(`0x${b.toString('hex')}`).toString(10)}`;
}

// ---------- the template volume ----------

interface Volume {
  nx: number;
  ny: number;
  nz: number;
  data: Float32Array;
  /** RAS millimetres → voxel index (the inverse of the NIfTI affine). */
  toVoxel(x: number, y: number, z: number): [number, number, number];
}

function invert4(m: number[][]): number[][] {
  // Affine inverse: [R t; 0 1]⁻¹ = [R⁻¹ −R⁻¹t; 0 1], R⁻¹ by cofactors.
  const [a, b, c] = m[0];
  const [d, e, f] = m[1];
  const [g, h, i] = m[2];
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  const r = [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
  const t = [m[0][3], m[1][3], m[2][3]];
  return r.map((row) => [...row, -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]);
}

function loadNifti(path: string): Volume {
  const file = readFileSync(path);
  let ab = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer;
  if (nifti.isCompressed(ab)) ab = nifti.decompress(ab) as ArrayBuffer;
  const h = nifti.readHeader(ab);
  if (!h) throw new Error(`${path}: not a NIfTI file`);
  const [, nx, ny, nz] = h.dims;
  const raw = nifti.readImage(h, ab);
  const typed: ArrayLike<number> =
    h.datatypeCode === nifti.NIFTI1.TYPE_UINT8 ? new Uint8Array(raw)
    : h.datatypeCode === nifti.NIFTI1.TYPE_INT16 ? new Int16Array(raw)
    : h.datatypeCode === nifti.NIFTI1.TYPE_FLOAT32 ? new Float32Array(raw)
    : (() => {
        throw new Error(`${path}: unsupported NIfTI datatype ${h.datatypeCode}`);
      })();
  const slope = h.scl_slope || 1;
  const data = Float32Array.from(typed, (v) => v * slope + h.scl_inter);
  const inv = invert4(h.affine);
  return {
    nx,
    ny,
    nz,
    data,
    toVoxel: (x, y, z) => [0, 1, 2].map((r) => inv[r][0] * x + inv[r][1] * y + inv[r][2] * z + inv[r][3]) as [number, number, number],
  };
}

function trilinear(v: Volume, i: number, j: number, k: number): number {
  if (i < 0 || j < 0 || k < 0 || i > v.nx - 1 || j > v.ny - 1 || k > v.nz - 1) return 0;
  const i0 = Math.min(Math.floor(i), v.nx - 2);
  const j0 = Math.min(Math.floor(j), v.ny - 2);
  const k0 = Math.min(Math.floor(k), v.nz - 2);
  const fi = i - i0;
  const fj = j - j0;
  const fk = k - k0;
  const at = (a: number, b: number, c: number): number => v.data[a + v.nx * (b + v.ny * c)];
  const c00 = at(i0, j0, k0) * (1 - fi) + at(i0 + 1, j0, k0) * fi;
  const c10 = at(i0, j0 + 1, k0) * (1 - fi) + at(i0 + 1, j0 + 1, k0) * fi;
  const c01 = at(i0, j0, k0 + 1) * (1 - fi) + at(i0 + 1, j0, k0 + 1) * fi;
  const c11 = at(i0, j0 + 1, k0 + 1) * (1 - fi) + at(i0 + 1, j0 + 1, k0 + 1) * fi;
  return (c00 * (1 - fj) + c10 * fj) * (1 - fk) + (c01 * (1 - fj) + c11 * fj) * fk;
}

// ---------- series geometry (DICOM patient coordinates, LPS, millimetres) ----------

type Vec3 = [number, number, number];

interface SeriesSpec {
  key: string;
  number: number;
  description: string;
  size: number;
  spacing: number;
  slices: number;
  sliceStep: number;
  thickness: number;
  /** Unit vectors: along a row (increasing column), down a column (increasing row). */
  rowDir: Vec3;
  colDir: Vec3;
  /** LPS centre of the middle slice. */
  centre: Vec3;
  /** Word for ImageType value 3. */
  plane: string;
}

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

// The template's brain is centred near RAS (0, -18, +15); in LPS that is (0, +18, +15).
const SERIES: SeriesSpec[] = [
  { key: 'T1_AX', number: 1, description: 'T1 AX 5mm (Colin27 resampled)', size: 256, spacing: 0.9, slices: 24, sliceStep: 5, thickness: 5, rowDir: [1, 0, 0], colDir: [0, 1, 0], centre: [0, 18, 15], plane: 'AXIAL' },
  { key: 'T1_COR', number: 2, description: 'T1 COR 4mm (Colin27 resampled)', size: 128, spacing: 1.8, slices: 16, sliceStep: 8, thickness: 4, rowDir: [1, 0, 0], colDir: [0, 0, -1], centre: [0, 18, 15], plane: 'CORONAL' },
  { key: 'T1_SAG', number: 3, description: 'T1 SAG 4mm (Colin27 resampled)', size: 128, spacing: 1.8, slices: 16, sliceStep: 8, thickness: 4, rowDir: [0, 1, 0], colDir: [0, 0, -1], centre: [0, 18, 15], plane: 'SAGITTAL' },
];

/** Stored value per template unit: the uint8 template (0..255) becomes 12-bit MR-like values (0..4080). */
const VALUE_SCALE = 16;

interface Slice {
  pixels: Uint16Array;
  position: Vec3;
  along: number;
}

function renderSeries(vol: Volume, s: SeriesSpec): Slice[] {
  const normal = cross(s.rowDir, s.colDir);
  const half = ((s.size - 1) / 2) * s.spacing;
  const out: Slice[] = [];
  // Average this many planes, 1 mm apart, across the slab (the template's resolution).
  const planes = Math.max(1, Math.round(s.thickness));
  for (let n = 0; n < s.slices; n++) {
    const along = (n - (s.slices - 1) / 2) * s.sliceStep;
    const centre: Vec3 = [0, 1, 2].map((a) => s.centre[a] + along * normal[a]) as Vec3;
    const first: Vec3 = [0, 1, 2].map((a) => centre[a] - half * s.rowDir[a] - half * s.colDir[a]) as Vec3;
    const pixels = new Uint16Array(s.size * s.size);
    for (let r = 0; r < s.size; r++) {
      for (let c = 0; c < s.size; c++) {
        let sum = 0;
        for (let p = 0; p < planes; p++) {
          const off = p - (planes - 1) / 2;
          const x = first[0] + c * s.spacing * s.rowDir[0] + r * s.spacing * s.colDir[0] + off * normal[0];
          const y = first[1] + c * s.spacing * s.rowDir[1] + r * s.spacing * s.colDir[1] + off * normal[1];
          const z = first[2] + c * s.spacing * s.rowDir[2] + r * s.spacing * s.colDir[2] + off * normal[2];
          // LPS → RAS for the template's affine.
          const [i, j, k] = vol.toVoxel(-x, -y, z);
          sum += trilinear(vol, i, j, k);
        }
        pixels[r * s.size + c] = Math.min(4095, Math.round((sum / planes) * VALUE_SCALE));
      }
    }
    out.push({ pixels, position: first, along: centre[0] * normal[0] + centre[1] * normal[1] + centre[2] * normal[2] });
  }
  return out;
}

/** Window from the 2nd..98th percentile of the non-background pixels of the whole series. */
function seriesWindow(slices: Slice[]): { centre: number; width: number } {
  const values: number[] = [];
  for (const s of slices) for (const v of s.pixels) if (v > 8 * VALUE_SCALE) values.push(v);
  values.sort((a, b) => a - b);
  const lo = values[Math.floor(values.length * 0.02)] ?? 0;
  const hi = values[Math.floor(values.length * 0.98)] ?? 4095;
  return { centre: Math.round((lo + hi) / 2), width: Math.max(1, Math.round(hi - lo)) };
}

const ds = (v: number): string => String(Number(v.toFixed(4)));

function writeDicom(path: string, dataset: Record<string, unknown>): number {
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: demoUid('implementation'),
    ImplementationVersionName: 'MEDFEDPURE_DEMO',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const bytes = Buffer.from(dict.write());
  writeFileSync(path, bytes);
  return bytes.length;
}

function main(): void {
  const vol = loadNifti(SOURCE);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const studyUid = demoUid('study/1');
  const frameOfReferenceUid = demoUid('frame-of-reference/1');
  let total = 0;
  const summary: string[] = [];
  for (const s of SERIES) {
    const slices = renderSeries(vol, s);
    const win = seriesWindow(slices);
    const seriesUid = demoUid(`series/${s.key}`);
    const dir = join(OUT, s.key);
    mkdirSync(dir, { recursive: true });
    slices.forEach((slice, n) => {
      const sopUid = demoUid(`instance/${s.key}/${n + 1}`);
      const dataset: Record<string, unknown> = {
        // SOP Common
        SOPClassUID: MR_IMAGE_STORAGE,
        SOPInstanceUID: sopUid,
        // Patient (synthetic, de-identified)
        PatientName: 'DEMO^COLIN27',
        PatientID: 'DEMO-COLIN27',
        PatientBirthDate: '',
        PatientSex: 'M',
        PatientIdentityRemoved: 'YES',
        DeidentificationMethod: 'Synthetic demo data resampled from the Colin27 template; not a real patient',
        // General Study
        StudyInstanceUID: studyUid,
        StudyDate: '20250101',
        StudyTime: '090000',
        ReferringPhysicianName: '',
        StudyID: 'DEMO1',
        AccessionNumber: 'DEMO0001',
        StudyDescription: 'MR BRAIN DEMO (Colin27 template)',
        // General Series
        Modality: 'MR',
        SeriesInstanceUID: seriesUid,
        SeriesNumber: s.number,
        SeriesDescription: s.description,
        BodyPartExamined: 'BRAIN',
        PatientPosition: 'HFS',
        // Frame of Reference, Equipment
        FrameOfReferenceUID: frameOfReferenceUid,
        PositionReferenceIndicator: '',
        Manufacturer: 'MedFedPure demo generator',
        // General Image, MR Image (acquisition values of the original Colin27 scans: T1 FLASH)
        InstanceNumber: n + 1,
        AcquisitionNumber: 1,
        ContentDate: '20250101',
        ContentTime: '090000',
        ImageType: ['DERIVED', 'SECONDARY', s.plane],
        ScanningSequence: 'GR',
        SequenceVariant: 'SP',
        ScanOptions: '',
        MRAcquisitionType: '3D',
        RepetitionTime: '18',
        EchoTime: '10',
        EchoTrainLength: '1',
        FlipAngle: '30',
        MagneticFieldStrength: '1.5',
        // Image Plane
        PixelSpacing: [ds(s.spacing), ds(s.spacing)],
        ImageOrientationPatient: [...s.rowDir, ...s.colDir].map(ds),
        ImagePositionPatient: slice.position.map(ds),
        SliceThickness: ds(s.thickness),
        SpacingBetweenSlices: ds(s.sliceStep),
        SliceLocation: ds(slice.along),
        // Image Pixel
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        Rows: s.size,
        Columns: s.size,
        BitsAllocated: 16,
        BitsStored: 12,
        HighBit: 11,
        PixelRepresentation: 0,
        // VOI LUT
        WindowCenter: String(win.centre),
        WindowWidth: String(win.width),
        PixelData: [slice.pixels.buffer],
        _vrMap: { PixelData: 'OW' },
      };
      total += writeDicom(join(dir, `${String(n + 1).padStart(3, '0')}.dcm`), dataset);
    });
    summary.push(`| ${s.number} | ${s.key}/ | ${s.description} | ${s.slices} | ${s.size}×${s.size} | ${s.spacing} mm | ${s.thickness} mm / ${s.sliceStep} mm | ${win.centre} / ${win.width} |`);
  }
  writeFileSync(join(OUT, 'README.md'), readme(studyUid, summary, total));
  console.log(`wrote ${SERIES.reduce((n, s) => n + s.slices, 0)} files, ${(total / 1024 / 1024).toFixed(2)} MiB, to ${OUT}`);
  writePhantom(PHANTOM_OUT);
}

// ---------- the CT measurement phantom ----------

/** Geometry of the phantom, in mm from the image centre (x right = patient left, y down = posterior). */
export const PHANTOM = {
  size: 256,
  spacing: 0.8,
  slices: 4,
  thickness: 5,
  cylinderDiameter: 160,
  disc: { x: 0, y: 0, diameter: 50, hu: 100 },
  rect: { x: 0, y: -45, width: 30, height: 20, hu: -100 },
  pins: { y: 46, xs: [-50, 50] as const, diameter: 4, hu: 1000 },
  airHu: -1000,
  waterHu: 0,
  intercept: -1024,
} as const;

/** HU at a point (mm from the centre). */
function phantomHu(x: number, y: number): number {
  const P = PHANTOM;
  for (const px of P.pins.xs) if (Math.hypot(x - px, y - P.pins.y) <= P.pins.diameter / 2) return P.pins.hu;
  if (Math.hypot(x - P.disc.x, y - P.disc.y) <= P.disc.diameter / 2) return P.disc.hu;
  if (Math.abs(x - P.rect.x) <= P.rect.width / 2 && Math.abs(y - P.rect.y) <= P.rect.height / 2) return P.rect.hu;
  if (Math.hypot(x, y) <= P.cylinderDiameter / 2) return P.waterHu;
  return P.airHu;
}

function phantomSlice(): Uint16Array {
  const P = PHANTOM;
  const n = P.size;
  const ss = 8;
  const out = new Uint16Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      let sum = 0;
      for (let a = 0; a < ss; a++) {
        for (let b = 0; b < ss; b++) {
          // Pixel (c, r) covers [c - 0.5, c + 0.5] around its centre; the image centre is at (n - 1) / 2.
          const x = (c - (n - 1) / 2 + (b + 0.5) / ss - 0.5) * P.spacing;
          const y = (r - (n - 1) / 2 + (a + 0.5) / ss - 0.5) * P.spacing;
          sum += phantomHu(x, y);
        }
      }
      out[r * n + c] = Math.round(sum / (ss * ss)) - P.intercept;
    }
  }
  return out;
}

function writePhantom(dir: string): void {
  const P = PHANTOM;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const pixels = phantomSlice();
  const studyUid = demoUid('phantom/study/1');
  const seriesUid = demoUid('phantom/series/1');
  const half = ((P.size - 1) / 2) * P.spacing;
  let total = 0;
  for (let n = 0; n < P.slices; n++) {
    const z = (n - (P.slices - 1) / 2) * P.thickness;
    const dataset: Record<string, unknown> = {
      SOPClassUID: CT_IMAGE_STORAGE,
      SOPInstanceUID: demoUid(`phantom/instance/${n + 1}`),
      PatientName: 'DEMO^PHANTOM',
      PatientID: 'DEMO-PHANTOM',
      PatientBirthDate: '',
      PatientSex: 'O',
      PatientIdentityRemoved: 'YES',
      StudyInstanceUID: studyUid,
      StudyDate: '20250101',
      StudyTime: '100000',
      ReferringPhysicianName: '',
      StudyID: 'PHANTOM1',
      AccessionNumber: 'DEMO0002',
      StudyDescription: 'CT MEASUREMENT PHANTOM (known sizes)',
      Modality: 'CT',
      SeriesInstanceUID: seriesUid,
      SeriesNumber: 1,
      SeriesDescription: 'Phantom AX 5mm: disc 50 mm, pins 100 mm apart',
      BodyPartExamined: 'PHANTOM',
      PatientPosition: 'HFS',
      FrameOfReferenceUID: demoUid('phantom/frame-of-reference/1'),
      PositionReferenceIndicator: '',
      Manufacturer: 'MedFedPure demo generator',
      InstanceNumber: n + 1,
      ImageType: ['DERIVED', 'SECONDARY', 'AXIAL'],
      KVP: '120',
      PixelSpacing: [ds(P.spacing), ds(P.spacing)],
      ImageOrientationPatient: ['1', '0', '0', '0', '1', '0'],
      ImagePositionPatient: [ds(-half), ds(-half), ds(z)],
      SliceThickness: ds(P.thickness),
      SliceLocation: ds(z),
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: P.size,
      Columns: P.size,
      BitsAllocated: 16,
      BitsStored: 12,
      HighBit: 11,
      PixelRepresentation: 0,
      RescaleIntercept: String(P.intercept),
      RescaleSlope: '1',
      RescaleType: 'HU',
      WindowCenter: '0',
      WindowWidth: '400',
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    total += writeDicom(join(dir, `${String(n + 1).padStart(3, '0')}.dcm`), dataset);
  }
  writeFileSync(join(dir, 'README.md'), `# CT measurement phantom

Made by \`scripts/make-demo-data.ts\`; do not edit by hand. Not imported on first run: import it (Import folder…) to
check measurements against known truth. Synthetic; patient \`DEMO^PHANTOM\`, ID \`DEMO-PHANTOM\`.

${P.slices} axial slices, ${P.size}×${P.size}, ${P.spacing} mm pixels, ${P.thickness} mm thick, CT Image Storage, stored = HU − (${P.intercept}).
Air ${P.airHu} HU around a ${P.cylinderDiameter} mm water cylinder (${P.waterHu} HU) holding a ${P.disc.diameter} mm disc of +${P.disc.hu} HU
at the centre, a ${P.rect.width} × ${P.rect.height} mm rectangle of ${P.rect.hu} HU ${-P.rect.y} mm above it, and two ${P.pins.diameter} mm pins of
+${P.pins.hu} HU whose centres are ${P.pins.xs[1] - P.pins.xs[0]}.0 mm apart, ${P.pins.y} mm below the centre. Window 0/400 HU.

Total: ${(total / 1024).toFixed(0)} KiB.
`);
  console.log(`wrote ${P.slices} phantom files, ${(total / 1024).toFixed(0)} KiB, to ${dir}`);
}

function readme(studyUid: string, rows: string[], total: number): string {
  return `# Demo DICOM data

Made by \`scripts/make-demo-data.ts\` (run \`node --import tsx scripts/make-demo-data.ts\`); do not edit by hand.
\`medfedpure serve\` imports this folder into an empty data directory on first run.

Source: the Colin27 T1 template (\`/usr/share/mricron/templates/ch2.nii.gz\` from Debian's \`mricron-data\`;
181×217×181 voxels at 1 mm, MNI space). Each series is resampled from it with trilinear interpolation, averaging
1 mm planes across the slice thickness, and scaled ×${VALUE_SCALE} into 12-bit unsigned values.

Patient: synthetic and de-identified — \`DEMO^COLIN27\`, ID \`DEMO-COLIN27\` (Patient Identity Removed = YES).
One study, \`${studyUid}\`, MR Image Storage, explicit VR little endian, 16 bits allocated / 12 stored.

UIDs are \`2.25.\` UIDs (PS3.5 B.2, ISO/IEC 9834-8) derived from SHA-256 of fixed names
(\`medfedpure-demo-data/<name>\`) shaped as version-8 UUIDs, so re-running the script reproduces the same files.
Image Position/Orientation are in DICOM patient coordinates (LPS).

| # | folder | description | slices | matrix | pixel | thickness / step | window C/W |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Total: ${(total / 1024 / 1024).toFixed(2)} MiB.
`;
}

main();
