import { enableAutoUnmount } from '@vue/test-utils'
import { afterEach } from 'vitest'
import { forgetDiscovery } from '../src/auth/oidc'
import { signOutEverywhere } from './helpers'

// Each test starts from a fresh page: no mounted app, no stored locale, no route, no session.
enableAutoUnmount(afterEach)

afterEach(async () => {
  localStorage.clear()
  window.location.hash = ''
  forgetDiscovery()
  await signOutEverywhere()
})
