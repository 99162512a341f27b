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
