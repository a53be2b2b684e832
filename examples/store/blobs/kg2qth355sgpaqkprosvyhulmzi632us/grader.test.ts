import { expect, test, beforeEach } from "vitest";
import { anyApi } from "convex/server";
import {
  responseAdminClient,
  responseClient,
  addDocuments,
  deleteAllDocuments,
  listTable,
} from "../../../grader";

type Doc = { _id: string; [key: string]: unknown };

let alice: string;
let bob: string;

beforeEach(async () => {
  await deleteAllDocuments(responseAdminClient, ["comments", "posts", "users"]);
  await addDocuments(responseAdminClient, "users", [{ name: "alice" }, { name: "bob" }]);
  const users = (await listTable(responseAdminClient, "users")) as Doc[];
  alice = users.find((u) => u.name === "alice")!._id;
  bob = users.find((u) => u.name === "bob")!._id;
  await addDocuments(responseAdminClient, "posts", [
    { authorId: alice, title: "alice's post" },
    { authorId: bob, title: "bob's post" },
  ]);
  const posts = (await listTable(responseAdminClient, "posts")) as Doc[];
  const alicePost = posts.find((p) => p.authorId === alice)!._id;
  const bobPost = posts.find((p) => p.authorId === bob)!._id;
  await addDocuments(responseAdminClient, "comments", [
    { postId: alicePost, authorId: alice, text: "alice on her own post" },
    { postId: alicePost, authorId: bob, text: "bob on alice's post" },
    { postId: bobPost, authorId: alice, text: "alice on bob's post" },
    { postId: bobPost, authorId: bob, text: "bob on his own post" },
  ]);
});

test("deletes the user", async () => {
  await responseClient.mutation(anyApi.users.deleteUser, { userId: alice });
  const users = (await listTable(responseAdminClient, "users")) as Doc[];
  expect(users.map((u) => u.name)).toEqual(["bob"]);
});

test("deletes the user's posts", async () => {
  await responseClient.mutation(anyApi.users.deleteUser, { userId: alice });
  const posts = (await listTable(responseAdminClient, "posts")) as Doc[];
  expect(posts.map((p) => p.title)).toEqual(["bob's post"]);
});

test("deletes every comment on the user's posts and every comment by the user", async () => {
  await responseClient.mutation(anyApi.users.deleteUser, { userId: alice });
  const comments = (await listTable(responseAdminClient, "comments")) as Doc[];
  expect(comments.map((c) => c.text)).toEqual(["bob on his own post"]);
});

test("returns the number of deleted documents", async () => {
  const count = await responseClient.mutation(anyApi.users.deleteUser, { userId: alice });
  // alice, her post, two comments on it, her comment on bob's post
  expect(count).toBe(5);
});

test("throws for a missing user and deletes nothing", async () => {
  await responseClient.mutation(anyApi.users.deleteUser, { userId: alice });
  await expect(
    responseClient.mutation(anyApi.users.deleteUser, { userId: alice }),
  ).rejects.toThrow(/not found/);
});
