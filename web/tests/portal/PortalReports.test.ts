import { beforeEach, describe, expect, it } from 'vitest'
import PortalReports from '../../src/portal/PortalReports.vue'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, mountIn, settle, signInAs } from '../helpers'
import { caseBody, caseUrl, CASES, CITIZEN } from '../shared/caseFixtures'

const closed = caseBody({
  status: 'closed',
  status_name_zh: '已结案',
  status_name_en: 'Closed',
  satisfaction: 5,
  history: [
    ...caseBody().history!,
    { seq: 1, action: 'register', from_state: 'accepted', to_state: 'registered', actor: 'operator', comment: null, occurred_at: '2026-12-01T01:10:00Z' },
    { seq: 6, action: 'call_back', from_state: 'callback', to_state: 'closed', actor: 'operator', comment: '市民满意', occurred_at: '2026-12-01T06:00:00Z' },
  ],
})

describe('我的上报', () => {
  beforeEach(async () => {
    await signInAs(CITIZEN, 'portal')
  })

  it('lists my reports with their status, and opens one with its progress and my rating', async () => {
    stubNetwork({
      [CASES]: () => jsonResponse({ items: [closed, caseBody({ id: 'c-2', number: 'LH20261201000002' })], next_cursor: null }),
      [caseUrl('c-1')]: () => jsonResponse(closed),
    })
    const { wrapper } = mountIn('zh-CN', PortalReports)
    await settle()

    expect(wrapper.findAll('[data-testid="report-status"]').map((item) => item.text())).toEqual(['已结案', '待立案'])
    await wrapper.get('[data-case="LH20261201000001"] button').trigger('click')
    await settle()

    const detail = wrapper.get('[data-testid="report-detail"]')
    expect(detail.get('[data-testid="report-rating"]').text()).toContain('非常满意')
    const steps = detail.findAll('[data-testid="case-timeline"] li').map((step) => step.text())
    expect(steps).toHaveLength(3)
    expect(steps[0]).toContain('提交受理')
    expect(steps[0]).toContain('2026-12-01 09:00:00')
    expect(steps[2]).toContain('回访结案')
    expect(steps[2]).toContain('市民满意')
    // Citizens see what happened, not which official did it.
    expect(steps[2]).not.toContain('operator')
  })

  it('says when there is nothing yet', async () => {
    stubNetwork({ [CASES]: () => jsonResponse({ items: [], next_cursor: null }) })
    const { wrapper } = mountIn('en', PortalReports)
    await settle()
    expect(wrapper.get('[data-testid="reports-none"]').text()).toContain('You have not reported anything yet.')
  })
})
