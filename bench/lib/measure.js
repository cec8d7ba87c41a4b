/** Calls `fn` repeatedly for `ms` milliseconds after a warm-up of a fifth of that; operations per second. */
export function measure(fn, ms) {
  const until = (duration) => {
    const end = performance.now() + duration;
    let count = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 16; i++) fn(i);
      count += 16;
    }
    return count;
  };
  until(ms / 5);
  const start = performance.now();
  const count = until(ms);
  return (count * 1000) / (performance.now() - start);
}
