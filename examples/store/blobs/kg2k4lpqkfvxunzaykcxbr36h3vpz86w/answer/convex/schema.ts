import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  channels: defineTable({
    name: v.string(),
  }),
  messages: defineTable({
    channelId: v.id("channels"),
    author: v.string(),
    body: v.string(),
  }).index("by_channel", ["channelId"]),
});
