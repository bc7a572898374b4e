import { AuthErrorCode } from '../platform/auth/errors.js';
import { registerCatalogues } from '../platform/errors/catalogue.js';
import { HttpErrorCode } from '../platform/http/errors.js';
import { PiiErrorCode } from '../platform/pii/errors.js';
import { BudgetErrorCode } from './budget/decide.js';
import { ConsentErrorCode } from './consent/decide.js';
import { ContactErrorCode } from './contact/decide.js';
import { ImportErrorCode } from './contact/import-csv.js';
import { DealErrorCode } from './deal/decide.js';
import { GdprErrorCode } from './gdpr/workflow.js';
import { IdempotencyErrorCode, StreamErrorCode, TenantErrorCode } from './kernel/errors.js';
import { LeadErrorCode } from './lead/decide.js';

/**
 * Every code the command API can answer with, registered in this one place (area → catalogue): the
 * shared ones of platform/ (auth, the HTTP layer, GDPR crypto) and the write side's own. Registering
 * refuses a code declared twice or outside its area; error-catalogue.unit.test.ts also checks that no
 * source file answers with a code that is not registered here. The query API registers the platform
 * catalogues it shares the same way, so a code means the same on both APIs.
 */
export const commandApiErrorCodes = registerCatalogues({
  AUTH: AuthErrorCode,
  HTTP: HttpErrorCode,
  PII: PiiErrorCode,
  TENANT: TenantErrorCode,
  STREAM: StreamErrorCode,
  IDEMPOTENCY: IdempotencyErrorCode,
  LEAD: LeadErrorCode,
  CONTACT: ContactErrorCode,
  CONTACT_IMPORT: ImportErrorCode,
  DEAL: DealErrorCode,
  CONSENT: ConsentErrorCode,
  BUDGET: BudgetErrorCode,
  GDPR: GdprErrorCode,
});
