import { describe, expect, it } from 'vitest'
import type { ItemOut, ItemSummary } from '../../src/portal/onestop'
import PortalApp from '../../src/portal/PortalApp.vue'
import PortalServices from '../../src/portal/PortalServices.vue'
import { stubNetwork } from '../auth/fixtures'
import { jsonResponse, mountIn, settle } from '../helpers'

const ITEMS = '/api/v1/onestop/items'
const LIFE_EVENTS = '/api/v1/onestop/life-events'

function item(overrides: Partial<ItemSummary> = {}): ItemSummary {
  return {
    code: 'LH-XK-0001',
    name: { zh: '食品经营许可证核发（新办）', en: 'Food business licence (new)' },
    type: '行政许可',
    department: 'market-regulation',
    applicant: ['enterprise', 'citizen'],
    legal_days: 10,
    promised_days: 3,
    visits: 0,
    life_events: ['开餐馆'],
    demo: true,
    ...overrides,
  }
}

function guide(): ItemOut {
  return {
    ...item(),
    definition: {
      fee: { zh: '不收费', en: 'Free' },
      legal_basis: ['《中华人民共和国食品安全法》第三十五条', '《中华人民共和国行政许可法》'],
      eligibility: { zh: '已取得营业执照的市场主体。', en: 'A registered business.' },
      materials: [
        { code: 'business-licence', name: { zh: '营业执照', en: 'Business licence' }, required: true, original: false, copies: 1, replaced_by: { elicence: 'business-licence' } },
        { code: 'social-insurance', name: { zh: '社保缴纳记录', en: 'Social insurance record' }, required: true, original: false, copies: 1, replaced_by: { dataset: 'LH-RS-0001' } },
        { code: 'site-plan', name: { zh: '经营场所平面布局图', en: 'Floor plan' }, required: true, original: false, copies: 1 },
        { code: 'power-of-attorney', name: { zh: '授权委托书', en: 'Power of attorney' }, required: false, original: true, copies: 0, replaced_by: null },
      ],
      form: { type: 'object', properties: {} },
    },
  }
}

const catalogue = (items: ItemSummary[] = [item(), item({ code: 'LH-GG-0002', name: { zh: '居住证办理', en: 'Residence permit' }, type: '公共服务', department: 'public-security', promised_days: 0, visits: 1 })]) => ({
  [LIFE_EVENTS]: () => jsonResponse([{ name: '开餐馆', items: 6 }, { name: '新生儿出生', items: 4 }]),
  [ITEMS]: () => jsonResponse(items),
  [`${ITEMS}/LH-XK-0001`]: () => jsonResponse(guide()),
})

const lastSearch = (calls: { url: URL }[]): Record<string, string> => Object.fromEntries(calls.at(-1)!.url.searchParams)

