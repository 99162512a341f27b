import { describe, expect, it } from 'vitest'
import { defineComponent, h } from 'vue'
import { useI18n } from 'vue-i18n'
import { LOCALE_STORAGE_KEY } from '../../src/shared/i18n'
import LocaleSwitch from '../../src/shared/LocaleSwitch.vue'
import { mountIn } from '../helpers'

// A neighbour on the page, to show that switching re-renders everything, not just the switch.
const Neighbour = defineComponent(() => {
  const { t } = useI18n()
  return () => h('p', { class: 'neighbour' }, t('common.signIn'))
})
const Page = defineComponent(() => () => [h(LocaleSwitch), h(Neighbour)])

describe('LocaleSwitch', () => {
  it('offers both languages, each named in itself, with Chinese pressed by default', () => {
    const { wrapper } = mountIn('zh-CN', LocaleSwitch)
    const buttons = wrapper.findAll('button')
    expect(buttons.map((b) => b.text())).toEqual(['中文', 'English'])
    expect(buttons.map((b) => b.attributes('lang'))).toEqual(['zh-CN', 'en'])
    expect(wrapper.get('[data-locale="zh-CN"]').attributes('aria-pressed')).toBe('true')
    expect(wrapper.get('[data-locale="en"]').attributes('aria-pressed')).toBe('false')
    expect(wrapper.get('[role="group"]').attributes('aria-label')).toBe('语言')
  })

  it('switches the page to English, sets <html lang> and remembers the choice', async () => {
    const { wrapper } = mountIn('zh-CN', Page)
    expect(wrapper.get('.neighbour').text()).toBe('登录')

    await wrapper.get('[data-locale="en"]').trigger('click')

    expect(wrapper.get('.neighbour').text()).toBe('Sign in')
    expect(wrapper.get('[data-locale="en"]').attributes('aria-pressed')).toBe('true')
    expect(wrapper.get('[role="group"]').attributes('aria-label')).toBe('Language')
    expect(document.documentElement.lang).toBe('en')
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('en')
  })

  it('switches back to Chinese', async () => {
    const { wrapper } = mountIn('en', Page)
    await wrapper.get('[data-locale="zh-CN"]').trigger('click')
    expect(wrapper.get('.neighbour').text()).toBe('登录')
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('zh-CN')
  })
})
