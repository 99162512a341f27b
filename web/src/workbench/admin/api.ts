/** The identity administration API (`/api/v1/identity/...`): users, departments, roles. */
import { apiFetch } from '../../shared/api'

const BASE = '/api/v1/identity'

export type UserKind = 'staff' | 'citizen' | 'enterprise' | 'system'
export const USER_KINDS: readonly UserKind[] = ['staff', 'citizen', 'enterprise']

export interface RoleAssignment {
  /** The assignment's id, for removal. */
  id: string
  role: string
  name_zh?: string
  name_en?: string
  department_code: string | null
  jurisdiction: string[]
}

export interface AdminUser {
  id: string
  username: string
  display_name: string
  kind: UserKind
  department_code: string | null
  active: boolean
  locked: boolean
  mfa_enrolled: boolean
  roles: RoleAssignment[]
  /** Masked by the server (138****1234). */
  phone: string | null
}

export interface UserPage {
  items: AdminUser[]
  total: number
}

export interface UserQuery {
  q?: string
  department?: string
  role?: string
  kind?: string
  limit: number
  offset: number
}

export interface NewUser {
  username: string
  display_name: string
  kind: UserKind
  department_code: string | null
  phone: string | null
  /** None: the person signs in by SMS (citizens) or gets a password later. */
  password: string | null
}

export interface UserChange {
  display_name?: string
  department_code?: string | null
  active?: boolean
}

export interface NewAssignment {
  role: string
  department_code?: string
  jurisdiction: string[]
}

/** The kinds of unit a department can be (the profile's `DepartmentKind`). */
export const DEPARTMENT_KINDS = [
  'government',
  'bureau',
  'agency',
  'centre',
  'subdistrict-office',
  'community-station',
] as const
export type DepartmentKind = (typeof DEPARTMENT_KINDS)[number]

export interface Department {
  code: string
  name_zh: string
  name_en: string
  kind: string
  region_code: string | null
  children: Department[]
}

export interface NewDepartment {
  code: string
  name_zh: string
  name_en: string
  kind: DepartmentKind
  parent_code: string | null
  region_code: string | null
}

/** A PATCH to a department: only the fields sent change; `parent_code: null` makes it a root. */
export interface DepartmentChange {
  name_zh?: string
  name_en?: string
  kind?: DepartmentKind
  region_code?: string | null
  parent_code?: string | null
}

export interface Role {
  code: string
  name_zh: string
  name_en: string
  scope: 'district' | 'jurisdiction' | 'own'
  permissions: string[]
  mfa_required: boolean
  holders: number
}

/** A permission a module declares, with its labels. */
export interface Permission {
  name: string
  zh: string
  en: string
}

/** How a role's permission (a name or a pattern) reads: the text shown and what it stands for. */
export interface PermissionLabel {
  /** What the chip shows. */
  text: string
  /** The raw name or pattern (the chip's tooltip). */
  name: string
  /** Whether it is a pattern covering several permissions. */
  pattern: boolean
}

function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

const user = (id: string): string => `${BASE}/users/${encodeURIComponent(id)}`

export function listUsers(query: UserQuery): Promise<UserPage> {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') {
      params.set(name, String(value))
    }
  }
  return apiFetch<UserPage>(`${BASE}/users?${params}`)
}

export const createUser = (body: NewUser): Promise<AdminUser> =>
  apiFetch<AdminUser>(`${BASE}/users`, json('POST', body))

export const updateUser = (id: string, change: UserChange): Promise<AdminUser> =>
  apiFetch<AdminUser>(user(id), json('PATCH', change))

export const unlockUser = (id: string): Promise<unknown> => apiFetch(`${user(id)}/unlock`, { method: 'POST' })

export const resetMfa = (id: string): Promise<unknown> => apiFetch(`${user(id)}/reset-mfa`, { method: 'POST' })

export const setPassword = (id: string, password: string): Promise<unknown> =>
  apiFetch(`${user(id)}/password`, json('POST', { password }))

export const assignRole = (id: string, body: NewAssignment): Promise<unknown> =>
  apiFetch(`${user(id)}/roles`, json('POST', body))

export const removeRole = (id: string, assignmentId: string): Promise<unknown> =>
  apiFetch(`${user(id)}/roles/${encodeURIComponent(assignmentId)}`, { method: 'DELETE' })

export const listDepartments = (): Promise<Department[]> => apiFetch<Department[]>(`${BASE}/departments`)

export const createDepartment = (body: NewDepartment): Promise<Department> =>
  apiFetch<Department>(`${BASE}/departments`, json('POST', body))

export const updateDepartment = (code: string, change: DepartmentChange): Promise<Department> =>
  apiFetch<Department>(`${BASE}/departments/${encodeURIComponent(code)}`, json('PATCH', change))

/** Each department's parent code (null for a root), by code. */
export function parentCodes(tree: Department[], parent: string | null = null, into = new Map<string, string | null>()) {
  for (const department of tree) {
    into.set(department.code, parent)
    parentCodes(department.children ?? [], department.code, into)
  }
  return into
}

/** The codes of a department and everything under it (where it cannot be moved to). */
export function subtreeCodes(department: Department): Set<string> {
  return new Set(flattenDepartments([department]).map((item) => item.department.code))
}

export const listRoles = (): Promise<Role[]> => apiFetch<Role[]>(`${BASE}/roles`)

export const listPermissions = (): Promise<Permission[]> => apiFetch<Permission[]>(`${BASE}/permissions`)

/** Every department of the tree, depth first, with its depth (for indented choices). */
export function flattenDepartments(tree: Department[], depth = 0): { department: Department; depth: number }[] {
  return tree.flatMap((department) => [
    { department, depth },
    ...flattenDepartments(department.children ?? [], depth + 1),
  ])
}

/** A bilingual record's name in the page's language. */
export function nameIn(record: { name_zh?: string; name_en?: string }, locale: string): string {
  return (locale.startsWith('zh') ? record.name_zh || record.name_en : record.name_en || record.name_zh) ?? ''
}
