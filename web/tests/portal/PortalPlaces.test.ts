import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import PortalApp from '../../src/portal/PortalApp.vue'
import PortalPlaces from '../../src/portal/PortalPlaces.vue'
import type { PlaceOut } from '../../src/portal/places'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../helpers'
import { CITIZEN } from '../shared/caseFixtures'

vi.mock('../../src/shared/PointPicker.vue', () => ({
  __esModule: true,
  default: defineComponent({
    emits: ['update:modelValue'],
    setup: (_props, { emit }) => () =>
      h('button', { type: 'button', 'data-testid': 'fake-map', onClick: () => emit('update:modelValue', { lon: 114.1148, lat: 22.554 }) }),
  }),
}))

const PLACES = '/api/v1/notify/places'
const LOCATE = '/api/v1/geo/locate'

function place(overrides: Partial<PlaceOut> = {}): PlaceOut {
  return {
    id: 'p-1',
    kind: 'home',
    label: '家',
    lon: 114.1201,
    lat: 22.5483,
    region_code: '440303001002003',
    created_at: '2026-05-01T08:00:00Z',
    ...overrides,
  }
}

const region = (code: string, zh: string, en: string) => () =>
  jsonResponse({ type: 'Feature', id: code, geometry: null, properties: { code, name_zh: zh, name_en: en } })

const located = () => jsonResponse({ outside: false, district: null, subdistrict: null, community: null, grid: null })
const problem = (status: number, body: Record<string, unknown>) => jsonResponse({ status, ...body }, { status, type: 'application/problem+json' })

