import { useI18n } from 'vue-i18n'
import { ApiError } from './api'

/** Turns any failure into one sentence for the user, in the page's language. */
export function useErrorText(): (error: unknown) => string {
  const { t, te } = useI18n()
  return (error: unknown): string => {
    if (error instanceof ApiError) {
      const title = error.problem?.title
      if (typeof title === 'string' && title) {
        return title
      }
      const key = `errors.${error.code}`
      return te(key) ? t(key) : t('errors.http_error')
    }
    return t('errors.http_error')
  }
}
