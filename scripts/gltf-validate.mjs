#!/usr/bin/env node
// Validates a glTF or GLB file with Khronos' glTF-Validator (installed into .tools by
// scripts/setup.sh) and prints the report as JSON.
// Exit status: 0 valid, 1 the report has errors, 2 the file could not be validated at all.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: scripts/gltf-validate.mjs FILE.glb|FILE.gltf');
  process.exit(2);
}

let validator;
try {
  validator = createRequire(import.meta.url)(path.join(root, '.tools/node_modules/gltf-validator'));
} catch (e) {
  console.error(`gltf-validator is not installed in .tools; run scripts/setup.sh (${e.message})`);
  process.exit(2);
}

try {
  const dir = path.dirname(path.resolve(file));
  const report = await validator.validateBytes(new Uint8Array(await readFile(file)), {
    uri: path.basename(file),
    maxIssues: 0, // all of them
    writeTimestamp: false,
    // A .gltf's external buffers and images, resolved beside it.
    externalResourceFunction: async (uri) =>
      new Uint8Array(await readFile(path.resolve(dir, decodeURIComponent(uri)))),
  });
  console.log(JSON.stringify(report, null, 2));
  // exitCode, not exit(): let a piped stdout drain.
  process.exitCode = report.issues.numErrors > 0 ? 1 : 0;
} catch (e) {
  // validateBytes rejects when the bytes are neither glTF nor GLB.
  console.error(`cannot validate ${file}: ${e}`);
  process.exitCode = 2;
}
