import { mutation } from "./_generated/server";
import { v } from "convex/values";

/**
 * Deletes a user together with everything they created.
 */
export const deleteUser = mutation({
  args: { userId: v.id("users") },
  returns: v.number(),
  handler: async (ctx, { userId }) => {
    const user = await ctx.db.get(userId);
    if (!user) {
      return 0;
    }

    const posts = await ctx.db
      .query("posts")
      .withIndex("by_author", (q) => q.eq("authorId", userId))
      .collect();

    const comments = await ctx.db
      .query("comments")
      .withIndex("by_author", (q) => q.eq("authorId", userId))
      .collect();

    await Promise.all([
      ...posts.map((post) => ctx.db.delete(post._id)),
      ...comments.map((comment) => ctx.db.delete(comment._id)),
    ]);
    await ctx.db.delete(userId);

    return posts.length + comments.length + 1;
  },
});
