import { internalAction, internalMutation, internalQuery } from "./_generated/server";
import { internal } from "./_generated/api";
import { v } from "convex/values";
import { Doc } from "./_generated/dataModel";

export const getOrdersSince = internalQuery({
  args: { since: v.number() },
  handler: async (ctx, args) => {
    return await ctx.db
      .query("orders")
      .withIndex("by_placed_at", (q) => q.gte("placedAt", args.since))
      .collect();
  },
});

export const saveReport = internalMutation({
  args: { body: v.string() },
  returns: v.id("reports"),
  handler: async (ctx, args) => {
    return await ctx.db.insert("reports", { body: args.body, createdAt: Date.now() });
  },
});

function formatReport(orders: Doc<"orders">[]): string {
  const lines = orders.map((o) => `${o.customer}: ${o.total.toFixed(2)}`);
  const sum = orders.reduce((acc, o) => acc + o.total, 0);
  lines.push(`TOTAL: ${sum.toFixed(2)}`);
  return lines.join("\n");
}

export const sendDailyReport = internalAction({
  args: {},
  returns: v.string(),
  handler: async (ctx): Promise<string> => {
    const since = Date.now() - 24 * 60 * 60 * 1000;
    const orders: Doc<"orders">[] = await ctx.runQuery(internal.reports.getOrdersSince, { since });
    const body = formatReport(orders);
    await ctx.runMutation(internal.reports.saveReport, { body });
    return body;
  },
});
