// another-json (the canonical JSON matrix-js-sdk signs with; Matrix spec appendix "Canonical JSON") ships no types.
declare module 'another-json' {
  const anotherJson: { stringify(value: unknown): string };
  export default anotherJson;
}
