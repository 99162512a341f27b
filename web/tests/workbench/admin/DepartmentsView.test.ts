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

  it('edits a department, sending only what changed', async () => {
    const patch = '/api/v1/identity/departments/dongmen-community'
    const routes = stubNetwork({
      [PATH]: () => jsonResponse(DEPARTMENTS),
      [patch]: () =>
        jsonResponse({ ...DEPARTMENTS[0]!.children[1]!.children[0]!, name_zh: '东门社区工作站（新）', children: [] }),
    })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    await wrapper.get('[data-code="dongmen-subdistrict"] > .adm-tree__row button').trigger('click')
    await wrapper.get('[data-code="dongmen-community"] [data-testid="edit-department"]').trigger('click')

    const form = wrapper.get('[data-testid="edit-department-form"]')
    expect(form.attributes('data-code')).toBe('dongmen-community')
    expect((form.get('input[name="name_zh"]').element as HTMLInputElement).value).toBe('东门社区工作站')
    expect((form.get('select[name="parent_code"]').element as HTMLSelectElement).value).toBe('dongmen-subdistrict')
    expect((form.get('select[name="kind"]').element as HTMLSelectElement).value).toBe('community-station')
    expect((form.get('input[name="region_code"]').element as HTMLInputElement).value).toBe('440303003001')
    // It cannot move under itself.
    const parents = form.findAll('select[name="parent_code"] option').map((option) => option.attributes('value'))
    expect(parents).not.toContain('dongmen-community')
    expect(parents).toContain('luohu-government')

    await form.get('input[name="name_zh"]').setValue('东门社区工作站（新）')
    await form.get('select[name="parent_code"]').setValue('luohu-government')
    await form.get('input[name="region_code"]').setValue('')
    await form.trigger('submit')
    await settle()

    const sent = routes.callsTo(patch)
    expect(sent).toHaveLength(1)
    expect(sent[0]?.method).toBe('PATCH')
    expect(JSON.parse(sent[0]?.body ?? '{}')).toEqual({
      name_zh: '东门社区工作站（新）',
      parent_code: 'luohu-government',
      region_code: null,
    })
    expect(wrapper.get('[role="status"]').text()).toBe('已保存部门 东门社区工作站（新）。')
    expect(wrapper.find('[data-testid="edit-department-form"]').exists()).toBe(false)
    expect(routes.callsTo(PATH)).toHaveLength(2)
  })

  it('moves a department to the top level with parent_code null', async () => {
    const patch = '/api/v1/identity/departments/dongmen-subdistrict'
    const net = stubNetwork({
      [PATH]: () => jsonResponse(DEPARTMENTS),
      [patch]: () => jsonResponse({ ...DEPARTMENTS[0]!.children[1]!, children: [] }),
    })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    await wrapper.get('[data-code="dongmen-subdistrict"] [data-testid="edit-department"]').trigger('click')
    const form = wrapper.get('[data-testid="edit-department-form"]')
    await form.get('select[name="parent_code"]').setValue('')
    await form.trigger('submit')
    await settle()
    expect(JSON.parse(net.callsTo(patch)[0]?.body ?? '{}')).toEqual({ parent_code: null })
  })

  it('shows a refused move (a cycle) next to the parent field', async () => {
    const patch = '/api/v1/identity/departments/dongmen-subdistrict'
    stubNetwork({
      [PATH]: () => jsonResponse(DEPARTMENTS),
      [patch]: () =>
        jsonResponse(
          {
            status: 422,
            title: '提交的数据有误',
            code: 'validation_failed',
            detail: 'parent_code: 不能移到自己的下级部门之下',
            errors: [{ field: 'parent_code', message: '不能移到自己的下级部门之下', type: 'value_error' }],
          },
          { status: 422, type: 'application/problem+json' },
        ),
    })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    await wrapper.get('[data-code="dongmen-subdistrict"] [data-testid="edit-department"]').trigger('click')
    const form = wrapper.get('[data-testid="edit-department-form"]')
    await form.get('select[name="kind"]').setValue('agency')
    await form.trigger('submit')
    await settle()

    const still = wrapper.get('[data-testid="edit-department-form"]')
    expect(still.get('[role="alert"]').text()).toBe('parent_code: 不能移到自己的下级部门之下')
    expect(still.get('select[name="parent_code"]').element.closest('label')?.textContent).toContain('不能移到自己的下级部门之下')
    expect(still.get('input[name="name_zh"]').element.closest('label')?.querySelector('[data-testid="field-error"]')).toBeNull()
  })

  it('saves nothing when nothing changed', async () => {
    const net = stubNetwork({ [PATH]: () => jsonResponse(DEPARTMENTS) })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    await wrapper.get('[data-code="luohu-government"] [data-testid="edit-department"]').trigger('click')
    await wrapper.get('[data-testid="edit-department-form"]').trigger('submit')
    await settle()
    expect(net.calls.filter((call) => call.method === 'PATCH')).toHaveLength(0)
    expect(wrapper.get('[role="status"]').text()).toBe('没有需要保存的修改。')
  })

  it('offers no new department to a reader', async () => {
    await signInAs(meBody({ permissions: ['identity.departments.read'] }))
    stubNetwork({ [PATH]: () => jsonResponse(DEPARTMENTS) })
    const { wrapper } = mountIn('zh-CN', DepartmentsView)
    await settle()
    expect(wrapper.find('[data-testid="new-department"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="edit-department"]').exists()).toBe(false)
  })
})
