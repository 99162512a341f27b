/** The workbench's sections, in side-navigation order, addressed by the URL hash. */
export const WORKBENCH_ROUTES = ['inbox', 'geo', 'cases', 'catalogue', 'admin'] as const
export type WorkbenchRoute = (typeof WORKBENCH_ROUTES)[number]
