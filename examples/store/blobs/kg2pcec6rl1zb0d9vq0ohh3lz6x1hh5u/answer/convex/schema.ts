import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  reminders: defineTable({
    text: v.string(),
    dueAt: v.number(),
    sent: v.boolean(),
  }),
});
