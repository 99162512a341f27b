import { beforeEach, describe, expect, it } from 'vitest'
import DepartmentsView from '../../../src/workbench/admin/DepartmentsView.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { DEPARTMENTS } from './fixtures'

const PATH = '/api/v1/identity/departments'

beforeEach(async () => {
  await signInAs(meBody())
})

describe('部门管理', () => {
  it('shows the department tree, opening a branch on demand', async () => {
    stubNetwork({ [PATH]: () => jsonResponse(DEPARTMENTS) })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()

    const tree = wrapper.get('[data-testid="department-tree"]')
    expect(tree.get('[data-code="luohu-government"]').attributes('aria-expanded')).toBe('true')
    expect(tree.text()).toContain('区政务服务数据管理局')
    expect(tree.get('[data-code="dongmen-subdistrict"]').text()).toContain('街道办事处')
    const dongmen = tree.get('[data-code="dongmen-subdistrict"]')
    expect(dongmen.attributes('aria-expanded')).toBe('false')
    expect(tree.text()).not.toContain('东门社区工作站')

    await dongmen.get('button').trigger('click')
    expect(tree.text()).toContain('东门社区工作站')
  })

  it('adds a department under a parent', async () => {
    const net = stubNetwork({
      [PATH]: (_url, init) =>
        init?.method === 'POST' ? jsonResponse({ ...DEPARTMENTS[0], children: [] }, { status: 201 }) : jsonResponse(DEPARTMENTS),
    })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    await wrapper.get('[data-testid="new-department"]').trigger('click')
    const form = wrapper.get('[data-testid="new-department-form"]')
    await form.get('select[name="parent_code"]').setValue('dongmen-subdistrict')
    await form.get('input[name="code"]').setValue('dongmen-new')
    await form.get('input[name="name_zh"]').setValue('新社区工作站')
    await form.get('input[name="name_en"]').setValue('New Community Station')
    await form.get('select[name="kind"]').setValue('community-station')
    await form.get('input[name="region_code"]').setValue('440303003009')
    await form.trigger('submit')
    await settle()

    const post = net.callsTo(PATH).find((call) => call.method === 'POST')
    expect(JSON.parse(post?.body ?? '{}')).toEqual({
      code: 'dongmen-new',
      name_zh: '新社区工作站',
      name_en: 'New Community Station',
      kind: 'community-station',
      parent_code: 'dongmen-subdistrict',
      region_code: '440303003009',
    })
    expect(wrapper.get('[role="status"]').text()).toBe('已新增部门 新社区工作站。')
    expect(net.callsTo(PATH).filter((call) => call.method === 'GET')).toHaveLength(2)
  })

  it('shows field errors next to the fields', async () => {
    stubNetwork({
      [PATH]: (_url, init) =>
        init?.method === 'POST'
          ? jsonResponse(
              {
                status: 422,
                title: '提交的数据有误',
                code: 'validation_failed',
                errors: [{ field: 'body.code', message: '编码已存在', type: 'value_error' }],
              },
              { status: 422, type: 'application/problem+json' },
            )
          : jsonResponse(DEPARTMENTS),
    })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    await wrapper.get('[data-testid="new-department"]').trigger('click')
    await wrapper.get('[data-testid="new-department-form"]').trigger('submit')
    await settle()

    const form = wrapper.get('[data-testid="new-department-form"]')
    // No detail in the problem: its title says what went wrong.
    expect(form.get('[role="alert"]').text()).toBe('提交的数据有误')
    expect(form.get('input[name="code"]').element.closest('label')?.textContent).toContain('编码已存在')
  })

  it('offers no new department to a reader', async () => {
    await signInAs(meBody({ permissions: ['identity.departments.read'] }))
    stubNetwork({ [PATH]: () => jsonResponse(DEPARTMENTS) })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    expect(wrapper.find('[data-testid="new-department"]').exists()).toBe(false)
  })
})
