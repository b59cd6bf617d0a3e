import { expect, Page } from '@playwright/test';

/** Waits until the wasm has hydrated the page (the app's Effect sets this marker on <body>). */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}
