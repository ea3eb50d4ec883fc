// NestJS's decorators for the root test/adapters: @nestjs/common is a devDependency of this
// package, not of the root, so those tests import it from here.
export { Controller, Get, Inject, Module, UseGuards, VersioningType } from '@nestjs/common'
export { NestFactory } from '@nestjs/core'
