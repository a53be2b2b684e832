import { query } from "./_generated/server";
import { v } from "convex/values";
import { Doc } from "./_generated/dataModel";

type ChannelSummary = {
  name: string;
  recentMessages: Doc<"messages">[];
  lastMessageAt: number;
};

export const getChannelSummary = query({
  args: { channelId: v.string() },
  handler: async (ctx, args): Promise<ChannelSummary | null> => {
    const channel = await ctx.db.get(args.channelId);
    if (!channel) {
      return null;
    }

    const recentMessages = await ctx.db
      .query("messages")
      .withIndex("by_channel", (q) => q.eq("channelId", channel._id))
      .order("desc")
      .take(10);

    return {
      name: channel.name,
      recentMessages,
      lastMessageAt: recentMessages[0]?._creationTime,
    };
  },
});
