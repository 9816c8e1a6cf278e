// The person's authenticator app in the end-to-end tests: RFC 6238 codes (HMAC-SHA1, 30 s, 6 digits) computed
// with node:crypto from the base32 secret a page shows.
import crypto from 'node:crypto'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// RFC 4648 base32 (the secret of an otpauth:// URI), padding and case ignored.
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const clean = text.toUpperCase().replace(/=+$/, '').replace(/\s+/g, '')
  let bits = 0
  let value = 0
  const out = []
  for (const ch of clean) {
    const v = alphabet.indexOf(ch)
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(text)}`)
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

// RFC 4226 HOTP of `counter`, 6 digits (RFC 6238 TOTP is HOTP of the time step).
export function hotp(key, counter) {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = crypto.createHmac('sha1', key).update(msg).digest()
  const offset = mac[mac.length - 1] & 0x0f
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000
  return String(binary).padStart(6, '0')
}

export const currentStep = () => Math.floor(Date.now() / 30_000)

// One person's app: the secret, and the last time step a code was typed for. Each code is of a step later than
// the last (Latchkey accepts a step once) and at most one step ahead of now (its allowed drift); waits if needed.
export class AuthenticatorApp {
  constructor(secret) {
    this.key = base32Decode(secret)
    this.lastStep = -1
  }

  // A well-formed code Latchkey must refuse: that of a step ten minutes ago (outside the allowed drift).
  staleCode() {
    return hotp(this.key, currentStep() - 20)
  }

  async nextCode() {
    let s = Math.max(currentStep(), this.lastStep + 1)
    while (s > currentStep() + 1) await sleep(500)
    this.lastStep = s
    return hotp(this.key, s)
  }
}
