// The command line of `tokenward`: --version, --help, and every mistake answered in one line
// on standard error with exit status 2 (a typo with the option that was meant).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { USAGE } from '@tokenward/cli'
import { run, runBinary } from './run.js'

const manifest = JSON.parse(
  readFileSync(new URL('../../packages/cli/package.json', import.meta.url), 'utf8'),
) as { version: string }

describe('tokenward --version', () => {
  it('prints the version of @tokenward/cli, with --version and -v, and exits 0', async () => {
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/)
    for (const args of [['--version'], ['-v'], ['decode', '-v'], ['inspect', '--version']]) {
      expect(await run(args)).toEqual({ status: 0, out: `${manifest.version}\n`, err: '' })
    }
  })

  it('prints it from the built binary too (dist/cli.js reads ../package.json)', async () => {
    expect(await runBinary(['--version'])).toEqual({
      status: 0,
      out: `${manifest.version}\n`,
      err: '',
    })
  })
})

describe('tokenward --help', () => {
  it('prints the usage on standard output and exits 0', async () => {
    for (const args of [['--help'], ['-h'], ['inspect', '--help'], ['decode', '-h']]) {
      expect(await run(args)).toEqual({ status: 0, out: `${USAGE}\n`, err: '' })
    }
    expect(USAGE.split('\n').slice(0, 3)).toEqual([
      'Usage: tokenward inspect [TOKEN|-] --issuer URL [options]',
      '       tokenward decode [TOKEN|-] [--json]',
      '       tokenward --version',
    ])
  })

  it('lists the options of the request a token came with', () => {
    for (const option of [
      '--dpop-proof JWT',
      '--method METHOD',
      '--url URL',
      '--cert PATH',
      '--cert-thumbprint T',
      '--acr VALUE,...',
      '--max-age SECONDS',
    ]) {
      expect(USAGE).toMatch(new RegExp(`^  ${option.replace(/[.*+?]/g, '\\$&')} +\\S`, 'm'))
    }
  })

  it('prints the usage on standard error and exits 2 without a command', async () => {
    expect(await run([])).toEqual({ status: 2, out: '', err: `${USAGE}\n` })
  })
})

