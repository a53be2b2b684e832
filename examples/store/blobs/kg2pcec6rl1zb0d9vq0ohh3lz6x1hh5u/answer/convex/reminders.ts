import { internalMutation, mutation } from "./_generated/server";
import { internal } from "./_generated/api";
import { v } from "convex/values";

export const markSent = internalMutation({
  args: { reminderId: v.id("reminders") },
  returns: v.null(),
  handler: async (ctx, args) => {
    const reminder = await ctx.db.get(args.reminderId);
    if (reminder === null) {
      return null;
    }
    await ctx.db.patch(args.reminderId, { sent: true });
    return null;
  },
});

export const scheduleReminder = mutation({
  args: { text: v.string(), dueAt: v.number() },
  returns: v.id("reminders"),
  handler: async (ctx, args) => {
    const reminderId = await ctx.db.insert("reminders", {
      text: args.text,
      dueAt: args.dueAt,
      sent: false,
    });
    await ctx.scheduler.runAt(args.dueAt, internal.reminders.markSent, { reminderId });
    return reminderId;
  },
});