describe('办事指南', () => {
  it('lists the catalogue with time limits, visits and the demo tag, signed in or not', async () => {
    const { callsTo } = stubNetwork(catalogue())
    const { wrapper } = mountIn('zh-CN', PortalServices)
    await settle()

    expect(lastSearch(callsTo(ITEMS))).toEqual({})
    expect(wrapper.findAll('[data-testid="life-events"] .portal-chip').map((chip) => chip.text())).toEqual(['全部', '开餐馆 6', '新生儿出生 4'])
    const rows = wrapper.findAll('[data-item]')
    expect(rows.map((row) => row.get('[data-testid="item-name"]').text())).toEqual(['食品经营许可证核发（新办）', '居住证办理'])
    expect(rows[0]!.get('[data-testid="item-meta"]').text()).toBe('行政许可 · market-regulation')
    expect(rows[0]!.get('[data-testid="item-limits"]').text()).toBe('承诺时限 3 个工作日 · 零跑动')
    expect(rows[1]!.get('[data-testid="item-limits"]').text()).toBe('承诺时限 即办 · 跑动 1 次')
    expect(rows.map((row) => row.get('[data-testid="demo-tag"]').text())).toEqual(['演示事项', '演示事项'])
    // Browsing comes before applying: there is nothing to apply with yet.
    expect(wrapper.text()).not.toContain('申请')
  })

  it('sends the keywords, the life event and the applicant as the query', async () => {
    const { callsTo } = stubNetwork(catalogue())
    const { wrapper } = mountIn('zh-CN', PortalServices)
    await settle()

    await wrapper.get('input[name="q"]').setValue('  食品 ')
    await wrapper.get('[data-testid="services-search"]').trigger('submit')
    await settle()
    expect(lastSearch(callsTo(ITEMS))).toEqual({ q: '食品' })

    await wrapper.get('input[name="life_event"][value="开餐馆"]').setValue(true)
    await settle()
    expect(lastSearch(callsTo(ITEMS))).toEqual({ q: '食品', life_event: '开餐馆' })

    await wrapper.get('input[name="applicant"][value="enterprise"]').setValue(true)
    await settle()
    expect(lastSearch(callsTo(ITEMS))).toEqual({ q: '食品', life_event: '开餐馆', applicant: 'enterprise' })

    await wrapper.get('input[name="life_event"][value=""]').setValue(true)
    await settle()
    expect(lastSearch(callsTo(ITEMS))).toEqual({ q: '食品', applicant: 'enterprise' })
  })

  it('opens a guide that marks the materials an e-licence or shared data replaces as 免提交', async () => {
    const { callsTo } = stubNetwork(catalogue())
    const { wrapper } = mountIn('zh-CN', PortalServices)
    await settle()
    await wrapper.get('[data-item="LH-XK-0001"] button').trigger('click')
    await settle()

    expect(callsTo(`${ITEMS}/LH-XK-0001`)).toHaveLength(1)
    const page = wrapper.get('[data-testid="guide"]')
    expect(page.get('h2').text()).toBe('食品经营许可证核发（新办）')
    expect(page.get('[data-testid="demo-tag"]').text()).toBe('演示事项')
    expect(page.get('[data-testid="guide-legal-days"]').text()).toBe('10 个工作日')
    expect(page.get('[data-testid="guide-promised-days"]').text()).toBe('3 个工作日')
    expect(page.get('[data-testid="guide-visits"]').text()).toBe('零跑动')
    expect(page.get('[data-testid="guide-fee"]').text()).toBe('不收费')
    expect(page.get('[data-testid="guide-eligibility"]').text()).toContain('已取得营业执照的市场主体。')
    expect(page.findAll('[data-testid="guide-legal-basis"] li').map((li) => li.text())).toEqual([
      '《中华人民共和国食品安全法》第三十五条',
      '《中华人民共和国行政许可法》',
    ])
    const exempt = (code: string) => page.get(`[data-material="${code}"]`).find('[data-testid="material-exempt"]')
    expect(exempt('business-licence').text()).toBe('免提交（可由电子证照/共享数据替代）')
    expect(exempt('social-insurance').exists()).toBe(true)
    expect(exempt('site-plan').exists()).toBe(false)
    expect(exempt('power-of-attorney').exists()).toBe(false)
    expect(page.get('[data-material="power-of-attorney"]').text()).toContain('选交 · 原件核验')
    expect(wrapper.find('button[type="submit"]').exists()).toBe(false)

    await wrapper.get('[data-testid="guide-back"]').trigger('click')
    expect(wrapper.findAll('[data-item]')).toHaveLength(2)
  })

  it('shows the guide in English', async () => {
    stubNetwork(catalogue())
    const { wrapper } = mountIn('en', PortalServices)
    await settle()
    expect(wrapper.get('[data-item="LH-XK-0001"] [data-testid="item-limits"]').text()).toBe('Promised time limit 3 working days · No visit needed')
    await wrapper.get('[data-item="LH-XK-0001"] button').trigger('click')
    await settle()

    expect(wrapper.get('[data-testid="guide"] h2').text()).toBe('Food business licence (new)')
    expect(wrapper.get('[data-material="business-licence"] [data-testid="material-exempt"]').text()).toBe(
      'Not needed (an e-licence or shared data stands in)',
    )
  })

  it('says so when nothing matches', async () => {
    stubNetwork(catalogue([]))
    const { wrapper } = mountIn('zh-CN', PortalServices)
    await settle()
    expect(wrapper.get('[data-testid="services-none"]').text()).toBe('没有找到符合条件的事项。')
  })

  it('says so when the catalogue or a guide fails to load', async () => {
    const failure = () => jsonResponse({ title: '服务暂不可用', status: 503, code: 'unavailable' }, { status: 503, type: 'application/problem+json' })
    stubNetwork({ [LIFE_EVENTS]: failure, [ITEMS]: failure })
    const { wrapper } = mountIn('zh-CN', PortalServices)
    await settle()
    expect(wrapper.get('[data-testid="services-error"]').text()).toBe('事项加载失败：服务暂不可用')
    expect(wrapper.get('[data-testid="life-events-error"]').text()).toContain('一件事列表加载失败')
    expect(wrapper.find('[data-testid="services-none"]').exists()).toBe(false)

    stubNetwork({ ...catalogue(), [`${ITEMS}/LH-XK-0001`]: failure })
    await wrapper.get('[data-testid="services-search"]').trigger('submit')
    await settle()
    await wrapper.get('[data-item="LH-XK-0001"] button').trigger('click')
    await settle()
    expect(wrapper.get('[data-testid="guide-error"]').text()).toBe('服务暂不可用')
  })

  it('is the 办事 tab and the 办事服务 entry', async () => {
    stubNetwork(catalogue())
    const { wrapper } = mountIn('zh-CN', PortalApp)
    expect(wrapper.get('a[data-entry="services"]').attributes('href')).toBe('#/services')
    window.location.hash = '#/services'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await settle()

    expect(wrapper.get('[data-testid="services"] h2').text()).toBe('办事指南')
    expect(wrapper.findAll('[data-item]')).toHaveLength(2)
    expect(wrapper.get('[data-tab="services"]').attributes('aria-current')).toBe('page')
  })
})
