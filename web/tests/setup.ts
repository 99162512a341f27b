import { enableAutoUnmount } from '@vue/test-utils'
import { afterEach } from 'vitest'

// Each test starts from a fresh page: no mounted app, no stored locale, no route.
enableAutoUnmount(afterEach)

afterEach(() => {
  localStorage.clear()
  window.location.hash = ''
})
