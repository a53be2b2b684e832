import { expect, test } from "vitest";
import { anyApi } from "convex/server";
import { responseAdminClient, responseClient, compareSchema, listTable } from "../../../grader";

test("compare schema", async ({ skip }) => {
  await compareSchema(skip);
});

test("scheduleReminder inserts an unsent reminder and returns its id", async () => {
  const dueAt = Date.now() + 60_000;
  const id = await responseClient.mutation(anyApi.reminders.scheduleReminder, {
    text: "water the plants",
    dueAt,
  });
  const rows = (await listTable(responseAdminClient, "reminders")) as Array<{
    _id: string;
    text: string;
    dueAt: number;
    sent: boolean;
  }>;
  const row = rows.find((r) => r._id === id);
  expect(row).toMatchObject({ text: "water the plants", dueAt, sent: false });
});

test("the scheduled markSent runs at dueAt", async () => {
  const id = await responseClient.mutation(anyApi.reminders.scheduleReminder, {
    text: "stand up",
    dueAt: Date.now() + 500,
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rows = (await listTable(responseAdminClient, "reminders")) as Array<{
    _id: string;
    sent: boolean;
  }>;
  expect(rows.find((r) => r._id === id)?.sent).toBe(true);
});

test("markSent is not public", async () => {
  await expect(
    responseClient.mutation(anyApi.reminders.markSent, { reminderId: "x" }),
  ).rejects.toThrow();
});
