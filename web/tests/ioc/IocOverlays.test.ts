import { beforeEach, describe, expect, it, vi } from 'vitest'
import IocApp from '../../src/ioc/IocApp.vue'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, meBody, metaBody, mountIn, settle, signInAs } from '../helpers'
import { fakeCharts } from './fixtures'

vi.mock('../../src/ioc/charts', () => fakeCharts)

const REGIONS = '/api/v1/geo/regions'
const LANDMARKS = '/api/v1/geo/collections/landmarks/items'

const square = (west: number, south: number, size: number) => ({
  type: 'Polygon',
  coordinates: [[[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]],
})
const region = (code: string, level: string, parent: string | null, zh: string, en: string, west: number, south: number, size: number, synthetic = true) => ({
  type: 'Feature',
  id: code,
  geometry: square(west, south, size),
  properties: { code, level, parent, name_zh: zh, name_en: en, synthetic, area_m2: 1, centroid: [west + size / 2, south + size / 2] },
})

const DISTRICT = region('440303', 'district', null, '罗湖区', 'Luohu District', 114.1, 22.5, 0.1, false)
const SUBDISTRICTS = [
  region('440303001', 'subdistrict', '440303', '东门街道', 'Dongmen Subdistrict', 114.1, 22.5, 0.05, false),
  region('440303002', 'subdistrict', '440303', '南湖街道', 'Nanhu Subdistrict', 114.15, 22.55, 0.05, false),
]
const COMMUNITIES = [
  region('440303001001', 'community', '440303001', '大塘社区', 'Datang Community', 114.1, 22.5, 0.025),
  region('440303001002', 'community', '440303001', '湖贝社区', 'Hubei Community', 114.125, 22.5, 0.025),
  region('440303002001', 'community', '440303002', '文华社区', 'Wenhua Community', 114.15, 22.55, 0.025),
]
const GRIDS = [
  region('440303001001001', 'grid', '440303001001', '大塘社区第1网格', 'Datang Grid 1', 114.1, 22.5, 0.01),
  region('440303001001002', 'grid', '440303001001', '大塘社区第2网格', 'Datang Grid 2', 114.11, 22.5, 0.01),
  region('440303001002001', 'grid', '440303001002', '湖贝社区第1网格', 'Hubei Grid 1', 114.125, 22.5, 0.01),
  region('440303002001001', 'grid', '440303002001', '文华社区第1网格', 'Wenhua Grid 1', 114.15, 22.55, 0.01),
]
const landmark = (name: string, nameEn: string, category: string, approximate: boolean, lon: number, lat: number) => ({
  type: 'Feature',
  id: name,
  geometry: { type: 'Point', coordinates: [lon, lat] },
  properties: { name, name_en: nameEn, category, approximate, synthetic: false },
})
const LANDMARK_FEATURES = [
  landmark('梧桐山', 'Wutong Mountain', 'mountain', false, 114.19, 22.58),
  landmark('渔民村', 'Yumin Village', 'village', true, 114.11, 22.52),
]

const DEVICE = {
  code: 'RG-0001',
  id: 1,
  name: '雨量计 RG-0001',
  name_en: 'Rain gauge RG-0001',
  device_type: 'rain-gauge',
  region_code: '440303001001',
  status: 'online',
  last_seen_at: '2026-05-01T08:00:00Z',
  error_count: 0,
  last_error: null,
  has_credentials: true,
  synthetic: true,
  attributes: {},
  lon: 114.105,
  lat: 22.505,
}

type Wrapper = ReturnType<typeof mountIn>['wrapper']

const chip = (wrapper: Wrapper, name: string) => wrapper.get(`[data-testid="ioc-overlay-filter"] [data-overlay="${name}"]`)
const drawn = (wrapper: Wrapper, kind: 'community' | 'grid') => wrapper.findAll(`path.ioc-${kind}`).map((path) => path.attributes('data-region'))
const regionCalls = (net: ReturnType<typeof stubNetwork>, level: string) =>
  net
    .callsTo(REGIONS)
    .map((call) => call.url.searchParams)
    .filter((params) => params.get('level') === level)
    .map((params) => params.get('parent'))
const click = (element: Element): void => void element.dispatchEvent(new MouseEvent('click', { bubbles: true }))

describe('IOC map overlays: communities, grids and landmarks', () => {
  beforeEach(async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'ioc.read', 'telemetry.devices.read'] }), 'ioc')
  })

  function network(options: { subdistricts?: typeof SUBDISTRICTS; failCommunities?: number } = {}) {
    let failures = options.failCommunities ?? 0
    return stubNetwork({
      '/api/v1/meta': () => jsonResponse(metaBody()),
      '/api/v1/devices': () => jsonResponse({ items: [DEVICE], next_cursor: null }),
      '/api/v1/ioc/cases': () => jsonResponse({ type: 'FeatureCollection', features: [] }),
      '/api/v1/geo/regions/440303': () => jsonResponse(DISTRICT),
      [REGIONS]: (url) => {
        const level = url.searchParams.get('level')
        const parent = url.searchParams.get('parent')
        if (level === 'community' && failures > 0) {
          failures -= 1
          return jsonResponse({ title: '服务暂不可用', status: 503, code: 'unavailable' }, { status: 503, type: 'application/problem+json' })
        }
        const all = level === 'subdistrict' ? (options.subdistricts ?? SUBDISTRICTS) : level === 'community' ? COMMUNITIES : GRIDS
        const found = all.filter((feature) => parent === null || feature.properties.parent === parent)
        if (url.searchParams.get('geometry') === 'true') return jsonResponse({ type: 'FeatureCollection', features: found })
        return jsonResponse({
          regions: found.map(({ properties: p }) => ({ ...p, name: { zh: p.name_zh, en: p.name_en } })),
        })
      },
      [LANDMARKS]: () => jsonResponse({ type: 'FeatureCollection', features: LANDMARK_FEATURES, numberReturned: 2, links: [] }),
    })
  }

  async function mounted(locale: 'zh-CN' | 'en' = 'zh-CN') {
    const { wrapper } = mountIn(locale, IocApp)
    await settle()
    await settle()
    return wrapper
  }

  it('starts with every overlay off and reads none of them', async () => {
    const net = network()
    const wrapper = await mounted()

    expect(['community', 'grid', 'landmarks'].map((name) => chip(wrapper, name).attributes('aria-pressed'))).toEqual(['false', 'false', 'false'])
    expect(regionCalls(net, 'community')).toEqual([])
    expect(regionCalls(net, 'grid')).toEqual([])
    expect(net.callsTo(LANDMARKS)).toHaveLength(0)
    expect(wrapper.find('[data-testid="ioc-synthetic"]').exists()).toBe(false)
  })

  it('draws the district’s community outlines when switched on, says they are synthetic, and removes them when switched off', async () => {
    const net = network()
    const wrapper = await mounted()

    await chip(wrapper, 'community').trigger('click')
    await settle()

    expect(regionCalls(net, 'community')).toEqual([null])
    expect(net.callsTo(REGIONS).at(-1)!.url.searchParams.get('geometry')).toBe('true')
    expect(drawn(wrapper, 'community')).toEqual(['440303001001', '440303001002', '440303002001'])
    const path = wrapper.get('path.ioc-community')
    expect(path.attributes('fill')).toBe('none')
    expect(path.classes()).not.toContain('leaflet-interactive')
    expect(chip(wrapper, 'community').get('.ioc-chip__count').text()).toBe('3')
    // No names at the district's scale: 100 of them would bury the subdistricts'.
    expect(wrapper.findAll('.ioc-map-label--community')).toHaveLength(0)
    expect(wrapper.get('[data-testid="ioc-synthetic-boundaries"]').text()).toBe('边界为模拟数据（生成，非实测）')

    await chip(wrapper, 'community').trigger('click')
    expect(chip(wrapper, 'community').attributes('aria-pressed')).toBe('false')
    expect(drawn(wrapper, 'community')).toEqual([])
    expect(wrapper.find('[data-testid="ioc-synthetic"]').exists()).toBe(false)

    await chip(wrapper, 'community').trigger('click')
    await settle()
    expect(drawn(wrapper, 'community')).toHaveLength(3)
    expect(regionCalls(net, 'community')).toEqual([null])
  })

  it('draws grid outlines without names, above the subdistricts and under the device markers', async () => {
    const net = network()
    const wrapper = await mounted()

    await chip(wrapper, 'grid').trigger('click')
    await settle()

    expect(regionCalls(net, 'grid')).toEqual([null])
    expect(drawn(wrapper, 'grid')).toEqual(['440303001001001', '440303001001002', '440303001002001', '440303002001001'])
    expect(wrapper.get('path.ioc-grid').attributes('fill')).toBe('none')
    expect(wrapper.findAll('.ioc-map-label--grid')).toHaveLength(0)
    const zIndex = (selector: string): number => Number((wrapper.get(selector).element.closest('.leaflet-pane') as HTMLElement).style.zIndex)
    expect(zIndex('path.ioc-grid')).toBeGreaterThanOrEqual(zIndex('path.ioc-subdistrict'))
    expect(zIndex('path.ioc-grid')).toBeLessThan(zIndex('path.ioc-device'))

    await chip(wrapper, 'grid').trigger('click')
    expect(drawn(wrapper, 'grid')).toEqual([])
  })

  it('shows only the drilled subdistrict’s communities and grids, read by parent, and the district’s again on the way back', async () => {
    const net = network()
    const wrapper = await mounted()

    click(wrapper.get('path.ioc-subdistrict[data-region="440303001"]').element)
    await settle()
    await chip(wrapper, 'community').trigger('click')
    await chip(wrapper, 'grid').trigger('click')
    await settle()
    await settle()

    expect(regionCalls(net, 'community')).toEqual(['440303001', '440303001'])
    expect(regionCalls(net, 'grid').sort()).toEqual(['440303001001', '440303001002'])
    expect(drawn(wrapper, 'community')).toEqual(['440303001001', '440303001002'])
    expect(drawn(wrapper, 'grid')).toEqual(['440303001001001', '440303001001002', '440303001002001'])
    expect(wrapper.findAll('.ioc-map-label--community').map((label) => label.text())).toEqual(['大塘社区', '湖贝社区'])
    expect(chip(wrapper, 'grid').get('.ioc-chip__count').text()).toBe('3')

    await wrapper.get('[data-testid="ioc-crumb-district"]').trigger('click')
    await settle()
    await settle()

    expect(regionCalls(net, 'community').at(-1)).toBeNull()
    expect(regionCalls(net, 'grid').at(-1)).toBeNull()
    expect(drawn(wrapper, 'community')).toHaveLength(3)
    expect(drawn(wrapper, 'grid')).toHaveLength(4)
    expect(wrapper.findAll('.ioc-map-label--community')).toHaveLength(0)

    // Back into the subdistrict: drawn again from what was read, not read again.
    const asked = net.callsTo(REGIONS).length
    click(wrapper.get('path.ioc-subdistrict[data-region="440303001"]').element)
    await settle()
    expect(drawn(wrapper, 'community')).toEqual(['440303001001', '440303001002'])
    expect(net.callsTo(REGIONS)).toHaveLength(asked)
  })

  it('draws the landmarks as labelled icons with a popup in the screen’s language, and removes them when switched off', async () => {
    const net = network()
    const wrapper = await mounted()

    await chip(wrapper, 'landmarks').trigger('click')
    await settle()

    expect(net.callsTo(LANDMARKS)).toHaveLength(1)
    expect(wrapper.findAll('.ioc-landmark').map((icon) => icon.text())).toEqual(['梧桐山', '渔民村'])
    expect(wrapper.get('.ioc-landmark').attributes('data-category')).toBe('mountain')
    expect(chip(wrapper, 'landmarks').get('.ioc-chip__count').text()).toBe('2')
    // Real landmarks: nothing to say about them in the legend.
    expect(wrapper.find('[data-testid="ioc-synthetic"]').exists()).toBe(false)

    click(wrapper.findAll('.ioc-landmark')[1]!.element)
    await settle()
    expect(wrapper.get('.ioc-popup').text()).toBe('渔民村村落位置为近似值')

    await chip(wrapper, 'landmarks').trigger('click')
    expect(wrapper.findAll('.ioc-landmark')).toHaveLength(0)
  })

  it('names the landmarks in English on an English screen', async () => {
    network()
    const wrapper = await mounted('en')

    await chip(wrapper, 'landmarks').trigger('click')
    await settle()

    expect(wrapper.findAll('.ioc-landmark').map((icon) => icon.text())).toEqual(['Wutong Mountain', 'Yumin Village'])
    click(wrapper.get('.ioc-landmark').element)
    await settle()
    const popup = wrapper.get('.ioc-popup')
    expect(popup.get('strong').text()).toBe('Wutong Mountain')
    expect(popup.findAll('p').map((line) => line.text())).toEqual(['Mountain'])
  })

  it('says the boundaries are synthetic when the subdistricts are, with every overlay off', async () => {
    network({ subdistricts: SUBDISTRICTS.map((feature) => ({ ...feature, properties: { ...feature.properties, synthetic: true } })) })
    const wrapper = await mounted('en')

    expect(wrapper.get('[data-testid="ioc-synthetic-boundaries"]').text()).toBe('Boundaries are synthetic (generated, not surveyed)')
  })

  it('says so when an overlay cannot be read, and reads it again when switched on again', async () => {
    const net = network({ failCommunities: 1 })
    const wrapper = await mounted()

    await chip(wrapper, 'community').trigger('click')
    await settle()
    expect(wrapper.get('.ioc-map__error').text()).toBe('服务暂不可用')
    expect(drawn(wrapper, 'community')).toEqual([])

    await chip(wrapper, 'community').trigger('click')
    await chip(wrapper, 'community').trigger('click')
    await settle()
    expect(regionCalls(net, 'community')).toEqual([null, null])
    expect(drawn(wrapper, 'community')).toHaveLength(3)
  })
})
