/**
 * `npm run schemas:export [outDir]` — one JSON Schema file per event type (`<Type>.v<version>.json`), for
 * consumers outside TypeScript (Kafka consumers in other languages, schema registries, auditors).
 * Personal fields carry `"x-personal-data": "<kind>"` so those consumers can treat them as we do.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { eventDefinitions } from './registry.js';
import { personalDataRegistry } from './personal-data.js';

export function eventJsonSchemas(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const def of eventDefinitions) {
    const schema = z.toJSONSchema(def.schema, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
      override: (ctx) => {
        const meta = personalDataRegistry.get(ctx.zodSchema as unknown as z.ZodType);
        if (meta) (ctx.jsonSchema as Record<string, unknown>)['x-personal-data'] = meta.kind;
      },
    });
    out.set(`${def.type}.v${def.version}.json`, {
      $id: `urn:annals:event:${def.type}:v${def.version}`,
      title: def.type,
      'x-schema-version': def.version,
      ...schema,
    });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outDir = resolve(process.argv[2] ?? join(import.meta.dirname, 'json'));
  mkdirSync(outDir, { recursive: true });
  const schemas = eventJsonSchemas();
  for (const [file, schema] of schemas) writeFileSync(join(outDir, file), JSON.stringify(schema, null, 2) + '\n');
  console.log(`wrote ${schemas.size} JSON Schema files to ${outDir}`);
}
