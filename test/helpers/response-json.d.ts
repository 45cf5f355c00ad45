// Tests read JSON bodies and assert on their fields; a typed `any` here saves a cast on every line.
// Only the test tree sees this (src/ never calls Response.json()).
declare global {
  interface Response {
    json(): Promise<any>;
  }
}
export {};
