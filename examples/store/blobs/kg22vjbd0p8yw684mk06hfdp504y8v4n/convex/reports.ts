import { v } from "convex/values";
import { internalAction, internalMutation, internalQuery } from "./_generated/server";
import { internal } from "./_generated/api";
import { Doc } from "./_generated/dataModel";

const DAY_MS = 24 * 60 * 60 * 1000;

export const getOrdersSince = internalQuery({
  args: { since: v.number() },
  handler: async (ctx, { since }) => {
    return await ctx.db
      .query("orders")
      .withIndex("by_placed_at", (q) => q.gte("placedAt", since))
      .order("asc")
      .collect();
  },
});

export const saveReport = internalMutation({
  args: { body: v.string() },
  returns: v.id("reports"),
  handler: async (ctx, { body }) => {
    return await ctx.db.insert("reports", { body, createdAt: Date.now() });
  },
});

async function formatReport(orders: Doc<"orders">[]): Promise<string> {
  const lines = orders.map((order) => `${order.customer}: ${order.total.toFixed(2)}`);
  const sum = orders.reduce((acc, order) => acc + order.total, 0);
  lines.push(`TOTAL: ${sum.toFixed(2)}`);
  return lines.join("\n");
}

export const sendDailyReport = internalAction({
  args: {},
  returns: v.string(),
  handler: async (ctx): Promise<string> => {
    const orders: Doc<"orders">[] = await ctx.runQuery(internal.reports.getOrdersSince, {
      since: Date.now() - DAY_MS,
    });
    const body = await formatReport(orders);
    await ctx.runMutation(internal.reports.saveReport, { body });
    return body;
  },
});
