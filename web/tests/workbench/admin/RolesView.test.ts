import { beforeEach, describe, expect, it } from 'vitest'
import RolesView from '../../../src/workbench/admin/RolesView.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { PERMISSIONS, ROLES } from './fixtures'

const ROLES_PATH = '/api/v1/identity/roles'
const PERMISSIONS_PATH = '/api/v1/identity/permissions'

beforeEach(async () => {
  await signInAs(meBody())
})

describe('角色与权限', () => {
  it('lists roles with scope, permissions, two-factor and holders', async () => {
    stubNetwork({ [ROLES_PATH]: () => jsonResponse(ROLES), [PERMISSIONS_PATH]: () => jsonResponse(PERMISSIONS) })
    const { wrapper } = mountIn('zh-CN', RolesView)
    await settle()

    const admin = wrapper.get('tr[data-role="platform-admin"]')
    expect(admin.text()).toContain('平台管理员')
    expect(admin.text()).toContain('全区')
    expect(admin.text()).toContain('全部权限')
    expect(admin.findAll('td').map((cell) => cell.text()).slice(-2)).toEqual(['是', '1'])
    const inspector = wrapper.get('tr[data-role="grid-inspector"]')
    expect(inspector.text()).toContain('管辖区域')
    expect(inspector.text()).toContain('查看本人账号')
    expect(inspector.text()).not.toContain('identity.profile.read')
    expect(inspector.findAll('td').at(-1)?.text()).toBe('12')
  })

  it('labels permissions, keeping the raw name as the tooltip, and shows patterns as written', async () => {
    stubNetwork({ [ROLES_PATH]: () => jsonResponse(ROLES), [PERMISSIONS_PATH]: () => jsonResponse(PERMISSIONS) })
    const { wrapper } = mountIn('zh-CN', RolesView)
    await settle()

    const chip = (role: string, name: string) => wrapper.get(`tr[data-role="${role}"] [data-permission="${name}"]`)
    expect(chip('grid-inspector', 'identity.profile.read').text()).toBe('查看本人账号')
    expect(chip('grid-inspector', 'identity.profile.read').attributes('title')).toBe('identity.profile.read')
    expect(chip('platform-admin', '*').text()).toBe('* · 全部权限')
    expect(chip('geo-officer', 'geo.*').text()).toBe('geo.* · geo 下全部权限')
    expect(chip('geo-officer', 'geo.*').attributes('title')).toBe('geo.*')
    expect(chip('geo-officer', 'identity.*.read').text()).toBe('identity.*.read · 通配权限')
    // A name no module declares (an old profile) shows as it is.
    expect(chip('geo-officer', 'legacy.thing').text()).toBe('legacy.thing')
  })

  it('falls back to the raw names when the labels cannot be loaded', async () => {
    stubNetwork({ [ROLES_PATH]: () => jsonResponse(ROLES) })
    const { wrapper } = mountIn('zh-CN', RolesView)
    await settle()
    expect(wrapper.get('tr[data-role="grid-inspector"]').text()).toContain('identity.profile.read')
    expect(wrapper.get('[data-testid="permission-labels-failed"]').text()).toContain('权限说明加载失败')
  })

  it('speaks English', async () => {
    stubNetwork({ [ROLES_PATH]: () => jsonResponse(ROLES), [PERMISSIONS_PATH]: () => jsonResponse(PERMISSIONS) })
    const { wrapper } = mountIn('en', RolesView)
    await settle()
    expect(wrapper.get('tr[data-role="grid-inspector"]').text()).toContain('Jurisdiction')
    expect(wrapper.get('tr[data-role="grid-inspector"]').text()).toContain('Read one’s own account')
    expect(wrapper.get('[data-permission="geo.*"]').text()).toBe('geo.* · all of geo')
    expect(wrapper.get('[data-permission="*"]').text()).toBe('* · All permissions')
    expect(wrapper.get('thead').text()).toContain('Holders')
  })
})
