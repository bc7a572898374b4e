/** Word lists of the demo data: plausible, international, and obviously fictional in combination. */
export const FIRST_NAMES = [
  'Ada', 'Grace', 'Alan', 'Katherine', 'Margaret', 'Linus', 'Hedy', 'Dorothy', 'Tim', 'Barbara', 'Edsger', 'Frances', 'Donald', 'Radia', 'Ken',
  'Sophie', 'Yuki', 'Amara', 'Mateo', 'Priya', 'Lars', 'Chiara', 'Tomás', 'Aiko', 'Noah', 'Fatima', 'Jonas', 'Ingrid', 'Kwame', 'Elena',
  'Rafael', 'Mei', 'Oskar', 'Zainab', 'Liam', 'Anouk', 'Dmitri', 'Isabel', 'Kofi', 'Hannah', 'Arjun', 'Léa', 'Emil', 'Nadia', 'Sven',
];
export const LAST_NAMES = [
  'Lovelace', 'Hopper', 'Turing', 'Johnson', 'Hamilton', 'Torvalds', 'Lamarr', 'Vaughan', 'Berners-Lee', 'Liskov', 'Dijkstra', 'Allen',
  'Knuth', 'Perlman', 'Thompson', 'Müller', 'Tanaka', 'Okafor', 'García', 'Sharma', 'Andersen', 'Rossi', 'Silva', 'Sato', 'Dubois',
  'Haddad', 'Schmidt', 'Larsen', 'Mensah', 'Popescu', 'Costa', 'Chen', 'Nowak', 'Bello', 'Murphy', 'de Vries', 'Ivanov', 'Fernández',
  'Asante', 'Weber', 'Iyer', 'Moreau', 'Lindqvist', 'Karimi', 'Berg',
];
export const COMPANY_STEMS = [
  'Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent', 'Hooli', 'Vandelay', 'Wonka', 'Aperture',
  'Massive Dynamic', 'Oscorp', 'Gringotts', 'Monarch', 'Nakatomi', 'Pied Piper', 'Dunder Mifflin', 'Prestige', 'Blue Sun', 'Virtucon',
  'Zorg', 'Octan', 'Gekko', 'Krusty', 'Sterling', 'Bluth', 'Cogswell',
];
export const COMPANY_SUFFIXES = ['Ltd', 'GmbH', 'Inc', 'SA', 'BV', 'AB', 'Oy', 'Labs', 'Group', 'Systems'];
export const TITLES = ['CEO', 'CTO', 'Head of Marketing', 'Procurement Manager', 'VP Sales', 'Engineering Manager', 'Operations Lead', 'CFO', 'Product Owner', 'IT Director'];
export const TAGS = ['enterprise', 'smb', 'partner', 'newsletter', 'trade-show', 'vip', 'renewal', 'churn-risk'];
export const SOURCES = ['web', 'email', 'phone', 'event', 'referral', 'social', 'other'] as const;
export const CAMPAIGNS = ['spring-webinar', 'autumn-expo', 'newsletter-q1', 'newsletter-q3', 'partner-referral', 'paid-search', 'linkedin-ads'];
export const NEEDS = ['Replace spreadsheets for pipeline tracking', 'Consolidate three CRMs after a merger', 'GDPR-compliant contact management', 'Forecasting for a growing sales team', 'Marketing spend visibility'];
export const NOTES = ['Asked for a demo of the enterprise plan', 'Met at the booth; wants pricing', 'Downloaded the whitepaper', 'Referred by an existing customer', 'Evaluating two competitors'];
export const LOST_REASONS = ['No budget this year', 'Went with a competitor', 'Project cancelled', 'No response after three follow-ups', 'Not a fit'];
export const COMPETITORS = ['Salesforce', 'HubSpot', 'Pipedrive', 'Zoho', 'In-house tool'];
export const SUMMARIES = ['Discovery call about current process', 'Sent pricing and case studies', 'Demo of pipeline and reporting', 'Follow-up on security questionnaire', 'Negotiated contract terms', 'Quarterly check-in'];
export const OUTCOMES = ['positive', 'needs follow-up', 'waiting on legal', 'no decision yet', 'asked for a proposal'];
export const CHANNELS = ['phone', 'email', 'video', 'in person'];
export const STAGES = ['prospecting', 'qualification', 'proposal', 'negotiation'] as const;
export const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'GBP'] as const;
export const VENDORS = ['Google Ads', 'LinkedIn', 'ExpoCorp', 'PrintShop', 'Webinarly', 'Meta Ads'];
export const BUDGET_CATEGORIES = ['events', 'digital', 'content', 'partners'];
export const OWNERS = ['user-alice', 'user-bob', 'user-chen', 'user-dara', 'user-emeka'];
