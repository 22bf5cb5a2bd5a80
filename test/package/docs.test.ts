/**
 * The error-code page lists every code nodetrain can raise, and nothing else: the native status
 * codes (the boundary table) and every ERR_NT_* literal in the TypeScript sources.
 */
import * as fs from 'fs';
import * as path from 'path';

import { NATIVE_STATUS_CODES } from '../../lib/native/enums';

const root = path.join(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('docs/errors.md', () => {
  const page = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...page.matchAll(/^\| `(ERR_NT_[A-Z_]+)` \|/gm)].map((m) => m[1]));

  it('documents every native status code and every code the TypeScript layer raises', () => {
    const raised = new Set<string>(NATIVE_STATUS_CODES);
    for (const f of tsFiles(path.join(root, 'lib'))) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/['"`](ERR_NT_[A-Z_]+)['"`]/g)) raised.add(m[1]);
    }
    expect([...raised].filter((c) => !documented.has(c)).sort()).toEqual([]);
    expect([...documented].filter((c) => !raised.has(c)).sort()).toEqual([]);
  });
});