describe('mistakes on the command line: one line, exit status 2', () => {
  const cases: [string, string[], string][] = [
    [
      'a misspelt option',
      ['inspect', 'TOKEN', '--issuer', 'https://issuer.example', '--audiance', 'api'],
      'unknown option --audiance; did you mean --audience?',
    ],
    [
      'two letters swapped',
      ['inspect', 'TOKEN', '--isseur', 'https://issuer.example'],
      'unknown option --isseur; did you mean --issuer?',
    ],
    [
      'a misspelt option with its value attached',
      ['inspect', 'TOKEN', '--audiance=api'],
      'unknown option --audiance; did you mean --audience?',
    ],
    [
      'a long option with one dash',
      ['inspect', 'TOKEN', '-issuer', 'https://issuer.example'],
      'unknown option -issuer; did you mean --issuer?',
    ],
    [
      'the start of an option',
      ['inspect', 'TOKEN', '--introspect-al'],
      'unknown option --introspect-al; did you mean --introspect-always?',
    ],
    [
      'nothing near',
      ['inspect', 'TOKEN', '--colour'],
      'unknown option --colour; tokenward --help lists the options',
    ],
    [
      'an option of inspect given to decode',
      ['decode', 'TOKEN', '--issuer', 'https://issuer.example'],
      '--issuer is an option of tokenward inspect, not of decode',
    ],
    [
      'an option of inspect without a command',
      ['--strict'],
      '--strict is an option of tokenward inspect',
    ],
    ['a misspelt command', ['inspcet', 'TOKEN'], 'unknown command inspcet; did you mean inspect?'],
    [
      'an unknown command',
      ['verify', 'TOKEN'],
      'unknown command verify; the commands are inspect, decode',
    ],
    [
      'an option without its value',
      ['inspect', 'TOKEN', '--audience', 'api', '--issuer'],
      '--issuer needs a value (write --issuer=VALUE for one that starts with -)',
    ],
    [
      'an option followed by another option',
      ['inspect', 'TOKEN', '--issuer', '--strict'],
      '--issuer needs a value (write --issuer=VALUE for one that starts with -)',
    ],
    ['a value for a switch', ['inspect', 'TOKEN', '--strict=yes'], '--strict takes no value'],
    ...(
      [
        ['--dpop-prof', 'dpop-proof'],
        ['--dpop', 'dpop-proof'],
        ['--methd', 'method'],
        ['--ur', 'url'],
        ['--crt', 'cert'],
        ['--cert-thumb', 'cert-thumbprint'],
        ['--cert-thumbprnit', 'cert-thumbprint'],
        ['--acrs', 'acr'],
        ['--maxage', 'max-age'],
      ] as const
    ).map(([typed, meant]): [string, string[], string] => [
      `a misspelt request option (${typed})`,
      ['inspect', 'TOKEN', `${typed}=x`],
      `unknown option ${typed}; did you mean --${meant}?`,
    ]),
    [
      'a request option given to decode',
      ['decode', 'TOKEN', '--dpop-proof', 'a.b.c'],
      '--dpop-proof is an option of tokenward inspect, not of decode',
    ],
    ['two tokens', ['decode', 'a.b.c', 'd.e.f'], 'give one token'],
    ['no issuer', ['inspect', 'TOKEN', '--audience', 'api'], '--issuer is required'],
  ]

  const inspecting = ['inspect', 'TOKEN', '--issuer', 'https://issuer.example', '--audience', 'api']
  const request: [string, string[], string][] = [
    [
      'a proof without the URL it was made for',
      ['--dpop-proof', 'a.b.c'],
      '--dpop-proof needs --url (and --method, default GET): the request the proof was made for, checked against its htu and htm',
    ],
    [
      'a relative URL',
      ['--dpop-proof', 'a.b.c', '--url', '/orders'],
      '--url takes the absolute http(s) URL the request was sent to, e.g. https://api.example.com/orders',
    ],
    [
      'a URL of another scheme',
      ['--url', 'ftp://api.example.com/orders'],
      '--url takes the absolute http(s) URL the request was sent to, e.g. https://api.example.com/orders',
    ],
    [
      'a method that is not a token',
      ['--method', 'GET /orders'],
      '--method takes an HTTP method as sent, e.g. GET or POST',
    ],
    [
      'a certificate and a thumbprint',
      ['--cert', 'a.pem', '--cert-thumbprint', 'x'],
      'give --cert or --cert-thumbprint, not both',
    ],
    [
      'a certificate file that is not there',
      ['--cert', '/nonexistent/client.pem'],
      '--cert: cannot read /nonexistent/client.pem (ENOENT)',
    ],
    [
      'a file that holds no certificate',
      ['--cert', fileURLToPath(import.meta.url)],
      `--cert: ${fileURLToPath(import.meta.url)} holds no PEM or DER X.509 certificate`,
    ],
    [
      'a thumbprint of the wrong length',
      ['--cert-thumbprint', 'abc'],
      "--cert-thumbprint takes the certificate's SHA-256 thumbprint: base64url (43 characters, as in x5t#S256) or hex (openssl x509 -fingerprint -sha256)",
    ],
    [
      'an empty acr',
      ['--acr', ' , '],
      '--acr takes one or more acr values, e.g. --acr urn:mfa,phr',
    ],
    [
      'a max-age that is not whole seconds',
      ['--max-age', '1.5'],
      '--max-age takes whole seconds since the login, e.g. --max-age 300',
    ],
    [
      'a negative max-age',
      ['--max-age=-60'],
      '--max-age takes whole seconds since the login, e.g. --max-age 300',
    ],
  ]

  it.each(request)('the request: %s', async (_, args, message) => {
    expect(await run([...inspecting, ...args])).toEqual({
      status: 2,
      out: '',
      err: `tokenward: ${message}\n`,
    })
  })

  it.each(cases)('%s', async (_, args, message) => {
    expect(await run(args)).toEqual({ status: 2, out: '', err: `tokenward: ${message}\n` })
  })

  it('an option the core refuses: its message (naming the option) in one line, prefixed once', async () => {
    const { status, out, err } = await run([
      'inspect',
      'TOKEN',
      '--issuer',
      'not a url',
      '--audience',
      'api',
    ])
    expect({ status, out }).toEqual({ status: 2, out: '' })
    expect(err).toMatch(/^tokenward: option "issuer" [^\n]*"not a url"\n$/)
  })

  it('the built binary answers a typo in one line too, not with Node’s parseArgs error', async () => {
    expect(
      await runBinary(['inspect', '-', '--issuer', 'https://issuer.example', '--audiance', 'api']),
    ).toEqual({
      status: 2,
      out: '',
      err: 'tokenward: unknown option --audiance; did you mean --audience?\n',
    })
  })
})
