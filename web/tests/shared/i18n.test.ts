import { nextTick } from 'vue'
import { afterEach, describe, expect, it } from 'vitest'
import { createAppI18n, LOCALE_STORAGE_KEY, storedLocale } from '../../src/shared/i18n'
import en from '../../src/shared/locales/en.json'
import zhCN from '../../src/shared/locales/zh-CN.json'

function keys(tree: object, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null ? keys(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

afterEach(() => {
  document.documentElement.lang = ''
  document.title = ''
})

describe('locale files', () => {
  it('have the same keys in Chinese and English', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
  })

  it('have no empty message', () => {
    for (const tree of [zhCN, en]) {
      const empty = keys(tree).filter((key) => {
        const value = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree)
        return typeof value !== 'string' || value.trim() === ''
      })
      expect(empty).toEqual([])
    }
  })
})

describe('storedLocale', () => {
  it('is zh-CN on a first visit', () => {
    expect(storedLocale()).toBe('zh-CN')
  })

  it('returns a locale chosen earlier', () => {
    localStorage.setItem(LOCALE_STORAGE_KEY, 'en')
    expect(storedLocale()).toBe('en')
  })

  it('ignores a value that is not one of ours', () => {
    localStorage.setItem(LOCALE_STORAGE_KEY, 'fr')
    expect(storedLocale()).toBe('zh-CN')
  })
})

describe('createAppI18n', () => {
  it('sets <html lang> and the page title at start', () => {
    createAppI18n({ titleKey: 'ioc.pageTitle' })
    expect(document.documentElement.lang).toBe('zh-CN')
    expect(document.title).toBe('罗湖区智能运营中心 (IOC)')
  })

  it('follows a locale change in lang, title and storage', async () => {
    const i18n = createAppI18n({ titleKey: 'portal.pageTitle' })
    i18n.global.locale.value = 'en'
    await nextTick()
    expect(document.documentElement.lang).toBe('en')
    expect(document.title).toBe('iLuohu')
    expect(localStorage.getItem(LOCALE_STORAGE_KEY)).toBe('en')
  })
})
