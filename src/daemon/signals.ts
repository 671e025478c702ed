/** Resolves with the first of SIGINT/SIGTERM; a second one while stopping exits at once. */
export function waitForStopSignal(onSecond: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const first = (signal: NodeJS.Signals) => {
      for (const s of signals) {
        process.off(s, first);
        process.once(s, onSecond);
      }
      resolve(signal);
    };
    for (const s of signals) process.on(s, first);
  });
}
