/** Who is signed in, as `GET /api/v1/identity/me` describes them, and what they may do. */
import { computed, shallowRef } from 'vue'
import { apiFetch } from '../shared/api'
import { session } from './session'

export interface DepartmentRef {
  code: string
  name_zh: string
  name_en: string
}

export interface MyRole {
  role: string
  name_zh: string
  name_en: string
  department_code: string | null
  jurisdiction: string[]
}

export interface Me {
  id: string
  username: string
  display_name: string
  kind: string
  department: DepartmentRef | null
  roles: MyRole[]
  permissions: string[]
  mfa: { enrolled: boolean; required: boolean }
}

export const ME_PATH = '/api/v1/identity/me'

/** The provider's own page for setting up an authenticator (a server page, not a route). */
export const MFA_SETUP_PATH = '/oidc/account/mfa'

const me = shallowRef<Me | null>(null)
const meError = shallowRef<unknown>(null)

/** Ask who is signed in; a failure leaves the page usable with the ID token's name. */
export async function loadMe(): Promise<void> {
  if (session.status !== 'signed-in') {
    me.value = null
    return
  }
  try {
    me.value = await apiFetch<Me>(ME_PATH)
    meError.value = null
  } catch (error) {
    me.value = null
    meError.value = error
  }
}

/** Whether a held permission (a name, or a pattern such as `identity.*`) covers `wanted`. */
export function grants(held: string, wanted: string): boolean {
  if (!held.includes('*')) {
    return held === wanted
  }
  const pattern = held.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${pattern.join('.*')}$`).test(wanted)
}

/** The signed-in person for a component: name, account and permission checks. */
export function useAccount() {
  const signedIn = computed(() => session.status === 'signed-in')
  const displayName = computed(() => {
    if (!signedIn.value) {
      return ''
    }
    const claims = session.tokens?.claims
    return me.value?.display_name || claims?.name || claims?.preferred_username || ''
  })
  const granted = computed(() => me.value?.permissions ?? [])
  return {
    signedIn,
    displayName,
    me,
    meError,
    can: (permission: string): boolean => granted.value.some((held) => grants(held, permission)),
  }
}
