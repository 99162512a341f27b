import { beforeEach, describe, expect, it } from 'vitest'
import RolesView from '../../../src/workbench/admin/RolesView.vue'
import { stubNetwork } from '../../auth/fixtures'
import { jsonResponse, meBody, mountIn, settle, signInAs } from '../../helpers'
import { ROLES } from './fixtures'

beforeEach(async () => {
  await signInAs(meBody())
})

describe('角色与权限', () => {
  it('lists roles with scope, permissions, two-factor and holders', async () => {
    stubNetwork({ '/api/v1/identity/roles': () => jsonResponse(ROLES) })
    const { wrapper } = mountIn('zh-CN', RolesView)
    await settle()

    const admin = wrapper.get('tr[data-role="platform-admin"]')
    expect(admin.text()).toContain('平台管理员')
    expect(admin.text()).toContain('全区')
    expect(admin.text()).toContain('全部权限')
    expect(admin.findAll('td').map((cell) => cell.text()).slice(-2)).toEqual(['是', '1'])
    const inspector = wrapper.get('tr[data-role="grid-inspector"]')
    expect(inspector.text()).toContain('管辖区域')
    expect(inspector.text()).toContain('identity.profile.read')
    expect(inspector.findAll('td').at(-1)?.text()).toBe('12')
  })

  it('speaks English', async () => {
    stubNetwork({ '/api/v1/identity/roles': () => jsonResponse(ROLES) })
    const { wrapper } = mountIn('en', RolesView)
    await settle()
    expect(wrapper.get('tr[data-role="grid-inspector"]').text()).toContain('Jurisdiction')
    expect(wrapper.get('thead').text()).toContain('Holders')
  })
})
