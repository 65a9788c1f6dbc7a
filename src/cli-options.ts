/**
 * Option parsers shared by the CLI modules. Values are refused with a ConfigError naming the flag,
 * so the user reads `hptlab: --hpt-order: "50" is not an integer in 18..46` (commander's own
 * wording is longer).
 */
import { ConfigError } from "./config.js";

export function integerOption(flag: string, min: number, max: number) {
  return (text: string): number => {
    const n = /^(0|[1-9][0-9]*)$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(flag, `${JSON.stringify(text)} is not an integer in ${min}..${max}`);
    return n;
  };
}

export function choiceOption<T extends string>(flag: string, choices: readonly T[]) {
  return (text: string): T => {
    if (!(choices as readonly string[]).includes(text)) throw new ConfigError(flag, `${JSON.stringify(text)} is not ${choices.join(" or ")}`);
    return text as T;
  };
}
