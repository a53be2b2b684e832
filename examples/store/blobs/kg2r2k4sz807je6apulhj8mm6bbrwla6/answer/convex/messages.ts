import { query } from "./_generated/server";
import { v } from "convex/values";

export const getChannelSummary = query({
  args: { channelId: v.id("channels") },
  handler: async (ctx, args) => {
    const channel = await ctx.db.get(args.channelId);
    if (channel === null) {
      return null;
    }
    const recentMessages = await ctx.db
      .query("messages")
      .withIndex("by_channel", (q) => q.eq("channelId", args.channelId))
      .order("desc")
      .take(10);
    return {
      name: channel.name,
      recentMessages,
      lastMessageAt: recentMessages.length > 0 ? recentMessages[0]._creationTime : null,
    };
  },
});
