// build/electron-builder.json: fuses and asarUnpack as the security checklist wants, every key known to
// electron-builder's own schema (checked two ways: a walk over scheme.json, and electron-builder's validator).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const config = JSON.parse(readFileSync(path.join(ROOT, 'build/electron-builder.json'), 'utf8')) as Record<string, unknown>;
const scheme = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as JsonSchema;

interface JsonSchema {
  $ref?: string;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  definitions?: Record<string, JsonSchema>;
}

function deref(s: JsonSchema): JsonSchema {
  return s.$ref ? deref(scheme.definitions![s.$ref.replace('#/definitions/', '')]!) : s;
}

/** Object-typed alternatives of a schema (following $ref and anyOf). */
function objectSchemas(s: JsonSchema): JsonSchema[] {
  const d = deref(s);
  return [...(d.properties ? [d] : []), ...(d.anyOf ?? []).flatMap(objectSchemas)];
}

/** Paths of keys in `value` that no object schema of `schema` declares. */
function unknownKeys(value: unknown, schema: JsonSchema, at: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const candidates = objectSchemas(schema);
  if (candidates.length === 0) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const owner = candidates.find((c) => c.properties && k in c.properties);
    return owner ? unknownKeys(v, owner.properties![k]!, `${at}.${k}`) : [`${at}.${k}`];
  });
}

test('every key exists in electron-builder 26 scheme.json', () => {
  assert.deepEqual(unknownKeys(config, scheme, 'config'), []);
  // the walker does catch a misspelt fuse
  assert.deepEqual(unknownKeys({ electronFuses: { runAsNod: false } }, scheme, 'config'), ['config.electronFuses.runAsNod']);
});

test("electron-builder's own validator accepts the config", async () => {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
    validateConfiguration(c: unknown, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  await validateConfiguration(config, new DebugLogger(false));
  await assert.rejects(validateConfiguration({ ...config, asarUnpak: [] }, new DebugLogger(false)));
});

test('fuses harden the packaged binary', () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    grantFileProtocolExtraPrivileges: false,
  });
});

test('asar with native binaries and model artifacts unpacked; targets and identity', () => {
  assert.equal(config.asar, true);
  const unpack = config.asarUnpack as string[];
  assert.ok(unpack.includes('**/*.node'));
  assert.ok(unpack.some((p) => p.includes('onnxruntime-node/bin')));
  assert.equal(config.productName, 'MedFedPure Workstation');
  assert.equal(typeof config.appId, 'string');
  assert.deepEqual((config.win as { target: string[] }).target, ['nsis']);
  assert.deepEqual((config.linux as { target: string[] }).target, ['deb', 'AppImage']);
  assert.deepEqual((config.mac as { target: string[] }).target, ['dmg']);
  // installers must not land inside dist/, which is packaged
  assert.notEqual((config.directories as { output?: string }).output ?? 'dist', 'dist');
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };
  assert.equal(pkg.main, 'dist/electron/main/main.js');
  assert.match(pkg.scripts.dist!, /--config build\/electron-builder\.json/);
  assert.ok((config.files as string[]).includes('dist/**/*'));
});
