import { describe, expect, it, vi } from 'vitest'
import CaseDrawer from '../../../src/workbench/cases/CaseDrawer.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../../helpers'
import { actionUrl, caseBody, caseUrl, HANDLER, OPERATOR } from '../../shared/caseFixtures'
import { action, detail, instance, REGISTER, REJECT } from '../inbox/fixtures'

const FILES = '/api/v1/files'
const SHA = 'c'.repeat(64)

async function chooseFile(wrapper: ReturnType<typeof mountIn>['wrapper'], file: File): Promise<void> {
  const input = wrapper.get('[data-testid="photo-input"]')
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
  await input.trigger('change')
}

const problem = (status: number, body: Record<string, unknown>): Response =>
  jsonResponse({ status, ...body }, { status, type: 'application/problem+json' })

describe('the case drawer', () => {
  it('registers with the suggested category filled in, through the cases API', async () => {
    await signInAs(OPERATOR)
    const after = caseBody({
      status: 'registered',
      status_name_zh: '待派遣',
      category_code: '1505',
      category_name_zh: '内涝积水',
      version: 2,
      actions: ['dispatch'],
    })
    const { callsTo } = stubNetwork({
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ actions: ['register', 'reject'] })),
      [actionUrl('c-1', 'register')]: () => jsonResponse(after),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()

    expect(wrapper.get('h2').text()).toBe('LH20261201000001 东门路口积水很深')
    expect(wrapper.get('[data-testid="case-suggested"]').text()).toContain('建议分类 1505')
    expect(wrapper.findAll('[data-action]').map((button) => button.text())).toEqual(['立案', '不予立案'])
    await wrapper.get('[data-action="register"]').trigger('click')
    expect((wrapper.get('input[name="data.category"]').element as HTMLInputElement).value).toBe('1505')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(actionUrl('c-1', 'register'))[0]!.body)).toEqual({
      expected_version: 1,
      data: { category: '1505' },
    })
    expect(wrapper.get('[data-testid="action-done"]').text()).toBe('已立案。')
    expect(wrapper.get('[data-testid="case-status"]').text()).toBe('待派遣')
    expect(wrapper.get('[data-testid="case-category"]').text()).toBe('1505 内涝积水')
    expect(wrapper.emitted('acted')).toHaveLength(1)
  })

  it('needs a comment to reject, before asking the server', async () => {
    await signInAs(OPERATOR)
    const { callsTo } = stubNetwork({
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ actions: ['register', 'reject'] })),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="reject"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('必填')
    expect(callsTo(actionUrl('c-1', 'reject'))).toEqual([])
  })

  it('resolves with the after-photo uploaded first and named as photo_after', async () => {
    await signInAs(HANDLER)
    const handling = caseBody({
      status: 'handling',
      status_name_zh: '处置中',
      version: 4,
      actions: ['return', 'request_extension', 'resolve'],
    })
    const { calls, callsTo } = stubNetwork({
      [FILES]: () => jsonResponse({ sha256: SHA, size: 68, content_type: 'image/png', filename: 'after.png' }, { status: 201 }),
      [caseUrl('c-1')]: () => jsonResponse(handling),
      [actionUrl('c-1', 'resolve')]: () =>
        jsonResponse(caseBody({ status: 'verifying', status_name_zh: '待核查', version: 5, actions: [] })),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()

    expect(wrapper.findAll('[data-action]').map((button) => button.text())).toEqual(['退单', '申请延期', '处置完毕'])
    await wrapper.get('[data-action="resolve"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('请选择处置后照片')

    const input = wrapper.get('[data-testid="photo-input"]')
    const file = new File([new Uint8Array(68)], 'after.png', { type: 'image/png' })
    Object.defineProperty(input.element, 'files', { value: [file], configurable: true })
    await input.trigger('change')
    await wrapper.get('textarea[name="comment"]').setValue('已抽排积水')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    const posts = calls.filter((call) => call.method === 'POST').map((call) => call.url.pathname)
    expect(posts).toEqual([FILES, actionUrl('c-1', 'resolve')])
    expect(callsTo(FILES)[0]!.headers.get('authorization')).toBe('Bearer access-1')
    expect(JSON.parse(callsTo(actionUrl('c-1', 'resolve'))[0]!.body)).toEqual({
      expected_version: 4,
      comment: '已抽排积水',
      data: {},
      attachments: [{ kind: 'photo_after', sha256: SHA }],
    })
    expect(wrapper.get('[data-testid="case-status"]').text()).toBe('待核查')
  })

  it('shows a refused after-photo next to the photo field and does not resolve', async () => {
    await signInAs(HANDLER)
    const { callsTo } = stubNetwork({
      [FILES]: () => problem(415, { title: '不支持的文件类型', code: 'unsupported_media_type' }),
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ status: 'handling', version: 4, actions: ['resolve'] })),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="resolve"]').trigger('click')
    await chooseFile(wrapper, new File([new Uint8Array(10)], 'after.heic', { type: 'image/heic' }))
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('不支持该文件类型，请选择 JPEG、PNG 等图片')
    expect(callsTo(actionUrl('c-1', 'resolve'))).toEqual([])
    expect(wrapper.get('[data-testid="action-submit"]').attributes('disabled')).toBeUndefined()
  })

  it('shows the upload as busy until the store answers', async () => {
    await signInAs(HANDLER)
    let answer: (response: Response) => void = () => undefined
    stubNetwork({
      [FILES]: () => new Promise<Response>((resolve) => (answer = resolve)),
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ status: 'handling', version: 4, actions: ['resolve'] })),
      [actionUrl('c-1', 'resolve')]: () =>
        jsonResponse(caseBody({ status: 'verifying', status_name_zh: '待核查', version: 5, actions: [] })),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="resolve"]').trigger('click')
    await chooseFile(wrapper, new File([new Uint8Array(68)], 'after.png', { type: 'image/png' }))
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="photo-uploading"]').text()).toBe('正在上传照片…')
    expect(wrapper.get('[data-testid="action-submit"]').attributes('disabled')).toBeDefined()

    answer(jsonResponse({ sha256: SHA, size: 68, content_type: 'image/png', filename: 'after.png' }, { status: 201 }))
    await settle()
    expect(wrapper.get('[data-testid="case-status"]').text()).toBe('待核查')
  })

  it('maps the server’s word on an attachment to the photo field', async () => {
    await signInAs(HANDLER)
    stubNetwork({
      [FILES]: () => jsonResponse({ sha256: SHA, size: 68, content_type: 'application/pdf', filename: 'a.pdf' }, { status: 201 }),
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ status: 'handling', version: 4, actions: ['resolve'] })),
      [actionUrl('c-1', 'resolve')]: () =>
        problem(422, { title: '请求参数有误', errors: [{ field: 'attachments[0].sha256', message: 'not an image' }] }),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="resolve"]').trigger('click')
    await chooseFile(wrapper, new File([new Uint8Array(68)], 'after.png', { type: 'image/png' }))
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('not an image')
  })

  it('asks for the extension days as a number and shows the server’s field errors', async () => {
    await signInAs(HANDLER)
    const { callsTo } = stubNetwork({
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ status: 'handling', actions: ['request_extension'] })),
      [actionUrl('c-1', 'request_extension')]: () =>
        problem(422, { title: '请求参数有误', errors: [{ field: 'data.days', message: '超出允许的天数' }] }),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="request_extension"]').trigger('click')
    await wrapper.get('input[name="data.days"]').setValue('30')
    await wrapper.get('textarea[name="comment"]').setValue('需更换排水管')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(actionUrl('c-1', 'request_extension'))[0]!.body).data).toEqual({ days: 30 })
    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('超出允许的天数')
  })

  it('calls back with a satisfaction from 1 to 5', async () => {
    await signInAs(OPERATOR)
    const { callsTo } = stubNetwork({
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ status: 'callback', version: 7, actions: ['call_back'] })),
      [actionUrl('c-1', 'call_back')]: () =>
        jsonResponse(caseBody({ status: 'closed', status_name_zh: '已结案', satisfaction: 5, version: 8, actions: [] })),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="call_back"]').trigger('click')
    await wrapper.get('input[name="data.satisfaction"][value="5"]').setValue(true)
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(actionUrl('c-1', 'call_back'))[0]!.body)).toEqual({
      expected_version: 7,
      data: { satisfaction: 5 },
    })
    expect(wrapper.get('[data-testid="case-satisfaction"]').text()).toBe('非常满意')
  })

  it('reloads the case when someone else moved it first', async () => {
    await signInAs(OPERATOR)
    let reads = 0
    stubNetwork({
      [caseUrl('c-1')]: () => {
        reads += 1
        return jsonResponse(
          reads === 1
            ? caseBody({ actions: ['register', 'reject'] })
            : caseBody({ status: 'registered', status_name_zh: '待派遣', actions: ['dispatch'] }),
        )
      },
      [actionUrl('c-1', 'reject')]: () =>
        problem(409, { title: '当前状态不允许此操作', code: 'action_not_allowed', allowed_actions: ['dispatch'] }),
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' } })
    await settle()
    await wrapper.get('[data-action="reject"]').trigger('click')
    await wrapper.get('textarea[name="comment"]').setValue('重复')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="action-error"]').text()).toBe('当前状态不允许此操作')
    expect(wrapper.get('[data-testid="case-status"]').text()).toBe('待派遣')
    expect(wrapper.findAll('[data-action]').map((button) => button.text())).toEqual(['派遣'])
  })

  it('shows each step’s photos as thumbnails fetched with the token, full size on a click, freed on close', async () => {
    await signInAs(OPERATOR)
    const before = 'b'.repeat(64)
    const png = (): Response => new Response(new Blob([new Uint8Array(8)], { type: 'image/png' }), { headers: { 'content-type': 'image/png' } })
    const withPhotos = caseBody({
      history: [
        {
          seq: 0,
          action: 'start',
          from_state: null,
          to_state: 'accepted',
          actor: 'citizen',
          comment: null,
          occurred_at: '2026-12-01T01:00:00Z',
          attachments: [{ kind: 'photo', sha256: before, content_type: 'image/png', size: 8, filename: 'scene.png' }],
        },
        {
          seq: 1,
          action: 'resolve',
          from_state: 'handling',
          to_state: 'verifying',
          actor: 'handler',
          comment: '已抽排',
          occurred_at: '2026-12-01T05:00:00Z',
          attachments: [{ kind: 'photo_after', sha256: SHA, content_type: 'image/png', size: 8, filename: 'after.png' }],
        },
      ],
    })
    const { callsTo } = stubNetwork({
      [caseUrl('c-1')]: () => jsonResponse(withPhotos),
      [`${FILES}/${before}`]: png,
      [`${FILES}/${SHA}`]: png,
    })
    let made = 0
    vi.spyOn(URL, 'createObjectURL').mockImplementation(() => `blob:photo-${(made += 1)}`)
    const revoke = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1' }, attachTo: document.body })
    await settle()

    const steps = wrapper.findAll('[data-testid="case-timeline"] > li')
    expect(steps[1]!.get('[data-testid="evidence"]').text()).toContain('处置后照片')
    const thumbs = wrapper.findAll('[data-testid="evidence-thumb"]')
    expect(thumbs.map((thumb) => thumb.attributes('data-kind'))).toEqual(['photo', 'photo_after'])
    expect(thumbs.map((thumb) => thumb.get('img').attributes('src')).sort()).toEqual(['blob:photo-1', 'blob:photo-2'])
    expect(callsTo(`${FILES}/${SHA}`)[0]!.headers.get('authorization')).toBe('Bearer access-1')

    const afterSrc = thumbs[1]!.get('img').attributes('src')
    await thumbs[1]!.trigger('click')
    const preview = document.querySelector('[data-testid="evidence-preview"]')
    expect(preview?.querySelector('img')?.getAttribute('src')).toBe(afterSrc)
    preview!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))
    await settle()
    expect(document.querySelector('[data-testid="evidence-preview"]')).toBeNull()

    wrapper.unmount()
    expect(revoke.mock.calls.map(([url]) => url).sort()).toEqual(['blob:photo-1', 'blob:photo-2'])
    vi.restoreAllMocks()
  })

  it('opened from the inbox, offers the task’s actions and acts through the cases API with the task’s version', async () => {
    await signInAs(OPERATOR)
    let acted = false
    const { callsTo } = stubNetwork({
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ actions: ['register', 'reject', 'merge'] })),
      [instance('t-1')]: () =>
        acted
          ? jsonResponse({ title: 'Not found', status: 404, code: 'not_found' }, { status: 404, type: 'application/problem+json' })
          : jsonResponse(detail({ id: 't-1', subject_id: 'c-1', version: 3, actions: [REGISTER, REJECT] })),
      [actionUrl('c-1', 'register')]: () => {
        acted = true
        return jsonResponse(caseBody({ status: 'registered', status_name_zh: '待派遣', version: 4, actions: ['dispatch'] }))
      },
    })
    const { wrapper } = mountIn('zh-CN', CaseDrawer, { props: { caseId: 'c-1', taskId: 't-1' } })
    await settle()

    expect(wrapper.findAll('[data-action]').map((button) => button.text())).toEqual(['立案', '不予立案'])
    await wrapper.get('[data-action="reject"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    expect(wrapper.get('[data-testid="field-error"]').text()).toBe('必填')

    await wrapper.get('[data-action="register"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(actionUrl('c-1', 'register'))[0]!.body)).toEqual({ expected_version: 3, data: { category: '1505' } })
    expect(callsTo(action('t-1', 'register'))).toEqual([])
    // The task no longer waits for me: the case says what I may do now.
    expect(wrapper.get('[data-testid="case-status"]').text()).toBe('待派遣')
    expect(wrapper.findAll('[data-action]').map((button) => button.text())).toEqual(['派遣'])
  })
})
