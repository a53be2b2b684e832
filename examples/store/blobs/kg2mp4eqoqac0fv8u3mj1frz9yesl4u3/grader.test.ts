import { expect, test } from "vitest";
import { anyApi } from "convex/server";
import { responseClient, compareFunctionSpec } from "../../../grader";

test("compare function spec", async ({ skip }) => {
  await compareFunctionSpec(skip);
});

test("fetchQuote returns a quote with an author", async () => {
  const quote = await responseClient.action(anyApi.index.fetchQuote, {});
  expect(typeof quote.content).toBe("string");
  expect(quote.content.length).toBeGreaterThan(0);
  expect(typeof quote.author).toBe("string");
});
