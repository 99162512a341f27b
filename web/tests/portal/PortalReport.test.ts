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
const FILES = '/api/v1/files'
const SHA = 'b'.repeat(64)
const stored = { sha256: SHA, size: 4, content_type: 'image/png', filename: 'scene.png' }
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
    const { calls, callsTo } = stubNetwork({
      [FILES]: () => jsonResponse(stored, { status: 201 }),
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

    // The photo is stored first, then named by its hash in the report.
    const posts = calls.filter((call) => call.method === 'POST').map((call) => call.url.pathname)
    expect(posts).toEqual([FILES, CASES])
    const sent = callsTo(CASES).filter((call) => call.method === 'POST')
    expect(JSON.parse(sent[0]!.body)).toEqual({
      channel: 'portal',
      request_type: 'help',
      description: '东门路口积水很深，车辆无法通行',
      lon: 114.1148,
      lat: 22.554,
      attachments: [{ kind: 'photo', sha256: SHA }],
    })
    expect(wrapper.get('[data-testid="report-number"]').text()).toBe('LH20261201000001')
    expect(wrapper.get('[data-testid="report-status"]').text()).toBe('待立案')
    expect(wrapper.get('[data-testid="report-suggested"]').text()).toBe('1505 内涝积水')
    expect(wrapper.get('[data-testid="to-reports"]').attributes('href')).toBe('#/reports')
  })

  it('sends no attachments without a photo', async () => {
    const { callsTo } = stubNetwork({
      [CASES]: () => jsonResponse(caseBody(), { status: 201 }),
      [`${CASES}/categories`]: () => jsonResponse([category]),
    })
    const { wrapper } = mountIn('zh-CN', PortalReport)
    await wrapper.get('textarea[name="description"]').setValue('东门路口积水')
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(callsTo(FILES)).toEqual([])
    expect(JSON.parse(callsTo(CASES)[0]!.body)).not.toHaveProperty('attachments')
    expect(wrapper.find('[data-testid="report-done"]').exists()).toBe(true)
  })

  it('shows a busy state while the photo uploads', async () => {
    let answer: (response: Response) => void = () => undefined
    stubNetwork({
      [FILES]: () => new Promise<Response>((resolve) => (answer = resolve)),
      [CASES]: () => jsonResponse(caseBody(), { status: 201 }),
      [`${CASES}/categories`]: () => jsonResponse([category]),
    })
    const { wrapper } = mountIn('zh-CN', PortalReport)
    await choosePhoto(wrapper)
    await wrapper.get('textarea[name="description"]').setValue('东门路口积水')
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="photo-uploading"]').text()).toBe('正在上传照片…')
    expect(wrapper.get('[data-testid="report-submit"]').attributes('disabled')).toBeDefined()
    expect(wrapper.get('[data-testid="report-submit"]').text()).toBe('正在上传照片…')
    expect((wrapper.get('[data-testid="photo-input"]').element as HTMLInputElement).disabled).toBe(true)

    answer(jsonResponse(stored, { status: 201 }))
    await settle()
    expect(wrapper.find('[data-testid="report-done"]').exists()).toBe(true)
  })

  it('shows a refused upload next to the photo and sends no report', async () => {
    const { callsTo } = stubNetwork({
      [FILES]: () =>
        jsonResponse(
          { status: 413, title: '文件过大', code: 'payload_too_large', max_bytes: 10 * 1024 * 1024 },
          { status: 413, type: 'application/problem+json' },
        ),
    })
    const { wrapper } = mountIn('zh-CN', PortalReport)
    await choosePhoto(wrapper, 'huge.png')
    await wrapper.get('textarea[name="description"]').setValue('东门路口积水')
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="photo-error"]').text()).toBe('照片太大：单个文件不能超过 10 MB')
    expect(wrapper.get('[data-testid="photo-input"]').attributes('aria-invalid')).toBe('true')
    expect(callsTo(CASES)).toEqual([])
    expect(wrapper.find('[data-testid="photo-uploading"]').exists()).toBe(false)

    // Another photo clears what was said about the last one.
    await choosePhoto(wrapper, 'small.png')
    expect(wrapper.find('[data-testid="photo-error"]').exists()).toBe(false)
  })

  it('says when the file is not an image the store takes', async () => {
    stubNetwork({
      [FILES]: () =>
        jsonResponse(
          { status: 415, title: 'Unsupported media type', code: 'unsupported_media_type' },
          { status: 415, type: 'application/problem+json' },
        ),
    })
    const { wrapper } = mountIn('en', PortalReport)
    await choosePhoto(wrapper, 'scene.heic')
    await wrapper.get('textarea[name="description"]').setValue('Flooded crossing')
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="photo-error"]').text()).toBe(
      'This kind of file is not accepted: choose a JPEG, PNG or other image',
    )
  })

  it('puts the server’s word on an attachment next to the photo, and does not upload it twice', async () => {
    let reports = 0
    const { callsTo } = stubNetwork({
      [FILES]: () => jsonResponse(stored, { status: 201 }),
      [CASES]: () => {
        reports += 1
        return reports === 1
          ? jsonResponse(
              {
                status: 422,
                title: '请求参数有误',
                detail: 'an attachment is not a stored file of the right type',
                errors: [{ field: 'attachments[0].sha256', message: 'not an image', type: 'image' }],
              },
              { status: 422, type: 'application/problem+json' },
            )
          : jsonResponse(caseBody(), { status: 201 })
      },
      [`${CASES}/categories`]: () => jsonResponse([category]),
    })
    const { wrapper } = mountIn('zh-CN', PortalReport)
    await choosePhoto(wrapper)
    await wrapper.get('textarea[name="description"]').setValue('东门路口积水')
    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="photo-error"]').text()).toBe('not an image')
    expect(wrapper.get('[data-testid="report-error"]').text()).toBe('an attachment is not a stored file of the right type')

    await wrapper.get('[data-testid="report-form"]').trigger('submit')
    await settle()
    expect(callsTo(FILES)).toHaveLength(1)
    expect(callsTo(CASES)).toHaveLength(2)
    expect(wrapper.find('[data-testid="report-done"]').exists()).toBe(true)
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
