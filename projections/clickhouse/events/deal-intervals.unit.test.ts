import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chdbEngine } from '../../../platform/analytics/chdb.js';
import { dealIntervalsSuite } from './deal-intervals.testing.js';

// chDB: current ClickHouse in this process (one data directory per process: this file owns it).
dealIntervalsSuite('chDB', async () => chdbEngine({ path: join(await mkdtemp(join(tmpdir(), 'annals-chdb-')), 'analytics'), database: 'annals_test' }));
