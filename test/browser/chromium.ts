// Debian's chromium, headless, with WebGPU on SwiftShader (the flags of ../shared/DESIGN.md, "WebGPU in Node, with
// or without a GPU") and every background network service off, driven by playwright-core.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM = '/usr/bin/chromium';

/** WebGPU compute and WebGL on SwiftShader in headless chromium without a GPU (DESIGN.md: verified). */
export const WEBGPU_FLAGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-gl=angle',
  '--use-angle=swiftshader-webgl',
  '--enable-unsafe-swiftshader',
];

/**
 * Nothing but the page's own requests: no component updates, safe-browsing, metrics, sync, domain reliability or
 * DNS prefetch, and every host name but 127.0.0.1 resolves to nothing, so a stray request fails instead of leaving
 * the machine (the test still records and fails on it).
 */
export const NETWORK_OFF_FLAGS: readonly string[] = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-client-side-phishing-detection',
  '--disable-domain-reliability',
  '--disable-sync',
  '--disable-default-apps',
  '--no-first-run',
  '--no-pings',
  '--metrics-recording-only',
  '--dns-prefetch-disable',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/**
 * Why the browser test cannot run here, or undefined when it can. Without chromium it is skipped with this
 * message, except on CI (`CI` set), where a missing browser is a failure: .ci/run installs it.
 * @throws nothing.
 */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is absent: install Debian's chromium (apt-get install chromium), as .ci/run does`;
}

/**
 * Launches chromium with a fresh temporary profile (playwright removes it on close).
 * @throws Error when chromium is missing or fails to start within `timeoutMs`.
 */
export async function launchChromium(timeoutMs = 30_000): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: timeoutMs, args: [...WEBGPU_FLAGS, ...NETWORK_OFF_FLAGS] });
}
