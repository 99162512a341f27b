import { CASE_DESKS, DESK_ROLES, type CaseDesk } from './cases/desks'

/** The workbench's sections, in side-navigation order, addressed by the URL hash. */
export const WORKBENCH_ROUTES = [
  'inbox',
  'geo',
  'cases',
  'catalogue',
  ...CASE_DESKS,
  'devices',
  'alarms',
  'alarm-rules',
  'plans',
  'evaluation',
  'users',
  'departments',
  'roles',
  'audit',
] as const
export type WorkbenchRoute = (typeof WORKBENCH_ROUTES)[number]

/** The sections everyone signed in sees. */
export const WORK_ROUTES = ['inbox', 'geo', 'cases', 'catalogue'] as const satisfies readonly WorkbenchRoute[]

/** The analysis sections, each shown to holders of its permission. */
export const ANALYSIS_PERMISSION = {
  evaluation: 'cases.evaluate',
} as const satisfies Partial<Record<WorkbenchRoute, string>>
export type AnalysisRoute = keyof typeof ANALYSIS_PERMISSION
export const ANALYSIS_ROUTES = Object.keys(ANALYSIS_PERMISSION) as AnalysisRoute[]

export function isAnalysisRoute(route: WorkbenchRoute): route is AnalysisRoute {
  return route in ANALYSIS_PERMISSION
}

/** The IoT sensing sections (物联感知), each shown to holders of its read permission. */
export const SENSING_PERMISSION = {
  devices: 'telemetry.devices.read',
  alarms: 'alarms.read',
  'alarm-rules': 'alarms.read',
} as const satisfies Partial<Record<WorkbenchRoute, string>>
export type SensingRoute = keyof typeof SENSING_PERMISSION
export const SENSING_ROUTES = Object.keys(SENSING_PERMISSION) as SensingRoute[]

export function isSensingRoute(route: WorkbenchRoute): route is SensingRoute {
  return route in SENSING_PERMISSION
}

/** The emergency command sections (应急指挥), each shown to holders of its read permission. */
export const EMERGENCY_PERMISSION = {
  plans: 'plans.read',
} as const satisfies Partial<Record<WorkbenchRoute, string>>
export type EmergencyRoute = keyof typeof EMERGENCY_PERMISSION
export const EMERGENCY_ROUTES = Object.keys(EMERGENCY_PERMISSION) as EmergencyRoute[]

export function isEmergencyRoute(route: WorkbenchRoute): route is EmergencyRoute {
  return route in EMERGENCY_PERMISSION
}

/** The administration sections, each shown to holders of its read permission. */
export const ADMIN_PERMISSION = {
  users: 'identity.users.read',
  departments: 'identity.departments.read',
  roles: 'identity.roles.read',
  audit: 'audit.read',
} as const satisfies Partial<Record<WorkbenchRoute, string>>
export type AdminRoute = keyof typeof ADMIN_PERMISSION
export const ADMIN_ROUTES = Object.keys(ADMIN_PERMISSION) as AdminRoute[]

export function isAdminRoute(route: WorkbenchRoute): route is AdminRoute {
  return route in ADMIN_PERMISSION
}

export function isCaseDesk(route: WorkbenchRoute): route is CaseDesk {
  return (CASE_DESKS as readonly string[]).includes(route)
}

/** The case desks open to someone holding `roles`, in navigation order. */
export function desksFor(roles: readonly string[]): CaseDesk[] {
  return CASE_DESKS.filter((desk) => DESK_ROLES[desk].some((role) => roles.includes(role)))
}
