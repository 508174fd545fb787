/**
 * The one error the engine connection throws when no engine can be had. Its
 * message always names what is missing and the command that fixes it; there is
 * never a fallback to anything that is not a real Hatchet engine.
 */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
}
