// Extracts the code blocks of Clerk's guide (shared/seed/*.md) that are written to files: a line
// `filename: <path>` directly followed by a fenced block. The file's bytes are the block's lines, each ending in
// "\n" (the fences themselves excluded).
import fs from 'node:fs'
import path from 'node:path'

const BLOCK = /^filename: (\S+)\n```[A-Za-z0-9_-]*\n([\s\S]*?)\n```$/gm

export function extractFileBlocks(markdown) {
  const out = []
  for (const m of markdown.matchAll(BLOCK)) {
    out.push({ filename: m[1], content: m[2] + '\n' })
  }
  return out
}

export function seedBlocks(seedDir) {
  const blocks = []
  for (const name of fs.readdirSync(seedDir).filter((n) => n.endsWith('.md')).sort()) {
    for (const block of extractFileBlocks(fs.readFileSync(path.join(seedDir, name), 'utf8'))) {
      blocks.push({ ...block, source: name })
    }
  }
  return blocks
}
