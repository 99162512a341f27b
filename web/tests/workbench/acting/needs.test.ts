import { describe, expect, it } from 'vitest'
import { answeredData, caseNeeds, caseSpecNeeds, fieldProblems, formField, missingAnswers, specNeeds } from '../../../src/workbench/acting/needs'

describe('what an action needs', () => {
  it('reads the definition: required fields as text, attachment kinds as photos, the comment', () => {
    expect(specNeeds({ id: 'approve', requires: ['note'], attachments: ['scan'], comment_required: true })).toEqual({
      fields: [{ name: 'note', kind: 'text', required: true }],
      comment: 'required',
      photos: ['scan'],
    })
  })

  it('lets the case rules refine the definition, keeping what only the definition asks', () => {
    // The cases API routes a dispatch without a department: the field stays optional.
    expect(caseSpecNeeds({ id: 'dispatch', requires: ['department'] }).fields).toEqual([
      { name: 'department', kind: 'text', required: false },
    ])
    expect(caseSpecNeeds({ id: 'call_back', requires: ['satisfaction'] }).fields[0]!.kind).toBe('satisfaction')
    expect(caseSpecNeeds({ id: 'resolve', attachments: ['photo_after', 'photo_before'] }).photos).toEqual([
      'photo_after',
      'photo_before',
    ])
    expect(caseSpecNeeds({ id: 'sign', requires: ['note'], comment_required: true })).toEqual({
      fields: [{ name: 'note', kind: 'text', required: true }],
      comment: 'required',
      photos: [],
    })
    expect(caseNeeds('unheard_of')).toEqual({ fields: [], comment: 'optional', photos: [] })
  })

  it('names the form field a problem is about', () => {
    expect(formField('body.data.days', [])).toBe('days')
    expect(formField('comment', [])).toBe('comment')
    expect(formField('attachments.photo_after', [])).toBe('photo:photo_after')
    expect(formField('attachments[1].sha256', ['photo_before', 'photo_after'])).toBe('photo:photo_after')
    expect(formField('attachments[0].sha256', [])).toBe('photo')
    expect(fieldProblems([{ field: 'data.reason', message: 'required' }], [], (m) => `«${m}»`)).toEqual({ reason: '«required»' })
  })

  it('finds what is missing before sending, and sends numbers as numbers', () => {
    const needs = caseNeeds('request_extension')
    const messages = { required: 'R', photo: (kind: string) => `P ${kind}` }
    expect(missingAnswers(needs, { data: { days: ' ' }, comment: '', photos: {} }, messages)).toEqual({ days: 'R', comment: 'R' })
    expect(missingAnswers(caseNeeds('resolve'), { data: {}, comment: '', photos: { photo_after: null } }, messages)).toEqual({
      'photo:photo_after': 'P photo_after',
    })
    expect(answeredData(needs.fields, { days: '3', other: 'x' })).toEqual({ days: 3 })
  })
})
