import type { Upcaster } from './define.js';
import { contactCreatedV1 } from './contact-created-v1.js';

/** Every upcaster, registered by (type, fromVersion). */
export const upcasters: readonly Upcaster[] = [contactCreatedV1];
