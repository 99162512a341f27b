import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/shared/api'
import { districtName, parseMeta } from '../../src/shared/meta'
import { metaBody } from '../helpers'

describe('parseMeta', () => {
  it('reads the fields the pages show', () => {
    const meta = parseMeta(metaBody({ calendar_warnings: ['2027 年节假日安排未配置'] }))
    expect(meta.name).toEqual({ zh: '罗湖区', en: 'Luohu District' })
    expect(meta.mode).toBe('demo')
    expect(meta.version).toBe('0.1.0')
    expect(meta.calendar_warnings).toEqual(['2027 年节假日安排未配置'])
  })

  it('accepts a platform whose profile is not loaded yet', () => {
    const meta = parseMeta(metaBody({ name: null, profile: null, code: null }))
    expect(meta.name).toBeNull()
    expect(districtName(meta, 'zh-CN')).toBeNull()
  })

  it('keeps only text warnings', () => {
    expect(parseMeta(metaBody({ calendar_warnings: ['a', 3, null, ''] })).calendar_warnings).toEqual(['a'])
    expect(parseMeta(metaBody({ calendar_warnings: undefined })).calendar_warnings).toEqual([])
  })

  it('rejects a body that is not an object', () => {
    expect(() => parseMeta([])).toThrow(ApiError)
    expect(() => parseMeta('ok')).toThrow(ApiError)
  })
})

describe('districtName', () => {
  it('is Chinese for zh-CN and English otherwise', () => {
    const meta = parseMeta(metaBody())
    expect(districtName(meta, 'zh-CN')).toBe('罗湖区')
    expect(districtName(meta, 'en')).toBe('Luohu District')
  })
})
