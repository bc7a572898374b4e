import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commandApiErrorCodes } from './error-catalogue.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const CODE = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*\b/g;
/**
 * Codes that are never answered to a client: fastify's own (renamed into HTTP_ERR_*), and the internal
 * errors of the contract and adapters, which the command API answers as HTTP_ERR_INTERNAL.
 */
const NOT_ANSWERED = /^(FST|EVENT|EVENTSTORE|BUS|SQL|CONFIG|PROJECTION)_ERR_/;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.includes('.test.') && !e.name.includes('testing'))
    .map((e) => join(e.parentPath, e.name));
}

describe('the command API error catalogue', () => {
  it('registers every code once, each in its own area', () => {
    assert.ok(commandApiErrorCodes.size >= 100, `${commandApiErrorCodes.size} codes`);
    assert.equal(commandApiErrorCodes.get('LEAD_ERR_ALREADY_CONVERTED'), 'LEAD');
    assert.equal(commandApiErrorCodes.get('HTTP_ERR_INTERNAL'), 'HTTP');
  });

  it('no source file of the write side or the shared platform catalogues answers with an unregistered code', () => {
    const unregistered = new Set<string>();
    for (const file of ['write-side', 'platform/auth', 'platform/http', 'platform/pii', 'platform/errors'].flatMap(sources)) {
      for (const code of readFileSync(file, 'utf8').match(CODE) ?? []) {
        if (!NOT_ANSWERED.test(code) && !commandApiErrorCodes.has(code)) unregistered.add(`${code} (${file.slice(root.length)})`);
      }
    }
    assert.deepEqual([...unregistered], []);
  });
});
