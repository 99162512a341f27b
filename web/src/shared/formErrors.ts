import { reactive } from 'vue'
import { ApiError } from './api'

/** A form's failure: one sentence for the whole form and a message per bad field. */
export interface FormErrors {
  summary: string
  fields: Record<string, string>
}

// Validation errors name the field by its location (`body.username`); forms know `username`.
function fieldName(location: string): string {
  return location.replace(/^(body|query|path)\./, '')
}

/**
 * Errors for one form, filled from a problem+json failure: its `detail` (else the sentence
 * `describe` gives) and each `errors[]` entry next to its field.
 */
export function useFormErrors(describe: (error: unknown) => string) {
  const errors = reactive<FormErrors>({ summary: '', fields: {} })
  return {
    errors,
    clear(): void {
      errors.summary = ''
      errors.fields = {}
    },
    show(error: unknown): void {
      const problem = error instanceof ApiError ? error.problem : null
      const detail = typeof problem?.detail === 'string' ? problem.detail : ''
      errors.summary = detail || describe(error)
      errors.fields = Object.fromEntries(
        (problem?.errors ?? []).map((item) => [fieldName(item.field), item.message]),
      )
    },
  }
}
