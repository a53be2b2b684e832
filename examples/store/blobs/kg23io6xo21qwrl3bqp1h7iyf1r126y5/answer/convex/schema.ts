import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  orders: defineTable({
    customer: v.string(),
    total: v.number(),
    placedAt: v.number(),
  }).index("by_placed_at", ["placedAt"]),
  reports: defineTable({
    body: v.string(),
    createdAt: v.number(),
  }),
});
