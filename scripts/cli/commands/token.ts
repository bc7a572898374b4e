// `annals token --tenant T --sub U --roles r1,r2 [--ttl 1h]` — a development token for the command API
// (and GraphQL), signed with the configured AUTH_JWT_SECRET, or with the development secret that
// embedded mode generates into DATA_DIR (the same one `npm start` uses). Prints the token alone on
// stdout, so `TOKEN=$(npx annals token …)` works.
import { parseArgs } from 'node:util';
import { Role } from '../../../schemas/events/common.js';
import { parseTtl, signDevToken } from '../../../platform/auth/sign.js';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../../../platform/auth/verify.js';
import { ConfigError, loadConfig } from '../../../write-side/config.js';

const USAGE = `usage: annals token --tenant <tenant> --sub <user> --roles <role,role…> [--ttl 1h]
  roles: ${Role.options.join(', ')}
  ttl:   seconds or 30m, 8h, 7d (default 1h)`;

export async function run(args: string[]): Promise<number> {
  let values: { tenant?: string; sub?: string; roles?: string; ttl?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { tenant: { type: 'string' }, sub: { type: 'string' }, roles: { type: 'string' }, ttl: { type: 'string', default: '1h' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`annals token: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const problems: string[] = [];
  if (!values.tenant) problems.push('--tenant is required');
  else if (!TENANT_ID_PATTERN.test(values.tenant)) problems.push(`--tenant ${JSON.stringify(values.tenant)}: ${TENANT_ID_RULE}`);
  if (!values.sub) problems.push('--sub is required');
  const roles = (values.roles ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  if (roles.length === 0) problems.push('--roles is required');
  const unknown = roles.filter((r) => !Role.safeParse(r).success);
  if (unknown.length) problems.push(`unknown role(s): ${unknown.join(', ')}`);
  const ttlSeconds = parseTtl(values.ttl ?? '1h');
  if (ttlSeconds === undefined) problems.push(`--ttl ${values.ttl} is not a duration`);
  if (problems.length) {
    process.stderr.write(`annals token: ${problems.join('; ')}\n${USAGE}\n`);
    return 2;
  }

  let loaded;
  try {
    loaded = await loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`annals token: ${e.message}\n`);
      return 78;
    }
    throw e;
  }
  const { config, warnings } = loaded;
  if (config.auth.keys.kind !== 'secret') {
    process.stderr.write('annals token: AUTH_JWKS_URL is configured; tokens come from your identity provider, not from this command\n');
    return 2;
  }
  for (const w of warnings.filter((w) => w.startsWith('AUTH_'))) process.stderr.write(`annals token: ${w}\n`);
  const token = await signDevToken({
    secret: config.auth.keys.secret,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    tenant: values.tenant!,
    sub: values.sub!,
    roles: roles as Role[],
    ttlSeconds: ttlSeconds!,
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
