import type { AdminUser, Department, Permission, Role } from '../../../src/workbench/admin/api'

export const DEPARTMENTS: Department[] = [
  {
    code: 'luohu-government',
    name_zh: '罗湖区人民政府',
    name_en: 'Luohu District Government',
    kind: 'government',
    region_code: '440303',
    children: [
      {
        code: 'government-services-data',
        name_zh: '区政务服务数据管理局',
        name_en: 'Government Services and Data Bureau',
        kind: 'bureau',
        region_code: null,
        children: [],
      },
      {
        code: 'dongmen-subdistrict',
        name_zh: '东门街道办事处',
        name_en: 'Dongmen Subdistrict Office',
        kind: 'subdistrict-office',
        region_code: '440303003',
        children: [
          {
            code: 'dongmen-community',
            name_zh: '东门社区工作站',
            name_en: 'Dongmen Community Station',
            kind: 'community-station',
            region_code: '440303003001',
            children: [],
          },
        ],
      },
    ],
  },
]

export const ROLES: Role[] = [
  {
    code: 'platform-admin',
    name_zh: '平台管理员',
    name_en: 'Platform administrator',
    scope: 'district',
    permissions: ['*'],
    mfa_required: true,
    holders: 1,
  },
  {
    code: 'grid-inspector',
    name_zh: '网格员',
    name_en: 'Grid inspector',
    scope: 'jurisdiction',
    permissions: ['identity.profile.read'],
    mfa_required: false,
    holders: 12,
  },
  {
    code: 'geo-officer',
    name_zh: '时空数据专员',
    name_en: 'Spatial data officer',
    scope: 'district',
    permissions: ['geo.*', 'identity.*.read', 'legacy.thing'],
    mfa_required: false,
    holders: 2,
  },
]

export const PERMISSIONS: Permission[] = [
  { name: 'audit.read', zh: '查阅审计日志', en: 'Read the audit trail' },
  { name: 'identity.profile.read', zh: '查看本人账号', en: 'Read one’s own account' },
  { name: 'identity.roles.read', zh: '查看角色', en: 'Read roles' },
]

export function user(overrides: Partial<AdminUser> = {}): AdminUser {
  return {
    id: 'u-inspector',
    username: 'inspector',
    display_name: '东门网格员（演示）',
    kind: 'staff',
    department_code: 'dongmen-subdistrict',
    active: true,
    locked: false,
    mfa_enrolled: false,
    roles: [
      {
        id: 'a-1',
        role: 'grid-inspector',
        name_zh: '网格员',
        name_en: 'Grid inspector',
        department_code: 'dongmen-subdistrict',
        jurisdiction: ['440303003'],
      },
    ],
    phone: '138****1234',
    ...overrides,
  }
}

export const ADMIN = user({
  id: 'u-admin',
  username: 'admin',
  display_name: '平台管理员（演示）',
  department_code: 'government-services-data',
  mfa_enrolled: true,
  roles: [
    {
      id: 'a-0',
      role: 'platform-admin',
      name_zh: '平台管理员',
      name_en: 'Platform administrator',
      department_code: 'government-services-data',
      jurisdiction: [],
    },
  ],
  phone: null,
})
