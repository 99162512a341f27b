import { describe, expect, it } from 'vitest'
import { fetchAllItems, formatConfidence, localName, statusColour } from '../../src/shared/geo'
import { jsonResponse, stubFetch } from '../helpers'

describe('geo helpers', () => {
  it('colours each geocode status', () => {
    expect(statusColour('matched')).toBe('#16a34a')
    expect(statusColour('unsure')).toBe('#d97706')
    expect(statusColour('not_found')).toBe('#6b7280')
    expect(statusColour('something_new')).toBe('#6b7280')
  })

  it('formats a confidence as a whole percentage', () => {
    expect(formatConfidence(0.99, 'zh-CN')).toBe('99%')
    expect(formatConfidence(0.3909, 'en')).toBe('39%')
    expect(formatConfidence(1.2, 'en')).toBe('100%')
    expect(formatConfidence(Number.NaN, 'en')).toBe('0%')
  })

  it('picks the name in the page language', () => {
    const name = { zh: '东门街道', en: 'Dongmen Subdistrict' }
    expect(localName(name, 'zh-CN')).toBe('东门街道')
    expect(localName(name, 'en')).toBe('Dongmen Subdistrict')
    expect(localName({ zh: '东门街道', en: '' }, 'en')).toBe('东门街道')
    expect(localName(null, 'en')).toBe('')
  })

  it('follows rel=next links of a layer on the same origin', async () => {
    const point = (id: string) => ({ type: 'Feature', id, geometry: { type: 'Point', coordinates: [114.1, 22.5] }, properties: {} })
    const fetchMock = stubFetch((url) =>
      url.includes('cursor=')
        ? jsonResponse({ type: 'FeatureCollection', features: [point('b')], links: [] })
        : jsonResponse({
            type: 'FeatureCollection',
            features: [point('a')],
            links: [{ rel: 'next', href: 'http://elsewhere:8123/api/v1/geo/collections/shelters/items?limit=200&cursor=x1' }],
          }),
    )
    const features = await fetchAllItems('shelters')
    expect(features.map((item) => item.id)).toEqual(['a', 'b'])
    expect(fetchMock.mock.calls.map(([url]) => String(url))).toEqual([
      '/api/v1/geo/collections/shelters/items?limit=200',
      '/api/v1/geo/collections/shelters/items?limit=200&cursor=x1',
    ])
  })
})
