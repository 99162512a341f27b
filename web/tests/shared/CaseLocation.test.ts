import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import CaseLocation from '../../src/shared/CaseLocation.vue'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, mountIn, settle } from '../helpers'

// Leaflet needs a real layout: the map itself is left to the browser tests.
vi.mock('../../src/shared/PointPicker.vue', () => ({
  __esModule: true,
  default: defineComponent({
    props: { modelValue: { type: Object, default: null } },
    emits: ['update:modelValue'],
    setup: (_props, { emit }) => () =>
      h('button', { 'data-testid': 'fake-map', onClick: () => emit('update:modelValue', { lon: 114.2, lat: 22.6 }) }),
  }),
}))

const LOCATE = '/api/v1/geo/locate'
const dongmen = {
  outside: false,
  district: { code: '440303', level: 'district', name: { zh: '罗湖区', en: 'Luohu' } },
  subdistrict: { code: '440303003', level: 'subdistrict', name: { zh: '东门街道', en: 'Dongmen' } },
  community: { code: '440303003001', level: 'community', name: { zh: '立新社区', en: 'Lixin' } },
  grid: { code: '440303003001001', level: 'grid', name: { zh: '立新社区第1网格', en: 'Lixin Grid 1' } },
}

function geolocation(answer: (ok: PositionCallback, fail: PositionErrorCallback) => void): void {
  vi.stubGlobal('navigator', { ...navigator, geolocation: { getCurrentPosition: answer } })
}

describe('the case location', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('takes the browser position and names the regions it falls in', async () => {
    const { callsTo } = stubNetwork({ [LOCATE]: () => jsonResponse(dongmen) })
    geolocation((ok) => ok({ coords: { longitude: 114.11480012, latitude: 22.55400049 } } as GeolocationPosition))
    const { wrapper } = mountIn('zh-CN', CaseLocation, { props: { modelValue: null } })

    await wrapper.get('[data-testid="use-gps"]').trigger('click')
    expect(wrapper.emitted('update:modelValue')).toEqual([[{ lon: 114.1148, lat: 22.554 }]])

    await wrapper.setProps({ modelValue: { lon: 114.1148, lat: 22.554 } })
    await settle()
    expect(callsTo(LOCATE)[0]!.url.searchParams.get('lon')).toBe('114.1148')
    expect(wrapper.get('[data-testid="point-chain"]').text()).toBe('东门街道 · 立新社区 · 立新社区第1网格')
  })

  it('says so when the person refuses, and opens the map instead', async () => {
    stubNetwork({})
    geolocation((_ok, fail) => fail({ code: 1, message: 'denied' } as GeolocationPositionError))
    const { wrapper } = mountIn('zh-CN', CaseLocation, { props: { modelValue: null } })

    await wrapper.get('[data-testid="use-gps"]').trigger('click')
    await settle()

    expect(wrapper.get('[data-testid="gps-problem"]').text()).toBe('您未允许获取位置，请在地图上选点或填写地址。')
    expect(wrapper.get('[data-testid="toggle-map"]').attributes('aria-expanded')).toBe('true')
    await wrapper.get('[data-testid="fake-map"]').trigger('click')
    expect(wrapper.emitted('update:modelValue')).toEqual([[{ lon: 114.2, lat: 22.6 }]])
  })

  it('marks a point outside the district', async () => {
    stubNetwork({ [LOCATE]: () => jsonResponse({ outside: true, district: null, subdistrict: null, community: null, grid: null }) })
    const { wrapper } = mountIn('en', CaseLocation, { props: { modelValue: { lon: 114.05, lat: 22.54 } } })
    await settle()
    expect(wrapper.get('[data-testid="point-outside"]').text()).toBe('This place is outside Luohu District')
  })
})
