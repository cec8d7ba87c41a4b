// Ends the run with one plain summary line ("N passed, N failed, N skipped") that tools
// reading only the last lines of the output can count.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    console.log(`\n${results.numPassedTests} passed, ${failed} failed, ${results.numPendingTests} skipped`);
  }
}
