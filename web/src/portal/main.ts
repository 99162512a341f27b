import { mountPage } from '../shared/mount'
import PortalApp from './PortalApp.vue'
import './portal.css'

mountPage(PortalApp, { titleKey: 'portal.pageTitle' })
