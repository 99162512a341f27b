import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import type { OpenCaseFeature } from '../../src/ioc/openCases'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'
import { fakeCharts, liveStream } from './fixtures'

vi.mock('../../src/ioc/charts', () => fakeCharts)

const CASES = '/api/v1/ioc/cases'
const square = (west: number, south: number, size: number) => ({
  type: 'Polygon',
  coordinates: [[[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]],
})
const DISTRICT = {
  type: 'Feature',
  geometry: square(114.1, 22.5, 0.1),
  properties: { code: '440303', level: 'district', name_zh: '罗湖区', name_en: 'Luohu', parent: null, synthetic: false, area_m2: 1, centroid: [114.15, 22.55] },
}
const SUBDISTRICTS = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      geometry: square(114.1, 22.5, 0.05),
      properties: { code: '440303001', level: 'subdistrict', name_zh: '东门街道', name_en: 'Dongmen', parent: '440303', synthetic: false, area_m2: 1, centroid: [0, 0] },
    },
  ],
}

function openCase(number: string, status: string, overdue: boolean, lon = 114.12): OpenCaseFeature {
  return {
    type: 'Feature',
    id: number,
    geometry: { type: 'Point', coordinates: [lon, 22.52] },
    properties: {
      number,
      category_code: '0101',
      status,
      due_at: overdue ? '2026-05-01T02:00:00Z' : '2026-05-03T02:00:00Z',
      overdue,
      region_code: '440303001001',
    },
  }
}

const paths = (wrapper: ReturnType<typeof mountIn>['wrapper']) => wrapper.findAll('path.ioc-case')
const path = (wrapper: ReturnType<typeof mountIn>['wrapper'], number: string) => wrapper.get(`path.ioc-case[data-number="${number}"]`)

describe('IOC open cases on the map', () => {
  let cases: OpenCaseFeature[]
  let live: ReturnType<typeof liveStream>

  beforeEach(() => {
    cases = [openCase('LH20260501000001', 'handling', false), openCase('LH20260501000002', 'dispatched', true, 114.13)]
    live = liveStream()
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  async function mounted(permissions: string[]) {
    await signInAs(meBody({ permissions: ['identity.profile.read', ...permissions] }), 'ioc')
    const net = stubNetwork({
      '/api/v1/meta': () => jsonResponse(metaBody()),
      '/api/v1/geo/regions/440303': () => jsonResponse(DISTRICT),
      '/api/v1/geo/regions': () => jsonResponse(SUBDISTRICTS),
      [CASES]: () => jsonResponse({ type: 'FeatureCollection', features: cases }),
      '/api/v1/live': () => live.response(),
    })
    const { wrapper } = mountIn('zh-CN', IocApp)
    await settle()
    await settle()
    return { net, wrapper }
  }

  it('draws each open case in its state’s colour, and red when overdue', async () => {
    const { net, wrapper } = await mounted(['ioc.read'])

    expect(net.callsTo(CASES)[0]!.url.searchParams.get('limit')).toBe('2000')
    expect(net.callsTo(CASES)[0]!.url.searchParams.has('region')).toBe(false)
    expect(paths(wrapper)).toHaveLength(2)
    const onTime = path(wrapper, 'LH20260501000001')
    expect([onTime.attributes('data-status'), onTime.attributes('data-overdue'), onTime.attributes('stroke')]).toEqual(['handling', 'false', '#facc15'])
    const late = path(wrapper, 'LH20260501000002')
    expect([late.attributes('data-overdue'), late.attributes('stroke'), late.attributes('fill')]).toEqual(['true', '#ef4444', '#ef4444'])
    // The overdue one is drawn last, over the others.
    expect(paths(wrapper).at(-1)!.attributes('data-number')).toBe('LH20260501000002')

    expect(wrapper.get('[data-testid="ioc-case-count"]').text()).toBe('2')
    expect(wrapper.get('[data-testid="ioc-case-legend"]').findAll('[data-status]').map((item) => item.text())).toEqual([
      '待签收 1',
      '处置中 1',
      '超期 1',
    ])
  })

  it('opens a popup with the case’s number, state and deadline', async () => {
    const { wrapper } = await mounted(['ioc.read'])
    path(wrapper, 'LH20260501000002').element.dispatchEvent(new MouseEvent('click', { bubbles: true }))
    await settle()
    const popup = wrapper.get('.ioc-popup')
    expect(popup.text()).toContain('LH20260501000002')
    expect(popup.text()).toContain('待签收')
    expect(popup.text()).toContain('已超期，时限 05-01 10:00')
  })

  it('hides and shows the layer by its chip', async () => {
    const { wrapper } = await mounted(['ioc.read'])
    const chip = wrapper.get('[data-testid="ioc-case-filter"] [data-layer="cases"]')
    await chip.trigger('click')
    expect(chip.attributes('aria-pressed')).toBe('false')
    expect(paths(wrapper)).toHaveLength(0)
    await chip.trigger('click')
    expect(paths(wrapper)).toHaveLength(2)
    expect(path(wrapper, 'LH20260501000002').attributes('data-overdue')).toBe('true')
  })

  it('reads the cases again every 30 seconds, and shortly after case events, once per burst', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const { net, wrapper } = await mounted(['ioc.read', 'live.read'])
    expect(net.callsTo(CASES)).toHaveLength(1)
    expect(net.callsTo('/api/v1/live').some((call) => call.url.searchParams.getAll('types').join() === 'case.*')).toBe(true)

    cases = [...cases, openCase('LH20260501000003', 'accepted', false, 114.14)]
    live.event('case.created', { number: 'LH20260501000003', status: 'accepted' })
    live.event('case.register', { number: 'LH20260501000001', status: 'registered' })
    await settle()
    expect(net.callsTo(CASES)).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    await settle()
    expect(net.callsTo(CASES)).toHaveLength(2)
    expect(paths(wrapper)).toHaveLength(3)

    cases = cases.slice(1)
    await vi.advanceTimersByTimeAsync(30_000)
    await settle()
    expect(net.callsTo(CASES)).toHaveLength(3)
    expect(paths(wrapper).map((item) => item.attributes('data-number')).sort()).toEqual(['LH20260501000002', 'LH20260501000003'])
  })

  it('follows the subdistrict drilled into', async () => {
    const { net, wrapper } = await mounted(['ioc.read'])
    wrapper.get('path.ioc-subdistrict[data-region="440303001"]').element.dispatchEvent(new MouseEvent('click', { bubbles: true }))
    await settle()
    expect(net.callsTo(CASES).at(-1)!.url.searchParams.get('region')).toBe('440303001')
    expect(net.callsTo('/api/v1/ioc/trend').at(-1)!.url.searchParams.get('region')).toBe('440303001')
  })

  it('are not asked for, nor their chip shown, without ioc.read', async () => {
    const { net, wrapper } = await mounted(['live.read'])
    expect(net.callsTo(CASES)).toHaveLength(0)
    expect(wrapper.find('[data-testid="ioc-case-filter"]').exists()).toBe(false)
    expect(net.callsTo('/api/v1/live').some((call) => call.url.searchParams.getAll('types').includes('case.*'))).toBe(false)
  })
})
