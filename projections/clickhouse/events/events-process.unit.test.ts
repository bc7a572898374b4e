import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chdbProcessEngine } from '../../../platform/analytics/chdb-process.js';
import { analyticsSuite } from './suite.testing.js';

// The embedded engine as npm start runs it: chDB in its own process, the rows over IPC. Same suite.
analyticsSuite('chDB in its own process', async () => chdbProcessEngine({ path: join(await mkdtemp(join(tmpdir(), 'annals-chdb-p-')), 'analytics'), database: 'annals_test' }));
