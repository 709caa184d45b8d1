// client.mjs runs @electric-sql/client's ShapeStream and Shape for
// shapehttp's tests. It reads one JSON command per line on stdin and
// writes one JSON line per answer or event on stdout:
//
//   {"cmd":"start","id":"a","url":"…","params":{…},"liveSse":false}
//   {"cmd":"rows","id":"a"}  -> {"id":"a","event":"rows","rows":{key:{col:text}},"upToDate":true,"handle":"…","offset":"…"}
//   (a rows event is also sent whenever the Shape's rows change)
//   {"cmd":"stop","id":"a"}
//
// Events: {"id":"a","event":"error","status":403,"json":{…},"message":"…"}
// when the stream stops on an error, {"id":"a","event":"must-refetch"} when
// the client is told to refetch. Values are printed as PostgreSQL's text
// would be (BigInt and numbers as decimal strings, booleans as t/f), so the
// test compares them with SELECT col::text.
import { ShapeStream, Shape, FetchError } from '@electric-sql/client'
import { createInterface } from 'node:readline'

const shapes = new Map()

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function text(v) {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint' || typeof v === 'number') return String(v)
  if (typeof v === 'boolean') return v ? 't' : 'f'
  if (typeof v === 'object') return JSON.stringify(v)
  return v
}

function start({ id, url, params, liveSse }) {
  const aborter = new AbortController()
  const stream = new ShapeStream({
    url,
    params,
    liveSse: !!liveSse,
    signal: aborter.signal,
    backoffOptions: { initialDelay: 50, maxDelay: 500, multiplier: 2 },
    onError: (error) => {
      out({
        id,
        event: 'error',
        status: error instanceof FetchError ? error.status : 0,
        json: error instanceof FetchError ? error.json ?? null : null,
        message: String(error && error.message),
      })
      // Returning nothing stops the stream: a refused shape stays refused.
    },
  })
  stream.subscribe((messages) => {
    for (const m of messages) {
      if (m.headers && m.headers.control === 'must-refetch') out({ id, event: 'must-refetch' })
    }
  })
  const shape = new Shape(stream)
  shapes.set(id, { stream, shape, aborter })
  // Every change of the shape's rows is reported as a rows event.
  shape.subscribe(() => rows({ id }))
}

function rows({ id }) {
  const s = shapes.get(id)
  if (!s) return out({ id, event: 'rows', missing: true })
  const rows = {}
  for (const [key, row] of s.shape.currentValue) {
    const r = {}
    for (const [col, v] of Object.entries(row)) r[col] = text(v)
    rows[key] = r
  }
  out({ id, event: 'rows', rows, upToDate: s.stream.isUpToDate, handle: s.stream.shapeHandle ?? null, offset: s.stream.lastOffset })
}

function stop({ id }) {
  const s = shapes.get(id)
  if (s) {
    s.aborter.abort()
    s.shape.unsubscribeAll()
    s.stream.unsubscribeAll()
    shapes.delete(id)
  }
  out({ id, event: 'stopped' })
}

const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (!line.trim()) return
  const cmd = JSON.parse(line)
  try {
    if (cmd.cmd === 'start') start(cmd), out({ id: cmd.id, event: 'started' })
    else if (cmd.cmd === 'rows') rows(cmd)
    else if (cmd.cmd === 'stop') stop(cmd)
    else out({ id: cmd.id, event: 'error', status: 0, message: 'unknown command ' + cmd.cmd })
  } catch (e) {
    out({ id: cmd.id, event: 'error', status: 0, message: String(e && e.stack) })
  }
})
rl.on('close', () => {
  for (const id of [...shapes.keys()]) stop({ id })
  process.exit(0)
})
