import { beforeEach, describe, expect, it, vi } from 'vitest'
import UsersView from '../../../src/workbench/admin/UsersView.vue'
import { stubNetwork, type Handler } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { ADMIN, DEPARTMENTS, ROLES, user } from './fixtures'

const USERS = '/api/v1/identity/users'

function problem(status: number, body: Record<string, unknown>): Response {
  return jsonResponse({ status, ...body }, { status, type: 'application/problem+json' })
}

function network(extra: Record<string, Handler> = {}, total = 2) {
  return stubNetwork({
    [USERS]: (_url, init) =>
      init?.method === 'POST'
        ? jsonResponse(user({ id: 'u-new', username: 'wang', display_name: '王五' }), { status: 201 })
        : jsonResponse({ items: [ADMIN, user()], total }),
    '/api/v1/identity/departments': () => jsonResponse(DEPARTMENTS),
    '/api/v1/identity/roles': () => jsonResponse(ROLES),
    ...extra,
  })
}

async function mountUsers(locale: 'zh-CN' | 'en' = 'zh-CN') {
  const { wrapper } = mountIn(locale, UsersView)
  await settle()
  return wrapper
}

beforeEach(async () => {
  await signInAs(meBody())
})

describe('用户管理', () => {
  it('lists users with department, roles, status and masked phone', async () => {
    const net = network()
    const wrapper = await mountUsers()

    const query = net.callsTo(USERS)[0]?.url.searchParams
    expect(query?.get('limit')).toBe('20')
    expect(query?.get('offset')).toBe('0')
    const row = wrapper.get('tr[data-username="inspector"]')
    expect(row.text()).toContain('东门网格员（演示）')
    expect(row.text()).toContain('东门街道办事处')
    expect(row.text()).toContain('网格员')
    expect(row.text()).toContain('正常')
    expect(row.text()).toContain('未绑定')
    expect(row.text()).toContain('138****1234')
    expect(wrapper.get('tr[data-username="admin"]').text()).toContain('区政务服务数据管理局')
    expect(wrapper.get('[data-testid="users-total"]').text()).toBe('共 2 个用户')
    // Every call carries the signed-in person's token.
    expect(net.calls.every((call) => call.headers.get('authorization') === 'Bearer access-1')).toBe(true)
  })

  it('searches by text, department and role from the first page', async () => {
    const net = network({}, 45)
    const wrapper = await mountUsers()
    await wrapper.findAll('.adm-pager button')[1]!.trigger('click')
    await settle()
    expect(net.callsTo(USERS).at(-1)?.url.searchParams.get('offset')).toBe('20')

    await wrapper.get('input[name="q"]').setValue('东门')
    await wrapper.get('select[name="department"]').setValue('dongmen-subdistrict')
    await wrapper.get('select[name="role"]').setValue('grid-inspector')
    await wrapper.get('form[role="search"]').trigger('submit')
    await settle()

    const query = net.callsTo(USERS).at(-1)?.url.searchParams
    expect(query?.get('q')).toBe('东门')
    expect(query?.get('department')).toBe('dongmen-subdistrict')
    expect(query?.get('role')).toBe('grid-inspector')
    expect(query?.get('offset')).toBe('0')
    expect(query?.has('kind')).toBe(false)
  })

  it('pages through the list', async () => {
    const net = network({}, 45)
    const wrapper = await mountUsers()
    expect(wrapper.text()).toContain('第 1 / 3 页')
    const [previous, next] = wrapper.findAll('.adm-pager button')
    expect(previous!.attributes('disabled')).toBeDefined()

    await next!.trigger('click')
    await settle()

    expect(net.callsTo(USERS).at(-1)?.url.searchParams.get('offset')).toBe('20')
    expect(wrapper.text()).toContain('第 2 / 3 页')
  })

  it('creates a user', async () => {
    const net = network()
    const wrapper = await mountUsers()
    await wrapper.get('[data-testid="new-user"]').trigger('click')
    const form = wrapper.get('[data-testid="new-user-form"]')
    await form.get('input[name="username"]').setValue('wang')
    await form.get('input[name="display_name"]').setValue('王五')
    await form.get('select[name="department_code"]').setValue('dongmen-community')
    await form.get('input[name="password"]').setValue('A-long-password-1')
    await form.trigger('submit')
    await settle()

    const post = net.callsTo(USERS).find((call) => call.method === 'POST')
    expect(JSON.parse(post?.body ?? '{}')).toEqual({
      username: 'wang',
      display_name: '王五',
      kind: 'staff',
      department_code: 'dongmen-community',
      phone: null,
      password: 'A-long-password-1',
    })
    expect(wrapper.get('[role="status"]').text()).toBe('已创建用户 王五。')
    expect(wrapper.find('[data-testid="new-user-form"]').exists()).toBe(false)
  })

  it('creates a citizen who signs in by phone, without a password', async () => {
    const net = network()
    const wrapper = await mountUsers()
    await wrapper.get('[data-testid="new-user"]').trigger('click')
    const form = wrapper.get('[data-testid="new-user-form"]')
    await form.get('input[name="username"]').setValue('li')
    await form.get('input[name="display_name"]').setValue('李四')
    await form.get('select[name="kind"]').setValue('citizen')
    await form.get('input[name="phone"]').setValue('13800001234')
    await form.trigger('submit')
    await settle()

    const post = net.callsTo(USERS).find((call) => call.method === 'POST')
    expect(JSON.parse(post?.body ?? '{}')).toEqual({
      username: 'li',
      display_name: '李四',
      kind: 'citizen',
      department_code: null,
      phone: '13800001234',
      password: null,
    })
  })

  it('shows the problem’s detail and each field error next to its field', async () => {
    network({
      [USERS]: (_url, init) =>
        init?.method === 'POST'
          ? problem(422, {
              title: '提交的数据有误',
              code: 'validation_failed',
              detail: '用户名已被使用',
              errors: [
                { field: 'body.username', message: '用户名已存在', type: 'value_error' },
                { field: 'body.password', message: '密码至少 12 位', type: 'value_error' },
              ],
            })
          : jsonResponse({ items: [], total: 0 }),
    })
    const wrapper = await mountUsers()
    await wrapper.get('[data-testid="new-user"]').trigger('click')
    await wrapper.get('[data-testid="new-user-form"]').trigger('submit')
    await settle()

    const form = wrapper.get('[data-testid="new-user-form"]')
    expect(form.get('[role="alert"]').text()).toBe('用户名已被使用')
    const usernameField = form.get('input[name="username"]').element.closest('label')
    expect(usernameField?.textContent).toContain('用户名已存在')
    const passwordField = form.get('input[name="password"]').element.closest('label')
    expect(passwordField?.textContent).toContain('密码至少 12 位')
  })

  it('disables, unlocks and resets two-factor sign-in', async () => {
    const locked = user({ locked: true, mfa_enrolled: true })
    const net = stubNetwork({
      [USERS]: () => jsonResponse({ items: [locked], total: 1 }),
      [`${USERS}/u-inspector`]: () => jsonResponse({ ...locked, active: false }),
      [`${USERS}/u-inspector/unlock`]: () => new Response(null, { status: 204 }),
      [`${USERS}/u-inspector/reset-mfa`]: () => new Response(null, { status: 204 }),
    })
    const confirm = vi.fn(() => true)
    vi.stubGlobal('confirm', confirm)
    const wrapper = await mountUsers()
    const row = () => wrapper.get('tr[data-username="inspector"]')
    expect(row().text()).toContain('已锁定')

    await row().get('[data-action="toggle-active"]').trigger('click')
    await settle()
    await row().get('[data-action="unlock"]').trigger('click')
    await settle()
    await row().get('[data-action="reset-mfa"]').trigger('click')
    await settle()

    const patch = net.callsTo(`${USERS}/u-inspector`)[0]
    expect(patch?.method).toBe('PATCH')
    expect(JSON.parse(patch?.body ?? '{}')).toEqual({ active: false })
    expect(net.callsTo(`${USERS}/u-inspector/unlock`)[0]?.method).toBe('POST')
    expect(net.callsTo(`${USERS}/u-inspector/reset-mfa`)[0]?.method).toBe('POST')
    expect(confirm).toHaveBeenCalledWith(expect.stringContaining('东门网格员（演示）'))
  })

  it('grants a role for a department over a jurisdiction, and removes one', async () => {
    const net = network({
      [`${USERS}/u-inspector/roles`]: () => jsonResponse({ id: 'a-2' }, { status: 201 }),
      [`${USERS}/u-inspector/roles/a-1`]: () => new Response(null, { status: 204 }),
    })
    const wrapper = await mountUsers()
    await wrapper.get('tr[data-username="inspector"] [data-action="manage"]').trigger('click')
    await settle()
    const panel = wrapper.get('[data-testid="user-panel"]')
    expect(panel.get('[data-role="grid-inspector"]').text()).toContain('440303003')

    const grant = panel.get('[data-testid="grant-form"]')
    await grant.get('select[name="role"]').setValue('platform-admin')
    await grant.get('select[name="department_code"]').setValue('dongmen-subdistrict')
    await grant.get('input[name="jurisdiction"]').setValue('440303003, 440303004')
    await grant.trigger('submit')
    await settle()
    await wrapper.get('[data-testid="user-panel"] [data-action="remove-role"]').trigger('click')
    await settle()

    const post = net.callsTo(`${USERS}/u-inspector/roles`)[0]
    expect(JSON.parse(post?.body ?? '{}')).toEqual({
      role: 'platform-admin',
      department_code: 'dongmen-subdistrict',
      jurisdiction: ['440303003', '440303004'],
    })
    expect(net.callsTo(`${USERS}/u-inspector/roles/a-1`)[0]?.method).toBe('DELETE')
  })

  it('offers no changes to someone who may only read', async () => {
    await signInAs(meBody({ permissions: ['identity.users.read'] }))
    network()
    const wrapper = await mountUsers()

    expect(wrapper.find('[data-testid="new-user"]').exists()).toBe(false)
    expect(wrapper.find('[data-action="toggle-active"]').exists()).toBe(false)
    await wrapper.get('tr[data-username="inspector"] [data-action="manage"]').trigger('click')
    expect(wrapper.find('[data-testid="grant-form"]').exists()).toBe(false)
    expect(wrapper.find('[data-action="remove-role"]').exists()).toBe(false)
  })

  it('says why the list could not be loaded', async () => {
    network({ [USERS]: () => problem(403, { title: '没有权限', code: 'permission_denied' }) })
    const wrapper = await mountUsers()
    expect(wrapper.get('[data-testid="users-error"]').text()).toBe('没有权限')
  })

  it('speaks English', async () => {
    network()
    const wrapper = await mountUsers('en')
    expect(wrapper.get('thead').text()).toContain('Username')
    expect(wrapper.get('tr[data-username="inspector"]').text()).toContain('Dongmen Subdistrict Office')
    expect(wrapper.get('tr[data-username="inspector"]').text()).toContain('Grid inspector')
  })
})
