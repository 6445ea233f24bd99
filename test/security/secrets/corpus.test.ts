import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { secretsAnalyzer } from '../../../src/security/analyzers/secrets/index.js';
import { createContentView, type ViewEntryInput } from '../../../src/security/view.js';
import { contextFor } from '../analyzer-harness.js';

const NODE_MODULES = fileURLToPath(new URL('../../../node_modules/', import.meta.url));

function entriesOf(root: string, dir = root, out: ViewEntryInput[] = []): ViewEntryInput[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isDirectory() && name !== 'node_modules') entriesOf(root, path, out);
    else if (stat.isFile()) {
      const body = readFileSync(path);
      out.push({ path: relative(root, path).split('\\').join('/'), type: 'file', size: body.length, body });
    }
  }
  return out;
}

// Popular, benign packages installed for the project itself: none ships a credential.
describe('secrets analyzer on installed packages', () => {
  for (const name of ['fastify', 'pino', 'semver', 'tar', 'yaml', 'zod']) {
    const dir = join(NODE_MODULES, name);
    it(`${name}: no high or critical finding`, { skip: !existsSync(dir) }, async () => {
      const view = createContentView(entriesOf(dir));
      const findings = await secretsAnalyzer.analyze(view, contextFor(view));
      const serious = findings.filter((f) => f.severity === 'high' || f.severity === 'critical');
      assert.deepEqual(serious, []);
    });
  }
});
