export { defineView, type ViewDefinition } from './view.js';
export { contactsView, type ContactRow } from './contacts.js';
export { leadsView, leadInactiveSql, LEAD_INACTIVE_AFTER_HOURS, type LeadRow } from './leads.js';
export { dealsView, dealStageHistoryView, type DealRow, type DealStageHistoryRow } from './deals.js';
export { consentsView, erasedSubjectsView, activeConsentSql, type ConsentRow, type ErasedSubjectRow } from './consents.js';
export { budgetsView, budgetAllocationsView, budgetSpendView, type BudgetRow, type BudgetAllocationRow, type BudgetSpendRow } from './budgets.js';
export { timelinesView, timelineLinksView, type TimelineEntryType, type TimelineRow, type TimelineLinkRow } from './timelines.js';
