/**
 * Scenario 9 (cryptography): our crypto-only exchange against Signal's PQXDH session setup in
 * libsignal, both in this process, in alternating rounds. Scenario 4 runs the same comparison
 * after its federated measurement; this runs it alone, in seconds, with nothing else started.
 */
import { compareWithLibsignal } from '../lib/crypto-bound.js';

export async function run() {
  return [(await compareWithLibsignal('9. crypto only vs libsignal PQXDH')).row];
}
