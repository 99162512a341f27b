import { beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import PortalReport from '../../src/portal/PortalReport.vue'
import { forgetCategories } from '../../src/shared/cases'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../helpers'
import { caseBody, CASES, CITIZEN } from '../shared/caseFixtures'

vi.mock('../../src/shared/PointPicker.vue', () => ({
  __esModule: true,
  default: defineComponent({
    emits: ['update:modelValue'],
    setup: (_props, { emit }) => () =>
      h('button', { 'data-testid': 'fake-map', onClick: () => emit('update:modelValue', { lon: 114.1148, lat: 22.554 }) }),
  }),
}))

const LOCATE = '/api/v1/geo/locate'
const category = {
  code: '1505',
  kind: 'event',
  major_code: '15',
  major_name_zh: '突发事件',
  major_name_en: 'Emergencies',
  name_zh: '内涝积水',
  name_en: 'Waterlogging',
  department_code: 'water-affairs',
}

async function choosePhoto(wrapper: ReturnType<typeof mountIn>['wrapper'], name = 'scene.png'): Promise<void> {
  const input = wrapper.get('[data-testid="photo-input"]')
  const file = new File([new Uint8Array([137, 80, 78, 71])], name, { type: 'image/png' })
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
  await input.trigger('change')
}

describe('随手拍', () => {
  beforeEach(async () => {
    forgetCategories()
    await signInAs(CITIZEN, 'portal')
  })

  it('reports through the portal channel with the picked point and shows the number and the suggestion', async () => {
    const { callsTo } = stubNetwork({
      [CASES]: () => jsonResponse(caseBody(), { status: 201 }),
      [`${CASES}/categories`]: () => jsonResponse([category]),
      [LOCATE]: () => jsonResponse({ outside: false, district: null, subdistrict: null, community: null, grid: null }),
    })
    const { wrapper } = mountIn('zh-CN', PortalReport)

    const input = wrapper.get('[data-testid="photo-input"]')
    expect(input.attributes('accept')).toBe('image/*')
    expect(input.attributes('capture')).toBe('environment')
    await choosePhoto(wrapper)
    expect(wrapper.get('[data-testid="photo-preview"]').text()).toContain('scene.png')

    await wrapper.get('[data-testid="toggle-map"]').trigger('click')
    await settle()
    await wrapper.get('[data-testid="fake-map"]').trigger('click')
    await wrapper.get('textarea[name="description"]').setValue('  东门路口积水很深，车辆无法通行 ')
    await wrapper.get('input[name="request_type"][value="help"]').setValue(true)
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    const sent = callsTo(CASES).filter((call) => call.method === 'POST')
    expect(JSON.parse(sent[0]!.body)).toEqual({
      channel: 'portal',
      request_type: 'help',
      description: '东门路口积水很深，车辆无法通行',
      lon: 114.1148,
      lat: 22.554,
    })
    expect(wrapper.get('[data-testid="report-number"]').text()).toBe('LH20261201000001')
    expect(wrapper.get('[data-testid="report-status"]').text()).toBe('待立案')
    expect(wrapper.get('[data-testid="report-suggested"]').text()).toBe('1505 内涝积水')
    expect(wrapper.get('[data-testid="to-reports"]').attributes('href')).toBe('#/reports')
  })

  it('asks for a description before sending anything', async () => {
    const { calls } = stubNetwork({})
    const { wrapper } = mountIn('zh-CN', PortalReport)
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('请先描述问题')
    expect(calls.filter((call) => call.method === 'POST')).toEqual([])
  })

  it('shows what the server refused, in English', async () => {
    stubNetwork({
      [CASES]: () =>
        jsonResponse(
          { status: 422, title: 'Invalid', detail: 'the location is not a WGS84 longitude and latitude', errors: [{ field: 'lon', message: 'out of range' }] },
          { status: 422, type: 'application/problem+json' },
        ),
    })
    const { wrapper } = mountIn('en', PortalReport)
    await wrapper.get('textarea[name="description"]').setValue('Flooded crossing')
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="report-error"]').text()).toBe('the location is not a WGS84 longitude and latitude')
    expect(wrapper.get('button[type="submit"]').text()).toBe('Send the report')
  })
})
