import { watch } from 'vue'
import { createI18n } from 'vue-i18n'
import en from './locales/en.json'
import zhCN from './locales/zh-CN.json'

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
export const DEFAULT_LOCALE: Locale = 'zh-CN'
export const LOCALE_STORAGE_KEY = 'cityos.locale'

export type MessageSchema = typeof zhCN

// Typed against the Chinese file, so a key missing from English fails the type check.
const messages: Record<Locale, MessageSchema> = { 'zh-CN': zhCN, en }

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

/** The locale chosen earlier in this browser, or zh-CN. */
export function storedLocale(): Locale {
  try {
    const value = window.localStorage.getItem(LOCALE_STORAGE_KEY)
    return isLocale(value) ? value : DEFAULT_LOCALE
  } catch {
    // Storage can be disabled (private windows, locked-down kiosks): fall back quietly.
    return DEFAULT_LOCALE
  }
}

function persistLocale(locale: Locale): void {
  try {
    window.localStorage.setItem(LOCALE_STORAGE_KEY, locale)
  } catch {
    // The choice then lasts for this page view only.
  }
}

export interface AppI18nOptions {
  /** Message key of the page's <title>; left alone when absent. */
  titleKey?: string
  locale?: Locale
}

/**
 * The i18n instance for one page. It keeps <html lang> and <title> in step with the locale
 * and remembers a changed locale in localStorage for the other pages.
 */
export function createAppI18n(options: AppI18nOptions = {}) {
  const i18n = createI18n({
    legacy: false,
    locale: options.locale ?? storedLocale(),
    fallbackLocale: DEFAULT_LOCALE,
    messages,
  })
  const composer = i18n.global
  const applyToDocument = (locale: string): void => {
    document.documentElement.lang = locale
    if (options.titleKey) {
      document.title = composer.t(options.titleKey)
    }
  }
  applyToDocument(composer.locale.value)
  watch(composer.locale, (locale) => {
    applyToDocument(locale)
    if (isLocale(locale)) {
      persistLocale(locale)
    }
  })
  return i18n
}

export type AppI18n = ReturnType<typeof createAppI18n>
