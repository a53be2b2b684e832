import { expect, test, beforeAll } from "vitest";
import { anyApi } from "convex/server";
import { responseAdminClient, responseClient, compareSchema, addDocuments } from "../../../grader";

// Imported out of order: creation order is m3, m1, m5, m2, m4; sentAt order is m1..m5.
const HISTORY = [
  { channel: "general", body: "m3", sentAt: 3000 },
  { channel: "general", body: "m1", sentAt: 1000 },
  { channel: "general", body: "m5", sentAt: 5000 },
  { channel: "general", body: "m2", sentAt: 2000 },
  { channel: "general", body: "m4", sentAt: 4000 },
  { channel: "random", body: "r1", sentAt: 4500 },
];

type Page = { page: Array<{ body: string }>; isDone: boolean; continueCursor: string };

async function page(channel: string, cursor: string | null, numItems: number): Promise<Page> {
  return await responseClient.query(anyApi.messages.listMessages, {
    channel,
    paginationOpts: { cursor, numItems },
  });
}

beforeAll(async () => {
  await addDocuments(responseAdminClient, "messages", HISTORY);
});

test("compare schema", async ({ skip }) => {
  await compareSchema(skip);
});

test("first page holds the most recently sent messages", async () => {
  const first = await page("general", null, 2);
  expect(first.page.map((m) => m.body)).toEqual(["m5", "m4"]);
});

test("second page continues in sentAt order", async () => {
  const first = await page("general", null, 2);
  const second = await page("general", first.continueCursor, 2);
  expect(second.page.map((m) => m.body)).toEqual(["m3", "m2"]);
});

test("walking every page yields all messages newest first", async () => {
  const bodies: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const result = await page("general", cursor, 2);
    bodies.push(...result.page.map((m) => m.body));
    if (result.isDone) break;
    cursor = result.continueCursor;
  }
  expect(bodies).toEqual(["m5", "m4", "m3", "m2", "m1"]);
});

test("only the requested channel is returned", async () => {
  const result = await page("random", null, 10);
  expect(result.page.map((m) => m.body)).toEqual(["r1"]);
});
