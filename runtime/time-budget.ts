/**
 * How long a model call may wait: a share of the time its invocation has left (Lambda's
 * `context.getRemainingTimeInMillis()`, or the local mode's stand-in), so every call ends before
 * the function is cut off (AWS) or its record is delivered again while still in flight (local).
 */
import type { Context } from "aws-lambda";
import { DEFAULTS } from "./defaults";

/** What a handler reads of its invocation: Lambda's context, or one the local mode builds. */
export type InvocationClock = Pick<Context, "getRemainingTimeInMillis">;

/** A stand-in for Lambda's context outside Lambda (the local mode): the time left until `deadline` (epoch ms). */
export function clockUntil(deadline: number): InvocationClock {
  return { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
}

/** The tries of one model call and the longest each may wait for the model's answer. */
export interface ModelBudget {
  attempts: number;
  tryTimeoutMs: number;
}

/** `timeLeftMs` less the time kept for storing, shared by `rounds` calls one after another of `attempts` tries each. */
function share(timeLeftMs: number, attempts: number, rounds: number): number {
  return Math.min(DEFAULTS.bedrockTimeoutMs, Math.floor((timeLeftMs - DEFAULTS.storeReserveSeconds * 1000) / (rounds * attempts)));
}

/**
 * The per-try wait of a model call: `timeLeftMs`, what the invocation has left (from its clock),
 * less DEFAULTS.storeReserveSeconds for storing the picture, shared by the call's tries and by the
 * `rounds` of calls still to run one after another, this one included (a worker batch larger than
 * its concurrency runs in rounds). At most DEFAULTS.bedrockTimeoutMs; that default, too, when the
 * handler was called without a clock (directly, as tests do). May be 0 or less when time is up.
 */
export function modelTryTimeoutMs(timeLeftMs: number | undefined, attempts: number, rounds = 1): number {
  return timeLeftMs === undefined ? DEFAULTS.bedrockTimeoutMs : share(timeLeftMs, attempts, rounds);
}

/** A timeout too short for the model calls it must hold. */
export class BudgetTooSmallError extends Error {
  override name = "BudgetTooSmallError";
  constructor(
    readonly timeoutSeconds: number,
    readonly rounds: number,
    readonly attempts: number,
  ) {
    super(
      `a ${timeoutSeconds} s function timeout leaves under 1 s per model call (${rounds} round(s) × ${attempts} attempt(s)); raise the timeout or lower the batch size`,
    );
  }
}

/**
 * The budget an invocation of `timeoutSeconds` starts with, for `rounds` calls of `attempts` tries
 * each. Throws BudgetTooSmallError when that leaves under 1 s per try: checked where the timeout is chosen (the stack
 * at preview, the local mode at start), before any call could run out of time.
 */
export function modelCallBudget(timeoutSeconds: number, attempts: number, rounds = 1): ModelBudget {
  const perTry = share(timeoutSeconds * 1000, attempts, rounds);
  if (perTry < 1000) throw new BudgetTooSmallError(timeoutSeconds, rounds, attempts);
  return { attempts, tryTimeoutMs: perTry };
}

/** The API's budget for its function timeout: DEFAULTS.apiModelAttempts tries that end in time, so a hung model answers 503. */
export function apiModelBudget(timeoutSeconds: number, attempts: number = DEFAULTS.apiModelAttempts): ModelBudget {
  return modelCallBudget(timeoutSeconds, attempts);
}

/** The worker's budget: a batch larger than its concurrency runs in rounds, all within the timeout. */
export function workerModelBudget(
  timeoutSeconds: number,
  o: { batchSize: number; workerConcurrency: number; attempts?: number },
): ModelBudget {
  return modelCallBudget(timeoutSeconds, o.attempts ?? DEFAULTS.bedrockMaxAttempts, Math.ceil(o.batchSize / o.workerConcurrency));
}
