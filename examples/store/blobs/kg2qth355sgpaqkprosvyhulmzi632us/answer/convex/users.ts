import { mutation } from "./_generated/server";
import { v } from "convex/values";

export const deleteUser = mutation({
  args: { userId: v.id("users") },
  returns: v.number(),
  handler: async (ctx, args) => {
    const user = await ctx.db.get(args.userId);
    if (user === null) {
      throw new Error(`User ${args.userId} not found`);
    }
    let deleted = 0;

    const posts = await ctx.db
      .query("posts")
      .withIndex("by_author", (q) => q.eq("authorId", args.userId))
      .collect();
    for (const post of posts) {
      const comments = await ctx.db
        .query("comments")
        .withIndex("by_post", (q) => q.eq("postId", post._id))
        .collect();
      for (const comment of comments) {
        await ctx.db.delete(comment._id);
        deleted++;
      }
      await ctx.db.delete(post._id);
      deleted++;
    }

    // Comments by the user on other people's posts (those on their own posts are gone already).
    const ownComments = await ctx.db
      .query("comments")
      .withIndex("by_author", (q) => q.eq("authorId", args.userId))
      .collect();
    for (const comment of ownComments) {
      await ctx.db.delete(comment._id);
      deleted++;
    }

    await ctx.db.delete(args.userId);
    return deleted + 1;
  },
});
