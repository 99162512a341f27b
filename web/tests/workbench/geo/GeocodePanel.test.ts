import { beforeEach, describe, expect, it } from 'vitest'
import { regionNames } from '../../../src/shared/geo'
import GeocodePanel from '../../../src/workbench/geo/GeocodePanel.vue'
import { jsonResponse, mountIn, settle, stubFetch } from '../../helpers'
import { CANDIDATES, COMMUNITIES, DISTRICT, feature, geocodeBody, GRID, SUBDISTRICTS } from './fixtures'

const ALL = [DISTRICT, ...SUBDISTRICTS, ...COMMUNITIES, GRID]

/** Answer geocode calls with `body` and region look-ups from the fixtures. */
function stubGeo(body: unknown) {
  return stubFetch((url) => {
    const path = new URL(url, 'http://localhost').pathname
    if (path === '/api/v1/geo/geocode') {
      return jsonResponse(body)
    }
    const match = /^\/api\/v1\/geo\/regions\/(\d+)$/.exec(path)
    const found = ALL.find((item) => item.code === match?.[1])
    return found ? jsonResponse(feature(found)) : jsonResponse({ code: 'not_found' }, { status: 404 })
  })
}

async function geocode(locale: 'zh-CN' | 'en', body: unknown, address = '人民南路3002号国际贸易中心大厦A座') {
  const fetchMock = stubGeo(body)
  const mounted = mountIn(locale, GeocodePanel)
  await mounted.wrapper.get('input').setValue(address)
  await mounted.wrapper.get('form').trigger('submit')
  await settle()
  return { ...mounted, fetchMock }
}

beforeEach(() => regionNames.clear())

