import { flushPromises, mount, type ComponentMountingOptions } from '@vue/test-utils'
import { vi } from 'vitest'
import type { Component } from 'vue'
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
