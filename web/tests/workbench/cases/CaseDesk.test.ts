import { describe, expect, it } from 'vitest'
import CaseDesk from '../../../src/workbench/cases/CaseDesk.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../../helpers'
import { caseBody, caseUrl, CASES, HANDLER, OPERATOR } from '../../shared/caseFixtures'

describe('the case desks', () => {
  it('the dispatch desk lists accepted, registered and extension cases, newest first', async () => {
    await signInAs(OPERATOR)
    const { callsTo } = stubNetwork({
      [CASES]: (url) => {
        const status = url.searchParams.get('status')
        if (status === 'accepted') {
          return jsonResponse({ items: [caseBody()], next_cursor: null })
        }
        if (status === 'registered') {
          const later = caseBody({
            id: 'c-2',
            number: 'LH20261201000002',
            status: 'registered',
            status_name_zh: '待派遣',
            category_code: '1505',
            category_name_zh: '内涝积水',
            created_at: '2026-12-01T02:00:00Z',
          })
          return jsonResponse({ items: [later], next_cursor: null })
        }
        return jsonResponse({ items: [], next_cursor: null })
      },
    })
    const { wrapper } = mountIn('zh-CN', CaseDesk, { props: { desk: 'dispatch' } })
    await settle()

    expect(callsTo(CASES).map((call) => call.url.searchParams.get('status')).sort()).toEqual([
      'accepted',
      'extension_requested',
      'registered',
    ])
    const rows = wrapper.findAll('[data-testid="desk-table"] tbody tr')
    expect(rows.map((row) => row.attributes('data-case'))).toEqual(['LH20261201000002', 'LH20261201000001'])
    expect(rows[0]!.text()).toContain('1505 内涝积水')
    expect(rows[1]!.text()).toContain('建议分类 1505')
    expect(rows[1]!.text()).toContain('2026-12-01 11:00:00')
  })

  it('the handling desk opens a case in the drawer and refreshes after a step', async () => {
    await signInAs(HANDLER)
    let listed = 0
    stubNetwork({
      [CASES]: (url) => {
        if (url.searchParams.get('status') === 'dispatched') {
          listed += 1
        }
        const items = url.searchParams.get('status') === 'dispatched' && listed === 1
          ? [caseBody({ status: 'dispatched', status_name_zh: '待签收', actions: ['sign', 'return'] })]
          : []
        return jsonResponse({ items, next_cursor: null })
      },
      [caseUrl('c-1')]: () => jsonResponse(caseBody({ status: 'dispatched', status_name_zh: '待签收', actions: ['sign', 'return'] })),
      [`${caseUrl('c-1')}/actions/sign`]: () =>
        jsonResponse(caseBody({ status: 'handling', status_name_zh: '处置中', actions: ['resolve'] })),
    })
    const { wrapper } = mountIn('zh-CN', CaseDesk, { props: { desk: 'handling' } })
    await settle()

    await wrapper.get('[data-testid="open-case"]').trigger('click')
    await settle()
    await wrapper.get('[data-action="sign"]').trigger('click')
    await wrapper.get('[data-testid="action-form"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="case-status"]').text()).toBe('处置中')
    expect(listed).toBe(2)
    expect(wrapper.find('[data-testid="desk-none"]').exists()).toBe(true)
  })

  it('the verification desk says when nothing waits, in English', async () => {
    await signInAs(HANDLER)
    stubNetwork({ [CASES]: () => jsonResponse({ items: [], next_cursor: null }) })
    const { wrapper } = mountIn('en', CaseDesk, { props: { desk: 'verify' } })
    await settle()
    expect(wrapper.get('[data-testid="desk-none"]').text()).toBe('No cases.')
    expect(wrapper.text()).toContain('Cases handled in your grid, awaiting verification.')
  })
})
