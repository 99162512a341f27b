import { beforeEach, describe, expect, it } from 'vitest'
import { regionNames } from '../../../src/shared/geo'
import RegionTree from '../../../src/workbench/geo/RegionTree.vue'
import { jsonResponse, mountIn, settle, stubFetch } from '../../helpers'
import { COMMUNITIES, DISTRICT, SUBDISTRICTS } from './fixtures'

function stubRegions() {
  return stubFetch((url) => {
    const params = new URL(url, 'http://localhost').searchParams
    if (params.get('level') === 'district') {
      return jsonResponse({ crs: 'wgs84', regions: [DISTRICT] })
    }
    const parent = params.get('parent')
    const children = [...SUBDISTRICTS, ...COMMUNITIES].filter((item) => item.parent === parent)
    return jsonResponse({ crs: 'wgs84', regions: children })
  })
}

function regionCalls(fetchMock: ReturnType<typeof stubFetch>): string[] {
  return fetchMock.mock.calls.map(([url]) => {
    const parsed = new URL(String(url), 'http://localhost')
    return `${parsed.pathname}${parsed.search}`
  })
}

beforeEach(() => regionNames.clear())

describe('region tree', () => {
  it('opens on the district with its subdistricts, nothing deeper', async () => {
    const fetchMock = stubRegions()
    const { wrapper } = mountIn('zh-CN', RegionTree, { props: { selected: null } })
    await settle()

    expect(regionCalls(fetchMock)).toEqual([
      '/api/v1/geo/regions?level=district',
      '/api/v1/geo/regions?parent=440303',
    ])
    const root = wrapper.get('[data-code="440303"]')
    expect(root.attributes('aria-expanded')).toBe('true')
    expect(wrapper.findAll('[data-level="subdistrict"] [data-testid="tree-name"]').map((item) => item.text())).toEqual([
      '桂园街道',
      '东门街道',
    ])
    expect(wrapper.get('[data-code="440303003"]').attributes('aria-expanded')).toBe('false')
    expect(wrapper.find('[data-level="community"]').exists()).toBe(false)
    expect(regionNames.known('440303003')).toEqual({ zh: '东门街道', en: 'Dongmen Subdistrict' })
  })

  it('loads the children of a node the first time it opens, once', async () => {
    const fetchMock = stubRegions()
    const { wrapper } = mountIn('zh-CN', RegionTree, { props: { selected: null } })
    await settle()

    const toggle = wrapper.get('[data-code="440303003"] [data-testid="tree-toggle"]')
    expect(toggle.attributes('aria-label')).toBe('展开东门街道')
    await toggle.trigger('click')
    await settle()
    expect(regionCalls(fetchMock).at(-1)).toBe('/api/v1/geo/regions?parent=440303003')
    expect(wrapper.get('[data-code="440303003"]').attributes('aria-expanded')).toBe('true')
    expect(wrapper.findAll('[data-level="community"] [data-testid="tree-name"]').map((item) => item.text())).toEqual([
      '东门社区',
      '城东社区',
    ])

    await toggle.trigger('click')
    expect(wrapper.find('[data-level="community"]').exists()).toBe(false)
    await toggle.trigger('click')
    await settle()
    expect(wrapper.findAll('[data-level="community"]')).toHaveLength(2)
    expect(regionCalls(fetchMock).filter((call) => call.endsWith('parent=440303003'))).toHaveLength(1)
  })

  it('reports a click with the path down to the region and marks the selection', async () => {
    stubRegions()
    const { wrapper } = mountIn('zh-CN', RegionTree, { props: { selected: null } })
    await settle()
    await wrapper.get('[data-code="440303003"] [data-testid="tree-toggle"]').trigger('click')
    await settle()

    await wrapper.get('[data-code="440303003009"] [data-testid="tree-name"]').trigger('click')
    const [region, path] = wrapper.emitted('select')![0] as [{ code: string }, { code: string }[]]
    expect(region.code).toBe('440303003009')
    expect(path.map((item) => item.code)).toEqual(['440303', '440303003'])

    await wrapper.setProps({ selected: '440303003009' })
    expect(wrapper.get('[data-code="440303003009"]').attributes('aria-selected')).toBe('true')
    expect(wrapper.get('[data-code="440303003008"]').attributes('aria-selected')).toBe('false')
  })

  it('shows English names', async () => {
    stubRegions()
    const { wrapper } = mountIn('en', RegionTree, { props: { selected: null } })
    await settle()
    expect(wrapper.get('h2').text()).toBe('Administrative regions')
    expect(wrapper.findAll('[data-testid="tree-name"]').map((item) => item.text())).toEqual([
      'Luohu District',
      'Guiyuan Subdistrict',
      'Dongmen Subdistrict',
    ])
  })

  it('offers a retry when a level fails to load', async () => {
    let fail = true
    stubFetch((url) => {
      const params = new URL(url, 'http://localhost').searchParams
      if (params.get('level') === 'district') {
        return jsonResponse({ regions: [DISTRICT] })
      }
      if (fail) {
        return Promise.reject(new TypeError('Failed to fetch'))
      }
      return jsonResponse({ regions: SUBDISTRICTS })
    })
    const { wrapper } = mountIn('zh-CN', RegionTree, { props: { selected: null } })
    await settle()
    const alert = wrapper.get('[data-code="440303"] [role="alert"]')
    expect(alert.text()).toContain('网络连接失败')

    fail = false
    await alert.get('button').trigger('click')
    await settle()
    expect(wrapper.findAll('[data-level="subdistrict"]')).toHaveLength(2)
  })
})
