/** Where the commands read and write: the process in `cli.ts`, strings in tests. */
export interface CommandIo {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  /** The whole of standard input, for a token given as `-` or not at all. */
  readonly readStdin: () => Promise<string>
  /** Whether to colour pass and fail (a terminal, and `NO_COLOR` unset). */
  readonly colour: boolean
  /** Environment variables the commands may read (`TOKENWARD_CLIENT_SECRET`). */
  readonly env: Readonly<Record<string, string | undefined>>
}
