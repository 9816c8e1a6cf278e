// The demo's three Clerk pages must be the guide's code byte for byte: the point of the project is that the
// unmodified guide works against Latchkey. Needs no npm packages and no Latchkey.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { seedBlocks } from '../lib/seed.mjs'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const seedDir = process.env.LATCHKEY_SEED_DIR ?? path.resolve(repo, '../shared/seed')
const demoDir = path.join(repo, 'examples/demo')
const EXPECTED = ['app/sign-in/page.tsx', 'app/sso-callback/page.tsx', 'app/sign-in/continue/page.tsx']
const skip = fs.existsSync(seedDir)
  ? false
  : `the seed pages are not here (looked for ${seedDir}; set LATCHKEY_SEED_DIR to the folder with the guide's .md)`

test('the guide has exactly the three page files the demo uses', { skip }, () => {
  const tsx = seedBlocks(seedDir).filter((b) => b.filename.endsWith('.tsx')).map((b) => b.filename)
  assert.deepEqual([...tsx].sort(), [...EXPECTED].sort())
})

for (const file of EXPECTED) {
  test(`examples/demo/${file} is the guide's code byte for byte`, { skip }, () => {
    const block = seedBlocks(seedDir).find((b) => b.filename === file)
    assert.ok(block, `no code block named ${file} in ${seedDir}`)
    const onDisk = fs.readFileSync(path.join(demoDir, file))
    const expected = Buffer.from(block.content, 'utf8')
    if (!onDisk.equals(expected)) {
      const a = onDisk.toString('utf8').split('\n')
      const b = block.content.split('\n')
      const line = a.findIndex((l, i) => l !== b[i])
      assert.fail(`examples/demo/${file} differs from the guide (${block.source}) at line ${line + 1}:\n` +
        `  file:  ${JSON.stringify(a[line])}\n  guide: ${JSON.stringify(b[line])}\n` +
        `(${onDisk.length} vs ${expected.length} bytes). The seed pages must not be edited; adapt the app around them.`)
    }
  })
}
