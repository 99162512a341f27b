/** The portal's views, addressed by the URL hash (`#/services`). */
export const PORTAL_ROUTES = ['home', 'services', 'mine', 'report', 'reports', 'applications', 'messages', 'places'] as const
export type PortalRoute = (typeof PORTAL_ROUTES)[number]

/** The three tabs of the bottom bar. */
export const PORTAL_TABS = ['home', 'services', 'mine'] as const
export type PortalTab = (typeof PORTAL_TABS)[number]

/** Views below a tab light that tab up. */
export const TAB_OF: Record<PortalRoute, PortalTab> = {
  home: 'home',
  report: 'home',
  services: 'services',
  mine: 'mine',
  reports: 'mine',
  applications: 'mine',
  messages: 'mine',
  places: 'mine',
}

/** The entries on the home view; each opens a view of its own. */
export const PORTAL_ENTRIES = ['report', 'services', 'applications'] as const
export type PortalEntry = (typeof PORTAL_ENTRIES)[number]
