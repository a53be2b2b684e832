import { expect, test } from "vitest";
import { anyApi } from "convex/server";
import { responseAdminClient, responseClient, compareSchema, addDocuments } from "../../../grader";

test("compare schema", async ({ skip }) => {
  await compareSchema(skip);
});

test("sendMessage then listMessages returns messages in send order", async () => {
  await addDocuments(responseAdminClient, "channels", [{ name: "general" }]);
  const channels = await responseAdminClient.query(anyApi.admin.listTable, { table: "channels" });
  const channelId = channels[0]._id;

  for (const body of ["first", "second", "third"]) {
    await responseClient.mutation(anyApi.messages.sendMessage, { channelId, author: "ada", body });
  }
  const messages = await responseClient.query(anyApi.messages.listMessages, { channelId });
  expect(messages.map((m: { body: string }) => m.body)).toEqual(["first", "second", "third"]);
});

test("listMessages only returns the requested channel", async () => {
  await addDocuments(responseAdminClient, "channels", [{ name: "a" }, { name: "b" }]);
  const channels = await responseAdminClient.query(anyApi.admin.listTable, { table: "channels" });
  const [a, b] = channels.slice(-2).map((c: { _id: string }) => c._id);
  await responseClient.mutation(anyApi.messages.sendMessage, { channelId: a, author: "x", body: "in a" });
  await responseClient.mutation(anyApi.messages.sendMessage, { channelId: b, author: "y", body: "in b" });
  const inB = await responseClient.query(anyApi.messages.listMessages, { channelId: b });
  expect(inB.map((m: { body: string }) => m.body)).toEqual(["in b"]);
});
