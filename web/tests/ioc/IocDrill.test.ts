import L from 'leaflet'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import type { Kpis, KpiRegion } from '../../src/ioc/kpis'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'

const KPIS = '/api/v1/ioc/kpis'
const LUOHU: KpiRegion = { code: '440303', level: 'district', name_zh: '罗湖区', name_en: 'Luohu District' }
const DONGMEN: KpiRegion = { code: '440303001', level: 'subdistrict', name_zh: '东门街道', name_en: 'Dongmen Subdistrict' }

const square = (west: number, south: number, size: number) => ({
  type: 'Polygon',
  coordinates: [[[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]],
})
const feature = (region: KpiRegion, parent: string | null, geometry: ReturnType<typeof square>) => ({
  type: 'Feature',
  id: region.code,
  geometry,
  properties: { ...region, parent, synthetic: false, area_m2: 1, centroid: [0, 0] },
})
const DISTRICT = feature(LUOHU, null, square(114.1, 22.5, 0.1))
const SUBDISTRICTS = {
  type: 'FeatureCollection',
  features: [
    feature(DONGMEN, '440303', square(114.1, 22.5, 0.05)),
    feature({ code: '440303002', level: 'subdistrict', name_zh: '南湖街道', name_en: 'Nanhu Subdistrict' }, '440303', square(114.15, 22.55, 0.05)),
  ],
}

function kpis(region: KpiRegion, open: number): Kpis {
  return {
    as_of: '2026-05-01T08:00:05Z',
    region,
    cases: {
      reported_today: 1,
      reported_today_by_channel: {},
      open,
      overdue: 0,
      window_days: 30,
      closed: 0,
      closed_on_time: 0,
      on_time_closure_rate: null,
      rated: 0,
      satisfied: 0,
      satisfaction_rate: null,
    },
    devices: { total: 0, online: 0, offline: 0, fault: 0, unknown: 0, online_rate: null },
    alarms: { open: 0, by_severity: {}, acknowledged: 0, unacknowledged: 0 },
  }
}

const subdistrict = (wrapper: ReturnType<typeof mountIn>['wrapper'], code: string) =>
  wrapper.get(`path.ioc-subdistrict[data-region="${code}"]`).element
const fire = (element: Element, type: string): void => void element.dispatchEvent(new MouseEvent(type, { bubbles: true }))
const crumbs = (wrapper: ReturnType<typeof mountIn>['wrapper']): string[] =>
  wrapper.get('[data-testid="ioc-crumbs"]').findAll('button, span').map((part) => part.text())
const sameBounds = (bounds: L.LatLngBoundsExpression, south: number, west: number, north: number, east: number): boolean =>
  L.latLngBounds(bounds as L.LatLngBoundsLiteral).equals(L.latLngBounds([south, west], [north, east]), 1e-9)

describe('IOC drill-down by subdistrict', () => {
  beforeEach(async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'ioc.read'] }), 'ioc')
  })

  function network(kpisFor: (region: string | null) => Response = (region) => jsonResponse(region ? kpis(DONGMEN, 5) : kpis(LUOHU, 31))) {
    return stubNetwork({
      '/api/v1/meta': () => jsonResponse(metaBody()),
      [KPIS]: (url) => kpisFor(url.searchParams.get('region')),
      '/api/v1/geo/regions/440303': () => jsonResponse(DISTRICT),
      '/api/v1/geo/regions': () => jsonResponse(SUBDISTRICTS),
    })
  }

  async function mounted(locale: 'zh-CN' | 'en' = 'zh-CN') {
    const { wrapper } = mountIn(locale, IocApp)
    await settle()
    await settle()
    return wrapper
  }

  it('draws the subdistricts from the geo API, lit up under the pointer', async () => {
    const net = network()
    const wrapper = await mounted()

    const asked = net.callsTo('/api/v1/geo/regions')[0]!.url.searchParams
    expect([asked.get('level'), asked.get('parent'), asked.get('geometry')]).toEqual(['subdistrict', '440303', 'true'])
    expect(wrapper.findAll('path.ioc-subdistrict').map((path) => path.attributes('data-region'))).toEqual(['440303001', '440303002'])
    expect(crumbs(wrapper)).toEqual(['罗湖区', '点击街道查看该街道指标'])
    expect(wrapper.find('[data-testid="ioc-crumb-district"]').exists()).toBe(false)

    const path = subdistrict(wrapper, '440303002')
    fire(path, 'mouseover')
    expect(path.getAttribute('data-hovered')).toBe('true')
    fire(path, 'mouseout')
    expect(path.getAttribute('data-hovered')).toBe('false')
  })

  it('counts the subdistrict clicked and zooms to it, and goes back to the district by the breadcrumb', async () => {
    const fitBounds = vi.spyOn(L.Map.prototype, 'fitBounds')
    const net = network()
    const wrapper = await mounted()
    expect(net.callsTo(KPIS).map((call) => call.url.search)).toEqual([''])
    expect(wrapper.get('[data-kpi="cases-open"] .ioc-kpi__figure').text()).toBe('31')

    fire(subdistrict(wrapper, '440303001'), 'click')
    await settle()

    expect(net.callsTo(KPIS).at(-1)!.url.searchParams.get('region')).toBe('440303001')
    expect(wrapper.get('[data-testid="ioc-kpis-as-of"]').text()).toBe('东门街道 · 统计于 16:00:05')
    expect(wrapper.get('[data-kpi="cases-open"] .ioc-kpi__figure').text()).toBe('5')
    expect(crumbs(wrapper)).toEqual(['罗湖区', '›', '东门街道'])
    expect(subdistrict(wrapper, '440303001').getAttribute('data-drilled')).toBe('true')
    expect(subdistrict(wrapper, '440303002').getAttribute('data-drilled')).toBe('false')
    expect(sameBounds(fitBounds.mock.calls.at(-1)![0], 22.5, 114.1, 22.55, 114.15)).toBe(true)

    await wrapper.get('[data-testid="ioc-crumb-district"]').trigger('click')
    await settle()

    expect(net.callsTo(KPIS).at(-1)!.url.searchParams.has('region')).toBe(false)
    expect(wrapper.get('[data-testid="ioc-kpis-as-of"]').text()).toBe('罗湖区 · 统计于 16:00:05')
    expect(wrapper.get('[data-kpi="cases-open"] .ioc-kpi__figure').text()).toBe('31')
    expect(wrapper.find('[data-testid="ioc-crumb-district"]').exists()).toBe(false)
    expect(subdistrict(wrapper, '440303001').getAttribute('data-drilled')).toBe('false')
    expect(sameBounds(fitBounds.mock.calls.at(-1)![0], 22.5, 114.1, 22.6, 114.2)).toBe(true)
  })

  it('names the breadcrumb in English', async () => {
    network()
    const wrapper = await mounted('en')
    fire(subdistrict(wrapper, '440303001'), 'click')
    await settle()

    expect(crumbs(wrapper)).toEqual(['Luohu District', '›', 'Dongmen Subdistrict'])
    expect(wrapper.get('[data-testid="ioc-crumb-district"]').attributes('aria-label')).toBe('Back to Luohu District')
  })

  it('says so when the subdistrict is beyond the viewer, without showing the last region’s figures', async () => {
    network((region) =>
      region
        ? jsonResponse(
            { title: '该区域不在您的管辖范围内', status: 403, code: 'region_out_of_reach' },
            { status: 403, type: 'application/problem+json' },
          )
        : jsonResponse(kpis(LUOHU, 31)),
    )
    const wrapper = await mounted()
    fire(subdistrict(wrapper, '440303001'), 'click')
    await settle()

    expect(wrapper.get('[data-testid="ioc-kpis-failed"]').text()).toBe('该区域不在您的管辖范围内')
    expect(wrapper.find('.ioc-kpi').exists()).toBe(false)
  })
})
