import { describe, expect, it } from 'vitest'
import { grants } from '../../src/auth/account'

describe('permission patterns', () => {
  it.each([
    ['identity.users.read', 'identity.users.read', true],
    ['identity.users.read', 'identity.users.manage', false],
    ['identity.*', 'identity.users.manage', true],
    ['identity.*.read', 'identity.roles.read', true],
    ['identity.*.read', 'identity.roles.manage', false],
    ['*', 'geo.geocode.batch', true],
    ['identity.users', 'identity.users.read', false],
  ])('%s covers %s: %s', (held, wanted, expected) => {
    expect(grants(held, wanted)).toBe(expected)
  })
})
