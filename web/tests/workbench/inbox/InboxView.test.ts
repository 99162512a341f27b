import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import InboxView from '../../../src/workbench/inbox/InboxView.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { caseBody, caseUrl } from '../../shared/caseFixtures'
import { BULK, detail, DISPATCH, DISPATCHER, INBOX, instance, REGISTER, REJECT, task } from './fixtures'

const ROWS = [
  task(),
  task({
    id: 'c-2',
    title: '人民南路占道经营',
    colour: 'yellow',
    due_at: '2026-12-01T06:30:00Z',
    assigned_to_me: true,
  }),
  task({
    id: 'c-3',
    title: '黄贝岭垃圾满溢',
    state: 'registered',
    state_name_zh: '待派遣',
    state_name_en: 'Awaiting dispatch',
    colour: 'green',
    due_at: null,
    actions: [DISPATCH, REJECT],
  }),
]

describe('the inbox', () => {
  beforeEach(async () => {
    await signInAs(DISPATCHER)
  })

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('lists the tasks with workflow, step, Beijing-time deadline and a coloured light', async () => {
    const { callsTo } = stubNetwork({ [INBOX]: () => jsonResponse({ items: ROWS, total: 3 }) })
    const { wrapper } = mountIn('zh-CN', InboxView)
    await settle()

    const query = callsTo(INBOX)[0]!.url.searchParams
    expect([query.get('offset'), query.get('limit')]).toEqual(['0', '20'])
    const first = wrapper.get('[data-task="c-1"]').findAll('td').map((cell) => cell.text())
    expect(first.slice(1)).toEqual(['东门步行街井盖缺失', '城市事件处置', '待立案', '2026-12-01 11:00:00', '超期'])
    expect(wrapper.get('[data-task="c-1"] .ibx-dot').classes()).toContain('ibx-dot--red')
    expect(wrapper.get('[data-task="c-2"] [data-colour]').text()).toBe('临期')
    expect(wrapper.get('[data-task="c-2"]').text()).toContain('指派给我')
    expect(wrapper.get('[data-task="c-3"] [data-colour]').text()).toBe('正常')
    expect(wrapper.get('[data-task="c-3"]').text()).toContain('无时限')
    expect(wrapper.get('[data-testid="inbox-range"]').text()).toBe('第 1–3 项，共 3 项')
  })

  it('opens a case task in the case drawer and any other task in the generic one', async () => {
    const permit = task({ id: 'p-1', workflow_id: 'permit', subject_type: 'permit', subject_id: 'P-1', title: '占道施工许可' })
    const { callsTo } = stubNetwork({
      [INBOX]: () => jsonResponse({ items: [task({ subject_id: 'case-1' }), permit], total: 2 }),
      [caseUrl('case-1')]: () => jsonResponse(caseBody({ id: 'case-1', actions: ['register', 'reject'] })),
      [instance('c-1')]: () => jsonResponse(detail({ subject_id: 'case-1' })),
      [instance('p-1')]: () => jsonResponse(detail({ ...permit, actions: [] })),
    })
    const { wrapper } = mountIn('zh-CN', InboxView)
    await settle()

    await wrapper.get('[data-task="c-1"] [data-testid="open-task"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="case-drawer"] h2').text()).toBe('LH20261201000001 东门路口积水很深')
    expect(callsTo(instance('c-1'))).toHaveLength(1)
    await wrapper.get('[data-testid="drawer-close"]').trigger('click')

    await wrapper.get('[data-task="p-1"] [data-testid="open-task"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="case-drawer"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="task-drawer"] h2').text()).toBe('占道施工许可')
  })

  it('speaks English too', async () => {
    stubNetwork({ [INBOX]: () => jsonResponse({ items: ROWS, total: 3 }) })
    const { wrapper } = mountIn('en', InboxView)
    await settle()

    const first = wrapper.get('[data-task="c-1"]').findAll('td').map((cell) => cell.text())
    expect(first.slice(2)).toEqual(['City case handling', 'Awaiting registration', '2026-12-01 11:00:00', 'Overdue'])
    expect(wrapper.get('[data-task="c-2"] [data-colour]').text()).toBe('Due soon')
  })

  it('filters by workflow, colour and text, and pages', async () => {
    const { callsTo } = stubNetwork({
      [INBOX]: (url) =>
        jsonResponse(url.searchParams.get('offset') === '20' ? { items: [task({ id: 'c-21' })], total: 21 } : { items: ROWS, total: 21 }),
    })
    const { wrapper } = mountIn('zh-CN', InboxView)
    await settle()

    await wrapper.get('select[name="workflow"]').setValue('case')
    await wrapper.get('select[name="colour"]').setValue('red')
    await wrapper.get('input[name="q"]').setValue(' 井盖 ')
    await wrapper.get('form[role="search"]').trigger('submit')
    await settle()
    const filtered = callsTo(INBOX).at(-1)!.url.searchParams
    expect([filtered.get('workflow'), filtered.get('colour'), filtered.get('q')]).toEqual(['case', 'red', '井盖'])

    await wrapper.get('[data-testid="page-next"]').trigger('click')
    await settle()
    const second = callsTo(INBOX).at(-1)!.url.searchParams
    expect([second.get('offset'), second.get('colour')]).toEqual(['20', 'red'])
    expect(wrapper.get('[data-testid="inbox-range"]').text()).toBe('第 21–21 项，共 21 项')
    expect(wrapper.get('[data-testid="page-next"]').attributes('disabled')).toBeDefined()
  })

  it('offers the actions common to the selected rows and reports each row of a bulk action', async () => {
    let done = false
    const { callsTo } = stubNetwork({
      [INBOX]: () => jsonResponse(done ? { items: [ROWS[1]], total: 1 } : { items: ROWS, total: 3 }),
      [BULK]: () => {
        done = true
        return jsonResponse([
          { instance_id: 'c-1', ok: true, status: 200, code: null, detail: null },
          { instance_id: 'c-2', ok: false, status: 409, code: 'stale_version', detail: 'someone acted first' },
        ])
      },
    })
    const { wrapper } = mountIn('zh-CN', InboxView)
    await settle()

    await wrapper.get('[data-task="c-1"] input[type="checkbox"]').setValue(true)
    expect(wrapper.findAll('[data-bulk]').map((button) => button.text())).toEqual(['立案', '不予立案'])
    await wrapper.get('[data-task="c-3"] input[type="checkbox"]').setValue(true)
    expect(wrapper.findAll('[data-bulk]').map((button) => button.text())).toEqual(['不予立案'])
    await wrapper.get('[data-task="c-3"] input[type="checkbox"]').setValue(false)
    await wrapper.get('[data-task="c-2"] input[type="checkbox"]').setValue(true)
    await wrapper.get('input[name="bulk-comment"]').setValue('批量立案')
    await wrapper.get(`[data-bulk="${REGISTER.id}"]`).trigger('click')
    await settle()

    expect(JSON.parse(callsTo(BULK)[0]!.body)).toEqual({ instance_ids: ['c-1', 'c-2'], action: 'register', comment: '批量立案' })
    const results = wrapper.get('[data-testid="bulk-results"]')
    expect(results.text()).toContain('成功办理 1 项，失败 1 项。')
    expect(results.get('[data-result="c-2"]').text()).toBe('人民南路占道经营: 已被他人办理，请刷新')
    expect(callsTo(INBOX)).toHaveLength(2)
    // The failed row stays selected for another try.
    expect(wrapper.get('[data-testid="bulk-bar"]').text()).toContain('已选 1 项')
  })

  it('shows the empty inbox to someone nothing can wait for, without asking', async () => {
    await signInAs(meBody())
    const { fetchMock } = stubNetwork({})
    const { wrapper } = mountIn('zh-CN', InboxView)
    await settle()

    expect(wrapper.get('[data-testid="inbox-empty"]').text()).toContain('暂无待办')
    expect(fetchMock).not.toHaveBeenCalled()
  })

  it('shows the empty inbox when nothing waits, and the reason when the list fails', async () => {
    stubNetwork({ [INBOX]: () => jsonResponse({ items: [], total: 0 }) })
    const empty = mountIn('zh-CN', InboxView).wrapper
    await settle()
    expect(empty.find('[data-testid="inbox-empty"]').exists()).toBe(true)

    stubNetwork({
      [INBOX]: () =>
        jsonResponse({ title: '需要权限', status: 403, code: 'permission_denied' }, { status: 403, type: 'application/problem+json' }),
    })
    const failing = mountIn('zh-CN', InboxView).wrapper
    await settle()
    expect(failing.get('[data-testid="inbox-error"]').text()).toBe('需要权限')
  })
})
