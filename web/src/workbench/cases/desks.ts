/** The case desks of the workbench: which cases each lists, and who works there. */
export const CASE_DESKS = ['hotline', 'dispatch', 'handling', 'verify', 'callback'] as const
export type CaseDesk = (typeof CASE_DESKS)[number]

/** The roles a desk is for (any of them shows it). */
export const DESK_ROLES: Record<CaseDesk, readonly string[]> = {
  hotline: ['hotline-operator'],
  dispatch: ['dispatcher'],
  handling: ['handler'],
  verify: ['grid-inspector'],
  callback: ['hotline-operator'],
}

export type ListDesk = Exclude<CaseDesk, 'hotline'>

/** The states whose cases a list desk shows: those that wait for its people. */
export const DESK_STATUSES: Record<ListDesk, readonly string[]> = {
  dispatch: ['accepted', 'registered', 'extension_requested'],
  handling: ['dispatched', 'handling'],
  verify: ['verifying'],
  callback: ['callback'],
}

/** What each action asks for besides the case's version. */
export interface ActionNeeds {
  /** Data fields, in order; `required` ones are checked before sending. */
  fields: readonly { name: string; kind: 'text' | 'number' | 'satisfaction'; required: boolean }[]
  comment: 'required' | 'optional'
  /** An attachment kind the action needs a photo for. */
  photo?: string
}

const COMMENT_ONLY: ActionNeeds = { fields: [], comment: 'optional' }

export const ACTION_NEEDS: Record<string, ActionNeeds> = {
  register: { fields: [{ name: 'category', kind: 'text', required: true }], comment: 'optional' },
  reject: { fields: [], comment: 'required' },
  dispatch: { fields: [{ name: 'department', kind: 'text', required: false }], comment: 'optional' },
  sign: COMMENT_ONLY,
  return: { fields: [{ name: 'reason', kind: 'text', required: true }], comment: 'optional' },
  request_extension: { fields: [{ name: 'days', kind: 'number', required: true }], comment: 'required' },
  approve_extension: COMMENT_ONLY,
  refuse_extension: { fields: [], comment: 'required' },
  suspend: { fields: [], comment: 'required' },
  resume: COMMENT_ONLY,
  resolve: { fields: [], comment: 'optional', photo: 'photo_after' },
  verify_pass: COMMENT_ONLY,
  verify_fail: { fields: [{ name: 'reason', kind: 'text', required: true }], comment: 'optional' },
  call_back: { fields: [{ name: 'satisfaction', kind: 'satisfaction', required: true }], comment: 'optional' },
  urge: { fields: [], comment: 'required' },
}

export function needsOf(action: string): ActionNeeds {
  return ACTION_NEEDS[action] ?? COMMENT_ONLY
}
