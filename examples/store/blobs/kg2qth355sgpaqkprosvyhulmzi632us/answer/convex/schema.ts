import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({
    name: v.string(),
  }),
  posts: defineTable({
    authorId: v.id("users"),
    title: v.string(),
  }).index("by_author", ["authorId"]),
  comments: defineTable({
    postId: v.id("posts"),
    authorId: v.id("users"),
    text: v.string(),
  })
    .index("by_post", ["postId"])
    .index("by_author", ["authorId"]),
});