describe('关注地点', () => {
  beforeEach(async () => {
    await signInAs(CITIZEN, 'portal')
  })

  it('lists my places with what they are for, their kind and their area', async () => {
    stubNetwork({
      [PLACES]: () => jsonResponse([place(), place({ id: 'p-2', kind: 'follow', label: 'follow', region_code: '440303001' })]),
      '/api/v1/geo/regions/440303001': region('440303001', '东门街道', 'Dongmen Subdistrict'),
      '/api/v1/geo/regions/440303001002': region('440303001002', '湖贝社区', 'Hubei Community'),
    })
    const { wrapper } = mountIn('zh-CN', PortalPlaces)
    await settle()

    expect(wrapper.get('[data-testid="places-purpose"]').text()).toBe('在这些地点发布的区域通知（如暴雨预警）会发送给您。')
    expect(wrapper.get('[data-testid="places-count"]').text()).toBe('2/5')
    const items = wrapper.findAll('[data-place]')
    expect(items.map((item) => item.get('[data-testid="place-name"]').text())).toEqual(['家', '关注'])
    expect(items[0]!.get('[data-kind]').text()).toBe('家')
    expect(items[0]!.get('[data-testid="place-area"]').text()).toBe('东门街道 · 湖贝社区')
    expect(items[1]!.get('[data-testid="place-area"]').text()).toBe('东门街道')
  })

  it('adds a place picked on the map, posting its kind, name and point', async () => {
    const added = place({ id: 'p-9', kind: 'follow', label: '公司', lon: 114.1148, lat: 22.554 })
    const { callsTo } = stubNetwork({
      [PLACES]: (_url, init) => (init?.method === 'POST' ? jsonResponse(added, { status: 201 }) : jsonResponse([])),
      [LOCATE]: located,
    })
    const { wrapper } = mountIn('zh-CN', PortalPlaces)
    await settle()
    expect(wrapper.get('[data-testid="places-none"]').text()).toBe('您还没有设置地点。')

    await wrapper.get('input[name="kind"][value="follow"]').setValue(true)
    await wrapper.get('input[name="label"]').setValue('  公司 ')
    await wrapper.get('[data-testid="toggle-map"]').trigger('click')
    await settle()
    await wrapper.get('[data-testid="fake-map"]').trigger('click')
    await wrapper.get('[data-testid="place-form"]').trigger('submit')
    await settle()

    const posts = callsTo(PLACES).filter((call) => call.method === 'POST')
    expect(posts).toHaveLength(1)
    expect(posts[0]!.headers.get('content-type')).toBe('application/json')
    expect(JSON.parse(posts[0]!.body)).toEqual({ kind: 'follow', label: '公司', lon: 114.1148, lat: 22.554 })
    expect(wrapper.findAll('[data-testid="place-name"]').map((name) => name.text())).toEqual(['公司'])
    expect(wrapper.find('[data-testid="places-none"]').exists()).toBe(false)
    // The form is ready for the next place.
    expect((wrapper.get('input[name="label"]').element as HTMLInputElement).value).toBe('')
    expect(wrapper.find('[data-testid="picked-point"]').exists()).toBe(false)
  })

  it('asks for a point before posting anything', async () => {
    const { callsTo } = stubNetwork({ [PLACES]: () => jsonResponse([]) })
    const { wrapper } = mountIn('en', PortalPlaces)
    await settle()
    // The form has no address field: the location hint does not offer one.
    expect(wrapper.text()).toContain('No location yet.')
    expect(wrapper.text()).not.toContain('an address alone will also do')
    await wrapper.get('[data-testid="place-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="place-error"]').text()).toBe('Use your current location or pick the place on the map first')
    expect(callsTo(PLACES).filter((call) => call.method === 'POST')).toEqual([])
  })

  it('shows the title of a refusal, such as a point outside the district', async () => {
    stubNetwork({
      [PLACES]: (_url, init) =>
        init?.method === 'POST'
          ? problem(422, {
              title: '该位置不在本区范围内',
              code: 'outside_district',
              detail: 'the place is outside the district',
              errors: [{ field: 'lon', message: 'outside the district' }],
            })
          : jsonResponse([]),
      [LOCATE]: located,
    })
    const { wrapper } = mountIn('zh-CN', PortalPlaces)
    await settle()
    await wrapper.get('[data-testid="toggle-map"]').trigger('click')
    await settle()
    await wrapper.get('[data-testid="fake-map"]').trigger('click')
    await wrapper.get('[data-testid="place-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="place-error"]').text()).toBe('该位置不在本区范围内')
    expect(wrapper.findAll('[data-place]')).toHaveLength(0)
    // The point stays, so the resident can move it and try again.
    expect(wrapper.find('[data-testid="picked-point"]').exists()).toBe(true)
  })

  it('removes a place', async () => {
    const { callsTo } = stubNetwork({
      [PLACES]: () => jsonResponse([place(), place({ id: 'p-2', kind: 'follow', label: '公司' })]),
      [`${PLACES}/p-1`]: () => new Response(null, { status: 204 }),
    })
    const { wrapper } = mountIn('zh-CN', PortalPlaces)
    await settle()
    await wrapper.get('[data-place="p-1"] [data-testid="place-remove"]').trigger('click')
    await settle()

    expect(callsTo(`${PLACES}/p-1`).map((call) => call.method)).toEqual(['DELETE'])
    expect(wrapper.findAll('[data-testid="place-name"]').map((name) => name.text())).toEqual(['公司'])
  })

  it('offers no form once the five places are set', async () => {
    stubNetwork({ [PLACES]: () => jsonResponse(['1', '2', '3', '4', '5'].map((id) => place({ id: `p-${id}` }))) })
    const { wrapper } = mountIn('zh-CN', PortalPlaces)
    await settle()

    expect(wrapper.find('[data-testid="place-form"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="places-full"]').text()).toContain('最多可设置 5 个地点')
  })

  it('is reached from 我的 and from 消息', async () => {
    stubNetwork({
      [PLACES]: () => jsonResponse([]),
      '/api/v1/notify/messages': () => jsonResponse({ items: [], next_cursor: null }),
    })
    const { wrapper } = mountIn('zh-CN', PortalApp)
    const go = async (hash: string): Promise<void> => {
      window.location.hash = hash
      window.dispatchEvent(new HashChangeEvent('hashchange'))
      await settle()
    }
    await go('#/mine')
    expect(wrapper.get('a[data-entry="places"]').attributes('href')).toBe('#/places')
    expect(wrapper.get('a[data-entry="places"]').text()).toContain('关注地点')
    await go('#/messages')
    expect(wrapper.get('[data-testid="messages-places"]').attributes('href')).toBe('#/places')

    await go('#/places')
    expect(wrapper.get('[data-testid="places"] h2').text()).toBe('关注地点')
    expect(wrapper.get('[data-tab="mine"]').attributes('aria-current')).toBe('page')
  })
})

describe('关注地点 for a visitor', () => {
  it('asks to sign in first', async () => {
    const { calls } = stubNetwork({})
    const { wrapper } = mountIn('en', PortalPlaces)
    await settle()
    expect(wrapper.get('[data-testid="places-guest"]').text()).toContain('Sign in to choose the places you get area notices for.')
    expect(calls.filter((call) => call.url.pathname === PLACES)).toEqual([])
  })
})
