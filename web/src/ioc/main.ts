import { mountPage } from '../shared/mount'
import IocApp from './IocApp.vue'
import './ioc.css'

mountPage(IocApp, { titleKey: 'ioc.pageTitle' })
