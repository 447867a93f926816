// another-json (matrix-js-sdk's canonical JSON) ships no types.
declare module 'another-json' {
  const anotherJson: { stringify(value: unknown): string };
  export default anotherJson;
}
