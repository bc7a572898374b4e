// The GDPR routes moved to write-side/gdpr/routes.ts (issue 10); this name stays for build-app.ts.
export { gdprRoutes as subjectRoutes, type GdprDeps } from './gdpr/routes.js';
