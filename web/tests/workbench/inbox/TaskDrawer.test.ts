import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import TaskDrawer from '../../../src/workbench/inbox/TaskDrawer.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../../helpers'
import { action, detail, DISPATCHER, instance, REJECT } from './fixtures'

const problem = (status: number, body: Record<string, unknown>): Response =>
  jsonResponse({ status, ...body }, { status, type: 'application/problem+json' })

describe('the task drawer', () => {
  beforeEach(async () => {
    await signInAs(DISPATCHER)
  })

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('shows the task, its history in Beijing time and the actions open to me', async () => {
    stubNetwork({
      [instance('c-1')]: () =>
        jsonResponse(
          detail({
            history: [
              ...detail().history,
              {
                seq: 1,
                action: 'system.warning',
                from_state: 'accepted',
                to_state: 'accepted',
                actor: 'system',
                comment: '请尽快处理',
                data: { state: 'accepted' },
                attachments: [],
                occurred_at: '2026-12-01T02:20:00Z',
              },
            ],
          }),
        ),
    })
    const { wrapper } = mountIn('zh-CN', TaskDrawer, { props: { taskId: 'c-1' } })
    await settle()

    expect(wrapper.get('h2').text()).toBe('东门步行街井盖缺失')
    expect(wrapper.get('[data-testid="drawer-state"]').text()).toBe('待立案')
    expect(wrapper.findAll('[data-action]').map((button) => button.text())).toEqual(['立案', '不予立案'])
    const steps = wrapper.findAll('[data-testid="case-timeline"] li').map((step) => step.text())
    expect(steps[0]).toContain('2026-12-01 09:00:00')
    expect(steps[0]).toContain('发起 · operator')
    expect(steps[1]).toContain('2026-12-01 10:20:00')
    expect(steps[1]).toContain('临期提醒 · system')
    expect(steps[1]).toContain('请尽快处理')
  })

  it('takes an action with the version it saw and tells the list', async () => {
    const after = detail({ state: 'registered', state_name_zh: '待派遣', version: 2, actions: [] })
    const { callsTo } = stubNetwork({
      [instance('c-1')]: () => jsonResponse(detail()),
      [action('c-1', 'register')]: () => jsonResponse(after),
    })
    const { wrapper } = mountIn('zh-CN', TaskDrawer, { props: { taskId: 'c-1' } })
    await settle()

    await wrapper.get('[data-action="register"]').trigger('click')
    await wrapper.get('textarea[name="comment"]').setValue('属实，立案')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(action('c-1', 'register'))[0]!.body)).toEqual({
      expected_version: 1,
      comment: '属实，立案',
      data: {},
    })
    expect(wrapper.get('[data-testid="action-done"]').text()).toBe('已立案。')
    expect(wrapper.get('[data-testid="drawer-state"]').text()).toBe('待派遣')
    expect(wrapper.emitted('acted')).toHaveLength(1)
  })

  it('asks for what the action needs, next to each field the server named', async () => {
    const { callsTo } = stubNetwork({
      // The definition says nothing of what reject needs: the server names it.
      [instance('c-1')]: () => jsonResponse(detail({ actions: [{ ...REJECT, comment_required: false }] })),
      [action('c-1', 'reject')]: (_url, init) => {
        const body = JSON.parse(String(init?.body)) as { comment?: string; data: Record<string, string> }
        if (body.comment && body.data.reason) {
          return jsonResponse(detail({ state: 'rejected', state_name_zh: '不予立案', actions: [] }))
        }
        return problem(422, {
          code: 'validation_failed',
          title: '提交的数据有误',
          errors: [
            { field: 'data.reason', message: 'required', type: 'missing' },
            { field: 'comment', message: 'required', type: 'missing' },
          ],
        })
      },
    })
    const { wrapper } = mountIn('zh-CN', TaskDrawer, { props: { taskId: 'c-1' } })
    await settle()

    await wrapper.get('[data-action="reject"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    const form = wrapper.get('[data-testid="action-form"]')
    expect(form.get('input[name="data.reason"]').attributes('aria-invalid')).toBe('true')
    expect(form.get('input[name="data.reason"]').element.closest('label')!.textContent).toContain('原因')
    expect(form.findAll('[data-testid="field-error"]').map((error) => error.text())).toEqual(['必填', '必填'])

    await form.get('input[name="data.reason"]').setValue('重复投诉')
    await form.get('textarea[name="comment"]').setValue('与 LH-2026-0000 重复')
    await form.trigger('submit')
    await settle()

    expect(JSON.parse(callsTo(action('c-1', 'reject')).at(-1)!.body)).toEqual({
      expected_version: 1,
      comment: '与 LH-2026-0000 重复',
      data: { reason: '重复投诉' },
    })
    expect(wrapper.get('[data-testid="drawer-state"]').text()).toBe('不予立案')
  })

  it('shows a refusal and reloads the task when someone acted first', async () => {
    let version = 1
    stubNetwork({
      [instance('c-1')]: () => jsonResponse(detail({ version })),
      [action('c-1', 'register')]: () => {
        version = 2
        return problem(409, { code: 'stale_version', title: '已被他人办理，请刷新后重试', current_version: 2 })
      },
    })
    const { wrapper } = mountIn('zh-CN', TaskDrawer, { props: { taskId: 'c-1' } })
    await settle()

    await wrapper.get('[data-action="register"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="action-error"]').text()).toBe('已被他人办理，请刷新后重试')
    expect(wrapper.emitted('acted')).toBeUndefined()
  })

  it('closes on the button and says why a task cannot be shown', async () => {
    stubNetwork({})
    const { wrapper } = mountIn('en', TaskDrawer, { props: { taskId: 'gone' } })
    await settle()

    expect(wrapper.get('[data-testid="drawer-error"]').text()).toBe('Not found')
    await wrapper.get('[data-testid="drawer-close"]').trigger('click')
    expect(wrapper.emitted('close')).toHaveLength(1)
  })
})
