import { test, expect, Page, Locator } from '@playwright/test';

const WIDTHS = [150, 400, 800, 1200];

/** The demo photos are drawn in the background right after startup: reload until they show. */
async function openWithPhotos(page: Page, path: string, selector: string): Promise<Locator> {
  await expect(async () => {
    await page.goto(path);
    await expect(page.locator(selector).first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 45_000 });
  const img = page.locator(selector).first();
  await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
  return img;
}

/** The photo is WebP, at least as wide as it is shown, and the smallest variant that is. */
async function expectSuitedWebp(img: Locator) {
  const { src, shown, natural, ratio } = await img.evaluate((el: HTMLImageElement) => ({
    src: el.currentSrc,
    shown: el.clientWidth,
    natural: el.naturalWidth,
    ratio: window.devicePixelRatio,
  }));
  expect(src).toMatch(/\/img\/[0-9a-f]{64}\/\d+\.webp$/);
  const chosen = Number(/\/(\d+)\.webp$/.exec(src)?.[1]);
  const needed = shown * ratio;
  expect(natural).toBeGreaterThanOrEqual(Math.min(needed, 1200));
  expect(chosen).toBe(WIDTHS.find((w) => w >= needed) ?? 1200);
  return chosen;
}

for (const [device, viewport, productWidth] of [
  ['a 375 px phone', { width: 375, height: 740 }, 400],
  ['a 1440 px desktop', { width: 1440, height: 900 }, 800],
] as const) {
  test(`photos load as WebP at a width suited to ${device}`, async ({ browser }) => {
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const tile = await openWithPhotos(page, '/', '.product-card img.photo');
    await expect(tile).toHaveAttribute('fetchpriority', 'high');
    await expect(tile).toHaveAttribute('alt', /, photo 1$/);
    await expectSuitedWebp(tile);
    // Further down the list, photos wait until they are scrolled near.
    await expect(page.locator('.product-card img.photo').nth(12)).toHaveAttribute('loading', 'lazy');

    const main = await openWithPhotos(page, '/rentals/vango-odyssey-air-500-family-tent', '.gallery > img.photo');
    expect(await expectSuitedWebp(main)).toBe(productWidth);
    await expect(page.locator('.gallery-more img.photo')).toHaveCount(1);
    await context.close();
  });
}
