import { expect, test, beforeEach } from "vitest";
import { internal } from "./answer/convex/_generated/api";
import {
  responseAdminClient,
  addDocuments,
  deleteAllDocuments,
  listTable,
} from "../../../grader";

const HOUR = 60 * 60 * 1000;

beforeEach(async () => {
  await deleteAllDocuments(responseAdminClient, ["orders", "reports"]);
});

test("report lists the last day's orders and the total", async () => {
  const now = Date.now();
  await addDocuments(responseAdminClient, "orders", [
    { customer: "old", total: 99, placedAt: now - 30 * HOUR },
    { customer: "ada", total: 12.5, placedAt: now - 5 * HOUR },
    { customer: "grace", total: 7.25, placedAt: now - 1 * HOUR },
  ]);
  const body = await responseAdminClient.action(internal.reports.sendDailyReport, {});
  expect(body).toBe("ada: 12.50\ngrace: 7.25\nTOTAL: 19.75");
});

test("the report is saved", async () => {
  const body = await responseAdminClient.action(internal.reports.sendDailyReport, {});
  const reports = (await listTable(responseAdminClient, "reports")) as Array<{ body: string }>;
  expect(reports.map((r) => r.body)).toEqual([body]);
});

test("an empty day still has a TOTAL line", async () => {
  const body = await responseAdminClient.action(internal.reports.sendDailyReport, {});
  expect(body).toBe("TOTAL: 0.00");
});
