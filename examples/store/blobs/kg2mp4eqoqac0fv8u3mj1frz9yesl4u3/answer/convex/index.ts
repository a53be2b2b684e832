import { action } from "./_generated/server";
import { v } from "convex/values";

export const fetchQuote = action({
  args: {},
  returns: v.object({ content: v.string(), author: v.string() }),
  handler: async () => {
    const response = await fetch("https://api.quotable.io/random");
    if (response.status !== 200) {
      throw new Error(`Quote service returned ${response.status}`);
    }
    const data = (await response.json()) as { content: string; author: string };
    return { content: data.content, author: data.author };
  },
});
