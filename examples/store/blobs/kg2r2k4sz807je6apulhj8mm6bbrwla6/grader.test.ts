import { expect, test, beforeEach } from "vitest";
import { anyApi } from "convex/server";
import {
  responseAdminClient,
  responseClient,
  compareSchema,
  addDocuments,
  deleteAllDocuments,
  listTable,
} from "../../../grader";

type Channel = { _id: string; name: string };

beforeEach(async () => {
  await deleteAllDocuments(responseAdminClient, ["messages", "channels"]);
});

async function makeChannel(name: string): Promise<string> {
  await addDocuments(responseAdminClient, "channels", [{ name }]);
  const channels = (await listTable(responseAdminClient, "channels")) as Channel[];
  return channels.find((c) => c.name === name)!._id;
}

test("compare schema", async ({ skip }) => {
  await compareSchema(skip);
});

test("returns null for a missing channel", async () => {
  const id = await makeChannel("temp");
  await deleteAllDocuments(responseAdminClient, ["channels"]);
  const result = await responseClient.query(anyApi.messages.getChannelSummary, { channelId: id });
  expect(result).toBeNull();
});

test("returns the 10 newest messages, newest first", async () => {
  const channelId = await makeChannel("general");
  await addDocuments(
    responseAdminClient,
    "messages",
    Array.from({ length: 12 }, (_, i) => ({ channelId, author: "ada", body: `m${i}` })),
  );
  const result = await responseClient.query(anyApi.messages.getChannelSummary, { channelId });
  expect(result.name).toBe("general");
  expect(result.recentMessages.map((m: { body: string }) => m.body)).toEqual(
    ["m11", "m10", "m9", "m8", "m7", "m6", "m5", "m4", "m3", "m2"],
  );
});

test("lastMessageAt is the newest message's _creationTime", async () => {
  const channelId = await makeChannel("random");
  await addDocuments(responseAdminClient, "messages", [
    { channelId, author: "a", body: "one" },
    { channelId, author: "b", body: "two" },
  ]);
  const result = await responseClient.query(anyApi.messages.getChannelSummary, { channelId });
  expect(result.lastMessageAt).toBe(result.recentMessages[0]._creationTime);
});

test("lastMessageAt is null for an empty channel", async () => {
  const channelId = await makeChannel("quiet");
  const result = await responseClient.query(anyApi.messages.getChannelSummary, { channelId });
  expect(result).toEqual({ name: "quiet", recentMessages: [], lastMessageAt: null });
});
