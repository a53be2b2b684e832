import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({
    channel: v.string(),
    body: v.string(),
    sentAt: v.number(),
  })
    .index("by_channel", ["channel"])
    .index("by_channel_and_sent_at", ["channel", "sentAt"]),
});
