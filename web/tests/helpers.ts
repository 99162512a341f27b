import { flushPromises, mount, type ComponentMountingOptions } from '@vue/test-utils'
import { vi } from 'vitest'
import type { Component } from 'vue'
import { loadMe, type Me } from '../src/auth/account'
import { startSession } from '../src/auth/session'
import { TOKENS_KEY, type StoredTokens } from '../src/auth/storage'
import { createAppI18n, type Locale } from '../src/shared/i18n'

/** Mount a component with the shared i18n in `locale`, as the page's main.ts would. */
export function mountIn(locale: Locale, component: Component, options: ComponentMountingOptions<unknown> = {}) {
  const i18n = createAppI18n({ locale })
  const wrapper = mount(component, { ...options, global: { plugins: [i18n] }, attachTo: document.body })
  return { wrapper, i18n }
}

export function jsonResponse(body: unknown, init: { status?: number; type?: string } = {}): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { 'content-type': init.type ?? 'application/json' },
  })
}

/** The meta body the platform answers with once the Luohu profile is loaded. */
export function metaBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: { zh: '罗湖区', en: 'Luohu District' },
    code: '440303',
    version: '0.1.0',
    mode: 'demo',
    profile: 'luohu',
    locales: ['zh-CN', 'en'],
    calendar_warnings: [],
    ...overrides,
  }
}

/** Replace fetch with one that answers every call by `answer`. */
export function stubFetch(answer: (url: string, init?: RequestInit) => Response | Promise<Response>) {
  const fetchMock = vi.fn((input: RequestInfo | URL, init?: RequestInit) =>
    Promise.resolve(answer(String(input), init)),
  )
  vi.stubGlobal('fetch', fetchMock)
  return fetchMock
}

export async function settle(): Promise<void> {
  await flushPromises()
  await flushPromises()
}

/** What `/api/v1/identity/me` answers for the demo administrator. */
export function meBody(overrides: Partial<Me> = {}): Me {
  return {
    id: 'u-admin',
    username: 'admin',
    display_name: '平台管理员（演示）',
    kind: 'staff',
    department: { code: 'government-services-data', name_zh: '区政务服务数据管理局', name_en: 'Government Services and Data Bureau' },
    roles: [
      {
        role: 'platform-admin',
        name_zh: '平台管理员',
        name_en: 'Platform administrator',
        department_code: 'government-services-data',
        jurisdiction: ['440303'],
      },
    ],
    permissions: [
      'identity.profile.read',
      'identity.users.read',
      'identity.users.manage',
      'identity.departments.read',
      'identity.departments.manage',
      'identity.roles.read',
      'identity.roles.manage',
    ],
    mfa: { enrolled: false, required: true },
    ...overrides,
  }
}

/** Tokens as a finished sign-in leaves them in sessionStorage. */
export function storedTokens(overrides: Partial<StoredTokens> = {}): StoredTokens {
  return {
    access_token: 'access-1',
    refresh_token: 'refresh-1',
    id_token: 'id-1',
    expires_at: Date.now() + 3_600_000,
    scope: 'openid profile phone api offline_access',
    claims: { sub: 'u-admin', name: '平台管理员（演示）', preferred_username: 'admin' },
    ...overrides,
  }
}

/**
 * Start a signed-in session on `page` with `me` as the person, the way a page finds it
 * after the provider sent it back. Returns the spy standing in for page navigation.
 */
export async function signInAs(me: Me | null = meBody(), page: 'ioc' | 'portal' | 'workbench' = 'workbench') {
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify(storedTokens()))
  const navigate = vi.fn()
  await startSession({ page, required: page !== 'portal', navigate })
  stubFetch(() => (me ? jsonResponse(me) : jsonResponse({ code: 'not_found' }, { status: 404 })))
  await loadMe()
  vi.unstubAllGlobals()
  return navigate
}

/** Back to a signed-out tab with nothing remembered (run after each test). */
export async function signOutEverywhere(): Promise<void> {
  sessionStorage.clear()
  await startSession({ page: 'portal', required: false, navigate: () => undefined })
  await loadMe()
}
