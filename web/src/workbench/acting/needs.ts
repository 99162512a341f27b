/** What an action asks of the person taking it, from the workflow's definition and a subject's own rules. */
import type { ProblemFieldError } from '../../shared/api'
import type { Attachment } from '../../shared/cases'

export interface FieldNeed {
  name: string
  kind: 'text' | 'number' | 'satisfaction'
  /** Checked before sending; the server checks again. */
  required: boolean
}

export interface ActionNeeds {
  /** Data fields, in order. */
  fields: readonly FieldNeed[]
  comment: 'required' | 'optional'
  /** Attachment kinds the action needs one photo each of (`photo_after`). */
  photos: readonly string[]
}

/** An action open to me now, named in the page's language, with what it needs. */
export interface ActionChoice {
  id: string
  name: string
  needs: ActionNeeds
}

/** What the action form sends; the drawer adds the version it saw and picks the API. */
export interface ActionSubmission {
  comment?: string
  data: Record<string, unknown>
  attachments?: Attachment[]
}

/** An action as the workflow definition states it (`GET /workflow/instances/{id}`). */
export interface ActionSpec {
  id: string
  requires?: readonly string[]
  attachments?: readonly string[]
  comment_required?: boolean
}

const COMMENT_ONLY: ActionNeeds = { fields: [], comment: 'optional', photos: [] }

const text = (name: string, required: boolean): FieldNeed => ({ name, kind: 'text', required })

/**
 * The case loop's own rules on top of its definition: a category picker to register, days
 * as a number, satisfaction as 1 to 5, and a department that may be left to the routing rules.
 */
export const CASE_NEEDS: Readonly<Record<string, ActionNeeds>> = {
  register: { fields: [text('category', true)], comment: 'optional', photos: [] },
  reject: { fields: [], comment: 'required', photos: [] },
  dispatch: { fields: [text('department', false)], comment: 'optional', photos: [] },
  sign: COMMENT_ONLY,
  return: { fields: [text('reason', true)], comment: 'optional', photos: [] },
  request_extension: { fields: [{ name: 'days', kind: 'number', required: true }], comment: 'required', photos: [] },
  approve_extension: COMMENT_ONLY,
  refuse_extension: { fields: [], comment: 'required', photos: [] },
  suspend: { fields: [], comment: 'required', photos: [] },
  resume: COMMENT_ONLY,
  resolve: { fields: [], comment: 'optional', photos: ['photo_after'] },
  verify_pass: COMMENT_ONLY,
  verify_fail: { fields: [text('reason', true)], comment: 'optional', photos: [] },
  call_back: { fields: [{ name: 'satisfaction', kind: 'satisfaction', required: true }], comment: 'optional', photos: [] },
  urge: { fields: [], comment: 'required', photos: [] },
}

/** What a case action needs, when only its id is known (the cases API lists ids). */
export function caseNeeds(action: string): ActionNeeds {
  return CASE_NEEDS[action] ?? COMMENT_ONLY
}

/** What the definition says an action needs: each required field as text, each attachment kind as a photo. */
export function specNeeds(spec: ActionSpec): ActionNeeds {
  return {
    fields: (spec.requires ?? []).map((name) => text(name, true)),
    comment: spec.comment_required ? 'required' : 'optional',
    photos: [...(spec.attachments ?? [])],
  }
}

/**
 * A case action's needs from its definition, refined by the case rules: a field the rules
 * describe takes their kind and optionality (the cases API fills a missing department from
 * the routing table); a field or photo only the definition names is still asked for.
 */
export function caseSpecNeeds(spec: ActionSpec): ActionNeeds {
  const generic = specNeeds(spec)
  const own = CASE_NEEDS[spec.id]
  if (!own) {
    return generic
  }
  const known = new Set(own.fields.map((field) => field.name))
  return {
    fields: [...own.fields, ...generic.fields.filter((field) => !known.has(field.name))],
    comment: own.comment === 'required' || generic.comment === 'required' ? 'required' : 'optional',
    photos: [...new Set([...own.photos, ...generic.photos])],
  }
}

/**
 * The field a problem names, as the form calls it: `days`, `comment`, `photo:photo_after`.
 * Attachments go out in the order of `photos`, so `attachments[1]` is the second kind.
 */
export function formField(location: string, photos: readonly string[]): string {
  const where = location.replace(/^body\./, '')
  const kind = /^attachments\.(.+)$/.exec(where)?.[1]
  if (kind) {
    return `photo:${kind}`
  }
  const index = /^attachments\[(\d+)\]/.exec(where)?.[1]
  if (index !== undefined) {
    const sent = photos[Number(index)] ?? photos[0]
    return sent ? `photo:${sent}` : 'photo'
  }
  return where.replace(/^data\./, '')
}

/** A 422's field errors by form field; `translate` turns a server message into the page's words. */
export function fieldProblems(
  errors: readonly ProblemFieldError[],
  photos: readonly string[],
  translate: (message: string) => string,
): Record<string, string> {
  return Object.fromEntries(errors.map((error) => [formField(error.field, photos), translate(error.message)]))
}

/** Missing answers to what `needs` marks as required, by form field. */
export function missingAnswers(
  needs: ActionNeeds,
  answers: { data: Readonly<Record<string, unknown>>; comment: string; photos: Readonly<Record<string, unknown>> },
  messages: { required: string; photo: (kind: string) => string },
): Record<string, string> {
  const missing: Record<string, string> = {}
  for (const field of needs.fields) {
    if (field.required && !String(answers.data[field.name] ?? '').trim()) {
      missing[field.name] = messages.required
    }
  }
  if (needs.comment === 'required' && !answers.comment.trim()) {
    missing.comment = messages.required
  }
  for (const kind of needs.photos) {
    if (!answers.photos[kind]) {
      missing[`photo:${kind}`] = messages.photo(kind)
    }
  }
  return missing
}

/** The data to send: each answered field, numbers as numbers. */
export function answeredData(fields: readonly FieldNeed[], data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    const raw = String(data[field.name] ?? '').trim()
    if (raw) {
      out[field.name] = field.kind === 'text' ? raw : Number(raw)
    }
  }
  return out
}
