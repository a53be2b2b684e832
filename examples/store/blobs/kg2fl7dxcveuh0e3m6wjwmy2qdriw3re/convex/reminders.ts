import { v } from "convex/values";
import { internalMutation, mutation } from "./_generated/server";
import { internal } from "./_generated/api";

/**
 * Marks a reminder as sent. Runs from the scheduler at the reminder's due time.
 */
export const markSent = internalMutation({
  args: { reminderId: v.id("reminders") },
  returns: v.null(),
  handler: async (ctx, { reminderId }) => {
    const existing = await ctx.db.get(reminderId);
    if (!existing) {
      // The reminder was deleted before it fired; nothing to do.
      return null;
    }
    await ctx.db.patch(reminderId, { sent: true });
    return null;
  },
});

export const scheduleReminder = mutation({
  args: {
    text: v.string(),
    dueAt: v.number(),
  },
  returns: v.id("reminders"),
  handler: async (ctx, { text, dueAt }) => {
    const reminderId = await ctx.db.insert("reminders", { text, dueAt, sent: false });
    await ctx.scheduler.runAt(dueAt, internal.reminders.markSent, { reminderId });
    return reminderId;
  },
});