describe('geocode panel', () => {
  it('shows the example address as placeholder', () => {
    stubGeo(geocodeBody())
    const { wrapper } = mountIn('zh-CN', GeocodePanel)
    expect(wrapper.get('input').attributes('placeholder')).toContain('人民南路3002号国际贸易中心大厦A座')
  })

  it('shows a match in green with its confidence, address and region chain', async () => {
    const { wrapper, fetchMock } = await geocode('zh-CN', geocodeBody())

    const geocodeUrl = String(fetchMock.mock.calls[0]?.[0])
    expect(new URL(geocodeUrl, 'http://localhost').searchParams.get('address')).toBe('人民南路3002号国际贸易中心大厦A座')
    const result = wrapper.get('[data-testid="geocode-result"]')
    expect(result.attributes('data-status')).toBe('matched')
    expect((result.element as HTMLElement).style.getPropertyValue('--status-colour')).toBe('#16a34a')
    expect(wrapper.get('[data-testid="geocode-status"]').text()).toBe('已匹配')
    expect(wrapper.get('[data-testid="geocode-confidence"]').text()).toBe('置信度 99%')
    expect(wrapper.get('[data-testid="geocode-address"]').text()).toBe(
      '深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座',
    )
    expect(wrapper.findAll('[data-testid="geocode-chain"] .geo-chain__name').map((item) => item.text())).toEqual([
      '罗湖区',
      '东门街道',
      '城东社区',
      '城东社区第4网格',
    ])
    expect(wrapper.get('[data-testid="geocode-detail"]').text()).toBe('已匹配标准地址')
    expect(wrapper.find('[data-testid="geocode-candidates"]').exists()).toBe(false)
    expect(wrapper.emitted('pin')).toEqual([
      [
        {
          lon: 114.117377,
          lat: 22.541124,
          label: '深圳市罗湖区东门街道城东社区人民南路3002号国际贸易中心大厦A座',
          kind: 'match',
        },
      ],
    ])
  })

  it('looks each region name up once and reuses names it already knows', async () => {
    regionNames.remember([DISTRICT, ...SUBDISTRICTS])
    const { fetchMock } = await geocode('zh-CN', geocodeBody())
    const lookups = fetchMock.mock.calls.map(([url]) => String(url)).filter((url) => url.includes('/regions/'))
    expect(lookups.map((url) => new URL(url, 'http://localhost').pathname)).toEqual([
      '/api/v1/geo/regions/440303003009',
      '/api/v1/geo/regions/440303003009004',
    ])
  })

  it('lists the candidates of an unsure answer in amber and pins the one clicked', async () => {
    const body = geocodeBody({
      query: '人民南路',
      status: 'unsure',
      reason: 'no_number',
      detail: '人民南路：缺少门牌号',
      confidence: 0.5,
      code: null,
      address: null,
      lon: null,
      lat: null,
      regions: null,
      precision: null,
      candidates: CANDIDATES,
    })
    const { wrapper } = await geocode('zh-CN', body, '人民南路')

    const result = wrapper.get('[data-testid="geocode-result"]')
    expect(result.attributes('data-status')).toBe('unsure')
    expect((result.element as HTMLElement).style.getPropertyValue('--status-colour')).toBe('#d97706')
    expect(wrapper.get('[data-testid="geocode-status"]').text()).toBe('待确认')
    expect(wrapper.get('[data-testid="geocode-confidence"]').text()).toBe('置信度 50%')
    expect(wrapper.get('[data-testid="geocode-detail"]').text()).toBe('人民南路：缺少门牌号')
    expect(wrapper.emitted('clear')).toHaveLength(1)
    expect(wrapper.emitted('pin')).toBeUndefined()

    const items = wrapper.findAll('[data-testid="geocode-candidates"] button')
    expect(items.map((item) => item.get('.geo-candidate__score').text())).toEqual(['50%', '46%'])
    await items[1]!.trigger('click')
    expect(items[1]!.attributes('aria-pressed')).toBe('true')
    expect(wrapper.emitted('pin')).toEqual([
      [{ lon: 114.11713, lat: 22.542746, label: CANDIDATES[1]!.address, kind: 'candidate' }],
    ])
  })

  it('shows a miss in grey with its detail and no candidates', async () => {
    const body = geocodeBody({
      query: '福田区深南大道6008号',
      status: 'not_found',
      reason: 'outside_district',
      detail: '地址在福田区，不在罗湖区',
      confidence: 0,
      code: null,
      address: null,
      lon: null,
      lat: null,
      regions: null,
      precision: null,
    })
    const { wrapper } = await geocode('zh-CN', body, '福田区深南大道6008号')

    const result = wrapper.get('[data-testid="geocode-result"]')
    expect(result.attributes('data-status')).toBe('not_found')
    expect((result.element as HTMLElement).style.getPropertyValue('--status-colour')).toBe('#6b7280')
    expect(wrapper.get('[data-testid="geocode-status"]').text()).toBe('未找到')
    expect(wrapper.get('[data-testid="geocode-confidence"]').text()).toBe('置信度 0%')
    expect(wrapper.get('[data-testid="geocode-detail"]').text()).toBe('地址在福田区，不在罗湖区')
    expect(wrapper.get('[data-testid="geocode-no-candidates"]').text()).toBe('没有相近的标准地址。')
    expect(wrapper.find('[data-testid="geocode-chain"]').exists()).toBe(false)
  })

  it('speaks English, leading with the reason before the Chinese detail', async () => {
    const body = geocodeBody({ status: 'unsure', reason: 'no_number', detail: '人民南路：缺少门牌号', confidence: 0.5, candidates: CANDIDATES, regions: null, lon: null, lat: null, address: null, precision: null })
    const { wrapper } = await geocode('en', body, '人民南路')

    expect(wrapper.get('[data-testid="geocode-status"]').text()).toBe('Unsure')
    expect(wrapper.get('[data-testid="geocode-confidence"]').text()).toBe('Confidence 50%')
    expect(wrapper.get('[data-testid="geocode-detail"]').text()).toBe('No door number · 人民南路：缺少门牌号')
    expect(wrapper.text()).toContain('Candidate addresses')
  })

  it('says why when the call fails', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')))
    const { wrapper } = mountIn('zh-CN', GeocodePanel)
    await wrapper.get('input').setValue('人民南路')
    await wrapper.get('form').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="geocode-error"]').text()).toBe('网络连接失败')
    expect(wrapper.find('[data-testid="geocode-result"]').exists()).toBe(false)
  })

  it('does not call the API for an empty address', async () => {
    const fetchMock = stubGeo(geocodeBody())
    const { wrapper } = mountIn('zh-CN', GeocodePanel)
    await wrapper.get('input').setValue('   ')
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(fetchMock).not.toHaveBeenCalled()
  })
})
