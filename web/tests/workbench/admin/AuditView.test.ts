import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import AuditView from '../../../src/workbench/admin/AuditView.vue'
import type { AuditRecord } from '../../../src/workbench/admin/audit'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'

const RECORDS = '/api/v1/audit/records'
const EXPORT = '/api/v1/audit/records.xlsx'
const VERIFY = '/api/v1/audit/verify'
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const AUDITOR = meBody({
  username: 'auditor',
  display_name: '审计员（演示）',
  permissions: ['identity.profile.read', 'audit.read', 'audit.export', 'audit.verify'],
})

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  const seq = overrides.seq ?? 7
  return {
    id: `0190a4c2-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    seq,
    // 02:30 UTC is 10:30 in Shenzhen; 23:30 UTC the day before is the next morning there.
    occurred_at: '2026-11-30T23:30:05.123456Z',
    actor: 'admin',
    action: 'auth.sign_in',
    target_type: 'user',
    target_id: 'u-admin',
    outcome: 'success',
    details: { method: 'password', amr: ['pwd'] },
    ip: '127.0.0.1',
    request_id: 'req-1',
    purpose: null,
    ...overrides,
  }
}

const PAGE_ONE = {
  items: [
    record(),
    record({ seq: 6, action: 'identity.user_update', outcome: 'denied', details: {}, target_id: 'u-2' }),
    record({ seq: 5, action: 'auth.sign_in', actor: 'nobody', outcome: 'failure', details: { reason: 'bad_password' } }),
  ],
  next_cursor: 'cursor-2',
}
const PAGE_TWO = { items: [record({ seq: 4, action: 'pii.reveal', target_type: 'citizen', target_id: null })], next_cursor: null }

function auditNetwork(extra: Parameters<typeof stubNetwork>[0] = {}) {
  return stubNetwork({
    [RECORDS]: (url) => jsonResponse(url.searchParams.get('cursor') === 'cursor-2' ? PAGE_TWO : PAGE_ONE),
    ...extra,
  })
}

beforeEach(async () => {
  await signInAs(AUDITOR)
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe('审计日志', () => {
  it('lists records newest first in Beijing time with labels, outcomes and details', async () => {
    const net = auditNetwork()
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()

    const first = net.callsTo(RECORDS)[0]
    expect(first?.headers.get('authorization')).toBe('Bearer access-1')
    expect(first?.url.searchParams.get('limit')).toBe('50')
    expect(first?.url.searchParams.has('cursor')).toBe(false)

    const rows = wrapper.findAll('[data-testid="audit-table"] tbody tr')
    expect(rows.map((row) => row.attributes('data-seq'))).toEqual(['7', '6', '5'])
    const cells = rows[0]!.findAll('td').map((cell) => cell.text())
    expect(cells[0]).toBe('2026-12-01 07:30:05')
    expect(cells[1]).toBe('admin')
    expect(cells[2]).toContain('登录认证')
    expect(cells[2]).toContain('登录')
    expect(cells[2]).toContain('auth.sign_in')
    expect(cells[3]).toBe('user · u-admin')
    expect(cells[4]).toBe('成功')
    expect(cells[5]).toBe('{"method":"password","amr":["pwd"]}')
    expect(rows[1]!.text()).toContain('用户与权限')
    expect(rows[1]!.get('[data-outcome]').text()).toBe('拒绝')
    expect(rows[1]!.get('[data-outcome]').classes()).toContain('adm-badge--warn')
    expect(rows[2]!.get('[data-outcome]').text()).toBe('失败')
    expect(rows[2]!.get('[data-outcome]').classes()).toContain('adm-badge--bad')
    expect(rows[0]!.get('[data-outcome]').classes()).toContain('adm-badge--ok')
  })

  it('loads more with the next cursor, keeping the filters, until there is no more', async () => {
    const net = auditNetwork()
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('input[name="actor"]').setValue(' admin ')
    await wrapper.get('select[name="family"]').setValue('pii')
    await wrapper.get('[data-testid="audit-filters"]').trigger('submit')
    await settle()

    expect(wrapper.get('[data-testid="audit-more"]').text()).toBe('加载更多')
    await wrapper.get('[data-testid="audit-more"]').trigger('click')
    await settle()

    const more = net.callsTo(RECORDS).at(-1)!
    expect(more.url.searchParams.get('cursor')).toBe('cursor-2')
    expect(more.url.searchParams.get('actor')).toBe('admin')
    expect(more.url.searchParams.get('action')).toBe('pii.')
    const rows = wrapper.findAll('[data-testid="audit-table"] tbody tr')
    expect(rows.map((row) => row.attributes('data-seq'))).toEqual(['7', '6', '5', '4'])
    expect(rows[3]!.text()).toContain('个人信息')
    expect(rows[3]!.findAll('td')[3]!.text()).toBe('citizen')
    expect(wrapper.find('[data-testid="audit-more"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="audit-shown"]').text()).toBe('已显示 4 条')
  })

  it('sends a date range as whole Beijing days with the +08:00 zone', async () => {
    const net = auditNetwork()
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('select[name="family"]').setValue('auth')
    await wrapper.get('input[name="from"]').setValue('2026-11-30')
    await wrapper.get('input[name="to"]').setValue('2026-11-30')
    await wrapper.get('[data-testid="audit-filters"]').trigger('submit')
    await settle()

    const params = net.callsTo(RECORDS).at(-1)!.url.searchParams
    expect(params.get('action')).toBe('auth.')
    expect(params.get('since')).toBe('2026-11-30T00:00:00+08:00')
    expect(params.get('until')).toBe('2026-12-01T00:00:00+08:00')
  })

  it('refuses a range that ends before it starts, without asking the server', async () => {
    const net = auditNetwork()
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('input[name="from"]').setValue('2026-12-01')
    await wrapper.get('input[name="to"]').setValue('2026-11-01')
    await wrapper.get('[data-testid="audit-filters"]').trigger('submit')
    await settle()
    expect(wrapper.get('[role="alert"]').text()).toBe('开始日期不能晚于结束日期。')
    expect(net.callsTo(RECORDS)).toHaveLength(1)
  })

  it('exports the filtered records to Excel with the bearer token and saves the file', async () => {
    const createObjectURL = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:audit')
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined)
    const clicked: { href: string; download: string }[] = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download })
    })
    const net = auditNetwork({
      [EXPORT]: () =>
        new Response(new Blob(['PK-xlsx'], { type: XLSX }), {
          status: 200,
          headers: {
            'content-type': XLSX,
            'content-disposition': `attachment; filename="cityos-audit-20261201-103000.xlsx"`,
          },
        }),
    })
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('select[name="family"]').setValue('auth')
    await wrapper.get('[data-testid="audit-filters"]').trigger('submit')
    await settle()
    expect(wrapper.get('[data-testid="audit-export"]').text()).toBe('导出 Excel')
    await wrapper.get('[data-testid="audit-export"]').trigger('click')
    await settle()

    const call = net.callsTo(EXPORT)[0]!
    expect(call.headers.get('authorization')).toBe('Bearer access-1')
    expect(call.url.searchParams.get('action')).toBe('auth.')
    expect(call.url.searchParams.has('cursor')).toBe(false)
    expect(createObjectURL).toHaveBeenCalledOnce()
    expect(clicked).toEqual([{ href: 'blob:audit', download: 'cityos-audit-20261201-103000.xlsx' }])
    expect(wrapper.find('[data-testid="audit-export-error"]').exists()).toBe(false)
  })

  it('says why an export failed', async () => {
    auditNetwork({
      [EXPORT]: () =>
        jsonResponse({ status: 403, title: '没有权限', code: 'forbidden' }, { status: 403, type: 'application/problem+json' }),
    })
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('[data-testid="audit-export"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="audit-export-error"]').text()).toBe('导出未成功：没有权限')
  })

  it('verifies the chain: intact in green', async () => {
    const net = auditNetwork({
      [VERIFY]: () => jsonResponse({ ok: true, count: 128, head_seq: 128, head_hash: 'ab', fault: null, pending: 0 }),
    })
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('[data-testid="audit-verify"]').trigger('click')
    await settle()

    expect(net.callsTo(VERIFY)[0]?.method).toBe('POST')
    const result = wrapper.get('[data-testid="audit-verify-result"]')
    expect(result.text()).toBe('审计链完整，共 128 条')
    expect(result.classes()).toContain('adm-notice')
    expect(result.attributes('role')).toBe('status')
  })

  it('verifies the chain: a fault in red, naming the record', async () => {
    auditNetwork({
      [VERIFY]: () =>
        jsonResponse({
          ok: false,
          count: 40,
          head_seq: 40,
          head_hash: 'cd',
          fault: { kind: 'changed', seq: 17, detail: 'hash mismatch' },
          pending: 0,
        }),
    })
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    await wrapper.get('[data-testid="audit-verify"]').trigger('click')
    await settle()

    const result = wrapper.get('[data-testid="audit-verify-result"]')
    expect(result.text()).toBe('审计链已被破坏：第 17 条被修改（hash mismatch）')
    expect(result.classes()).toContain('adm-error')
    expect(result.attributes('role')).toBe('alert')
  })

  it('offers export and verification only to those who hold them', async () => {
    await signInAs(meBody({ permissions: ['identity.profile.read', 'audit.read'] }))
    auditNetwork()
    const { wrapper } = mountIn('zh-CN', AuditView)
    await settle()
    expect(wrapper.find('[data-testid="audit-export"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="audit-verify"]').exists()).toBe(false)
  })

  it('speaks English', async () => {
    auditNetwork({
      [VERIFY]: () => jsonResponse({ ok: true, count: 3, head_seq: 3, head_hash: 'ef', fault: null, pending: 0 }),
    })
    const { wrapper } = mountIn('en', AuditView)
    await settle()
    expect(wrapper.get('thead').text()).toContain('Time (Beijing)')
    const first = wrapper.get('tr[data-seq="7"]')
    expect(first.text()).toContain('Sign-in')
    expect(first.get('[data-outcome]').text()).toBe('Success')
    expect(wrapper.get('[data-testid="audit-more"]').text()).toBe('Load more')
    await wrapper.get('[data-testid="audit-verify"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="audit-verify-result"]').text()).toBe('The audit chain is intact: 3 records')
  })
})
