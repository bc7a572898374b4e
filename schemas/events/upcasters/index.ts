import type { Upcaster } from './define.js';

/** Every upcaster, registered by (type, fromVersion). */
export const upcasters: readonly Upcaster[] = [];
