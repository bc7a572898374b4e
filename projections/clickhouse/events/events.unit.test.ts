import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chdbEngine } from '../../../platform/analytics/chdb.js';
import { analyticsSuite } from './suite.testing.js';

// chDB: current ClickHouse in this process (one data directory per process: this file owns it).
analyticsSuite('chDB', async () => chdbEngine({ path: join(await mkdtemp(join(tmpdir(), 'annals-chdb-')), 'analytics'), database: 'annals_test' }));
